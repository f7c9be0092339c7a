"""Webcam-like augmentation for training, and the transforms evaluation shares with it (numpy and
OpenCV only, no torch).

:func:`augment` makes one training view of a cached image: random zoom (hands from about 2% to
45% of the view height), crop or letterbox padding, small rotation, horizontal flip, copy-paste
of hand crops with soft edges and of labelless decoys, motion smears on hands, brightness /
contrast / hue / white-balance jitter, blur, noise and JPEG artefacts. The view is sampled
bilinearly (``cv2.warpAffine``), as :func:`handplay.contract.letterbox` resizes at run time.

- :func:`motion_blur_hand`: a hand smeared along a direction, as a swung hand is at 30 fps,
  against a still room: a line kernel blended in around the hand only.
- :func:`shrink_frame`: the frame at a fraction of its size in the middle of a filled canvas, as
  if every player stood that much farther away (same camera, same frame size).

``training.evaluate --blur/--shrink`` measures a model on transformed validation frames with
exactly these functions, and training augments with the first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from training.data import Crop, Image
from training.labels import HandLabel

SHRINK_FILL = (114, 114, 114)  # a neutral grey around a shrunk frame (no edges, no black bars)


def line_kernel(length: float, angle: float) -> np.ndarray:
    """A normalised motion-blur kernel: a line ``length`` px long at ``angle`` degrees."""
    k = max(3, int(math.ceil(length)) | 1)  # odd, so the smear is centred on the hand
    kernel = np.zeros((k, k), np.float32)
    half = (length - 1) / 2
    c = (k - 1) / 2
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    n = max(2, int(math.ceil(length * 2)))
    for t in np.linspace(-half, half, n):  # sample the segment densely, bilinear splat
        x, y = c + t * dx, c + t * dy
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for xx, yy, w in ((x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                          (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)):  # fmt: skip
            if 0 <= xx < k and 0 <= yy < k:
                kernel[yy, xx] += w
    return kernel / kernel.sum()


def motion_blur_hand(
    img: np.ndarray, x: float, y: float, r: float, length: float, angle: float, reach: float = 2.0
) -> None:
    """Smear the hand at ``(x, y)`` (radius ``r``) along ``angle``, in place.

    The blur is a line kernel ``length`` px long, fully applied within ``r`` of the centre and
    faded out linearly to nothing at ``reach * r``: a fast hand blurs, the room behind it does not.
    """
    if length < 1.5 or r <= 0:
        return
    h, w = img.shape[:2]
    pad = reach * r + length
    x0, x1 = max(0, int(x - pad)), min(w, int(math.ceil(x + pad)) + 1)
    y0, y1 = max(0, int(y - pad)), min(h, int(math.ceil(y + pad)) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    region = img[y0:y1, x0:x1]
    smeared = cv2.filter2D(region, -1, line_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = np.hypot(xx - x, yy - y)
    alpha = np.clip((reach * r - d) / max((reach - 1.0) * r, 1e-6), 0.0, 1.0)[..., None]
    img[y0:y1, x0:x1] = (region * (1 - alpha) + smeared * alpha + 0.5).astype(np.uint8)


def blur_hands(
    img: np.ndarray, hands: list[HandLabel], fraction: float, seed: int = 0
) -> np.ndarray:
    """A copy of ``img`` with every hand motion-blurred ``fraction * r`` long along a random
    direction (``training.evaluate --blur``; the direction is seeded, so runs repeat)."""
    rng = np.random.default_rng(seed)
    out = img.copy()
    for hd in hands:
        motion_blur_hand(out, hd.x, hd.y, hd.r, fraction * hd.r, float(rng.uniform(0, 180)))
    return out


def shrink_frame(
    img: np.ndarray, hands: list[HandLabel], factor: float
) -> tuple[np.ndarray, list[HandLabel]]:
    """``img`` scaled by ``factor`` into the middle of a canvas of its own size, the rest filled
    with :data:`SHRINK_FILL`; the hands mapped the same way (pixel centres at integers)."""
    if not 0 < factor <= 1:
        raise ValueError(f"shrink factor must be in (0, 1], not {factor}")
    h, w = img.shape[:2]
    sw, sh = max(1, round(w * factor)), max(1, round(h * factor))
    ox, oy = (w - sw) // 2, (h - sh) // 2
    out = np.empty_like(img)
    out[:] = SHRINK_FILL
    out[oy : oy + sh, ox : ox + sw] = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    sx, sy = sw / w, sh / h
    moved = [
        HandLabel(
            ox + (hd.x + 0.5) * sx - 0.5,
            oy + (hd.y + 0.5) * sy - 0.5,
            hd.r * sx,
            hd.cls,
            hd.label_source,
        )  # fmt: skip
        for hd in hands
    ]
    return out, moved


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
        else:  # motion blur of the whole view: the camera moves too
            length = int(rng.integers(3, 8))
            img = cv2.filter2D(img, -1, line_kernel(length, rng.uniform(0, 180)))
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
