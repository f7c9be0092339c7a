"""The optical-flow propagation bench: a textured hand on a known path, with accuracy in px and
speed in ms per frame. The synthetic scene is shared with the tests.

Run::

    python -m training.annotate.bench                    # the test's scene
    python -m training.annotate.bench --wobble           # the hand also turns and changes size
    python -m training.annotate.bench --wobble --hand-image CROP.jpg --background ROOM.jpg
"""

from __future__ import annotations

import argparse
import json
import math
import time

import cv2
import numpy as np

from training.annotate.flow import to_gray, track_marker

# --- synthetic test scene, shared by the tests and the bench -------------------------------


def textured_patch(radius: int, seed: int = 0) -> np.ndarray:
    """A hand-sized textured blob (BGR uint8, square ``2*radius+1``) with a mask in alpha.

    Returns:
        An array of shape (S, S, 4): smoothed random skin-ish texture plus an alpha channel that
        is 255 inside an irregular blob about ``radius`` across.
    """
    rng = np.random.default_rng(seed)
    size = 2 * radius + 1
    noise = rng.integers(0, 255, (size // 3 + 2, size // 3 + 2), dtype=np.uint8)
    tex = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    bgr = np.stack([tex * 0.5 + 60, tex * 0.6 + 90, tex * 0.7 + 120], axis=2)
    yy, xx = np.mgrid[:size, :size] - radius
    angle = np.arctan2(yy, xx)
    wobble = radius * (0.85 + 0.12 * np.sin(5 * angle))  # fingers-ish outline
    alpha = (np.hypot(xx, yy) <= wobble).astype(np.uint8) * 255
    return np.dstack([np.clip(bgr, 0, 255).astype(np.uint8), alpha])


def patch_from_image(path: str, radius: int) -> np.ndarray:
    """A photo (e.g. a hand crop) as a movable patch like :func:`textured_patch`.

    The image is centre-cropped square, resized to ``2*radius+1`` and masked by its inscribed
    disc.

    Raises:
        FileNotFoundError: the image does not load.
    """
    img = cv2.imread(str(path))
    if img is None:
        raise FileNotFoundError(f"image {path} does not load; give a .jpg or .png")
    h, w = img.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    size = 2 * radius + 1
    sq = cv2.resize(img[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[:size, :size] - radius
    alpha = (np.hypot(xx, yy) <= radius).astype(np.uint8) * 255
    return np.dstack([sq, alpha])


def render_scene(
    background: np.ndarray,
    patch: np.ndarray,
    cx: float,
    cy: float,
    occluder: bool = False,
    angle: float = 0.0,
    scale: float = 1.0,
) -> np.ndarray:
    """Draw ``patch`` centred at sub-pixel ``(cx, cy)`` over ``background``; BGR uint8.

    ``angle`` (degrees) and ``scale`` turn and grow the patch about its centre (a hand turning
    and coming closer). ``occluder=True`` covers it with a flat grey board (someone in front).
    """
    h, w = background.shape[:2]
    radius = patch.shape[0] // 2
    m = cv2.getRotationMatrix2D((float(radius), float(radius)), angle, scale)
    m[:, 2] += (cx - radius, cy - radius)
    moved = cv2.warpAffine(patch, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = moved[:, :, 3:4].astype(np.float32) / 255.0
    out = background.astype(np.float32) * (1 - alpha) + moved[:, :, :3].astype(np.float32) * alpha
    out = out.astype(np.uint8)
    if occluder:
        x0, y0 = int(cx - 2 * radius), int(cy - 2 * radius)
        cv2.rectangle(out, (x0, y0), (x0 + 4 * radius, y0 + 4 * radius), (128, 128, 128), -1)
    return out


def synthetic_path(n: int) -> np.ndarray:
    """``n`` sub-pixel centres ``(x, y)`` on a curving path inside a 640x480 frame."""
    t = np.arange(n, dtype=np.float64)
    # Lissajous loop, up to ~12 px per frame: a brisk wave at 30 fps; stays on the frame.
    return np.stack([320 + 220 * np.sin(t / 20 + 0.3), 240 + 140 * np.sin(t / 13)], axis=1)


def synthetic_background(size: tuple[int, int] = (640, 480), seed: int = 1) -> np.ndarray:
    """A static, mildly textured room (BGR uint8) of ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(40, 200, (h // 16, w // 16, 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0), 3)


def bench(
    frames: int = 50,
    radius: int = 40,
    hand_image: str | None = None,
    background: str | None = None,
    wobble: bool = False,
) -> dict[str, float]:
    """Propagate along the synthetic path; return error (px) and speed (ms per frame) figures.

    Args:
        frames: path length.
        radius: hand radius in pixels.
        hand_image: a photo to move instead of the synthetic texture (a real hand crop).
        background: a photo (resized to 640x480) instead of the synthetic room.
        wobble: the hand also turns (+-15 degrees) and changes size (+-10 %) as it moves.
    """
    path = synthetic_path(frames)
    if background:
        img = cv2.imread(str(background))
        if img is None:
            raise FileNotFoundError(f"background {background} does not load")
        bg = cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA)
    else:
        bg = synthetic_background()
    patch = patch_from_image(hand_image, radius) if hand_image else textured_patch(radius)
    t = np.arange(frames)
    angles = 15 * np.sin(t / 7) if wobble else np.zeros(frames)
    scales = 1 + 0.1 * np.sin(t / 9) if wobble else np.ones(frames)
    grays = [
        to_gray(render_scene(bg, patch, *p, angle=a, scale=k))
        for p, a, k in zip(path, angles, scales, strict=True)
    ]
    x, y, r = *path[0], float(radius) * scales[0]
    errors, r_errors, times = [], [], []
    for i in range(1, frames):
        t0 = time.perf_counter()
        res = track_marker(grays[i - 1], grays[i], x, y, r)
        times.append((time.perf_counter() - t0) * 1000)
        if not res.ok:
            raise RuntimeError(f"bench: tracking lost at frame {i}: {res.reason}")
        x, y, r = res.x, res.y, res.r
        errors.append(math.hypot(x - path[i][0], y - path[i][1]))
        r_errors.append(abs(r / (radius * scales[i]) - 1))
    return {
        "frames": frames,
        "error_px_median": float(np.median(errors)),
        "error_px_max": float(np.max(errors)),
        "radius_error_max": float(np.max(r_errors)),
        "ms_per_frame_median": float(np.median(times)),
        "ms_per_frame_max": float(np.max(times)),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m training.annotate.bench``: print propagation accuracy and speed as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m training.annotate.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--frames", type=int, default=50, help="frames on the path (default 50)")
    parser.add_argument("--radius", type=int, default=40, help="hand radius in px (default 40)")
    parser.add_argument("--hand-image", help="move this photo (a hand crop) instead")
    parser.add_argument("--background", help="photo to use as the room instead")
    parser.add_argument(
        "--wobble",
        action="store_true",
        help="the hand also turns +-15 degrees and changes size +-10 %%",
    )
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # report the single-core figure, as the tool sees it beside the UI
    out = bench(args.frames, args.radius, args.hand_image, args.background, args.wobble)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
