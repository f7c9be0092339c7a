"""Training data: labelled folders and annotated clips, webcam-like augmentation, dataset mixing.

Sources (DESIGN.md format, validated by :mod:`training.labels`):

- a folder with ``labels.jsonl`` and its images;
- annotated clips, ``X.mp4`` beside ``X.labels.jsonl`` (lines carry ``"frame"``), given either as
  the ``.mp4`` path or as a folder holding such pairs;
- ``synth`` or ``synth:N``: N procedural images from :mod:`training.synth`.

Every image is decoded and downscaled once (long side at most ``cache_side`` px) and kept in
memory, so an epoch costs only the augmentation. Augmentation imitates a webcam at 0.5-4 m:
random zoom (hands from about 2% to 30% of the frame), crop or letterbox padding, small
rotation, horizontal flip, copy-paste of hand crops with soft edges, brightness / contrast / hue /
white-balance jitter, blur, noise and JPEG artefacts. :class:`MixedDataset` draws from several
sources with given weights; each item is a pure function of ``(seed, epoch, index)``, so runs are
reproducible and DDP ranks see different, non-overlapping items.
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
import torch
from torch.utils.data import Dataset

from handplay.contract import to_input
from handplay.sources import open_video
from training.augment import motion_blur_hand
from training.labels import CLIP_SUFFIX, HandLabel, LabelError, read_labels
from training.targets import make_targets

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
    root: str | os.PathLike[str], cache_side: int = 640, unknown_open: Sequence[str] = ()
) -> list[Image]:
    """Read a labelled folder (``root/labels.jsonl`` + images) into memory.

    ``unknown_open``: image path prefixes (relative to ``root``) whose hands' openness is not
    known; their hands get the training class ``"hand"`` (found, never scored as open or not).

    Raises:
        FileNotFoundError: no ``labels.jsonl`` in ``root``.
        LabelError: a malformed line, a missing or unreadable image, or an image whose size
            differs from the labelled ``width``/``height``; the message names file and line.
    """
    root = Path(root)
    labels = root / "labels.jsonl"
    records = read_labels(labels, kind="image")
    lines = _line_numbers(labels)
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
) -> list[Image]:
    """Load one source by its spec: a labelled folder, a clip, a folder of clips or ``synth:N``.

    ``unknown_open`` is passed to :func:`load_folder`.

    Returns:
        A list of :class:`Image`.

    Raises:
        FileNotFoundError: nothing labelled at ``spec``.
    """
    if spec == "synth" or spec.startswith("synth:"):
        from training.synth import make_image

        n = int(spec.split(":", 1)[1]) if ":" in spec else 500
        return [Image(*make_image(i, synth_size)) for i in range(n)]
    path = Path(spec)
    if path.suffix == ".mp4":
        return load_clip(path, cache_side)
    images: list[Image] = []
    if (path / "labels.jsonl").exists():
        images += load_folder(path, cache_side, unknown_open)
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

    dets = [Detector(model, input_size=size, threshold=min_score, max_hands=16) for size in sizes]
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


@dataclass
class Augment:
    """Webcam-like augmentation settings (probabilities and ranges)."""

    zoom: tuple[float, float] = (0.8, 2.5)  # view scale relative to letterboxing the whole image
    hand_r: tuple[float, float] = (0.025, 0.25)  # hand radius / output height, hand-driven zoom
    p_hand_zoom: float = 0.5  # chance to zoom by hand size rather than by whole image
    rotate: float = 12.0  # max rotation, degrees
    p_flip: float = 0.5
    p_paste: float = 0.5  # chance to paste 1-3 hand crops
    p_decoy: float = 0.25  # chance that a pasted oval is background, not a hand (no label)
    p_object: float = 0.5  # chance that a decoy is cut from another image (a real object)
    p_focus: float = 0.75  # chance that a training crop is placed around a hand
    p_blur: float = 0.25
    p_hand_blur: float = 0.0  # chance per hand of a motion smear on the hand alone (a swing)
    hand_blur: tuple[float, float] = (0.1, 0.8)  # smear length range, in hand radii
    noise: float = 6.0  # max Gaussian noise sigma (0..255 scale)
    p_jpeg: float = 0.4
    jitter: float = 0.3  # brightness/contrast/saturation jitter amplitude
    hue: float = 8.0  # max hue shift (OpenCV hue units, 0..180)
    white_balance: float = 0.12  # max per-channel gain change


def _affine(
    rng: np.random.Generator,
    img: Image,
    out_size: tuple[int, int],
    aug: Augment,
) -> np.ndarray:
    """A 2x3 matrix mapping cached-image pixels into the output view."""
    ow, oh = out_size
    ih, iw = img.pixels.shape[:2]
    contain = min(ow / iw, oh / ih)
    if img.hands and rng.random() < aug.p_hand_zoom:
        hand = img.hands[rng.integers(len(img.hands))]
        want = oh * math.exp(rng.uniform(*np.log(aug.hand_r)))
        s = float(np.clip(want / hand.r, 0.7 * contain, 4.0 * contain))
        focus = (hand.x, hand.y)
    else:
        s = contain * math.exp(rng.uniform(*np.log(aug.zoom)))
        focus = None
    angle = rng.uniform(-aug.rotate, aug.rotate)
    m = cv2.getRotationMatrix2D((iw / 2, ih / 2), angle, s)  # about the image centre
    # Place the scaled image: random offset; when a hand is the focus keep it in view.
    cx, cy = m @ np.array([iw / 2, ih / 2, 1.0])
    sw, sh = iw * s, ih * s
    if focus is not None:
        fx, fy = m @ np.array([focus[0], focus[1], 1.0])
        tx, ty = rng.uniform(0.1 * ow, 0.9 * ow) - fx, rng.uniform(0.1 * oh, 0.9 * oh) - fy
    else:
        lo_x, hi_x = sorted((ow - sw / 2, sw / 2))
        lo_y, hi_y = sorted((oh - sh / 2, sh / 2))
        tx, ty = rng.uniform(lo_x, hi_x) - cx, rng.uniform(lo_y, hi_y) - cy
    m[:, 2] += (tx, ty)
    return m


def _paste(
    rng: np.random.Generator,
    canvas: np.ndarray,
    hands: list[HandLabel],
    crops: Sequence[Crop],
    aug: Augment,
    ref_height: int,
    other: Image | None = None,
) -> None:
    """Paste 1-3 random crops onto ``canvas`` in place, away from existing hands.

    Hand sizes are drawn relative to ``ref_height``, the height of the full camera-like view.
    ``other`` is another training image that decoys may be cut from.
    """
    oh, ow = canvas.shape[:2]
    for _ in range(int(rng.integers(1, 4))):
        crop = crops[rng.integers(len(crops))]
        r = ref_height * math.exp(rng.uniform(*np.log(aug.hand_r)))
        s = r / crop.r
        ch, cw = crop.pixels.shape[:2]
        w, h = max(2, round(cw * s)), max(2, round(ch * s))
        if w >= ow or h >= oh:
            continue
        for _try in range(5):
            x0, y0 = int(rng.integers(0, ow - w)), int(rng.integers(0, oh - h))
            cx, cy = x0 + (crop.x + 0.5) * s - 0.5, y0 + (crop.y + 0.5) * s - 0.5
            if all(math.hypot(cx - hd.x, cy - hd.y) > 0.9 * (r + hd.r) for hd in hands):
                break
        else:
            continue
        pix = cv2.resize(crop.pixels, (w, h), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(crop.alpha, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
        decoy = rng.random() < aug.p_decoy
        if decoy and other is not None and rng.random() < aug.p_object:
            # A soft oval of another image, away from its hands, and no label: clocks,
            # switches and pictures on walls were the shipped model's false peaks, so the net
            # must see real compact objects pasted exactly like hands and learn they are not.
            pix = _object_patch(rng, other, w, h)
        elif decoy:
            # The same soft oval cut from elsewhere in the frame and no label: the net must
            # learn the hand, not the pasting artefact.
            sx, sy = int(rng.integers(0, ow - w)), int(rng.integers(0, oh - h))
            pix = canvas[sy : sy + h, sx : sx + w].copy()
        if rng.random() < 0.5:
            pix, alpha = pix[:, ::-1], alpha[:, ::-1]
            cx = x0 + (w - 1) - (cx - x0)
        # Gain/offset per crop so pasted hands do not all share the crop set's exposure.
        pix = np.clip(pix * rng.uniform(0.75, 1.25) + rng.uniform(-20, 20), 0, 255)
        region = canvas[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
        canvas[y0 : y0 + h, x0 : x0 + w] = (region * (1 - alpha) + pix * alpha).astype(np.uint8)
        if not decoy:
            hands.append(HandLabel(cx, cy, r, crop.cls, "paste"))


def _object_patch(rng: np.random.Generator, img: Image, w: int, h: int) -> np.ndarray:
    """A ``w x h`` patch of ``img`` (5-35 % of its short side) that avoids its labelled hands."""
    ih, iw = img.pixels.shape[:2]
    side = rng.uniform(0.05, 0.35) * min(ih, iw)
    pw = max(2, min(iw, round(side * w / max(w, h))))
    ph = max(2, min(ih, round(side * h / max(w, h))))
    for _try in range(8):
        x0, y0 = int(rng.integers(0, iw - pw + 1)), int(rng.integers(0, ih - ph + 1))
        cx, cy = x0 + pw / 2, y0 + ph / 2
        if all(math.hypot(cx - hd.x, cy - hd.y) > hd.r + side / 2 for hd in img.hands):
            break
    patch = img.pixels[y0 : y0 + ph, x0 : x0 + pw]
    return cv2.resize(patch, (w, h), interpolation=cv2.INTER_AREA)


_NOISE: np.ndarray | None = None  # a fixed table of N(0, 1) samples, sliced at random offsets


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` standard-normal float32 samples, 20x cheaper than drawing them fresh each time."""
    global _NOISE
    if _NOISE is None or len(_NOISE) < 2 * n:
        _NOISE = np.random.default_rng(12345).standard_normal(max(2 * n, 1 << 20), np.float32)
    start = int(rng.integers(0, len(_NOISE) - n))
    return _NOISE[start : start + n]


