"""Optical-flow marker propagation for the annotation tool: pure functions, no display.

A hand marker (centre ``x, y``, radius ``r`` in frame pixels) is carried from one frame to the
next much as a median-flow tracker does it:

1. pick trackable points inside the marker (corners, topped up with a grid so smooth hands still
   get points), within ``POINT_FRACTION * r`` of the centre so the room around the hand does
   not vote;
2. track them forward with pyramidal Lucas–Kanade, then track the results backward; keep the
   points whose forward–backward error is small and whose patch still matches;
3. keep the points that agree on one motion (a robust shift + scale fit): something passing
   in front of the hand drags its own points another way;
4. move the marker by a similarity transform (shift, turn, scale) fitted to those points.

If the first try fails, a second one starts every point from the shift found by matching the
marker's patch (coarse pyramid levels can be pulled off a smooth hand by a busy room or by a
bigger thing moving nearby). When that fails too (the hand left, was covered or blurred) the
result is *not ok*: the caller stops and flags the marker instead of letting it drift. Markers
between two keyframes can be filled in with :func:`interpolate`.

Its accuracy and speed are measured by :mod:`training.annotate.bench` (``python -m
training.annotate.bench``) on a synthetic textured hand with a known path.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

POINT_FRACTION = 0.7  # points are taken within this share of the radius (hands are not discs)
GRID_STEP_FRACTION = 0.25  # grid points every r/4 so even flat patches get tracked
MAX_CORNERS = 60  # corner points per marker; more costs time and adds little
LK_WINDOW = 21  # LK window in pixels (odd); large enough for blurry webcam frames
LK_LEVELS = 3  # pyramid levels: moves up to ~LK_WINDOW * 2**LK_LEVELS / 2 pixels per frame
FALLBACK_LEVELS = 1  # second try, seeded by template matching, when the first one fails
MIN_TEMPLATE_SCORE = 0.6  # normalised correlation below this: the patch is not found
FB_MAX_ERROR = 1.0  # px: forward-backward disagreement above this marks a point unreliable
PATCH_MAX_ERROR = 18.0  # LK mean absolute patch difference (grey levels) above this = mismatch
MIN_POINTS = 8  # fewer good points than this: tracking is unreliable
MIN_GOOD_FRACTION = 0.4  # share of the points that must survive the checks
INLIER_MIN_PX = 1.0  # px: a point moving this close to the common motion agrees with it
INLIER_FRACTION = 0.08  # ... or within this share of r (real hands bend while they move)
MIN_CONSISTENT = 0.5  # share of all the marker's points that must agree on one motion
MAX_SCALE_STEP = 0.1  # the radius may change by at most 10 % per frame
CROP_MARGIN = 64  # px around the marker searched for it: fast hands move ~40 px per frame

_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)


class TrackResult(NamedTuple):
    """The outcome of carrying one marker to the next frame.

    Attributes:
        x, y, r: the new centre and radius in frame pixels (the old ones when not ``ok``).
        ok: False when tracking was unreliable; the caller must not use ``x, y, r``.
        reason: why it failed (``""`` when ok), for the status line and the flag.
        points: how many points survived the checks.
        fb_error: median forward–backward error of the surviving points, in pixels.
    """

    x: float
    y: float
    r: float
    ok: bool
    reason: str
    points: int
    fb_error: float


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A BGR (or already grey) uint8 frame as a single-channel uint8 image."""
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _marker_points(gray: np.ndarray, x: float, y: float, r: float) -> np.ndarray:
    """Points to track inside the marker, float32 array of shape (N, 1, 2)."""
    h, w = gray.shape
    reach = POINT_FRACTION * r
    mask = np.zeros_like(gray)
    cv2.circle(mask, (round(x), round(y)), max(1, round(reach)), 255, -1)
    corners = cv2.goodFeaturesToTrack(
        gray, MAX_CORNERS, qualityLevel=0.01, minDistance=max(2.0, r / 10), mask=mask
    )
    pts = [] if corners is None else [corners.reshape(-1, 2)]
    step = max(2.0, GRID_STEP_FRACTION * r)
    offsets = np.arange(-reach, reach + 1e-6, step)
    gx, gy = np.meshgrid(offsets, offsets)
    inside = gx**2 + gy**2 <= reach**2
    grid = np.stack([gx[inside] + x, gy[inside] + y], axis=1)
    pts.append(grid)
    allp = np.concatenate(pts).astype(np.float32)
    keep = (allp[:, 0] >= 0) & (allp[:, 0] <= w - 1) & (allp[:, 1] >= 0) & (allp[:, 1] <= h - 1)
    return allp[keep].reshape(-1, 1, 2)


