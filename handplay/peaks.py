"""Peak finding on a heatmap: 3×3 non-maximum suppression, threshold, top-K, sub-cell refinement.

All in vectorised numpy; a 80×48 grid takes a few tens of microseconds.

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


class Detection(NamedTuple):
    """One detected hand, in frame pixels (origin top-left, y down, not mirrored).

    Attributes:
        x: centre column, px (sub-pixel).
        y: centre row, px.
        radius: hand radius, px.
        score: the heatmap peak value, 0..1 (format 2: how sure the model is that a hand is
            there, open or not; format 1: an open, facing hand).
        open: format-2 models: the ``open`` output at the peak cell, 0..1, the probability that
            the hand is open and facing the camera; ``None`` for format-1 models.
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


def _window(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The 3×3 windows (K×3×3) of ``padded`` (padded by 1) centred on the given cells."""
    offsets = np.arange(-1, 2)
    r = rows[:, None, None] + 1 + offsets[None, :, None]
    c = cols[:, None, None] + 1 + offsets[None, None, :]
    return padded[r, c]


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
    padded = np.pad(h, 1, mode="constant", constant_values=-np.inf)
    # Only cells above the threshold can be peaks: a few per hand, so look at just those.
    rows, cols = np.nonzero(h >= threshold)
    win = _window(padded, rows, cols)  # K×3×3, -inf outside the grid
    flat = win.reshape(len(rows), 9)
    centre = flat[:, 4:5]
    # Ties: a cell must beat the neighbours before it in raster order (flat 0..3) strictly and
    # those after it (5..8) or equal them, so a flat plateau yields exactly one peak.
    keep = (centre > flat[:, :4]).all(axis=1) & (centre >= flat[:, 5:]).all(axis=1)
    rows, cols, win, scores = rows[keep], cols[keep], win[keep], flat[keep, 4]
    order = np.argsort(-scores, kind="stable")[:max_peaks]
    rows, cols, win, scores = rows[order], cols[order], win[order], scores[order]
    x, y = cols.astype(np.float32), rows.astype(np.float32)
    if refine != "none" and len(rows):
        inside = np.isfinite(win)
        win = np.where(inside, win, 0.0)
        if refine == "mean-min":
            floor = np.where(inside, win, np.inf).min(axis=(1, 2), keepdims=True)
            win = np.where(inside, win - floor, 0.0)
        total = win.sum(axis=(1, 2))
        offsets = np.arange(-1, 2, dtype=np.float32)
        safe = np.where(total > 0, total, 1.0)
        dx = (win.sum(axis=1) * offsets).sum(axis=1) / safe
        dy = (win.sum(axis=2) * offsets).sum(axis=1) / safe
        x = x + np.where(total > 0, dx, 0.0).astype(np.float32)
        y = y + np.where(total > 0, dy, 0.0).astype(np.float32)
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