def _photometric(rng: np.random.Generator, img: np.ndarray, aug: Augment) -> np.ndarray:
    """Colour, blur, noise and compression jitter on a BGR uint8 image."""
    # Brightness, contrast and white balance are one per-channel affine map: a lookup table.
    gains = 1.0 + rng.uniform(-aug.white_balance, aug.white_balance, 3)
    contrast = 1.0 + rng.uniform(-aug.jitter, aug.jitter)
    bright = 255 * rng.uniform(-aug.jitter, aug.jitter) * 0.5
    mean = float(img.mean())
    levels = np.arange(256, dtype=np.float32)[:, None]
    lut = ((levels - mean) * contrast + mean + bright) * gains[None].astype(np.float32)
    img = cv2.LUT(img, np.clip(lut, 0, 255).astype(np.uint8)[:, None, :])
    if aug.hue > 0 or aug.jitter > 0:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        shift = int(rng.integers(-aug.hue, aug.hue + 1)) if aug.hue > 0 else 0
        sat = 1.0 + rng.uniform(-aug.jitter, aug.jitter)
        hue_lut = ((np.arange(256) + shift) % 180).astype(np.uint8)
        sat_lut = np.clip(np.arange(256) * sat, 0, 255).astype(np.uint8)
        hsv[..., 0] = hue_lut[hsv[..., 0]]
        hsv[..., 1] = sat_lut[hsv[..., 1]]
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if rng.random() < aug.p_blur:
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
        else:  # motion blur: hands move fast in front of a webcam
            k = int(rng.integers(3, 8))
            kernel = np.zeros((k, k), np.float32)
            kernel[k // 2] = 1.0 / k
            rot = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), rng.uniform(0, 180), 1)
            kernel = cv2.warpAffine(kernel, rot, (k, k))
            img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    if aug.noise > 0:
        sigma = np.float32(rng.uniform(0, aug.noise))
        noise = _noise(rng, img.size).reshape(img.shape) * sigma
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    if rng.random() < aug.p_jpeg:
        q = int(rng.integers(30, 90))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img


