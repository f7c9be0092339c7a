"""Build a play-test video of real people from a labelled folder of photos.

Run::

    python -m games.wave.democlip ../shared/data/hagrid-val --out /tmp/hands.mp4
    python -m games.wave --source /tmp/hands.mp4
    python -m games.wave.democlip ../shared/data/hand-crops --grab \
        --room ../shared/data/hagrid-train --out /tmp/grab.mp4   # one hand opening and closing

There is no webcam on a build machine, so this is how the game is played with real hands: each
photo is scaled to the clip's height and slid left and right across a 640×480 canvas, like a
player swaying and swinging an arm, for a few seconds; photos of open hands alternate with
photos of closed ones (fists, pointing), so a round sees hands appear, move, close and leave.
With ``--grab`` the clip is one real hand that opens and closes as it moves: HaGRID hand crops
(a palm, then a fist, then a palm...) pasted with soft edges at the same moving point of a room
photo, so the game's tracker keeps one hand whose openness changes (a catch and a throw).
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


def _records(folder: Path) -> list[dict]:
    """The records of ``folder/labels.jsonl``.

    Raises:
        FileNotFoundError: the folder has no ``labels.jsonl``.
    """
    labels = folder / "labels.jsonl"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} does not exist: pass a labelled folder (labels.jsonl)")
    return [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]


def pick_photos(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` photos alternating open-hand and closed-hand gestures (by their folder)."""
    by_kind: dict[str, list[Path]] = {"open": [], "closed": []}
    for rec in _records(folder):
        image = rec["image"]
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


def _crops(folder: Path, gestures: Sequence[str], min_side: int = 90) -> list[Path]:
    """Hand crops of ``gestures`` (by gesture folder) with a short side of at least ``min_side``."""
    out = []
    for rec in _records(folder):
        if (
            Path(rec["image"]).parent.name in gestures
            and min(rec["width"], rec["height"]) >= min_side
        ):
            out.append(folder / rec["image"])
    if not out:
        raise ValueError(f"{folder} has no crops of {', '.join(gestures)} of {min_side}+ px")
    return sorted(out)


def build_grab(
    crops: Path, room: Path, out: Path, seconds: float = 24.0, switch: float = 2.0, seed: int = 3
) -> Path:
    """Write a clip of one pasted hand moving on a slow loop, open and closed in turn every
    ``switch`` seconds, over a room photo; returns its path."""
    rng = random.Random(seed)
    hands = {kind: _crops(crops, gestures) for kind, gestures in
             (("open", ("palm", "stop")), ("closed", ("fist",)))}  # fmt: skip
    rooms = sorted(room.rglob("*.jpg"))
    if not rooms:
        raise FileNotFoundError(f"no .jpg photos under {room} for the room")
    w, h = SIZE
    bg = cv2.resize(cv2.imread(str(rng.choice(rooms))), SIZE, interpolation=cv2.INTER_AREA)
    pasted = {}
    for kind, paths in hands.items():
        crop = cv2.imread(str(rng.choice(paths)))
        side = 130  # px: a hand about 1 m from a 640x480 camera
        s = side / max(crop.shape[:2])
        crop = cv2.resize(crop, (round(crop.shape[1] * s), round(crop.shape[0] * s)))
        ch, cw = crop.shape[:2]
        yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
        d = np.hypot((xx + 0.5) / cw * 2 - 1, (yy + 0.5) / ch * 2 - 1)
        pasted[kind] = (crop, np.clip((1.1 - d) / 0.3, 0, 1)[..., None])
    frames = []
    for i in range(round(seconds * FPS)):
        t = i / FPS
        kind = "open" if int(t / switch) % 2 == 0 else "closed"
        crop, alpha = pasted[kind]
        ch, cw = crop.shape[:2]
        cx = w / 2 + 0.33 * w * math.sin(2 * math.pi * t / 7.0)
        cy = h / 2 + 0.22 * h * math.sin(2 * math.pi * t / 4.6)
        x0, y0 = round(cx - cw / 2), round(cy - ch / 2)
        frame = bg.copy()
        region = frame[y0 : y0 + ch, x0 : x0 + cw].astype(np.float32)
        frame[y0 : y0 + ch, x0 : x0 + cw] = (region * (1 - alpha) + crop * alpha).astype(np.uint8)
        frames.append(frame)
    return write_clip(out, frames, FPS)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m games.wave.democlip FOLDER --out CLIP``."""
    parser = argparse.ArgumentParser(prog="python -m games.wave.democlip", description=__doc__)
    parser.add_argument("folder", type=Path, help="a labelled folder of photos (labels.jsonl)")
    parser.add_argument("--out", type=Path, required=True, help="the clip to write (.mp4)")
    parser.add_argument("--photos", type=int, default=12, help="photos in the clip (default 12)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per photo")
    parser.add_argument(
        "--grab", action="store_true", help="one hand crop opening and closing (FOLDER: crops)"
    )
    parser.add_argument("--room", type=Path, help="--grab: a folder of room photos (.jpg)")
    args = parser.parse_args(argv)
    if args.grab:
        if args.room is None:
            parser.error("--grab needs --room FOLDER (photos to paste the hand onto)")
        path = build_grab(args.folder, args.room, args.out)
        print(f"wrote {path} (one hand, open and closed in turn every 2 s, {FPS} fps)")
        return 0
    path = build(args.folder, args.out, args.photos, args.seconds)
    print(f"wrote {path} ({args.photos} photos × {args.seconds:g} s at {FPS} fps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
