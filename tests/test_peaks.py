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
