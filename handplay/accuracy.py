"""Accuracy on synthetic data with known truth: peak refinement and smoothing.

The harnesses behind ``python -m handplay.bench --peaks`` (sub-cell refinement error of
:func:`handplay.peaks.find_peaks` on Gaussian blobs at random offsets) and ``--smoothing``
(jitter, lag and overshoot of the filters of :mod:`handplay.smoothing` on noisy trajectories:
a still hand, a slow move, a fast swipe). The tables are in the README.
"""

from __future__ import annotations

import numpy as np

from handplay.peaks import REFINE_MODES, find_peaks
from handplay.smoothing import KalmanFilter, OneEuroFilter

# ---- peaks -----------------------------------------------------------------------------------


def gaussian_grid(shape: tuple[int, int], centres: np.ndarray, sigma: float) -> np.ndarray:
    """A grid with a unit-height Gaussian blob at each ``(x, y)`` centre, combined by max."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    grid = np.zeros(shape, np.float32)
    for cx, cy in centres:
        grid = np.maximum(grid, np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2)))
    return grid


def measure_peaks(
    trials: int = 2000, sigmas: tuple[float, ...] = (0.75, 1.0, 1.5, 2.0), seed: int = 0
) -> dict[tuple[float, str], tuple[float, float]]:
    """Median and p90 position error (cells) per refinement mode and blob sigma."""
    rng = np.random.default_rng(seed)
    results = {}
    for sigma in sigmas:
        errors = {mode: [] for mode in REFINE_MODES}
        for _ in range(trials):
            centre = np.array([[rng.uniform(8, 12), rng.uniform(8, 12)]], np.float32)
            grid = gaussian_grid((20, 20), centre, sigma)
            grid += rng.normal(0, 0.01, grid.shape).astype(np.float32)  # a little model noise
            for mode in REFINE_MODES:
                p = find_peaks(grid, 0.5, 1, refine=mode)
                errors[mode].append(np.hypot(p.x[0] - centre[0, 0], p.y[0] - centre[0, 1]))
        for mode, errs in errors.items():
            results[(sigma, mode)] = (float(np.median(errs)), float(np.percentile(errs, 90)))
    return results


def print_peak_table(trials: int = 2000) -> None:
    """Print the refinement accuracy table (Markdown); ``python -m handplay.bench --peaks``."""
    results = measure_peaks(trials)
    print(
        "| blob sigma (cells) | integer peak p50 / p90 | 3×3 mean p50 / p90 "
        "| 3×3 mean − min p50 / p90 |"
    )
    print("| --- | --- | --- | --- |")
    for sigma in sorted({s for s, _ in results}):
        cells = [
            f"{results[(sigma, m)][0]:.3f} / {results[(sigma, m)][1]:.3f}" for m in REFINE_MODES
        ]
        print(f"| {sigma} | " + " | ".join(cells) + " |")


# ---- smoothing -------------------------------------------------------------------------------


class RawFilter:
    """No smoothing: the measured position (the baseline in the measurement)."""

    def __init__(self) -> None:
        self._last: tuple[np.ndarray, float] | None = None
        self._v = np.zeros(2)

    @property
    def velocity(self) -> np.ndarray:
        return self._v.copy()

    def __call__(self, pos: np.ndarray, t: float, radius: float) -> np.ndarray:
        pos = np.asarray(pos, dtype=np.float64)
        if self._last is not None and t > self._last[1]:
            self._v = (pos - self._last[0]) / (t - self._last[1])
        self._last = (pos, t)
        return pos.copy()


def _trajectory(kind: str, fps: float, radius: float) -> np.ndarray:
    """Truth positions (N×2 px) at ``fps`` for 3 s: still, slow (1 radius/s), swipe.

    The swipe eases in over 0.2 s, runs at 25 radii/s and stops within 0.1 s at 2 s: a bat at a
    ball, the case where a filter that assumes constant velocity overshoots.
    """
    t = np.arange(int(3 * fps)) / fps
    x0 = np.array([320.0, 240.0])
    if kind == "still":
        return np.repeat(x0[None], len(t), axis=0)
    speed = {"slow": 1.0, "swipe": 25.0}[kind] * radius  # px/s; a swipe crosses a room in 0.5 s
    ramp = np.clip(t / 0.2, 0, 1)
    if kind == "swipe":
        ramp = np.minimum(ramp, np.clip((2.1 - t) / 0.1, 0, 1))
    x = x0[0] - 0.5 * speed * 2 + np.cumsum(speed * ramp) / fps
    return np.stack([x, np.full_like(x, x0[1])], axis=1)


def evaluate_filter(
    make_filter, fps: float = 30.0, radius: float = 40.0, noise: float = 0.05, seed: int = 0
) -> dict[str, float]:
    """Jitter (RMS px, still hand, after 0.5 s), lag (ms, swipe at full speed), overshoot (px,
    after the swipe stops)."""
    rng = np.random.default_rng(seed)
    out = {}
    for kind in ("still", "slow", "swipe"):
        truth = _trajectory(kind, fps, radius)
        measured = truth + rng.normal(0, noise * radius, truth.shape)
        f = make_filter()
        est = np.array([f(m, i / fps, radius) for i, m in enumerate(measured)])
        settled = slice(int(0.5 * fps), None)
        err = est[settled] - truth[settled]
        if kind == "still":
            out["jitter_px"] = float(np.sqrt((err**2).sum(axis=1).mean()))
        elif kind == "slow":
            out["slow_rms_px"] = float(np.sqrt((err**2).sum(axis=1).mean()))
        else:
            full = slice(int(0.5 * fps), int(2.0 * fps))  # running at full speed
            speed = np.gradient(truth[:, 0]) * fps
            lag_s = (truth[full, 0] - est[full, 0]) / speed[full]
            out["lag_ms"] = float(np.mean(lag_s) * 1000)
            out["overshoot_px"] = float(max(0.0, (est[int(2.0 * fps) :, 0] - truth[-1, 0]).max()))
    return out


FILTERS = {
    "raw peaks": RawFilter,
    "One Euro (default)": OneEuroFilter,
    "Kalman, constant velocity": KalmanFilter,
}


def print_smoothing_table(noise: float = 0.05, radius: float = 40.0, fps: float = 30.0) -> None:
    """Print the jitter/lag table (Markdown); ``python -m handplay.bench --smoothing``.

    Args:
        noise: detector position noise per axis, in hand radii.
        radius: hand radius, px.
        fps: frame rate.
    """
    print(
        f"radius {radius:g} px, noise {noise:g} r ({noise * radius:.1f} px) per axis, "
        f"{fps:g} fps; slow = {radius:g} px/s, swipe = {25 * radius:g} px/s"
    )
    print(
        "| filter | still: jitter RMS px | slow move: RMS error px "
        "| swipe: lag ms | swipe stop: overshoot px |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, make in FILTERS.items():
        seeds = [evaluate_filter(make, fps, radius, noise, seed=s) for s in range(5)]
        m = {k: float(np.mean([s[k] for s in seeds])) for k in seeds[0]}
        print(
            f"| {name} | {m['jitter_px']:.2f} | {m['slow_rms_px']:.2f} | {m['lag_ms']:.0f} "
            f"| {m['overshoot_px']:.1f} |"
        )
