"""Values a player can type are refused cleanly, never crash (issue 11, section 2).

Where a bad value could kill the process (``cv2.VideoCapture(-1)`` segfaults), the test runs it
in a subprocess and checks the process ended with the clear error, not a signal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import handplay
import handplay.testing as ht
from handplay.calibration import Calibration
from handplay.detector import Detector, ModelError
from handplay.sources import IterableSource, SourceError, open_source

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (headless, a private config folder)."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.setdefault("HANDPLAY_CONFIG_DIR", str(tmp_path / "config"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _no_crash(proc: subprocess.CompletedProcess) -> None:
    """The process exited by itself (a negative code is a signal, e.g. -11 for a segfault)."""
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}:\n{proc.stderr[-2000:]}"


# ---- negative camera indices never reach OpenCV -------------------------------------------


def test_input_with_camera_minus_one_raises_source_error_not_a_segfault(tmp_path):
    proc = _python(
        """
        import handplay
        for source in (-1, "-1"):
            try:
                handplay.Input(source=source, post_events=False).start()
            except handplay.SourceError as e:
                print("refused:", e)
        """,
        tmp_path,
    )
    _no_crash(proc)
    assert proc.returncode == 0, proc.stderr
    lines = [x for x in proc.stdout.splitlines() if x.startswith("refused:")]
    assert len(lines) == 2
    assert all("camera index must be 0 or more, not -1" in x for x in lines)


def test_open_source_refuses_negative_indices():
    for source in (-1, "-3", -100):
        with pytest.raises(SourceError, match="camera index must be 0 or more"):
            open_source(source)


# ---- calibration files: every field checked, the file named ------------------------------

GOOD = json.loads(Calibration().to_json())


def _file_with(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({**GOOD, **changes}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("camera", -1, r"camera must be a camera index 0 or more.*not -1"),
        ("camera", 0.5, r"camera must be a camera index .* not 0\.5"),
        ("camera", True, r"camera must be a camera index .* not True"),
        ("camera", None, r"camera must be a camera index .* not None"),
        ("camera", [1, 2], r"camera must be a camera index .* not \[1, 2\]"),
        ("camera", "", r"camera must be a camera index .* not ''"),
        ("mirror", "no", r"mirror must be true or false, not 'no'"),
        ("mirror", 1, r"mirror must be true or false, not 1"),
        ("play_area", [0, 0, 1], r"play_area must be .* not \(0, 0, 1\)"),
        ("play_area", ["0", 0, 1, 1], r"play_area must be .* not \('0', 0, 1, 1\)"),
        ("play_area", 1, r"play_area must be .* not 1"),
        ("threshold", "0.4", r"threshold must be a number between 0 and 1 .* not '0\.4'"),
        ("threshold", 1.5, r"threshold must be a number between 0 and 1 .* not 1\.5"),
        ("smoothing", {"beta": "fast"}, r"smoothing beta must be greater than 0, not 'fast'"),
        ("smoothing", {"beta": -1}, r"smoothing beta must be greater than 0, not -1"),
        ("smoothing", {"speed": 1}, r"smoothing must be an object with keys from"),
        ("smoothing", [1], r"smoothing must be an object"),
        ("format", 2, r"format is 2, but this handplay reads calibration format 1"),
        ("format", "1", r"format is '1'"),
    ],
)
def test_every_calibration_field_is_checked(tmp_path, key, value, message):
    path = _file_with(tmp_path, **{key: value})
    with pytest.raises(ValueError, match=message) as e:
        Calibration.load(path)
    assert str(path) in str(e.value) and "recalibrate" in str(e.value)


def test_non_finite_numbers_are_refused(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_text('{"threshold": NaN}')
    with pytest.raises(ValueError, match=r"calibration\.json: threshold .* not nan"):
        Calibration.load(path)
    path.write_text('{"smoothing": {"beta": Infinity}}')
    with pytest.raises(ValueError, match=r"smoothing beta .* not inf"):
        Calibration.load(path)


def test_non_utf8_calibration_file_is_named(tmp_path):
    path = tmp_path / "calibration.json"
    path.write_bytes(b'{"camera": "caf\xe9.mp4"}')
    with pytest.raises(ValueError, match=r"calibration\.json: not UTF-8 text"):
        Calibration.load(path)


def test_good_files_still_load(tmp_path):
    path = _file_with(tmp_path, camera="clip.mp4", mirror=False, threshold=0.4)
    assert Calibration.load(path) == Calibration(camera="clip.mp4", mirror=False, threshold=0.4)
    path.write_text('{"camera": 1}')  # a hand-written file without "format" is fine
    assert Calibration.load(path).camera == 1


BROKEN_FILES = {
    "minus_one": b'{"camera": -1}',
    "half": b'{"camera": 0.5}',
    "true": b'{"camera": true}',
    "null": b'{"camera": null}',
    "list": b'{"camera": [1, 2]}',
    "mirror_no": b'{"mirror": "no"}',
    "format_9": b'{"format": 9}',
    "latin1": b'{"camera": "caf\xe9.mp4"}',
}


def test_the_game_shows_calibration_broken_for_each_bad_file(tmp_path):
    """Each broken file: the game starts, the mouse plays, the status says press C, and the
    reason (file, key, value) is in the note; one subprocess, since -1 used to segfault."""
    folders = {}
    for name, content in BROKEN_FILES.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "calibration.json").write_bytes(content)
        folders[name] = str(folder)
    proc = _python(
        f"""
        import json, os, pygame
        from games.wave.app import Options, WaveGame
        for name, folder in {folders!r}.items():
            os.environ["HANDPLAY_CONFIG_DIR"] = folder
            pygame.init()
            game = WaveGame(Options(mute=True, max_frames=2))
            game.run()
            print(json.dumps([name, game.field.status, game.note, game.mouse is not None]))
            pygame.quit()
        """,
        tmp_path,
    )
    _no_crash(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r[0]: r[1:] for r in map(json.loads, proc.stdout.strip().splitlines())}
    assert sorted(rows) == sorted(BROKEN_FILES)
    for name, (status, note, mouse) in rows.items():
        assert status.startswith("calibration file is broken - press C"), name
        assert mouse, name
        assert str(Path(folders[name]) / "calibration.json") in note, name
    assert "camera must be a camera index 0 or more" in rows["minus_one"][1]
    assert "not 0.5" in rows["half"][1] and "not [1, 2]" in rows["list"][1]
    assert "mirror must be true or false, not 'no'" in rows["mirror_no"][1]
    assert "not UTF-8" in rows["latin1"][1] and "format is 9" in rows["format_9"][1]


def test_game_and_tools_refuse_a_negative_camera_on_the_command_line(tmp_path):
    proc = _python(
        """
        import sys
        from games.wave.app import main
        sys.exit(main(["--source", "-1", "--mute", "--max-frames", "2"]))
        """,
        tmp_path,
    )
    _no_crash(proc)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "--source: camera must be a camera index 0 or more" in proc.stderr
    assert "not -1" in proc.stderr


# ---- models that break the contract fail at load ------------------------------------------


def _model(tmp_path: Path, name: str, nodes, out_dims, in_dims=("N", 3, "H", "W"), size="32x32"):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(in_dims))],
        [helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, list(out_dims))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    meta = {
        "handplay.format": "1",
        "handplay.stride": "4",
        "handplay.input_size": size,
        "handplay.threshold": "0.5",
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return path


def _grey_pool():
    """image N×3×H×W -> channel mean N×1×H×W -> 4×4 average pool: a valid N×1×H/4×W/4."""
    import onnx
    from onnx import helper

    axes = onnx.numpy_helper.from_array(np.array([1], np.int64), "axes")
    return [
        helper.make_node("Constant", [], ["axes"], value=axes),
        helper.make_node("ReduceMean", ["image", "axes"], ["grey"], keepdims=1),
        helper.make_node("AveragePool", ["grey"], ["heatmap"], kernel_shape=[4, 4], strides=[4, 4]),
    ]


def test_a_valid_fixed_size_model_loads_and_runs(tmp_path):
    path = _model(tmp_path, "fixed_ok", _grey_pool(), (1, 1, 8, 16), in_dims=(1, 3, 32, 64),
                  size="64x32")  # fmt: skip
    det = Detector(path)
    assert det.input_size == (64, 32)
    assert det.heatmap(np.zeros((256, 512, 3), np.uint8)).shape == (8, 16)
    # a portrait frame is not turned for a fixed-size model (it could not take the turned input)
    assert det.detect(np.zeros((320, 240, 3), np.uint8)) == []


def test_fixed_input_shape_other_than_input_size_is_refused_at_load(tmp_path):
    path = _model(tmp_path, "fixed", _grey_pool(), (1, 1, 16, 16), in_dims=(1, 3, 64, 64))
    with pytest.raises(ModelError, match=r"fixed shape \[1, 3, 64, 64\].*feeds it 32x32"):
        Detector(path)


def test_heatmap_with_wrong_channels_is_refused_at_load(tmp_path):
    from onnx import helper

    pool = helper.make_node("AveragePool", ["image"], ["heatmap"], kernel_shape=[4, 4],
                            strides=[4, 4])  # fmt: skip
    path = _model(tmp_path, "three", [pool], ("N", 3, "h", "w"))
    with pytest.raises(ModelError, match=r"output 'heatmap' has shape \(1, 3, 8, 8\)"):
        Detector(path)


def test_heatmap_with_wrong_rank_is_refused_at_load(tmp_path):
    from onnx import helper

    nodes = [*_grey_pool()[:-1], helper.make_node("Flatten", ["grey"], ["heatmap"])]
    path = _model(tmp_path, "flat", nodes, ("N", "k"))
    with pytest.raises(ModelError, match=r"output 'heatmap' has shape \(1, 1024\).*rank 4"):
        Detector(path)


def test_a_wrong_stride_is_refused_at_load(tmp_path):
    from onnx import helper

    nodes = [*_grey_pool()[:-1], helper.make_node("AveragePool", ["grey"], ["heatmap"],
                                                  kernel_shape=[2, 2], strides=[2, 2])]  # fmt: skip
    path = _model(tmp_path, "stride2", nodes, ("N", 1, "h", "w"))
    with pytest.raises(ModelError, match=r"\(1, 1, 16, 16\).*\(1, 1, 8, 8\) with handplay.stri"):
        Detector(path)


def test_input_start_reports_a_bad_model_as_model_error(tmp_path):
    path = _model(tmp_path, "fixed", _grey_pool(), (1, 1, 16, 16), in_dims=(1, 3, 64, 64))
    frames = [np.zeros((48, 64, 3), np.uint8)]
    with pytest.raises(handplay.ModelError, match="fixed shape"):
        handplay.Input(frames, model=path, post_events=False).start()


# ---- empty frames, folders given as videos ------------------------------------------------


def test_a_0x0_frame_is_a_clear_error(disc_model):
    det = Detector(disc_model)
    for shape in ((0, 0, 3), (0, 10, 3), (10, 0, 3)):
        with pytest.raises(ValueError, match="frame is empty"):
            det.detect(np.zeros(shape, np.uint8))
    with pytest.raises(SourceError, match=r"frame 0 .* is empty \(0x0 pixels\)"):
        IterableSource([np.zeros((0, 0, 3), np.uint8)]).open()
    with pytest.raises(SourceError, match="is empty"):
        handplay.Input([np.zeros((0, 0, 3), np.uint8)], model=disc_model, post_events=False).start()


def test_a_folder_given_as_a_video_is_reported_as_a_folder(tmp_path):
    from training.annotate import record

    with pytest.raises(SourceError, match=r"is a folder, not a video file"):
        open_source(tmp_path).open()
    with pytest.raises(SourceError, match=r"is a folder, not a video file"):
        open_source(str(tmp_path)).open()
    with pytest.raises(SourceError, match=r"is a folder, not a video file"):
        record.open_source(str(tmp_path), None)


# ---- stale temporary files of killed saves are removed on the next open -------------------

KILL_IN_SAVE = """
import os, handplay.atomic
def killed(*args):
    os._exit(9)  # the process dies between writing the temporary file and the rename