def _crop_origin(
    rng: np.random.Generator,
    hands: Sequence[HandLabel],
    view: tuple[int, int],
    crop: tuple[int, int],
    p_focus: float = 0.75,
) -> tuple[int, int]:
    """Top-left corner of a ``crop`` inside ``view``; usually around a hand, when there is one."""
    (vw, vh), (cw, ch) = view, crop
    inside = [h for h in hands if 0 <= h.x < vw and 0 <= h.y < vh]
    if inside and rng.random() < p_focus:
        h = inside[rng.integers(len(inside))]
        x0 = h.x - rng.uniform(0.15, 0.85) * cw
        y0 = h.y - rng.uniform(0.15, 0.85) * ch
    else:
        x0, y0 = rng.uniform(0, vw - cw), rng.uniform(0, vh - ch)
    return int(np.clip(round(x0), 0, vw - cw)), int(np.clip(round(y0), 0, vh - ch))


def augment(
    rng: np.random.Generator,
    img: Image,
    out_size: tuple[int, int],
    aug: Augment,
    crops: Sequence[Crop] = (),
    crop_size: tuple[int, int] | None = None,
    other: Image | None = None,
) -> tuple[np.ndarray, list[HandLabel]]:
    """One augmented view of ``img`` and its hands.

    Args:
        rng: the item's random generator.
        img: the cached source image.
        out_size: ``(width, height)`` of the camera-like view the zoom is relative to.
        aug: augmentation settings.
        crops: hand crops for copy-paste.
        crop_size: if given, only this ``(width, height)`` window of the view is rendered
            (around a hand with probability ``aug.p_focus``): cheaper training steps at the
            same hand scales.
        other: another training image that decoy pastes may be cut from.

    Returns:
        ``(BGR uint8 image of crop_size or out_size, hands in its pixels)``.
    """
    m = _affine(rng, img, out_size, aug)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    hands = []
    for hd in img.hands:
        # Pixel centres are integers: map (x, y) through m directly (rotation about centres).
        x, y = m @ np.array([hd.x, hd.y, 1.0])
        hands.append(HandLabel(float(x), float(y), hd.r * scale, hd.cls, hd.label_source))
    ow, oh = out_size
    if crop_size is not None and crop_size != out_size:
        x0, y0 = _crop_origin(rng, hands, out_size, crop_size, aug.p_focus)
        m[:, 2] -= (x0, y0)
        hands = [HandLabel(h.x - x0, h.y - y0, h.r, h.cls, h.label_source) for h in hands]
        ow, oh = crop_size
    border = (0, 0, 0) if rng.random() < 0.5 else tuple(int(v) for v in rng.integers(0, 256, 3))
    view = cv2.warpAffine(img.pixels, m, (ow, oh), flags=cv2.INTER_LINEAR, borderValue=border)
    if rng.random() < aug.p_flip:
        view = np.ascontiguousarray(view[:, ::-1])
        hands = [HandLabel(ow - 1 - h.x, h.y, h.r, h.cls, h.label_source) for h in hands]
    if crops and rng.random() < aug.p_paste:
        _paste(rng, view, hands, crops, aug, ref_height=out_size[1], other=other)
    for hd in hands:
        if aug.p_hand_blur > 0 and rng.random() < aug.p_hand_blur:
            length = hd.r * rng.uniform(*aug.hand_blur)
            motion_blur_hand(view, hd.x, hd.y, hd.r, length, rng.uniform(0, 180))
    view = _photometric(rng, view, aug)
    # Keep hands whose centre is within a radius of the view: the targets ignore the others.
    hands = [h for h in hands if -h.r < h.x < ow + h.r and -h.r < h.y < oh + h.r]
    return view, hands


