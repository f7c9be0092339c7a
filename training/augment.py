"""Image transforms shared by training augmentation and evaluation (numpy and OpenCV only).

- :func:`motion_blur_hand`: a hand smeared along a direction, as a swung hand is at 30 fps,
  against a still room: a line kernel blended in around the hand only.
- :func:`shrink_frame`: the frame at a fraction of its size in the middle of a filled canvas, as
  if every player stood that much farther away (same camera, same frame size).

``training.evaluate --blur/--shrink`` measures a model on transformed validation frames with
exactly these functions, and training augments with the first.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

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
