"""The wheel works on its own: built, installed into a new venv, run from outside the checkout.

This is what ``pip install handplay-*.whl`` (or from an index) gives a user: the shipped model must
be inside the package, and the game and the calibration screen must start without the checkout.
Offline: the wheel is built without build isolation, and the venv sees this interpreter's
packages (``--system-site-packages``) so no dependency is downloaded; the test checks that
``handplay`` itself is imported from the venv, not from the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(venv python, a folder outside the checkout, env) with the freshly built wheel installed."""
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PIP_NO_INDEX="1")
    env["HANDPLAY_CONFIG_DIR"] = str(tmp / "config")
    _run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-w", str(tmp / "dist"), "-q"],
        cwd=tmp, env=env,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("handplay-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "handplay/models/hand.onnx" in names
    assert not any(n.endswith(".pt") for n in names)  # fine-tuning weights stay in the checkout
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(tmp / "venv")], tmp, env)
    python = tmp / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], tmp, env)
    outside = tmp / "elsewhere"
    outside.mkdir()
    return python, outside, env


def test_detector_loads_the_model_shipped_in_the_wheel(venv):
    python, outside, env = venv
    out = _run(
        [str(python), "-c",
         "import handplay, numpy as np\n"
         "det = handplay.Detector()\n"
         "print(handplay.__file__)\n"
         "print(det.path)\n"
         "print(det.heatmap(np.zeros((480, 640, 3), np.uint8)).shape)\n"
         "print(len(det.detect(np.zeros((480, 640, 3), np.uint8))))\n"],
        outside, env,
    )  # fmt: skip
    module, model, shape, count = out.split("\n")[:4]
    venv_root = str(python.parent.parent)
    assert module.startswith(venv_root) and model.startswith(venv_root), out
    assert shape.startswith("(") and count == "0"  # a black frame has no hands


def _blank_clip(folder: Path) -> Path:
    import cv2
    import numpy as np

    path = folder / "blank.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    for i in range(60):
        writer.write(np.full((480, 640, 3), 60 + i, np.uint8))
    writer.release()
    return path


def test_the_game_runs_30_frames_from_the_wheel_with_the_shipped_model(venv):
    python, outside, env = venv
    clip = _blank_clip(outside)
    for cmd in (
        [str(python), "-m", "games.wave"],
        [str(python.parent / "handplay-wave")],  # the console script
    ):
        out = _run([*cmd, "--source", str(clip), "--max-frames", "30", "--mute"], outside, env)
        assert out.startswith("frames 30"), out
        assert "mouse mode" not in out  # the camera (video) and the shipped model opened


def test_the_calibration_screen_runs_from_the_wheel(venv):
    python, outside, env = venv
    clip = _blank_clip(outside)
    target = outside / "cal.json"
    script = python.parent / "handplay-calibrate"  # the console script
    for cmd in ([str(python), "-m", "handplay.calibrate"], [str(script)]):
        out = _run(
            [*cmd, "--source", str(clip), "--max-frames", "5", "--output", str(target)],
            outside, env,
        )  # fmt: skip
        assert "calibration:" in out, out