handplay.atomic.os.replace = killed
"""


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_stale_calibration_temporary_is_removed_on_load(tmp_path):
    path = tmp_path / "calibration.json"
    Calibration(mirror=False).save(path)
    proc = _python(
        KILL_IN_SAVE
        + f"from handplay.calibration import Calibration\nCalibration().save({str(path)!r})\n",
        tmp_path,
    )
    assert proc.returncode == 9, proc.stderr
    assert len(_temporaries(tmp_path)) == 1  # the killed save's file
    (tmp_path / "calibration.json.tmp").write_text("{}")  # the name older versions used
    live = tmp_path / f".calibration.json.{os.getppid()}.tmp"  # a live process's write
    live.write_text("{}")
    assert Calibration.load(path) == Calibration(mirror=False)  # the old file is whole
    assert _temporaries(tmp_path) == [live.name]


def test_stale_label_temporary_is_removed_when_the_clip_is_opened(tmp_path):
    from training.annotate.store import LabelStore
    from training.labels import HandLabel, Record, write_labels

    path = tmp_path / "clip.labels.jsonl"
    write_labels(path, [Record(frame=0, width=64, height=48, hands=(HandLabel(5, 5, 3),))])
    proc = _python(
        KILL_IN_SAVE
        + "from training.labels import write_labels\n"
        + f"write_labels({str(path)!r}, [])\n",
        tmp_path,
    )
    assert proc.returncode == 9, proc.stderr
    assert len(_temporaries(tmp_path)) == 1
    store = LabelStore(path, 64, 48)
    assert _temporaries(tmp_path) == [] and store.hands(0)[0].x == 5


def test_stale_checkpoint_temporary_is_removed_by_the_next_save(tmp_path):
    torch = pytest.importorskip("torch")
    from training.checkpoint import save_checkpoint

    path = tmp_path / "last.pt"
    proc = _python(
        KILL_IN_SAVE
        + "from training.checkpoint import save_checkpoint\n"
        + f"save_checkpoint({{'step': 1}}, {str(path)!r})\n",
        tmp_path,
        timeout=240,
    )
    assert proc.returncode == 9, proc.stderr
    assert len(_temporaries(tmp_path)) == 1 and not path.exists()
    (tmp_path / "last.tmp").write_bytes(b"old name")  # what earlier versions left
    save_checkpoint({"step": 2}, path)
    assert _temporaries(tmp_path) == []
    assert torch.load(path, weights_only=True) == {"step": 2}


# ---- training.record --name ---------------------------------------------------------------


def test_record_refuses_a_name_with_a_folder(tmp_path, capsys):
    from training.annotate import record

    src = ht.write_clip(tmp_path / "src.mp4", [np.zeros((48, 64, 3), np.uint8)] * 3)
    for name in ("a/b", "..", ""):
        with pytest.raises(SystemExit) as e:
            record.main(["--camera", str(src), "--out", str(tmp_path), "--name", name])
        assert e.value.code == 2
        assert "--name must be a file name without a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        record.main(["--camera", "-1"])
    err = capsys.readouterr().err
    assert "--camera: camera must be a camera index 0 or more (or a video path), not -1" in err


def test_record_next_command_names_a_file_that_exists(tmp_path, capsys):
    from training.annotate import record

    src = ht.write_clip(tmp_path / "src.mp4", [np.zeros((48, 64, 3), np.uint8)] * 5)
    argv = ["--camera", str(src), "--out", str(tmp_path / "clips"), "--name", "take",
            "--countdown", "0", "--start"]  # fmt: skip
    assert record.main(argv) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("next:")]
    clip = Path(line.split("python -m training.annotate ", 1)[1])
    assert clip.is_file() and clip.name == "take.mp4"


def _bad_folder(tmp_path: Path) -> Path:
    """A labelled folder whose second line is broken (x is a string)."""
    root = tmp_path / "bad"
    (root / "images").mkdir(parents=True)
    import cv2

    cv2.imwrite(str(root / "images" / "a.png"), np.zeros((32, 48, 3), np.uint8))
    good = {"image": "images/a.png", "width": 48, "height": 32, "hands": []}
    bad = {**good, "hands": [{"x": "ten", "y": 5, "r": 4, "cls": "open"}]}
    (root / "labels.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    return root


@pytest.mark.parametrize("tool", ["evaluate", "fit"])
def test_training_clis_print_a_data_error_in_one_line(tool, tmp_path, disc_model):
    root = _bad_folder(tmp_path)
    if tool == "evaluate":
        args = ["--data", str(root), "--model", str(disc_model)]
    else:
        args = [f"--data={root}", "--val=", f"--out={tmp_path / 'run'}", "--crops="]
    cmd = [sys.executable, "-m", f"training.{tool}", *args]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "labels.jsonl:2" in lines[0] and "'x'" in lines[0] and "--debug" in lines[0]
    debug = subprocess.run([*cmd, "--debug"], cwd=ROOT, capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_fit_data_alone_gives_each_source_weight_one():
    from training.config import parse_args

    assert parse_args(["--data=a,b"]).weights == "1,1"
    assert parse_args(["quick", "--data=a"]).weights == "1"
    assert parse_args(["--data=a,b", "--weights=2,1"]).weights == "2,1"
