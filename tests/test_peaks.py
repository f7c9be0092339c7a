import numpy as np
import pytest

from handplay.accuracy import gaussian_grid
from handplay.peaks import blob_radius, find_peaks


def test_blank_grid_has_no_peaks():
    assert len(find_peaks(np.zeros((20, 30), np.float32), 0.3).x) == 0


def test_nms_keeps_one_peak_per_blob_strongest_first():
    grid = gaussian_grid((30, 40), np.array([[10.0, 8.0], [30.0, 20.0]]), 1.0)
    grid[20, 30] = 0.9  # weaken the second so the order is known (peak stays there)
    p = find_peaks(grid, 0.3)
    assert list(zip(p.col, p.row, strict=True)) == [(10, 8), (30, 20)]
    assert p.score[0] > p.score[1]


def test_plateau_gives_a_single_peak():
    grid = np.zeros((10, 10), np.float32)
    grid[4:6, 4:7] = 0.8
    assert len(find_peaks(grid, 0.3).x) == 1


def test_threshold_and_top_k():
    centres = np.array([[5.0 + 8 * i, 5.0] for i in range(5)])
    grid = gaussian_grid((12, 45), centres, 1.0) * np.float32(0.5)
    assert len(find_peaks(grid, 0.6).x) == 0
    assert len(find_peaks(grid, 0.4, max_peaks=3).x) == 3


def test_refinement_beats_integer_peaks_on_subcell_offsets():
    rng = np.random.default_rng(3)
    errors = {"none": [], "mean": [], "mean-min": []}
    for _ in range(200):
        c = rng.uniform(8, 12, size=(1, 2))
        grid = gaussian_grid((20, 20), c, 1.0)
        for mode in errors:
            p = find_peaks(grid, 0.5, refine=mode)
            errors[mode].append(np.hypot(p.x[0] - c[0, 0], p.y[0] - c[0, 1]))
    med = {k: np.median(v) for k, v in errors.items()}
    assert med["none"] > 0.3  # uniform offsets: the integer peak is ~0.4 cells off
    assert med["mean-min"] < 0.1
    assert med["mean-min"] < med["mean"] < med["none"]


def test_peak_at_border_is_refined_without_nan():
    grid = gaussian_grid((10, 10), np.array([[0.2, 9.0]]), 0.8)
    p = find_peaks(grid, 0.3)
    assert np.isfinite(p.x).all() and abs(p.x[0] - 0.2) < 0.3 and abs(p.y[0] - 9.0) < 0.3


def test_blob_radius_grows_with_sigma():
    small = gaussian_grid((30, 30), np.array([[15.0, 15.0]]), 1.0)
    large = gaussian_grid((30, 30), np.array([[15.0, 15.0]]), 2.0)
    rs = blob_radius(small, find_peaks(small, 0.5))[0]
    rl = blob_radius(large, find_peaks(large, 0.5))[0]
    assert rl == pytest.approx(2 * rs, rel=0.25)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="2-D"):
        find_peaks(np.zeros((1, 5, 5)), 0.5)
    with pytest.raises(ValueError, match="refine must be one of"):
        find_peaks(np.zeros((5, 5)), 0.5, refine="quadratic")


def _reference_find_peaks(heatmap, threshold, max_peaks=16, refine="mean-min"):
    """The all-numpy peak finder that find_peaks replaced (issue 14), kept as the reference:
    the faster one must give the same peaks, bit for bit."""
    h = np.asarray(heatmap, dtype=np.float32)
    padded = np.pad(h, 1, mode="constant", constant_values=-np.inf)
    rows, cols = np.nonzero(h >= threshold)
    offsets = np.arange(-1, 2)
    r = rows[:, None, None] + 1 + offsets[None, :, None]
    c = cols[:, None, None] + 1 + offsets[None, None, :]
    win = padded[r, c]
    flat = win.reshape(len(rows), 9)
    centre = flat[:, 4:5]
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
    return x, y, scores, rows, cols


def _random_heatmaps(rng, count):
    """Smooth blobs, noise, coarse levels (plateaus and ties everywhere), peaks on the border,
    odd shapes, a strided view (as the detector crops its output) and float64."""
    for k in range(count):
        shape = (int(rng.integers(1, 60)), int(rng.integers(1, 90)))
        kind = k % 5
        if kind == 0:
            centres = rng.uniform(-1, 1, (int(rng.integers(1, 6)), 2)) * shape[
                ::-1
            ] + 0.5 * np.array(shape[::-1])
            heat = gaussian_grid(shape, centres, float(rng.uniform(0.6, 2.5)))
        elif kind == 1:
            heat = rng.random(shape, dtype=np.float32)
        elif kind == 2:
            heat = (rng.integers(0, 4, shape) / 3).astype(np.float32)  # plateaus and ties
        elif kind == 3:
            heat = np.zeros(shape, np.float32)
            heat[0, :] = rng.integers(0, 3, shape[1]) / 2  # the top row and the left column
            heat[:, 0] = rng.integers(0, 3, shape[0]) / 2
        else:
            big = rng.random((shape[0] + 3, shape[1] + 5)).astype(np.float32) ** 4
            heat = big[: shape[0], : shape[1]]  # not contiguous
        yield heat.astype(np.float64) if k % 7 == 3 else heat


def test_peaks_are_identical_to_the_reference_implementation():
    rng = np.random.default_rng(14)
    checked = 0
    for heat in _random_heatmaps(rng, 600):
        threshold = float(rng.choice([0.0, 0.3, 0.5, 2 / 3, 0.9]))
        max_peaks = int(rng.choice([1, 3, 16, 1000]))
        for refine in ("mean-min", "mean", "none"):
            got = find_peaks(heat, threshold, max_peaks, refine=refine)
            want = _reference_find_peaks(heat, threshold, max_peaks, refine=refine)
            for name, a, b in zip(("x", "y", "score", "row", "col"), got, want, strict=True):
                assert a.dtype == b.dtype and a.shape == b.shape, (name, a, b)
                np.testing.assert_array_equal(a, b, err_msg=f"{name} {refine} {heat.shape}")
            checked += len(got.x)
    assert checked > 10_000  # the random grids did have peaks to compare