def to_tensor(bgr: np.ndarray) -> torch.Tensor:
    """BGR uint8 H x W x 3 -> float32 3 x H x W RGB in 0..1 (the model's input).

    The runtime's own conversion (:func:`handplay.contract.to_input`): the same numbers, and
    numpy's, because torch's ``.float()`` on a small tensor waited on its thread pool for
    12 ms an item while another process held a core (0.26 ms this way).
    """
    return torch.from_numpy(to_input(bgr)[0])


class MixedDataset(Dataset):
    """Augmented training items drawn from several sources with given weights.

    Args:
        sources: lists of :class:`Image`, one per source.
        weights: relative sampling weight of each source.
        crops: hand crops for copy-paste (may be empty).
        length: items per epoch.
        out_size: ``(width, height)`` of the camera-like view, or several sizes: each item
            draws one, so hands are seen at the pixel sizes of every reach (issue 14).
        stride: model output stride (for the targets).
        aug: augmentation settings.
        seed: base seed; item ``i`` of epoch ``e`` depends only on ``(seed, e, i)``.
        others: ``"ignore"`` masks "other" hands (format 1); ``"target"`` trains every hand in
            the heatmap and the open head on them (format 2).
        radius_scale: Gaussian sigma / hand radius of the heatmap blobs.
        crop_size: render only this ``(width, height)`` window of each view.
    """

    def __init__(
        self,
        sources: Sequence[Sequence[Image]],
        weights: Sequence[float],
        crops: Sequence[Crop],
        length: int,
        out_size: tuple[int, int] | Sequence[tuple[int, int]],
        stride: int,
        aug: Augment,
        seed: int = 0,
        others: str = "ignore",
        radius_scale: float = 0.3,
        crop_size: tuple[int, int] | None = None,
    ) -> None:
        if len(sources) != len(weights) or not sources:
            raise ValueError(f"need one weight per source, not {len(weights)} for {len(sources)}")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be >= 0 and not all 0, not {list(weights)}")
        if others not in ("ignore", "target"):
            raise ValueError(f"others must be 'ignore' or 'target', not {others!r}")
        empty = [i for i, s in enumerate(sources) if not s]
        if empty:
            raise ValueError(f"sources {empty} are empty")
        self.sources, self.crops, self.length = sources, crops, length
        self.probs = np.asarray(weights, np.float64) / sum(weights)
        sizes = [out_size] if isinstance(out_size[0], int) else list(out_size)
        self.view_sizes: list[tuple[int, int]] = [tuple(v) for v in sizes]  # type: ignore[misc]
        if crop_size is None and len(self.view_sizes) > 1:
            raise ValueError("several view sizes need a crop_size (the items' common size)")
        self.stride, self.aug, self.seed = stride, aug, seed
        self.others, self.radius_scale = others, radius_scale
        self.crop_size = crop_size or self.view_sizes[0]
        if any(cw > vw or ch > vh for vw, vh in self.view_sizes for cw, ch in [self.crop_size]):
            raise ValueError(f"crop {self.crop_size} must fit in every view {self.view_sizes}")
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        """Returns ``(image 3xHxW, heatmap, ignore, size, open, open_mask)``, maps 1xhxw."""
        rng = np.random.default_rng([self.seed, self.epoch, i])
        src = self.sources[rng.choice(len(self.sources), p=self.probs)]
        img = src[rng.integers(len(src))]
        other = src[rng.integers(len(src))]  # decoy objects come from the same kind of scene
        view_size = self.view_sizes[rng.integers(len(self.view_sizes))]
        view, hands = augment(
            rng, img, view_size, self.aug, self.crops, self.crop_size, other=other
        )
        t = make_targets(
            hands, self.crop_size, self.stride, radius_scale=self.radius_scale, others=self.others
        )
        maps = (t.heatmap, t.ignore, t.size, t.open, t.open_mask)
        return (to_tensor(view), *(torch.from_numpy(m)[None] for m in maps))