def _template_shift(
    prev: np.ndarray, nxt: np.ndarray, x: float, y: float, r: float
) -> tuple[float, float] | None:
    """Whole-pixel shift of the marker's central patch from ``prev`` to ``nxt``, or None."""
    half = max(4, int(POINT_FRACTION * r))
    cx, cy = round(x), round(y)
    tx0, ty0 = max(0, cx - half), max(0, cy - half)
    tpl = prev[ty0 : cy + half + 1, tx0 : cx + half + 1]
    if min(tpl.shape) < 8 or tpl.shape[0] >= nxt.shape[0] or tpl.shape[1] >= nxt.shape[1]:
        return None
    res = cv2.matchTemplate(nxt, tpl, cv2.TM_CCOEFF_NORMED)
    _, score, _, loc = cv2.minMaxLoc(res)
    if score < MIN_TEMPLATE_SCORE:
        return None
    return float(loc[0] - tx0), float(loc[1] - ty0)


def _lk(
    prev: np.ndarray,
    nxt: np.ndarray,
    p0: np.ndarray,
    levels: int,
    shift: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward and backward LK; return (good mask, forward points, forward-backward error).

    ``shift`` is a first guess of the motion (both ways), else LK starts from no motion.
    """
    lk = {"winSize": (LK_WINDOW, LK_WINDOW), "maxLevel": levels, "criteria": _LK_CRITERIA}
    if shift is None:
        p1, st1, err1 = cv2.calcOpticalFlowPyrLK(prev, nxt, p0, None, **lk)
        p0b, st2, _ = cv2.calcOpticalFlowPyrLK(nxt, prev, p1, None, **lk)
    else:
        guess = np.float32(shift).reshape(1, 1, 2)
        lk["flags"] = cv2.OPTFLOW_USE_INITIAL_FLOW
        p1, st1, err1 = cv2.calcOpticalFlowPyrLK(prev, nxt, p0, p0 + guess, **lk)
        p0b, st2, _ = cv2.calcOpticalFlowPyrLK(nxt, prev, p1, p1 - guess, **lk)
    fb = np.linalg.norm((p0 - p0b).reshape(-1, 2), axis=1)
    good = (
        (st1.ravel() == 1)
        & (st2.ravel() == 1)
        & (fb < FB_MAX_ERROR)
        & (err1.ravel() < PATCH_MAX_ERROR)
    )
    return good, p1, fb


def _median_scale(p0: np.ndarray, p1: np.ndarray) -> float:
    """Median ratio of pairwise distances after/before: how much the point cloud grew."""
    if len(p0) < 3:
        return 1.0
    idx = np.arange(len(p0))
    i, j = np.meshgrid(idx, idx)
    upper = i < j
    d0 = np.hypot(*(p0[i[upper]] - p0[j[upper]]).T)
    d1 = np.hypot(*(p1[i[upper]] - p1[j[upper]]).T)
    far = d0 > 4.0  # short pairs give noisy ratios
    if far.sum() < 3:
        return 1.0
    return float(np.median(d1[far] / d0[far]))


def track_marker(
    prev_gray: np.ndarray, next_gray: np.ndarray, x: float, y: float, r: float
) -> TrackResult:
    """Carry the marker ``(x, y, r)`` from ``prev_gray`` to ``next_gray``.

    Args:
        prev_gray: the frame the marker is on, uint8 greyscale (see :func:`to_gray`).
        next_gray: the following frame, same size.
        x, y: marker centre in ``prev_gray`` pixels.
        r: marker radius in pixels, > 0.

    Returns:
        A :class:`TrackResult`; check ``ok`` before using the new position.

    Raises:
        ValueError: the frames differ in size or ``r`` is not positive.
    """
    if prev_gray.shape != next_gray.shape:
        raise ValueError(
            f"frames must have the same size, not {prev_gray.shape} and {next_gray.shape}"
        )
    if not r > 0:
        raise ValueError(f"marker radius must be greater than 0, not {r}")
    # Work on a crop around the marker: corner search and pyramids over the whole frame would
    # cost ten times more. The margin covers the largest motion the pyramid can follow.
    h, w = prev_gray.shape
    margin = r + CROP_MARGIN
    x0, y0 = max(0, int(x - margin)), max(0, int(y - margin))
    x1, y1 = min(w, int(x + margin) + 1), min(h, int(y + margin) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return TrackResult(x, y, r, False, "marker is off the frame", 0, math.nan)
    prev_crop, next_crop = prev_gray[y0:y1, x0:x1], next_gray[y0:y1, x0:x1]
    p0 = _marker_points(prev_crop, x - x0, y - y0, r)
    if len(p0) < MIN_POINTS:
        return TrackResult(x, y, r, False, "marker is off the frame", len(p0), math.nan)
    res = _solve(prev_crop, next_crop, p0, (x0, y0), x, y, r, None)
    if not res.ok:
        # Coarse pyramid levels see a wide area: a smooth hand over a busy room, or a bigger
        # thing moving nearby, drags them off. Find the hand's shift by matching its patch,
        # then let a shallow pyramid refine every point from there.
        shift = _template_shift(prev_crop, next_crop, x - x0, y - y0, r)
        if shift is not None:
            second = _solve(prev_crop, next_crop, p0, (x0, y0), x, y, r, shift)
            res = second if second.ok else res
    return res


def _solve(
    prev: np.ndarray,
    nxt: np.ndarray,
    p0: np.ndarray,
    origin: tuple[int, int],
    x: float,
    y: float,
    r: float,
    shift: tuple[float, float] | None,
) -> TrackResult:
    """Track the points ``p0`` of a crop whose top-left is ``origin`` and check the result."""
    levels = LK_LEVELS if shift is None else FALLBACK_LEVELS
    good, p1, fb = _lk(prev, nxt, p0, levels, shift)
    n_good = int(good.sum())
    fb_med = float(np.median(fb[good])) if n_good else math.nan
    if n_good < MIN_POINTS or n_good < MIN_GOOD_FRACTION * len(p0):
        reason = f"lost: {n_good} of {len(p0)} points tracked reliably"
        return TrackResult(x, y, r, False, reason, n_good, fb_med)
    a = p0.reshape(-1, 2)[good]
    b = p1.reshape(-1, 2)[good]
    # Something passing in front of the hand drags the points on it along with itself: keep the
    # points that agree with the common motion and stop when too few do (else the median
    # follows the occluder once it covers half the marker).
    inlier = _common_motion(a, b)[2] < max(INLIER_MIN_PX, INLIER_FRACTION * r)
    n_in = int(inlier.sum())
    if n_in < MIN_POINTS or n_in < MIN_CONSISTENT * len(p0):
        reason = (
            f"points disagree: {n_in} of {len(p0)} move together (something in front of the hand?)"
        )
        return TrackResult(x, y, r, False, reason, n_in, fb_med)
    # The agreeing points give a similarity transform (shift, turn, scale): hands turn as they
    # wave, and a turn moves the centre differently from the points' median.
    centre = np.array([x - origin[0], y - origin[1]])
    m, _ = cv2.estimateAffinePartial2D(a[inlier], b[inlier], method=cv2.LMEDS)
    if m is None:
        ca, med_shift, _, scale = _common_motion(a[inlier], b[inlier])
        nx, ny = ca + med_shift + scale * (centre - ca) + origin
    else:
        scale = min(max(math.hypot(m[0, 0], m[1, 0]), 1 - MAX_SCALE_STEP), 1 + MAX_SCALE_STEP)
        nx, ny = m @ np.append(centre, 1.0) + origin
    return TrackResult(float(nx), float(ny), float(r * scale), True, "", n_in, fb_med)


def _common_motion(
    a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Fit ``b ≈ ca + shift + scale * (a - ca)`` robustly (medians); ``ca`` = median of ``a``.

    Returns:
        ``(ca, shift, residuals, scale)``: residuals are each point's distance from the fit, px.
    """
    scale = min(max(_median_scale(a, b), 1 - MAX_SCALE_STEP), 1 + MAX_SCALE_STEP)
    ca = np.median(a, axis=0)
    shift = np.median(b - ca - scale * (a - ca), axis=0)
    resid = np.linalg.norm(b - (ca + shift + scale * (a - ca)), axis=1)
    return ca, shift, resid, scale


def interpolate(
    a: tuple[float, float, float], b: tuple[float, float, float], t: float
) -> tuple[float, float, float]:
    """Linear blend of two markers ``(x, y, r)``: ``t=0`` gives ``a``, ``t=1`` gives ``b``.

    Raises:
        ValueError: ``t`` is outside 0..1.
    """
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be between 0 and 1, not {t}")
    return tuple(float(p + (q - p) * t) for p, q in zip(a, b, strict=True))  # type: ignore[return-value]
