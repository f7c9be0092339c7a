"""Peak finding on a heatmap: 3×3 non-maximum suppression, threshold, top-K, sub-cell refinement.

A separable 3×3 maximum over the grid, then numpy on the few candidates: under 0.1 ms on an
80×48 grid (``python -m handplay.bench`` measures it). Numpy only, so the tracker can import
:class:`Detection` without OpenCV or onnxruntime.

Coordinates are in *cells* of the heatmap grid: cell ``(row i, col j)`` has its centre at
``(x, y) = (j, i)``. :mod:`handplay.detector` turns cells into frame pixels.

Refinement: the position is the weighted average of the 3×3 cell centres around the peak. With
the raw heatmap values as weights the average is pulled toward the centre cell (the neighbours
are never zero), so by default the weights are the values minus the smallest value of the 3×3
window, which removes most of that pull. ``python -m handplay.bench --peaks`` measures both
against the integer peak on Gaussian blobs at random sub-cell offsets
(:mod:`handplay.accuracy`).

:class:`Detection`, what the detector makes of a peak, lives here with the peaks rather than in
:mod:`handplay.detector`, so the tracker can use it without loading onnxruntime.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

REFINE_MODES = ("none", "mean", "mean-min")
_OFFSETS: dict[int, np.ndarray] = {}
_CELL = np.arange(-1, 2, dtype=np.float32)  # a window's cell offsets


class Detection(NamedTuple):
    """One detected hand, in frame pixels (origin top-left, y down, not mirrored).

    Attributes:
        x: centre column, px (sub-pixel).
        y: centre row, px.
        radius: hand radius, px.
        score: the heatmap peak value, 0..1 (format 2: how sure the model is that a hand is
            there, open or not; format 1: an open, facing hand); for a hand the detector looked
            at twice (:mod:`handplay.detector`, second look), the mean of the two peaks.
        open: format-2 models: the ``open`` output at the peak cell (for a looked-at hand, the
            patch's), 0..1, the probability that the hand is open and facing the camera;
            ``None`` for format-1 models.
    """

    x: float
    y: float
    radius: float
    score: float
    open: float | None = None


class Peaks(NamedTuple):
    """Peaks found on a grid, strongest first. Arrays of length K.

    Attributes:
        x: column position in cells (sub-cell after refinement).
        y: row position in cells.
        score: the heatmap value at the peak cell.
        row: integer row of the peak cell.
        col: integer column of the peak cell.
    """

    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    row: np.ndarray
    col: np.ndarray


def _no_peaks() -> Peaks:
    """Empty :class:`Peaks` with the dtypes of a non-empty result (fresh arrays each time)."""
    f, i = np.zeros(0, np.float32), np.zeros(0, np.intp)
    return Peaks(x=f, y=f.copy(), score=f.copy(), row=i, col=i.copy())


def _offsets(width: int) -> np.ndarray:
    """Flat offsets of a 3×3 window, raster order, in a grid ``width`` wide padded by 1."""
    if width not in _OFFSETS:
        _OFFSETS[width] = (np.arange(-1, 2)[:, None] * (width + 2) + np.arange(-1, 2)).ravel()
    return _OFFSETS[width]


def find_peaks(
    heatmap: np.ndarray,
    threshold: float,
    max_peaks: int = 16,
    refine: str = "mean-min",
) -> Peaks:
    """Local maxima of ``heatmap`` at or above ``threshold``, strongest first.

    Args:
        heatmap: 2-D float array (rows × cols), values 0..1.
        threshold: minimum peak value.
        max_peaks: keep at most this many (the strongest).
        refine: ``"mean-min"`` (default; 3×3 weighted average with the window minimum
            subtracted), ``"mean"`` (plain 3×3 weighted average) or ``"none"`` (cell centres).

    Returns:
        :class:`Peaks`, possibly empty.

    Raises:
        ValueError: ``heatmap`` is not 2-D, or ``refine`` is unknown.
    """
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be 2-D (rows × cols), not shape {heatmap.shape}")
    if refine not in REFINE_MODES:
        raise ValueError(f"refine must be one of {REFINE_MODES}, not {refine!r}")
    h = np.asarray(heatmap, dtype=np.float32)
    if h.size == 0:
        return _no_peaks()
    height, width = h.shape
    padded = np.full((height + 2, width + 2), -np.inf, np.float32)
    padded[1:-1, 1:-1] = h
    # A peak is at least its 8 neighbours, so the 3×3 maximum (separable: 3 columns, then 3
    # rows, 4 whole-grid passes) and the threshold leave a few candidates per hand; only those
    # get the exact tie rule below.
    across = np.maximum(padded[:, :-2], padded[:, 1:-1])
    np.maximum(across, padded[:, 2:], out=across)
    local = np.maximum(across[:-2], across[1:-1])
    np.maximum(local, across[2:], out=local)
    candidate = h >= local
    candidate &= h >= threshold
    index = np.flatnonzero(candidate)  # raster order; 2-D np.nonzero is twice as slow
    if not len(index):
        return _no_peaks()
    # K×9: each candidate's 3×3 window in raster order, -inf outside the grid (cell index i at
    # row r sits at i + 2r + width + 3 in the padded grid)
    flat = padded.ravel()[(index + 2 * (index // width) + width + 3)[:, None] + _offsets(width)]
    centre = flat[:, 4:5]
    # Ties: a cell must beat the neighbours before it in raster order (flat 0..3) strictly and
    # those after it (5..8) or equal them, so a flat plateau yields exactly one peak.
    keep = np.flatnonzero((centre > flat[:, :4]).all(axis=1) & (centre >= flat[:, 5:]).all(axis=1))
    # strongest first; equal scores keep raster order (a stable sort)
    order = keep[np.argsort(-flat[keep, 4], kind="stable")[:max_peaks]]
    flat = flat[order]
    rows, cols = np.divmod(index[order], width)
    scores, win = flat[:, 4], flat.reshape(len(order), 3, 3)
    x, y = cols.astype(np.float32), rows.astype(np.float32)
    if refine != "none" and len(order):
        inside = np.isfinite(win)
        if refine == "mean-min" and inside.all():  # no border peak: no -inf to mask (faster)
            win = win - win.min(axis=(1, 2), keepdims=True)
        else:
            win = np.where(inside, win, 0.0)
            if refine == "mean-min":
                floor = np.where(inside, win, np.inf).min(axis=(1, 2), keepdims=True)
                win = np.where(inside, win - floor, 0.0)
        total = win.sum(axis=(1, 2))
        found = total > 0
        # sums[0] the column sums (x), sums[1] the row sums (y), 2×K×3; the mean offset is
        # (sum at +1 − sum at −1) / total
        sums = np.empty((2, len(order), 3), np.float32)
        win.sum(axis=1, out=sums[0])
        win.sum(axis=2, out=sums[1])
        d = np.where(found, (sums[:, :, 2] - sums[:, :, 0]) / np.where(found, total, 1.0), 0.0)
        x, y = x + d[0], y + d[1]
    return Peaks(x=x, y=y, score=scores, row=rows, col=cols)


def blob_radius(heatmap: np.ndarray, peaks: Peaks, reach: int = 7) -> np.ndarray:
    """Radius (cells) of each peak's blob: the area at or above half the peak value, as a disc.

    Used when a model has no ``size`` output. Only the cells within ``reach`` of the peak count,
    so a neighbouring hand's blob does not inflate it much.
    """
    if not len(peaks.row):
        return np.zeros(0, np.float32)
    k = 2 * reach + 1
    padded = np.pad(np.asarray(heatmap, np.float32), reach, mode="constant")
    offsets = np.arange(-reach, reach + 1)
    r = peaks.row[:, None, None] + reach + offsets[None, :, None]
    c = peaks.col[:, None, None] + reach + offsets[None, None, :]
    win = padded[r, c].reshape(len(peaks.row), k * k)
    area = (win >= 0.5 * peaks.score[:, None]).sum(axis=1)
    return np.sqrt(area / np.pi).astype(np.float32)
