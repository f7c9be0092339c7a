"""A second labelling pass: MediaPipe Hands on overlapping tiles, for the hands a whole-frame
pass misses (far people, small and resting hands). Writes the hands it adds, nothing else.

Run it in a separate venv; the project never depends on MediaPipe (Apache 2.0)::

    python -m venv ../mpvenv && ../mpvenv/bin/pip install mediapipe==0.10.21
    ../mpvenv/bin/python -m training.relabel --data ../shared/data/hagrid-train \\
        --out assets/labels/hagrid-train.tiles.jsonl

It needs only numpy, OpenCV, :mod:`training.labels` and (in :func:`mediapipe_detector`)
MediaPipe, so it runs in that venv without handplay's other dependencies. ``training.fit
--add_labels=hagrid-train=FILE`` adds the hands it writes to that folder's labels. ``--check``
scores each pass against a human-labelled folder instead (``--data ../shared/data/hagrid-val
--check``).

The rule, per frame: MediaPipe (``static_image_mode=True, max_num_hands=4, model_complexity=1,
min_detection_confidence=0.3``, the settings that made hagrid-train's labels) runs on each tile
of a 2x2 and a 3x3 grid of overlapping tiles (:func:`tile_windows`). A hand whose landmark box
touches an inner tile edge is cut by the tile and dropped. A hand counts as new when no label
lies within 0.7 x the larger radius (the data README's mirrored pass used the same test); finds
of one new hand in several tiles are its votes, and only a hand found by :data:`MIN_VOTES`
tiles is written (a small tile makes MediaPipe see hands in faces and patterns, once). Centre,
radius and class follow the data README: centre of the 21 landmarks' box, ``r`` = half its
longer side x 1.15, ``open`` when at least 4 of 5 fingers are extended and the palm faces the
camera (:func:`hand_from_landmarks`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from training.labels import LabelError, Record, match, read_labels, write_lines

#: ``(tile fraction of the frame side, step as a fraction)``: 2x2 and 3x3 overlapping grids.
GRIDS: tuple[tuple[float, float], ...] = ((0.6, 0.4), (0.45, 0.275))
NEW_IF_FARTHER = 0.7  # x the larger radius: nearer than this, a find is a hand already labelled
EDGE_PX = 2.0  # a landmark box this close to an inner tile edge is a hand cut by the tile
#: A find is kept when this many tiles find it. On hagrid-val (human boxes) the tiles added 16
#: hands to the whole-frame and mirrored passes: all 6 with 3 or more votes were hands, and 1 of
#: the 10 with fewer (the others: a collar, wallpaper flowers, a nose, a foot).
MIN_VOTES = 3
SETTINGS = {"static_image_mode": True, "max_num_hands": 4, "model_complexity": 1,
            "min_detection_confidence": 0.3}  # fmt: skip

#: ``detect(bgr) -> [(21 x 2 landmark pixels, score)]``: one MediaPipe-like call on an image.
Detect = Callable[[np.ndarray], list[tuple[np.ndarray, float]]]


def tile_windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The tiles of every grid in :data:`GRIDS`, as ``(x0, y0, x1, y1)`` frame pixels."""
    out = []
    for frac, step in GRIDS:
        tw, th = round(width * frac), round(height * frac)
        n = round((1.0 - frac) / step) + 1
        for j in range(n):
            for i in range(n):
                x0 = min(round(i * step * width), width - tw)
                y0 = min(round(j * step * height), height - th)
                out.append((x0, y0, x0 + tw, y0 + th))
    return out


def _extended(p: np.ndarray, tip: int, joint: int, base: int) -> bool:
    return bool(np.linalg.norm(p[tip] - p[base]) > 1.2 * np.linalg.norm(p[joint] - p[base]))


