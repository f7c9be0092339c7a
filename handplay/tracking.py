"""Tracking: stable hand ids across frames, enter/leave hysteresis and per-hand smoothing.

Each frame's detections are matched to the tracks by greedy nearest pairs (closest first), with
distances measured from each track's predicted position in units of its radius and gated at
``gate`` radii. A radius mismatch adds to the cost, so when a small and a large hand pass close
by, each keeps its id.

Hysteresis, chosen for a 30 fps camera: a new hand must be seen in ``enter_frames`` (default 2,
67 ms) consecutive frames before it enters, which removes single-frame false positives at little
delay; a hand leaves after ``leave_frames`` (default 6, 200 ms) frames in a row without a
detection, which rides over the frames where a turning hand drops below the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from handplay.peaks import Detection
from handplay.smoothing import Filter, OneEuroFilter

ENTER_FRAMES = 2
LEAVE_FRAMES = 6


@dataclass
class Track:
    """A tracked hand, in frame pixels (mutable; :class:`handplay.Input` publishes snapshots)."""

    track_id: int
    pos: np.ndarray  # smoothed centre, px
    radius: float  # smoothed radius, px
    score: float
    timestamp: float
    filter: Filter
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    hits: int = 1  # consecutive frames seen
    misses: int = 0  # consecutive frames missed
    entered: bool = False

    def predicted(self, t: float) -> np.ndarray:
        """Where the hand should be at time ``t`` if it keeps its velocity (briefly)."""
        dt = min(max(t - self.timestamp, 0.0), 0.2)  # do not extrapolate far
        return self.pos + self.velocity * dt


@dataclass
class TrackUpdate:
    """What one frame changed: tracks that entered, moved (entered ones seen this frame), left."""

    entered: list[Track]
    moved: list[Track]
    left: list[Track]


class Tracker:
    """Turns per-frame detections into tracks with ids.

    Args:
        max_hands: at most this many tracks (the strongest detections win).
        enter_frames: consecutive frames a hand must be seen before it enters.
        leave_frames: consecutive missed frames before an entered hand leaves.
        gate: a detection farther than ``gate`` radii from a track's prediction starts a new one.
        make_filter: builds a smoothing filter per track (default: One Euro, default settings).
    """

    def __init__(
        self,
        max_hands: int = 4,
        enter_frames: int = ENTER_FRAMES,
        leave_frames: int = LEAVE_FRAMES,
        gate: float = 2.0,
        make_filter: Callable[[], Filter] = OneEuroFilter,
    ) -> None:
        if max_hands < 1:
            raise ValueError(f"max_hands must be at least 1, not {max_hands}")
        if enter_frames < 1 or leave_frames < 1:
            raise ValueError(
                f"enter_frames and leave_frames must be at least 1, not {enter_frames} "
                f"and {leave_frames}"
            )
        self.max_hands = max_hands
        self.enter_frames = enter_frames
        self.leave_frames = leave_frames
        self.gate = gate
        self.make_filter = make_filter
        self.tracks: list[Track] = []
        self._next_id = 1

    def _match(self, detections: Sequence[Detection], t: float) -> list[tuple[int, int]]:
        """Greedy nearest pairs (track index, detection index) within the gate."""
        pairs = []
        for ti, track in enumerate(self.tracks):
            pred = track.predicted(t)
            for di, d in enumerate(detections):
                scale = max(track.radius, d.radius, 1.0)
                dist = math.hypot(d.x - pred[0], d.y - pred[1]) / scale
                if dist > self.gate:
                    continue
                size_cost = abs(math.log(max(d.radius, 1.0) / max(track.radius, 1.0)))
                pairs.append((dist + 0.5 * size_cost, ti, di))
        pairs.sort()
        used_t, used_d, matches = set(), set(), []
        for _, ti, di in pairs:
            if ti not in used_t and di not in used_d:
                used_t.add(ti)
                used_d.add(di)
                matches.append((ti, di))
        return matches

    def update(self, detections: Sequence[Detection], t: float) -> TrackUpdate:
        """Advance by one frame with ``detections`` seen at time ``t`` (seconds)."""
        update = TrackUpdate([], [], [])
        matches = self._match(detections, t)
        matched_t = {ti for ti, _ in matches}
        matched_d = {di for _, di in matches}
        for ti, di in matches:
            track, d = self.tracks[ti], detections[di]
            track.radius += 0.3 * (d.radius - track.radius)  # radius changes slowly; no jumps
            track.pos = track.filter(np.array([d.x, d.y]), t, track.radius)
            track.velocity = track.filter.velocity
            track.score, track.timestamp = d.score, t
            track.hits += 1
            track.misses = 0
            if track.entered:
                update.moved.append(track)
            elif track.hits >= self.enter_frames:
                track.entered = True
                update.entered.append(track)
        kept = []
        for ti, track in enumerate(self.tracks):
            if ti in matched_t:
                kept.append(track)
                continue
            track.misses += 1
            track.hits = 0
            if not track.entered:
                continue  # a candidate must be seen in consecutive frames: drop it
            if track.misses >= self.leave_frames:
                update.left.append(track)
            else:
                kept.append(track)
        self.tracks = kept
        for di in sorted(
            set(range(len(detections))) - matched_d, key=lambda i: -detections[i].score
        ):
            if len(self.tracks) >= self.max_hands:
                break
            d = detections[di]
            track = Track(
                self._next_id, np.array([d.x, d.y]), d.radius, d.score, t, self.make_filter()
            )
            track.filter(track.pos, t, d.radius)
            self._next_id += 1
            self.tracks.append(track)
            if self.enter_frames <= 1:
                track.entered = True
                update.entered.append(track)
        return update

    def clear(self) -> list[Track]:
        """Drop every track (e.g. the camera was lost); returns the entered ones, which left."""
        left = [t for t in self.tracks if t.entered]
        self.tracks = []
        return left
