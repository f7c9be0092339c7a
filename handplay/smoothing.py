"""Temporal smoothing of hand positions: One Euro (default) and a constant-velocity Kalman filter.

Both work on 2-D positions in pixels and take the hand's radius as the unit of length, so the
same settings fit a hand near the camera and one across the room: detector noise and hand
speeds both grow with the hand's size in the image.

``python -m handplay.bench --smoothing`` measures jitter and lag on synthetic noisy
trajectories with known truth (a still hand, a slow move, a fast swipe); the table is in the README.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from handplay.calibration import Smoothing


class Filter(Protocol):
    """A per-hand position filter."""

    def __call__(self, pos: np.ndarray, t: float, radius: float) -> np.ndarray:
        """Filter the measured ``pos`` (px) at time ``t`` (s) for a hand of ``radius`` px."""
        ...

    @property
    def velocity(self) -> np.ndarray:
        """Smoothed velocity, px/s."""
        ...


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """The One Euro filter (Casiez, Roussel, Vogel, CHI 2012) with speed in radii per second.

    The cutoff frequency rises with speed: ``cutoff = min_cutoff + beta · |v| / radius``, so a
    still hand is smoothed hard (no jitter) and a moving one lightly (little lag).
    """

    def __init__(self, settings: Smoothing | None = None) -> None:
        self.settings = settings or Smoothing()
        self._x: np.ndarray | None = None
        self._dx = np.zeros(2)  # speed estimate that sets the cutoff (as in the paper)
        self._v = np.zeros(2)  # reported velocity: low-passed derivative of the output
        self._t = 0.0

    @property
    def velocity(self) -> np.ndarray:
        return self._v.copy()

    def __call__(self, pos: np.ndarray, t: float, radius: float) -> np.ndarray:
        pos = np.asarray(pos, dtype=np.float64)
        if self._x is None:
            self._x, self._t = pos.copy(), t
            return pos.copy()
        dt = t - self._t
        if dt <= 0:  # same timestamp twice: nothing new to learn from
            return self._x.copy()
        s = self.settings
        raw_dx = (pos - self._x) / dt
        self._dx += _alpha(s.d_cutoff, dt) * (raw_dx - self._dx)
        speed = float(np.hypot(*self._dx)) / max(radius, 1.0)
        cutoff = s.min_cutoff + s.beta * speed
        previous = self._x
        self._x = self._x + _alpha(cutoff, dt) * (pos - self._x)
        self._v += _alpha(s.d_cutoff * 4, dt) * ((self._x - previous) / dt - self._v)
        self._t = t
        return self._x.copy()


class KalmanFilter:
    """Constant-velocity Kalman filter per axis, noise in units of the hand radius.

    Args:
        measurement_noise: detector position noise, in radii (standard deviation).
        acceleration: process noise, the expected acceleration in radii/s² (standard deviation).
    """

    def __init__(self, measurement_noise: float = 0.05, acceleration: float = 30.0) -> None:
        self.measurement_noise = measurement_noise
        self.acceleration = acceleration
        self._s: np.ndarray | None = None  # state per axis: [position, velocity], 2×2
        self._p = np.zeros((2, 2, 2))  # covariance per axis
        self._t = 0.0

    @property
    def velocity(self) -> np.ndarray:
        return np.zeros(2) if self._s is None else self._s[:, 1].copy()

    def __call__(self, pos: np.ndarray, t: float, radius: float) -> np.ndarray:
        pos = np.asarray(pos, dtype=np.float64)
        r = max(radius, 1.0)
        if self._s is None:
            self._s = np.stack([pos, np.zeros(2)], axis=1)
            self._p[:] = np.diag([(self.measurement_noise * r) ** 2, (10.0 * r) ** 2])
            self._t = t
            return pos.copy()
        dt = t - self._t
        if dt <= 0:
            return self._s[:, 0].copy()
        f = np.array([[1.0, dt], [0.0, 1.0]])
        q = (self.acceleration * r) ** 2 * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
        rm = (self.measurement_noise * r) ** 2
        s = self._s @ f.T  # predict (rows are axes)
        p = f @ self._p @ f.T + q
        innovation = pos - s[:, 0]
        gain = p[:, :, 0] / (p[:, 0, 0] + rm)[:, None]  # 2 axes × 2 states
        s = s + gain * innovation[:, None]
        p = p - gain[:, :, None] * p[:, 0, None, :]
        self._s, self._p, self._t = s, p, t
        return s[:, 0].copy()


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


# ---- measurement -------------------------------------------------------------------------


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


def evaluate(
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


def print_table(noise: float = 0.05, radius: float = 40.0, fps: float = 30.0) -> None:
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
        seeds = [evaluate(make, fps, radius, noise, seed=s) for s in range(5)]
        m = {k: float(np.mean([s[k] for s in seeds])) for k in seeds[0]}
        print(
            f"| {name} | {m['jitter_px']:.2f} | {m['slow_rms_px']:.2f} | {m['lag_ms']:.0f} "
            f"| {m['overshoot_px']:.1f} |"
        )