def hand_from_landmarks(points: np.ndarray) -> tuple[float, float, float, str]:
    """``(x, y, r, cls)`` of a hand from its 21 landmarks in pixels, by the data README's rule."""
    p = np.asarray(points, dtype=np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    x, y = (lo + hi) / 2
    r = float(max(hi - lo)) / 2 * 1.15
    fingers = [_extended(p, tip, pip, 0) for tip, pip in ((8, 6), (12, 10), (16, 14), (20, 18))]
    fingers.append(_extended(p, 4, 3, 17))  # the thumb, against the pinky's base
    facing = np.linalg.norm(p[5] - p[17]) >= 0.5 * np.linalg.norm(p[9] - p[0])
    cls = "open" if sum(fingers) >= 4 and facing else "other"
    return float(x), float(y), r, cls


def is_new(x: float, y: float, r: float, known: Iterable[tuple[float, float, float]]) -> bool:
    """True when no hand ``(x, y, r)`` in ``known`` lies within 0.7 x the larger radius."""
    return all(math.hypot(x - kx, y - ky) > NEW_IF_FARTHER * max(r, kr) for kx, ky, kr in known)


def tile_pass(
    frame: np.ndarray, known: Sequence[tuple[float, float, float]], detect: Detect
) -> list[dict]:
    """The hands the tiles find that ``known`` (``(x, y, r)`` each) lacks, as label dicts in
    frame pixels; ``votes`` counts the tiles that found each."""
    h, w = frame.shape[:2]
    added: list[dict] = []
    for x0, y0, x1, y1 in tile_windows(w, h):
        for points, score in detect(frame[y0:y1, x0:x1]):
            lo, hi = points.min(axis=0), points.max(axis=0)
            # A hand cut by an inner tile edge has a wrong centre and size: a tile at the
            # frame's border cannot cut it there.
            cut = (
                (x0 > 0 and lo[0] < EDGE_PX)
                or (y0 > 0 and lo[1] < EDGE_PX)
                or (x1 < w and hi[0] > x1 - x0 - EDGE_PX)
                or (y1 < h and hi[1] > y1 - y0 - EDGE_PX)
            )
            if cut:
                continue
            x, y, r, cls = hand_from_landmarks(points + (x0, y0))
            if not is_new(x, y, r, known):
                continue
            twin = next((a for a in added if not is_new(x, y, r, [_xyr(a)])), None)
            if twin is not None:
                twin["votes"] += 1
                continue
            added.append({"x": round(x, 2), "y": round(y, 2), "r": round(r, 2), "cls": cls,
                          "label_source": "mediapipe", "score": round(score, 3),
                          "pass": "tiles", "votes": 1})  # fmt: skip
    return added


def _xyr(hand: dict) -> tuple[float, float, float]:
    return hand["x"], hand["y"], hand["r"]


def mediapipe_detector() -> Detect:
    """MediaPipe Hands with :data:`SETTINGS` as a :data:`Detect` (needs ``mediapipe``)."""
    try:
        import mediapipe as mp
    except ImportError as e:
        raise SystemExit(
            "training.relabel needs mediapipe, which the project does not depend on: run it in "
            "its own venv (pip install mediapipe==0.10.21), see this module's docstring"
        ) from e
    hands = mp.solutions.hands.Hands(**SETTINGS)

    def detect(bgr: np.ndarray) -> list[tuple[np.ndarray, float]]:
        h, w = bgr.shape[:2]
        res = hands.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        out = []
        for lms, side in zip(
            res.multi_hand_landmarks or [], res.multi_handedness or [], strict=True
        ):
            pts = np.array([(lm.x * w, lm.y * h) for lm in lms.landmark])
            out.append((pts, float(side.classification[0].score)))
        return out

    return detect


def _frames(root: Path, limit: int) -> Iterator[tuple[Record, np.ndarray]]:
    labels = root / "labels.jsonl"
    records = read_labels(labels, kind="image")
    for rec in records[:limit] if limit else records:
        frame = cv2.imread(str(root / rec.image), cv2.IMREAD_COLOR)
        if frame is None:
            raise LabelError(f"{labels}: image {rec.image!r} is missing or unreadable")
        yield rec, frame


def relabel(root: str | os.PathLike[str], detect: Detect, limit: int = 0) -> list[dict]:
    """One labels record (``image, width, height, hands``) per frame of ``root/labels.jsonl``
    that the tiles add hands to, holding only those hands (at most ``limit`` frames read)."""
    out = []
    for k, (rec, frame) in enumerate(_frames(Path(root), limit)):
        known = [(hd.x, hd.y, hd.r) for hd in rec.hands]
        added = [a for a in tile_pass(frame, known, detect) if a["votes"] >= MIN_VOTES]
        if added:  # a labels.jsonl record (DESIGN.md), holding only the hands added
            h, w = frame.shape[:2]
            out.append({"image": rec.image, "width": w, "height": h, "hands": added})
        if (k + 1) % 100 == 0:
            print(f"{k + 1} frames, {sum(len(r['hands']) for r in out)} hands added", flush=True)
    return out


def check(root: str | os.PathLike[str], detect: Detect, limit: int = 0) -> dict[str, dict]:
    """How each pass does against a folder's own (human) labels, by DESIGN.md's matching rule.

    The passes, each on top of the ones before: MediaPipe on the whole frame, on the mirrored
    frame (the data README's second pass), then the tiles with every find, or with only the
    finds of :data:`MIN_VOTES` tiles (what :func:`relabel` writes).

    Returns:
        ``{pass: {"recall", "precision", "finds"}}`` over all the folder's hands.
    """
    names = ("whole frame", "+ mirrored", "+ tiles, every find", f"+ tiles, {MIN_VOTES}+ votes")
    matched, finds, hands = dict.fromkeys(names, 0), dict.fromkeys(names, 0), 0
    for rec, frame in _frames(Path(root), limit):
        w = frame.shape[1]
        found = [hand_from_landmarks(p)[:3] for p, _ in detect(frame)]
        passes = [list(found)]
        for p, _ in detect(np.ascontiguousarray(frame[:, ::-1])):
            x, y, r, _cls = hand_from_landmarks(p * (-1, 1) + (w - 1, 0))
            if is_new(x, y, r, found):
                found.append((x, y, r))
        passes.append(list(found))
        tiles = tile_pass(frame, found, detect)
        passes.append(found + [_xyr(a) for a in tiles])
        passes.append(found + [_xyr(a) for a in tiles if a["votes"] >= MIN_VOTES])
        hands += len(rec.hands)
        for name, preds in zip(names, passes, strict=True):
            matched[name] += len(match([(x, y) for x, y, _ in preds], rec.hands))
            finds[name] += len(preds)
    return {
        name: {"recall": round(matched[name] / max(hands, 1), 4),
               "precision": round(matched[name] / max(finds[name], 1), 4), "finds": finds[name]}
        for name in names
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tile pass over a labelled folder and write the hands it adds (or ``--check``)."""
    parser = argparse.ArgumentParser(prog="python -m training.relabel", description=__doc__)
    parser.add_argument("--data", required=True, help="a labelled folder (labels.jsonl)")
    parser.add_argument("--out", help="the .jsonl of added hands to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help="instead, score each pass against --data's own labels (a human-labelled folder)",
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N frames (0: all)")
    args = parser.parse_args(argv)
    if not (Path(args.data) / "labels.jsonl").exists():
        parser.error(f"--data {args.data} has no labels.jsonl; give a labelled folder")
    if not args.check and not args.out:
        parser.error("give --out FILE for the added hands (or --check to score the passes)")
    detect = mediapipe_detector()
    try:
        if args.check:
            for name, row in check(args.data, detect, args.limit).items():
                print(json.dumps({"pass": name, **row}))
            return
        records = relabel(args.data, detect, args.limit)
    except LabelError as e:
        parser.exit(1, f"training.relabel: {e}\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_lines(args.out, (json.dumps(r) + "\n" for r in records))
    n = sum(len(r["hands"]) for r in records)
    print(f"wrote {args.out}: {n} hands added in {len(records)} frames")


if __name__ == "__main__":
    main()
