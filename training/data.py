"""Training data: labelled folders, annotated clips and hand crops, loaded into memory (no torch).

Sources (DESIGN.md format, validated by :mod:`training.labels`):

- a folder with ``labels.jsonl`` and its images;
- annotated clips, ``X.mp4`` beside ``X.labels.jsonl`` (lines carry ``"frame"``), given either as
  the ``.mp4`` path or as a folder holding such pairs;
- ``synth`` or ``synth:N``: N procedural images from :mod:`training.synth`.

Every image is decoded and downscaled once (long side at most ``cache_side`` px) and kept in
memory, so an epoch costs only the augmentation (:mod:`training.augment`); the torch dataset
that mixes sources is :mod:`training.dataset`. ``training.evaluate`` and the annotation tool use
these loaders without the train extra.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from handplay.sources import open_video
from training.labels import CLIP_SUFFIX, HandLabel, LabelError, Record, read_labels

log = logging.getLogger(__name__)


@dataclass
class Image:
    """One cached training image: BGR uint8 and its hands in the cached image's pixels."""

    pixels: np.ndarray
    hands: list[HandLabel]


def _shrink(img: np.ndarray, hands: Sequence[HandLabel], cache_side: int) -> Image:
    h, w = img.shape[:2]
    s = min(1.0, cache_side / max(h, w))
    if s < 1.0:
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    # Same pixel-centre convention as the runtime: x' = (x + 0.5) * s - 0.5.
    scaled = [
        HandLabel((hd.x + 0.5) * s - 0.5, (hd.y + 0.5) * s - 0.5, hd.r * s, hd.cls) for hd in hands
    ]
    return Image(np.ascontiguousarray(img), scaled)


def _line_numbers(path: Path) -> list[int]:
    """Line number of each non-blank line (records come back from read_labels in this order)."""
    with path.open(encoding="utf-8") as f:
        return [i for i, line in enumerate(f, start=1) if line.strip()]


def load_folder(
    root: str | os.PathLike[str],
    cache_side: int = 640,
    unknown_open: Sequence[str] = (),
    added: str | os.PathLike[str] | None = None,
) -> list[Image]:
    """Read a labelled folder (``root/labels.jsonl`` + images) into memory.

    ``unknown_open``: image path prefixes (relative to ``root``) whose hands' openness is not
    known; their hands get the training class ``"hand"`` (found, never scored as open or not).
    ``added``: a second labels file in the same format whose hands are added to the folder's
    (a later labelling pass, :mod:`training.relabel`); each of its images must be in the folder
    at the same size.

    Raises:
        FileNotFoundError: no ``labels.jsonl`` in ``root``, or no ``added`` file.
        LabelError: a malformed line, a missing or unreadable image, or an image whose size
            differs from the labelled ``width``/``height``; the message names file and line.
    """
    root = Path(root)
    labels = root / "labels.jsonl"
    records = read_labels(labels, kind="image")
    lines = _line_numbers(labels)
    if added is not None:
        records = _add_hands(records, Path(added), labels)
    out = []
    for rec, lineno in zip(records, lines, strict=True):
        where = f"{labels}:{lineno}"
        path = root / rec.image
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise LabelError(f"{where}: image {rec.image!r} is missing or unreadable ({path})")
        if img.shape[1] != rec.width or img.shape[0] != rec.height:
            raise LabelError(
                f"{where}: labels say {rec.width}x{rec.height} but {rec.image!r} is "
                f"{img.shape[1]}x{img.shape[0]}; fix width/height or the image"
            )
        hands = rec.hands
        if any(rec.image.startswith(prefix) for prefix in unknown_open):
            hands = [dataclasses.replace(hd, cls="hand") for hd in hands]
        out.append(_shrink(img, hands, cache_side))
    return out


def _add_hands(records: list[Record], added: Path, labels: Path) -> list[Record]:
    """``records`` with the hands of the labels file ``added`` appended, matched by image."""
    by_image = {rec.image: rec for rec in records}
    extra = read_labels(added, kind="image")
    for rec, lineno in zip(extra, _line_numbers(added), strict=True):
        base = by_image.get(rec.image)
        if base is None:
            raise LabelError(
                f"{added}:{lineno}: image {rec.image!r} is not in {labels}; the added labels "
                "must be made from that folder"
            )
        if (base.width, base.height) != (rec.width, rec.height):
            raise LabelError(
                f"{added}:{lineno}: {rec.image!r} is {rec.width}x{rec.height} here but "
                f"{base.width}x{base.height} in {labels}; remake the added labels from it"
            )
        by_image[rec.image] = dataclasses.replace(base, hands=base.hands + rec.hands)
    return [by_image[rec.image] for rec in records]


