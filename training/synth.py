"""Procedural hands on varied backgrounds, deterministic by seed.

An open hand is a palm with five spread fingers; an "other" hand is a fist or a pointing hand.
Backgrounds mix gradients, shapes, noise and skin-coloured distractors (face-like ovals) so a
model cannot just find skin. Used by the tests (small, fast, known truth) and as an extra
training source (``synth:N`` in :mod:`training.data`).

Run ``python -m training.synth OUT_DIR [--count N] [--size 320x192]`` to write a labelled folder.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from handplay.sources import argument_type, parse_size
from training.labels import HandLabel, Record, write_labels

# BGR skin tones from light to dark.
SKIN = [(189, 208, 238), (160, 190, 225), (125, 165, 215), (95, 135, 190), (65, 100, 150),
        (45, 70, 110)]  # fmt: skip


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
    grad = c0 + (c1 - c0) * t[:, None]
    img = np.broadcast_to(grad[None] if len(t) == w else grad[:, None], (h, w, 3)).copy()
    img = img.astype(np.uint8)
    for _ in range(int(rng.integers(2, 9))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.rectangle(
                img,
                (x, y),
                (x + int(rng.integers(5, w // 2)), y + int(rng.integers(5, h // 2))),
                colour,
                -1,
            )
        else:
            cv2.circle(img, (x, y), int(rng.integers(3, h // 3)), colour, -1)
    if rng.random() < 0.5:  # a skin-coloured oval: a face or an arm is not a hand
        colour = SKIN[rng.integers(len(SKIN))]
        axes = (int(rng.integers(8, h // 4)), int(rng.integers(10, h // 3)))
        cv2.ellipse(
            img,
            (int(rng.integers(0, w)), int(rng.integers(0, h))),
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            colour,
            -1,
        )
    noise = rng.normal(0, rng.uniform(0, 12), img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _rot(px: float, py: float, angle: float) -> tuple[float, float]:
    c, s = math.cos(angle), math.sin(angle)
    return px * c - py * s, px * s + py * c


def draw_hand(
    img: np.ndarray, x: float, y: float, r: float, cls: str, rng: np.random.Generator
) -> None:
    """Draw one hand centred at ``(x, y)`` with radius ``r`` (px) in place.

    Args:
        img: BGR uint8 canvas.
        x: centre column.
        y: centre row.
        r: radius: the hand fits in a circle of this radius around the centre.
        cls: ``"open"`` (palm, five spread fingers) or ``"other"`` (fist or pointing).
        rng: randomness for colour, rotation and finger spread.
    """
    colour = np.array(SKIN[rng.integers(len(SKIN))], np.float32) * rng.uniform(0.8, 1.15)
    colour = tuple(int(v) for v in np.clip(colour, 0, 255))
    shade = tuple(int(v * 0.7) for v in colour)
    tilt = rng.uniform(-0.5, 0.5)
    sub = 4  # cv2 shift bits for sub-pixel drawing

    def pt(px: float, py: float) -> tuple[int, int]:
        qx, qy = _rot(px, py, tilt)
        return int(round((x + qx) * (1 << sub))), int(round((y + qy) * (1 << sub)))

    palm_c = pt(0, 0.2 * r)
    axes = (int(0.42 * r * (1 << sub)), int(0.45 * r * (1 << sub)))
    cv2.ellipse(img, palm_c, axes, math.degrees(tilt), 0, 360, colour, -1, cv2.LINE_AA, sub)
    thick = max(1, int(round(0.17 * r)))
    if cls == "open":
        fingers = [
            (-0.28, -0.10, 0.62, -0.30),
            (-0.12, -0.20, 0.72, -0.08),
            (0.05, -0.22, 0.78, 0.02),
            (0.20, -0.18, 0.70, 0.12),
            (0.36, 0.15, 0.55, 0.95),
        ]  # fmt: skip  (base x, base y, length, angle)
        spread = rng.uniform(0.8, 1.3)
        for bx, by, length, ang in fingers:
            a = ang * spread - math.pi / 2
            tip = (bx * r + math.cos(a) * length * r, by * r + math.sin(a) * length * r)
            cv2.line(img, pt(bx * r, by * r), pt(*tip), colour, thick, cv2.LINE_AA, sub)
            cv2.circle(img, pt(*tip), int(thick / 2 * (1 << sub)), shade, -1, cv2.LINE_AA, sub)
    else:
        for k in range(4):  # knuckles of a fist
            cv2.circle(
                img,
                pt((-0.27 + 0.18 * k) * r, -0.18 * r),
                int(0.12 * r * (1 << sub)),
                shade,
                -1,
                cv2.LINE_AA,
                sub,
            )
        if rng.random() < 0.5:  # a pointing finger
            cv2.line(
                img, pt(-0.2 * r, -0.2 * r), pt(-0.2 * r, -0.8 * r), colour, thick, cv2.LINE_AA, sub
            )


def make_image(
    seed: int, size: tuple[int, int] = (320, 192), max_hands: int = 3
) -> tuple[np.ndarray, list[HandLabel]]:
    """One synthetic image and its labels; the same seed gives the same image.

    Args:
        seed: the image's seed.
        size: ``(width, height)``.
        max_hands: at most this many hands (0 is possible: negatives teach as much).

    Returns:
        ``(BGR uint8 image, hands)`` with hands in image pixels, non-overlapping.
    """
    w, h = size
    rng = np.random.default_rng([7919, seed])
    img = _background(rng, w, h)
    hands: list[HandLabel] = []
    for _ in range(int(rng.integers(0, max_hands + 1))):
        r = float(h * math.exp(rng.uniform(math.log(0.04), math.log(0.25))))
        for _try in range(10):
            x, y = float(rng.uniform(r, w - r)), float(rng.uniform(r, h - r))
            if all(math.hypot(x - o.x, y - o.y) > r + o.r for o in hands):
                cls = "open" if rng.random() < 0.6 else "other"
                draw_hand(img, x, y, r, cls, rng)
                hands.append(HandLabel(x, y, r, cls, "synth"))
                break
    return img, hands


def write_dataset(
    out: str | os.PathLike[str], count: int, size: tuple[int, int] = (320, 192), seed: int = 0
) -> Path:
    """Write ``count`` synthetic images and a ``labels.jsonl`` to ``out`` (a labelled folder)."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(count):
        img, hands = make_image(seed * 1_000_003 + i, size)
        name = f"images/{i:05d}.png"
        cv2.imwrite(str(out / name), img)
        records.append(Record(hands=tuple(hands), width=size[0], height=size[1], image=name))
    write_labels(out / "labels.jsonl", records)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Write a synthetic labelled folder."""
    parser = argparse.ArgumentParser(prog="python -m training.synth", description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument(
        "--size", default="320x192", type=argument_type(parse_size), help="WIDTHxHEIGHT"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    w, h = args.size
    write_dataset(args.out, args.count, (w, h), args.seed)
    print(f"wrote {args.count} images to {args.out}")


if __name__ == "__main__":
    main()
