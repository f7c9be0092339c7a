"""Temporal smoothing of hand positions: One Euro (default) and a constant-velocity Kalman filter.

Both work on 2-D positions in pixels and take the hand's radius as the unit of length, so the
same settings fit a hand near the camera and one across the room: detector noise and hand
speeds both grow with the hand's size in the image.

``python -m handplay.bench --smoothing`` measures jitter and lag on synthetic noisy
trajectories with known truth (a still hand, a slow move, a fast swipe; :mod:`handplay.accuracy`);
the table is in the README.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np


def is_number(value: object) -> bool:
    """A finite int or float; ``True``/``False`` are not numbers here (JSON keeps them apart)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Smoothing:
    """One Euro filter settings, in units of the hand's radius (so they fit any hand size).

    Attributes:
        min_cutoff: cutoff frequency (Hz) when the hand is still; lower = less jitter, more lag.
        beta: how fast the cutoff rises with speed (per hand radius per second); higher = less lag
            on fast moves.
        d_cutoff: cutoff frequency (Hz) of the speed estimate.
    """

    min_cutoff: float = 1.0
    beta: float = 1.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (is_number(value) and value > 0):
                raise ValueError(f"smoothing {f.name} must be greater than 0, not {value!r}")


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
