"""The C++ example (examples/cpp) finds the same hands as handplay.Detector.

It is built once per session with CMake against the system OpenCV (Debian's libopencv-dev is
4.6, the oldest the deployment model targets) and run on frames the test makes: red and magenta
discs for the disc model (format 2: open and closed hands; format 1; format 1 without a size
output), and procedural hands (training.synth) for the shipped model, through the deployment
files shipped in examples/cpp/models, and for the shipped net given an ``open`` head (format 2).
Frames cover downscaling, upscaling, scale 1, odd sizes and portrait frames (which take the
portrait deployment file, as Python takes the turned input).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

import handplay.testing as ht
from handplay import Detector
from handplay.detector import DEFAULT_MODEL
from training.deploy import write_deployment
from training.synth import make_image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cpp"
SHIPPED = EXAMPLE / "models" / "hand.json"
MISSING_OPENCV = 'Could not find a package configuration file provided by "OpenCV"'
MISSING_COMPILER = "No CMAKE_CXX_COMPILER could be found"


@pytest.fixture(scope="module")
def handplay_detect(tmp_path_factory):
    """Path of the built handplay_detect (skips when cmake or OpenCV's headers are missing)."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (apt-get install -y cmake libopencv-dev)")
    build = tmp_path_factory.mktemp("cpp_build")
    configure = subprocess.run(
        ["cmake", "-S", str(EXAMPLE), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
        capture_output=True,
        text=True,
    )
    if configure.returncode and MISSING_OPENCV in configure.stdout + configure.stderr:
        pytest.skip("OpenCV's C++ headers are missing (apt-get install -y libopencv-dev)")
    if configure.returncode and MISSING_COMPILER in configure.stdout + configure.stderr:
        pytest.skip("no C++ compiler (apt-get install -y g++)")
    assert configure.returncode == 0, configure.stdout + configure.stderr
    built = subprocess.run(
        ["cmake", "--build", str(build), "--parallel", "2"], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout + built.stderr
    exe = build / ("handplay_detect.exe" if os.name == "nt" else "handplay_detect")
    assert exe.exists()
    return exe


def _run(exe, *args, check=True):
    out = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def _write(folder, frames):
    paths = []
    for name, frame in frames.items():
        path = folder / f"{name}.png"  # lossless: both sides read the same pixels
        cv2.imwrite(str(path), frame)
        paths.append(path)
    return paths


def _assert_same(exe, sidecar, det, paths, *args):
    """Run the C++ example (with ``args``) on ``paths`` and compare with ``det``; returns the
    hand count."""
    out = _run(exe, "--model", sidecar, *args, *paths).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["image"] for line in lines] == [str(p) for p in paths]
    total = 0
    for line in lines:
        want, got = det.detect(cv2.imread(line["image"])), line["hands"]
        name = Path(line["image"]).name
        assert len(got) == len(want), f"{name}: C++ {got} vs Python {want}"
        for w, g in zip(want, got, strict=True):  # both strongest first
            assert abs(g["x"] - w.x) < 0.1 and abs(g["y"] - w.y) < 0.1, (name, g, w)
            assert g["radius"] == pytest.approx(w.radius, rel=0.01), (name, g, w)
            assert abs(g["score"] - w.score) < 1e-4, (name, g, w)
            if w.open is None:
                assert g["open"] is None, (name, g)
            else:
                assert abs(g["open"] - w.open) < 1e-4, (name, g, w)
        total += len(got)
    return total


def _disc_frames():
    return {
        "landscape_down": ht.render_disc_frame(
            (640, 360), [(100.3, 90.7, 30.0), (400.2, 200.1, 25.0, False), (550.0, 300.0, 18.0)]
        ),
        "portrait": ht.render_disc_frame((360, 640), [(120.0, 400.0, 24.0), (250, 100, 20, False)]),
        "small_up": ht.render_disc_frame((200, 150), [(60.4, 70.2, 15.0)], seed=3),
        "odd": ht.render_disc_frame((333, 251), [(60.0, 70.0, 15.0), (200.5, 120.5, 22.0, False)]),
        "edge": ht.render_disc_frame((320, 180), [(3.0, 90.0, 14.0), (300.0, 176.0, 12.0, False)]),
        "blank": ht.render_disc_frame((640, 480), []),
    }


def test_format2_disc_model_same_hands_and_open(handplay_detect, tmp_path):
    model = ht.make_disc_model(tmp_path / "disc.onnx", open_output=True)
    sidecar = write_deployment(model, tmp_path / "deploy")
    paths = _write(tmp_path, _disc_frames())
    det = Detector(model)
    assert _assert_same(handplay_detect, sidecar, det, paths) == 10
    opens = [
        h["open"]
        for line in _run(handplay_detect, "--model", sidecar, paths[0]).stdout.splitlines()
        for h in json.loads(line)["hands"]
    ]
    assert sorted(round(v) for v in opens) == [0, 1, 1]  # the magenta disc is a closed hand


def test_format1_disc_models_with_and_without_size(handplay_detect, tmp_path):
    paths = _write(tmp_path, _disc_frames())
    model = ht.make_disc_model(tmp_path / "disc.onnx")
    sized = write_deployment(model, tmp_path / "sized")
    assert _assert_same(handplay_detect, sized, Detector(model), paths) == 10
    # no size output: the radius comes from the blob's area (handplay.peaks.blob_radius)
    graph = onnx.load(str(model))
    graph.graph.output.remove(next(o for o in graph.graph.output if o.name == "size"))
    onnx.save(graph, str(tmp_path / "sizeless.onnx"))
    sizeless = write_deployment(tmp_path / "sizeless.onnx", tmp_path / "sizeless")
    assert json.loads(sizeless.read_text())["outputs"] == ["heatmap"]
    det = Detector(tmp_path / "sizeless.onnx")
    assert _assert_same(handplay_detect, sizeless, det, paths) == 10


def test_shipped_model_same_hands_on_procedural_hands(handplay_detect, tmp_path):
    sidecar = json.loads(SHIPPED.read_text())
    size = tuple(sidecar["models"][0]["input_size"])
    frames = {}
    for seed, wh in [(0, (640, 384)), (2, (320, 192)), (6, (500, 333)), (7, (960, 540)),
                     (9, (384, 640)), (10, (240, 160)), (11, (320, 192))]:  # fmt: skip
        frames[f"synth{seed}_{wh[0]}x{wh[1]}"] = make_image(seed, wh)[0]
    paths = _write(tmp_path, frames)
    det = Detector(None, input_size=size)
    assert _assert_same(handplay_detect, SHIPPED, det, paths) >= 5  # not a test of empty lists


def test_shipped_model_at_320x180_same_hands(handplay_detect, tmp_path):
    # not a multiple of 32: the net's upsampling is not 2x (12 -> 23 -> 45 rows)
    sidecar = write_deployment(DEFAULT_MODEL, tmp_path / "deploy", (320, 180))
    frames = {f"synth{seed}": make_image(seed, (640, 360))[0] for seed in (0, 2, 6, 7, 9)}
    frames["portrait"] = make_image(9, (360, 640))[0]
    det = Detector(None, input_size=(320, 180))
    assert _assert_same(handplay_detect, sidecar, det, _write(tmp_path, frames)) >= 4


def test_shipped_format_2_model_same_hands_and_open_scores(handplay_detect, tmp_path):
    # the shipped model itself is format 2 (heatmap, size and open outputs)
    sidecar = write_deployment(DEFAULT_MODEL, tmp_path / "deploy")
    frames = {f"synth{seed}": make_image(seed, (640, 360))[0] for seed in (0, 2, 6, 7, 9)}
    paths = _write(tmp_path, frames)
    det = Detector(DEFAULT_MODEL)
    assert det.format == "2"
    assert _assert_same(handplay_detect, sidecar, det, paths) >= 4


def test_the_second_look_and_the_frame_pass_alone_match_too(handplay_detect, tmp_path):
    frames = {f"synth{seed}": make_image(seed, (640, 360))[0] for seed in (0, 2, 6, 7, 9, 12)}
    frames["small"] = cv2.resize(make_image(3, (640, 360))[0], (320, 180))
    paths = _write(tmp_path, frames)
    looked, one = Detector(DEFAULT_MODEL), Detector(DEFAULT_MODEL, looks=0)
    # the look changes the answer on these frames (else the parity above would say little)
    changed = [
        p for p in paths if looked.detect(cv2.imread(str(p))) != one.detect(cv2.imread(str(p)))
    ]
    assert len(changed) >= 3
    assert _assert_same(handplay_detect, SHIPPED, one, paths, "--looks", "0") >= 4
    # a sidecar without a look entry (an older one, or --no-look) gives the frame pass
    plain = write_deployment(DEFAULT_MODEL, tmp_path / "plain", look=False)
    assert "look" not in json.loads(plain.read_text())
    assert not list((tmp_path / "plain").glob("hand_deploy_96x96.onnx"))
    assert _assert_same(handplay_detect, plain, one, paths) >= 4
    assert _assert_same(handplay_detect, SHIPPED, looked, paths) >= 4


def test_video_source_one_line_per_frame(handplay_detect, tmp_path):
    model = ht.make_disc_model(tmp_path / "disc.onnx", open_output=True)
    sidecar = write_deployment(model, tmp_path / "deploy")
    path = ht.linear_path((60, 90), (260, 90), 12, radius=20)
    clip = ht.write_clip(tmp_path / "clip.mp4", ht.disc_clip([path], (320, 180), 12))
    out = _run(handplay_detect, "--model", sidecar, "--source", clip, "--max-frames", 10)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["frame"] for line in lines] == list(range(10))
    for i, line in enumerate(lines):  # a lossy video: positions to a pixel or two, not exactly
        (hand,) = line["hands"]
        x, y, r = path(i)
        assert np.hypot(hand["x"] - x, hand["y"] - y) < 2.0 and hand["radius"] == pytest.approx(
            r, rel=0.15
        )


def test_missing_sidecar_and_unreadable_image_are_reported(handplay_detect, tmp_path):
    out = _run(handplay_detect, "--model", tmp_path / "nope.json", tmp_path / "a.png", check=False)
    assert out.returncode == 1 and "nope.json" in out.stderr and "training.deploy" in out.stderr
    out = _run(handplay_detect, "--model", SHIPPED, tmp_path / "missing.png", check=False)
    assert out.returncode == 1 and "cannot read image" in out.stderr and out.stdout == ""
