"""Build a play-test video of real people from a labelled folder of photos.

Run::

    python -m games.wave.democlip ../shared/data/hagrid-val --out /tmp/hands.mp4
    python -m games.wave --source /tmp/hands.mp4

There is no webcam on a build machine, so this is how the game is played with real hands: each
photo is scaled to the clip's height and slid left and right across a 640×480 canvas, like a
player swaying and swinging an arm, for a few seconds; photos of open hands alternate with
photos of closed ones (fists, pointing), so a round sees hands appear, move, close and leave.
The clip is for local play-testing only: don't commit it or publish frames of it (hagrid-val's
photos are for validation only).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from handplay.testing import write_clip

SIZE = (640, 480)
FPS = 30
OPEN_GESTURES = ("palm", "stop", "stop_inverted", "four")
CLOSED_GESTURES = ("fist", "like", "one", "dislike")


def pick_photos(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` photos alternating open-hand and closed-hand gestures (by their folder)."""
    labels = folder / "labels.jsonl"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} does not exist: pass a labelled folder (labels.jsonl)")
    by_kind: dict[str, list[Path]] = {"open": [], "closed": []}
    for line in labels.read_text(encoding="utf-8").splitlines():
        image = json.loads(line)["image"]
        gesture = Path(image).parent.name
        if gesture in OPEN_GESTURES:
            by_kind["open"].append(folder / image)
        elif gesture in CLOSED_GESTURES:
            by_kind["closed"].append(folder / image)
    rng = random.Random(seed)
    for paths in by_kind.values():
        rng.shuffle(paths)
    if not by_kind["open"] or not by_kind["closed"]:
        raise ValueError(f"{folder} has no photos of open or of closed hands by gesture folder")
    kinds = [by_kind["open" if i % 2 == 0 else "closed"] for i in range(count)]
    return [paths[i // 2 % len(paths)] for i, paths in enumerate(kinds)]


def sway(photo: np.ndarray, seconds: float) -> Iterator[np.ndarray]:
    """Frames of ``photo`` sliding left and right across the canvas (a swaying player)."""
    w, h = SIZE
    scale = h / photo.shape[0]
    img = cv2.resize(photo, (round(photo.shape[1] * scale), h), interpolation=cv2.INTER_AREA)
    span = max(0, w - img.shape[1])
    for i in range(round(seconds * FPS)):
        t = i / FPS
        x = round(span / 2 + span / 2 * math.sin(2 * math.pi * t / 2.5))
        canvas = np.full((h, w, 3), 40, np.uint8)
        visible = min(img.shape[1], w - x)
        canvas[:, x : x + visible] = img[:, :visible]
        yield canvas


def build(folder: Path, out: Path, photos: int = 12, seconds: float = 4.0) -> Path:
    """Write the clip; returns its path."""
    frames = []
    for path in pick_photos(folder, photos):
        photo = cv2.imread(str(path))
        if photo is None:
            raise ValueError(f"cannot read {path}")
        frames.extend(sway(photo, seconds))
    return write_clip(out, frames, FPS)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m games.wave.democlip FOLDER --out CLIP``."""
    parser = argparse.ArgumentParser(prog="python -m games.wave.democlip", description=__doc__)
    parser.add_argument("folder", type=Path, help="a labelled folder of photos (labels.jsonl)")
    parser.add_argument("--out", type=Path, required=True, help="the clip to write (.mp4)")
    parser.add_argument("--photos", type=int, default=12, help="photos in the clip (default 12)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per photo")
    args = parser.parse_args(argv)
    path = build(args.folder, args.out, args.photos, args.seconds)
    print(f"wrote {path} ({args.photos} photos × {args.seconds:g} s at {FPS} fps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
