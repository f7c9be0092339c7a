"""Tracking: stable hand ids across frames, enter/leave hysteresis and per-hand smoothing.

Each frame's detections are matched to the tracks by greedy nearest pairs (closest first), with
distances measured from each track's predicted position in units of its radius and gated at
``gate`` radii. A radius mismatch adds to the cost, so when a small and a large hand pass close
by, each keeps its id.

Hysteresis, chosen for a 30 fps camera: a new hand must be seen in ``enter_frames`` (default 2,
67 ms) consecutive frames before it enters, which removes single-frame false positives at little
delay; a hand leaves after ``leave_frames`` (default 6, 200 ms) frames in a row without a
detection, which rides over the frames where a turning hand drops below the threshold.

Two thresholds, like a Canny edge detector's: with ``enter_threshold`` set, a detection must
score at least that to start a track, while a hand already entered is kept by weaker
detections near it (whatever the detector reports, e.g. down to ``KEEP_RATIO`` times the
threshold, as :class:`handplay.Input` asks). A hand that closes, turns or blurs scores lower
than an open, still one; this keeps its id instead of letting it leave and enter again.

Open or closed (format-2 models): each track keeps an :class:`Openness`, the model's per-frame
``open`` score turned into a debounced bool. A hand counts as closed after ``OPEN_FRAMES``
(default 3, 100 ms) consecutive frames below ``open_threshold - OPEN_MARGIN``, and as open again
after as many frames above ``open_threshold + OPEN_MARGIN``: a one-frame blip, or a turning hand
whose score wanders around the threshold, never flips it. Format-1 models see only open hands,
so their tracks are always open and have no openness score.
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
KEEP_RATIO = 0.6  # an entered hand is kept by detections down to this times the threshold
OPEN_FRAMES = 3  # consecutive frames beyond the margin before open/closed flips (100 ms)
OPEN_MARGIN = 0.1  # hysteresis band either side of the open threshold
OPENNESS_SMOOTHING = 0.5  # EMA weight of the newest open score in ``Openness.value``


class Openness:
    """Whether one hand is open, debounced with hysteresis, from the model's open scores.

    Args:
        threshold: the model's open threshold (``Detector.open_threshold``); ``None`` for a
            format-1 model, whose hands are always open (``value`` stays ``None``).
        margin: the state flips only beyond ``threshold ± margin`` (the band is narrowed for
            thresholds near 0 or 1 so both sides stay reachable).
        frames: consecutive frames beyond the band needed to flip.
        smoothing: EMA weight of the newest score in :attr:`value`.

    Example:
        >>> o = Openness(0.5, frames=2)
        >>> [o.update(s) for s in (0.9, 0.1, 0.9, 0.1, 0.1, 0.1)]
        [False, False, False, False, True, False]
        >>> o.open, round(o.value, 2)
        (False, 0.17)
    """

    def __init__(
        self,
        threshold: float | None,
        margin: float = OPEN_MARGIN,
        frames: int = OPEN_FRAMES,
        smoothing: float = OPENNESS_SMOOTHING,
    ) -> None:
        if frames < 1:
            raise ValueError(f"open frames must be at least 1, not {frames}")
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"openness smoothing must be between 0 and 1, not {smoothing}")
        self.threshold = threshold
        self.frames = frames
        self.smoothing = smoothing
        if threshold is not None:
            # half way to 0 or 1 at most, so a threshold of 0.9 still has an "open" side
            self.low = max(threshold - margin, threshold / 2)
            self.high = min(threshold + margin, (threshold + 1) / 2)
        #: The debounced state.
        self.open = True
        #: The smoothed open score, 0..1; None before the first score and for format 1.
        self.value: float | None = None
        self._run = 0  # consecutive frames on the other side of the band

    def update(self, score: float | None) -> bool:
        """Take one frame's open score; returns True when :attr:`open` flipped on it.

        The first score sets the state directly (above or below ``threshold``), so a hand
        that is first seen closed starts closed. ``None`` (format 1) changes nothing.
        """
        if score is None or self.threshold is None:
            return False
        score = float(score)
        if self.value is None:
            self.value = score
            self.open = score >= self.threshold
            return False
        self.value += self.smoothing * (score - self.value)
        against = score < self.low if self.open else score > self.high
        self._run = self._run + 1 if against else 0
        if self._run >= self.frames:
            self.open = not self.open
            self._run = 0
            return True
        return False


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
    openness: Openness = field(default_factory=lambda: Openness(None))

    def predicted(self, t: float) -> np.ndarray:
        """Where the hand should be at time ``t`` if it keeps its velocity (briefly)."""
        dt = min(max(t - self.timestamp, 0.0), 0.2)  # do not extrapolate far
        return self.pos + self.velocity * dt


@dataclass
class TrackUpdate:
    """What one frame changed: tracks that entered, moved (entered ones seen this frame), left,
    and entered tracks whose ``openness.open`` flipped on this frame (``flipped``)."""

    entered: list[Track]
    moved: list[Track]
    left: list[Track]
    flipped: list[Track] = field(default_factory=list)


class Tracker:
    """Turns per-frame detections into tracks with ids.

    Args:
        max_hands: at most this many tracks (the strongest detections win).
        enter_frames: consecutive frames a hand must be seen before it enters.
        leave_frames: consecutive missed frames before an entered hand leaves.
        gate: a detection farther than ``gate`` radii from a track's prediction starts a new one.
        make_filter: builds a smoothing filter per track (default: One Euro, default settings).
        open_threshold: the model's open threshold, for each track's :class:`Openness`;
            ``None`` (format 1): every hand is open.
        open_frames: consecutive frames beyond the hysteresis band before open/closed flips.
        enter_threshold: the score a detection needs to start a track (or to continue one
            that has not entered yet); weaker detections only keep entered hands. ``None``:
            every detection may start one. An attribute, so it can follow a live threshold.
    """

    def __init__(
        self,
        max_hands: int = 4,
        enter_frames: int = ENTER_FRAMES,
        leave_frames: int = LEAVE_FRAMES,
        gate: float = 2.0,
        make_filter: Callable[[], Filter] = OneEuroFilter,
        open_threshold: float | None = None,
        open_frames: int = OPEN_FRAMES,
        enter_threshold: float | None = None,
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
        self.open_threshold = open_threshold
        self.open_frames = open_frames
        self.enter_threshold = enter_threshold
        Openness(open_threshold, frames=open_frames)  # validates the settings now
        self.tracks: list[Track] = []
        self._next_id = 1

    def _match(self, detections: Sequence[Detection], t: float) -> list[tuple[int, int]]:
        """Greedy nearest pairs (track index, detection index) within the gate."""
        pairs = []
        for ti, track in enumerate(self.tracks):
            pred = track.predicted(t)
            for di, d in enumerate(detections):
                if not track.entered and self._weak(d):
                    continue  # a candidate needs strong detections in consecutive frames
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

    def _weak(self, d: Detection) -> bool:
        return self.enter_threshold is not None and d.score < self.enter_threshold

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
            flipped = track.openness.update(d.open)
            if track.entered:
                update.moved.append(track)
                if flipped:
                    update.flipped.append(track)
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
            if self._weak(d):
                continue
            track = Track(
                self._next_id, np.array([d.x, d.y]), d.radius, d.score, t, self.make_filter()
            )
            track.filter(track.pos, t, d.radius)
            track.openness = Openness(self.open_threshold, frames=self.open_frames)
            track.openness.update(d.open)
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
