"""The annotations of one clip in memory: edits, undo/redo, propagation and interpolation.

No display here: the pygame tool (``training.annotate``) and the batch mode drive a
:class:`LabelStore`, and tests drive it directly. Every committed change is written at once to
``CLIP.labels.jsonl`` with :func:`training.labels.write_labels` (temporary file + rename), so a
crash loses at most the drag in progress.

A frame with a line in the file is *annotated* (its hands, possibly none, are the truth for
training); a frame without a line is not used. Hands carry a ``track`` id so a hand can be
followed from frame to frame; ``label_source`` tells keyframes (``"human"``) from markers the tool
placed (``"flow"``, ``"interp"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from handplay.atomic import remove_stale_temporaries
from training.annotate import flow
from training.labels import (
    HandLabel,
    LabelError,
    Record,
    read_labels,
    record_line,
    write_lines,
)

log = logging.getLogger(__name__)

UNDO_DEPTH = 500  # actions kept for undo
HUMAN = "human"
Hands = tuple[HandLabel, ...]


class _Action(NamedTuple):
    """One undoable change: for each frame, its hands before and after (None = no line)."""

    name: str
    changes: dict[int, tuple[Hands | None, Hands | None]]
    merge_key: object


class StepReport(NamedTuple):
    """What one propagation step did.

    Attributes:
        source, target: the frame the markers came from and the one they were carried to
            (``source + 1``, or ``source - 1`` going backward).
        carried: track ids moved to the target frame.
        lost: ``(track, reason)`` for markers that stopped (and were flagged) on the source.
        kept: track ids not touched because the target has a human keyframe for them.
        held: when a marker was lost, the markers flow *could* carry, not written (the target
            would miss a hand); the tool offers them as proposals.
    """

    source: int
    target: int
    carried: list[int]
    lost: list[tuple[int, str]]
    kept: list[int]
    held: list[HandLabel]

    def describe(self, window: bool = True) -> str:
        """One line for the status bar (``window``) or the batch log."""
        frame, target = self.source, self.target
        parts = []
        if self.carried:
            parts.append(f"carried {len(self.carried)} marker(s) to frame {target}")
        if self.kept:
            parts.append(f"kept keyframe(s) {self.kept}")
        for track, reason in self.lost:
            parts.append(f"marker {track} stopped at frame {frame} ({reason})")
        if self.held and window:
            parts.append(f"{len(self.held)} other marker(s) offered: A accepts, or click hands")
        elif self.lost and not window:
            parts.append(
                f"frame {target} not written: place the lost marker there in the "
                f"window, then run again from {target}"
            )
        return "; ".join(parts) or "nothing to carry"


class LabelStore:
    """All markers of one clip, loaded from and saved to its ``.labels.jsonl``.

    Args:
        path: the labels file (``clip_labels_path(clip)``); read when it exists.
        width, height: frame size of the clip, written on every line.

    Raises:
        LabelError: the file is malformed (message names the line) or was made for a clip of a
            different size.
    """

    def __init__(self, path: str | os.PathLike[str], width: int, height: int) -> None:
        self.path = Path(path)
        self.width, self.height = width, height
        self.records: dict[int, Record] = {}
        remove_stale_temporaries(self.path)  # left by a save that was killed
        if self.path.exists():
            for rec in read_labels(self.path, kind="frame"):
                if (rec.width, rec.height) != (width, height):
                    raise LabelError(
                        f"{self.path}: frame {rec.frame} is labelled for a "
                        f"{rec.width}x{rec.height} image but the clip is {width}x{height}; "
                        "is this the labels file of another clip?"
                    )
                assert rec.frame is not None
                self.records[rec.frame] = rec
        # Hands from files made elsewhere get track ids (in memory; written with the next
        # change) so selecting, propagating and interpolating treat every hand alike.
        track = self.next_track()
        for f, rec in sorted(self.records.items()):
            if any(h.track is None for h in rec.hands):
                hands = []
                for h in rec.hands:
                    if h.track is None:
                        h, track = dataclasses.replace(h, track=track), track + 1
                    hands.append(h)
                self.records[f] = dataclasses.replace(rec, hands=tuple(hands))
        self._undo: list[_Action] = []
        self._redo: list[_Action] = []
        self.saves = 0  # how many times the file was written (the UI shows it)
        self._deferred = 0  # > 0 inside deferred_saves(): commits mark the file dirty only
        self._lines: dict[int, str] = {}  # frame -> its formatted line, dropped on change
        self._dirty = False

    # ---- reading -----------------------------------------------------------------------

    def hands(self, frame: int) -> Hands:
        """The hands on ``frame`` (empty when the frame is not annotated)."""
        rec = self.records.get(frame)
        return rec.hands if rec else ()

    def annotated(self, frame: int) -> bool:
        """True when ``frame`` has a line in the file (even with no hands)."""
        return frame in self.records

    def keyframes(self) -> list[int]:
        """Frames with at least one human-placed hand, sorted."""
        return sorted(f for f, r in self.records.items() if any(_is_key(h) for h in r.hands))

    def flagged(self) -> list[int]:
        """Frames with a flagged hand, sorted."""
        return sorted(f for f, r in self.records.items() if any(h.flag for h in r.hands))

    def next_track(self) -> int:
        """A track id no hand in the clip uses yet."""
        used = [h.track for r in self.records.values() for h in r.hands if h.track is not None]
        return max(used, default=-1) + 1

    # ---- changing ----------------------------------------------------------------------

    def _set(self, frame: int, hands: Hands | None) -> None:
        self._lines.pop(frame, None)
        if hands is None:
            self.records.pop(frame, None)
            return
        old = self.records.get(frame)
        extra = old.extra if old else {}
        self.records[frame] = Record(
            hands=tuple(hands), width=self.width, height=self.height, frame=frame, extra=extra
        )

    def preview(self, frame: int, hands: Iterable[HandLabel]) -> None:
        """Show ``hands`` on ``frame`` without saving or recording an undo step (a drag)."""
        self._set(frame, tuple(hands))

    def commit(
        self,
        name: str,
        changes: dict[int, Hands | None],
        before: dict[int, Hands | None] | None = None,
        merge_key: object = None,
    ) -> None:
        """Apply ``changes`` (frame -> new hands, None = remove the line), save, make it undoable.

        Args:
            name: shown by undo/redo ("move", "propagate", ...).
            changes: the new state of each changed frame.
            before: the state to restore on undo when the store already shows the change (after
                :meth:`preview`); taken from the store when omitted.
            merge_key: consecutive commits with the same non-None key fold into one undo step
                (wheel resizing).
        """
        before = before or {}
        pairs = {}
        for frame, after in changes.items():
            old = before[frame] if frame in before else self._state(frame)
            pairs[frame] = (old, None if after is None else tuple(after))
        if all(old == new for old, new in pairs.values()):
            return
        last = self._undo[-1] if self._undo else None
        if merge_key is not None and last is not None and last.merge_key == merge_key:
            for frame, (_, new) in pairs.items():
                first = last.changes[frame][0] if frame in last.changes else pairs[frame][0]
                last.changes[frame] = (first, new)
        else:
            self._undo.append(_Action(name, pairs, merge_key))
            del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        for frame, (_, new) in pairs.items():
            self._set(frame, new)
        self.save()

    def _state(self, frame: int) -> Hands | None:
        rec = self.records.get(frame)
        return rec.hands if rec else None

    def undo(self) -> tuple[str, list[int]] | None:
        """Undo the last action; return its name and frames, or None when there is none."""
        if not self._undo:
            return None
        action = self._undo.pop()
        for frame, (old, _) in action.changes.items():
            self._set(frame, old)
        self._redo.append(action)
        self.save()
        return action.name, sorted(action.changes)

    def redo(self) -> tuple[str, list[int]] | None:
        """Redo the last undone action; return its name and frames, or None."""
        if not self._redo:
            return None
        action = self._redo.pop()
        for frame, (_, new) in action.changes.items():
            self._set(frame, new)
        self._undo.append(action._replace(merge_key=None))
        self.save()
        return action.name, sorted(action.changes)

    def save(self) -> None:
        """Write every annotated frame to the labels file, atomically."""
        if self._deferred:
            self._dirty = True
            return
        # Lines are formatted once per change: re-encoding thousands of unchanged frames on
        # every step would cost more than the optical flow.
        for f, rec in self.records.items():
            if f not in self._lines:
                self._lines[f] = record_line(rec)
        write_lines(self.path, (self._lines[f] for f in sorted(self.records)))
        self._dirty = False
        self.saves += 1

    @contextlib.contextmanager
    def deferred_saves(self) -> Iterator[None]:
        """Inside this block commits do not write the file; it is written once at the end.

        For batch work: rewriting the whole file after each of thousands of steps would cost
        more than the optical flow. The file is written even when the block raises.
        """
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1
            if not self._deferred and self._dirty:
                self.save()

    # ---- edits the tool offers ---------------------------------------------------------

    def add(self, frame: int, x: float, y: float, r: float, cls: str = "open") -> HandLabel:
        """Add a human keyframe marker on ``frame`` with a new track id; return it."""
        hand = HandLabel(x, y, r, cls, HUMAN, track=self.next_track())
        self.commit("add", {frame: self.hands(frame) + (hand,)})
        return hand

    def replace(self, frame: int, index: int, hand: HandLabel, merge_key: object = None) -> None:
        """Replace hand ``index`` of ``frame`` (it becomes a human keyframe, flag cleared)."""
        hands = list(self.hands(frame))
        hands[index] = dataclasses.replace(hand, label_source=HUMAN, flag="")
        self.commit("edit", {frame: tuple(hands)}, merge_key=merge_key)

    def delete(self, frame: int, index: int) -> None:
        """Delete hand ``index`` of ``frame``; the frame stays annotated (maybe with no hands)."""
        hands = list(self.hands(frame))
        del hands[index]
        self.commit("delete", {frame: tuple(hands)})

    def toggle_empty(self, frame: int) -> bool:
        """Mark a hand-less frame as annotated "no hands", or unmark it; return the new state.

        Raises:
            ValueError: the frame has hands (delete them first).
        """
        if self.hands(frame):
            raise ValueError(f"frame {frame} has hands; delete them before marking it empty")
        now = not self.annotated(frame)
        self.commit("no hands" if now else "unannotate", {frame: () if now else None})
        return now

    # ---- optical flow and interpolation ------------------------------------------------

    def propagate(
        self, frame: int, src_gray: np.ndarray, dst_gray: np.ndarray, step: int = 1
    ) -> StepReport:
        """Carry the markers of ``frame`` to ``frame + step`` with optical flow, as one action.

        Markers of the target frame placed by a human win (their tracks are not touched);
        markers the tool placed there before are replaced. A marker that cannot be tracked
        reliably is flagged on ``frame`` and stops instead of drifting; then nothing is written
        to the target (a frame with a hand left out would teach the model that the hand is not
        there) and the markers that did track come back in ``held``.

        Args:
            frame: the source frame.
            src_gray, dst_gray: frames ``frame`` and ``frame + step`` in greyscale.
            step: +1 to carry forward, -1 to carry backward.

        Returns:
            A :class:`StepReport`.

        Raises:
            ValueError: ``step`` is not +1 or -1.
        """
        if step not in (1, -1):
            raise ValueError(f"step must be 1 or -1, not {step}")
        target = frame + step
        src = list(self.hands(frame))
        dst = list(self.hands(target))
        report = StepReport(frame, target, [], [], [], [])
        new_track = self.next_track()
        for i, h in enumerate(src):
            if h.track is None:  # hands from older files get an id so they can be followed
                h = src[i] = dataclasses.replace(h, track=new_track)
                new_track += 1
            same = [j for j, d in enumerate(dst) if d.track == h.track]
            if any(_is_key(dst[j]) for j in same):
                report.kept.append(h.track)
                continue
            res = flow.track_marker(src_gray, dst_gray, h.x, h.y, h.r)
            if not res.ok:
                src[i] = dataclasses.replace(h, flag=f"flow stopped: {res.reason}")
                report.lost.append((h.track, res.reason))
                continue
            if h.flag and h.flag.startswith("flow stopped"):
                src[i] = dataclasses.replace(h, flag="")
            moved = HandLabel(res.x, res.y, res.r, h.cls, "flow", track=h.track)
            dst = [d for d in dst if d.track != h.track] + [moved]
            report.carried.append(h.track)
        changes: dict[int, Hands | None] = {frame: tuple(src)}
        if report.lost:
            report.held.extend(d for d in dst if d.track in report.carried)
            report.carried.clear()
        elif report.carried or self.annotated(target):
            changes[target] = tuple(dst)
        self.commit("propagate", changes)
        return report

    def interpolate(self, frame: int) -> tuple[int, int, int] | None:
        """Fill the frames between the keyframes around ``frame`` by linear interpolation.

        The keyframes are the last frame at or before ``frame`` and the first one after it that
        hold human markers. Markers are paired by track id, then by nearest centre; a pair gets
        one track id on both keyframes. Tool-placed
        markers of the paired tracks in between are replaced; everything else is kept.

        Returns:
            ``(first_keyframe, last_keyframe, pairs)``, or None when there is no keyframe on
            one side or no marker pairs up.
        """
        keys = self.keyframes()
        before = [k for k in keys if k <= frame]
        after = [k for k in keys if k > frame]
        if not before or not after:
            return None
        a, b = before[-1], after[0]
        ha = [h for h in self.hands(a) if _is_key(h)]
        hb = [h for h in self.hands(b) if _is_key(h)]
        pairs = _pair(ha, hb)
        if not pairs:
            return None
        changes: dict[int, Hands | None] = {}
        # A pair gets one track id on both keyframes so later steps and edits agree.
        new_track = self.next_track()
        fixed_a, fixed_b = list(self.hands(a)), list(self.hands(b))
        tracks = []
        for pa, pb in pairs:
            track = pa.track if pa.track is not None else pb.track
            if track is None:
                track, new_track = new_track, new_track + 1
            for seq, h in ((fixed_a, pa), (fixed_b, pb)):
                if h.track != track:
                    seq[seq.index(h)] = dataclasses.replace(h, track=track)
            tracks.append(track)
        if fixed_a != list(self.hands(a)):
            changes[a] = tuple(fixed_a)
        if fixed_b != list(self.hands(b)):
            changes[b] = tuple(fixed_b)
        for f in range(a + 1, b):
            t = (f - a) / (b - a)
            hands = [h for h in self.hands(f) if h.track not in tracks or _is_key(h)]
            for (pa, pb), track in zip(pairs, tracks, strict=True):
                x, y, r = flow.interpolate((pa.x, pa.y, pa.r), (pb.x, pb.y, pb.r), t)
                hands.append(HandLabel(x, y, r, pa.cls, "interp", track=track))
            changes[f] = tuple(hands)
        self.commit("interpolate", changes)
        return a, b, len(pairs)

    def propagate_range(
        self,
        start: int,
        end: int,
        gray: Callable[[int], np.ndarray],
        progress: Callable[[StepReport], None] | None = None,
    ) -> int:
        """Propagate from ``start`` step by step until ``end`` or until no marker is left.

        Args:
            start, end: first source frame and last frame to fill; ``end < start`` carries
                the markers backward.
            gray: returns the greyscale frame for an index.
            progress: called after each step with its report.

        Returns:
            The last frame that received markers (``start`` when none did). It stops early at
            the first marker flow loses.
        """
        step = 1 if end > start else -1
        last = start
        prev = gray(start)
        for f in range(start, end, step):
            if not self.hands(f):
                break
            nxt = gray(f + step)
            report = self.propagate(f, prev, nxt, step)
            if progress:
                progress(report)
            if report.lost or not (report.carried or report.kept):
                break
            last = f + step
            prev = nxt
        return last


def _is_key(h: HandLabel) -> bool:
    return h.label_source == HUMAN


def _pair(a: list[HandLabel], b: list[HandLabel]) -> list[tuple[HandLabel, HandLabel]]:
    """Pair hands of two keyframes: same track id first, then the nearest remaining centres.

    No distance limit: a hand can cross the frame between two keyframes, and the user sees
    the result (and can undo it).
    """
    pairs = []
    rest_a, rest_b = list(a), list(b)
    for h in a:
        match = [g for g in rest_b if h.track is not None and g.track == h.track]
        if match:
            pairs.append((h, match[0]))
            rest_a.remove(h)
            rest_b.remove(match[0])
    candidates = sorted(
        (math.hypot(h.x - g.x, h.y - g.y), i, j)
        for i, h in enumerate(rest_a)
        for j, g in enumerate(rest_b)
    )
    used_a, used_b = set(), set()
    for _dist, i, j in candidates:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((rest_a[i], rest_b[j]))
    return pairs