def load_clip(video: str | os.PathLike[str], cache_side: int = 640) -> list[Image]:
    """Read the labelled frames of ``X.mp4`` using ``X.labels.jsonl`` beside it.

    Raises:
        SourceError: the video is missing or does not open.
        FileNotFoundError: its labels file is missing.
        LabelError: a malformed line, a frame number past the end of the video, or a frame size
            that differs from the labels; the message names file and line.
    """
    video = Path(video)
    labels = video.with_name(video.stem + CLIP_SUFFIX)
    cap = open_video(video)  # the one check for a folder, a missing or an undecodable video
    out, index = [], 0
    try:
        records = read_labels(labels, kind="frame")
        lines = dict(zip((r.frame for r in records), _line_numbers(labels), strict=True))
        wanted = {r.frame: r for r in records}
        while len(out) < len(wanted):
            ok, frame = cap.read()
            if not ok:
                break
            rec = wanted.get(index)
            if rec is not None:
                if frame.shape[1] != rec.width or frame.shape[0] != rec.height:
                    raise LabelError(
                        f"{labels}:{lines[index]}: labels say {rec.width}x{rec.height} but frame "
                        f"{index} of {video.name} is {frame.shape[1]}x{frame.shape[0]}"
                    )
                out.append(_shrink(frame, rec.hands, cache_side))
            index += 1
    finally:
        cap.release()
    if len(out) < len(wanted):
        missing = min(f for f in wanted if f >= index)
        raise LabelError(
            f"{labels}:{lines[missing]}: frame {missing} is past the end of {video.name} "
            f"({index} frames)"
        )
    return out


def load_source(
    spec: str,
    cache_side: int = 640,
    synth_size: tuple[int, int] = (320, 192),
    unknown_open: Sequence[str] = (),
    added: str | os.PathLike[str] | None = None,
) -> list[Image]:
    """Load one source by its spec: a labelled folder, a clip, a folder of clips or ``synth:N``.

    ``unknown_open`` and ``added`` are passed to :func:`load_folder`.

    Returns:
        A list of :class:`Image`.

    Raises:
        FileNotFoundError: nothing labelled at ``spec``.
    """
    path = Path(spec)
    if added is not None and not (path / "labels.jsonl").exists():
        raise FileNotFoundError(f"labels {added} add to a labelled folder; {spec} is not one")
    if spec == "synth" or spec.startswith("synth:"):
        from training.synth import make_image

        n = int(spec.split(":", 1)[1]) if ":" in spec else 500
        return [Image(*make_image(i, synth_size)) for i in range(n)]
    if path.suffix == ".mp4":
        return load_clip(path, cache_side)
    images: list[Image] = []
    if (path / "labels.jsonl").exists():
        images += load_folder(path, cache_side, unknown_open, added)
    if path.is_dir():
        for labels in sorted(path.glob("*" + CLIP_SUFFIX)):
            clip = labels.with_name(labels.name[: -len(CLIP_SUFFIX)] + ".mp4")
            if clip.exists():
                images += load_clip(clip, cache_side)
    if not images and not (path / "labels.jsonl").exists():
        raise FileNotFoundError(
            f"no labelled data at {spec}: expected a folder with labels.jsonl, a clip.mp4 with "
            "clip.labels.jsonl beside it, a folder of such clips, or synth:N"
        )
    return images


def mark_unlabelled(
    images: Sequence[Image],
    model: str | os.PathLike[str] | None = None,
    min_score: float = 0.4,
    sizes: Sequence[tuple[int, int]] = ((320, 192),),
) -> int:
    """Add a ``"maybe"`` hand (ignored by every loss) wherever a model finds a hand that no label
    is near, in place; returns how many were added.

    Machine-made labels miss about 1 hand in 10 (resting hands, far people: the data README).
    An every-hand heatmap would teach the net that each of them is background; masking the
    places where an earlier model saw a hand keeps those cells out of the loss instead. The
    model runs at each of ``sizes`` so that both near and small hands are proposed.
    """
    from handplay.detector import Detector

    # one pass (looks=0), as the recipe's masks were made before the second look existed
    dets = [
        Detector(model, input_size=size, threshold=min_score, max_hands=16, looks=0)
        for size in sizes
    ]
    added = 0
    for img in images:
        found = [d for det in dets for d in det.detect(img.pixels)]
        new: list[HandLabel] = []
        for d in sorted(found, key=lambda d: -d.score):
            near = [*img.hands, *new]
            if all(math.hypot(d.x - h.x, d.y - h.y) > max(h.r, d.radius) for h in near):
                new.append(HandLabel(d.x, d.y, 1.25 * d.radius, "maybe", "model"))
        img.hands = [*img.hands, *new]
        added += len(new)
    return added


@dataclass(frozen=True)
class Crop:
    """A hand crop for copy-paste: BGR pixels, soft alpha (0..1), centre and radius, class."""

    pixels: np.ndarray
    alpha: np.ndarray
    x: float
    y: float
    r: float
    cls: str


def soft_mask(h: int, w: int, feather: float = 0.18) -> np.ndarray:
    """An ellipse filling an ``h x w`` box whose edge fades over ``feather`` of the box size."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot((xx + 0.5) / w * 2 - 1, (yy + 0.5) / h * 2 - 1)  # 1 on the inscribed ellipse
    # Fade from fully opaque at 1 - feather*... to 0 just beyond the ellipse, keeping fingertips.
    return np.clip((1.12 - d) / (2 * feather), 0.0, 1.0)


def load_crops(root: str | os.PathLike[str]) -> list[Crop]:
    """Hand crops (a labelled folder with one hand per image) with their soft masks."""
    crops = []
    for img in load_folder(root, cache_side=256):
        if len(img.hands) != 1:
            continue
        hd = img.hands[0]
        h, w = img.pixels.shape[:2]
        crops.append(Crop(img.pixels, soft_mask(h, w), hd.x, hd.y, hd.r, hd.cls))
    return crops
