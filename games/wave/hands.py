"""Players' hands: handplay events in, hand states out; and the mouse standing in for a hand.

The game reads only handplay's events. Each event carries ``hand_id``, ``pos``, ``rel``,
``norm_pos`` (0..1 over the play area), ``radius``, ``confidence``, ``timestamp`` and ``open``.
The arena position is ``norm_pos`` times the arena size, so the game works whatever
``screen_size`` the input was given, and after toggling fullscreen.

``HANDGRAB`` / ``HANDRELEASE`` (a hand closed / opened) become :attr:`Hands.actions` for the
physics: catch the ball under the hand, throw it with the hand's velocity, measured here from
the events' capture timestamps (see :meth:`HandState.throw_velocity`).

When no camera opens, :class:`MouseHand` turns mouse motion into the very same events (and the
left button into grab and release), so the rest of the game has a single code path.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

import pygame

import handplay

#: One bright colour per player, distinct on a sky-blue and green background.
HAND_COLOURS = [
    (255, 64, 129),  # pink
    (255, 171, 0),  # amber
    (0, 229, 255),  # cyan
    (118, 255, 3),  # lime
    (213, 0, 249),  # violet
    (255, 87, 34),  # orange
]
MOUSE_HAND_ID = -1
MOUSE_RADIUS = 48.0
MOUSE_IDLE_LEAVE = 8.0  # s without mouse motion before the mouse "hand" leaves
TRAIL_LENGTH = 14
EVENT_INTERVAL_SMOOTHING = 0.3  # EMA weight of the newest interval between a hand's events
MAX_CATCH_UP = 0.1  # s; never spread a hand's move over more than this
# s of motion a throw's velocity is measured over: long enough to average 3 camera frames, short
# enough to be the hand's speed at the moment it opens
THROW_WINDOW = 0.1
# s before the release a throw looks back for the hand's fastest window: handplay posts the
# release 3 frames (100 ms) after the hand starts to open, and a throwing hand slows as it opens
THROW_LOOKBACK = 0.15


@dataclass
class HandState:
    """What the game knows about one hand.

    Attributes:
        hand_id: the tracker's id (``MOUSE_HAND_ID`` for the mouse).
        colour: the player's colour.
        pos: arena px, the latest reported position.
        radius: arena px.
        confidence: 0..1.
        interval: smoothed seconds between this hand's updates (the camera's frame interval).
        last_update: the newest event's ``timestamp`` (capture time, ``time.monotonic()`` clock).
        trail: recent positions, newest last, for drawing a motion trail.
        entered: ``time.monotonic()`` when the hand appeared.
        fresh: a new position arrived since the physics last read it.
        open: the hand is open (False between its ``HANDGRAB`` and ``HANDRELEASE``).
        openness: the model's smoothed open score, 0..1 (None: the model does not say).
        samples: recent ``(timestamp, pos)`` pairs, for :meth:`velocity`.
    """

    hand_id: int
    colour: tuple[int, int, int]
    pos: tuple[float, float]
    radius: float
    confidence: float = 1.0
    interval: float = 1.0 / 30.0
    last_update: float = field(default_factory=time.monotonic)
    trail: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=TRAIL_LENGTH))
    entered: float = field(default_factory=time.monotonic)
    fresh: bool = True  # a new position arrived since the physics last read it
    open: bool = True
    openness: float | None = None
    samples: deque[tuple[float, tuple[float, float]]] = field(
        default_factory=lambda: deque(maxlen=16)
    )

    def velocity(self, window: float = THROW_WINDOW) -> tuple[float, float]:
        """The hand's velocity over the last ``window`` seconds of events, arena px/s."""
        return _velocity(list(self.samples), window)

    def throw_velocity(self) -> tuple[float, float]:
        """What a ball is thrown with: the fastest ``THROW_WINDOW`` velocity among the windows
        ending in the last ``THROW_LOOKBACK`` s (arena px/s), so the throw has the swing's speed
        rather than the slower one of the hand opening at its end."""
        samples = list(self.samples)
        if len(samples) < 2:
            return 0.0, 0.0
        newest = samples[-1][0]
        best, best_speed = (0.0, 0.0), -1.0
        for end in range(len(samples), 1, -1):
            if samples[end - 1][0] < newest - THROW_LOOKBACK - 1e-6:
                break
            v = _velocity(samples[:end], THROW_WINDOW)
            if math.hypot(*v) > best_speed:
                best, best_speed = v, math.hypot(*v)
        return best


def _velocity(
    samples: list[tuple[float, tuple[float, float]]], window: float
) -> tuple[float, float]:
    """Mean velocity from the oldest sample within ``window`` s of the newest to the newest."""
    if len(samples) < 2:
        return 0.0, 0.0
    t1, p1 = samples[-1]
    t0, p0 = samples[-2]
    for t, p in reversed(samples):  # the oldest sample still inside the window
        if t < t1 - window - 1e-6:
            break
        t0, p0 = t, p
    if t1 - t0 <= 0:
        return 0.0, 0.0
    return (p1[0] - p0[0]) / (t1 - t0), (p1[1] - p0[1]) / (t1 - t0)


class HandAction(NamedTuple):
    """A grab or release for the physics, in the order the events came.

    Attributes:
        kind: ``"grab"`` or ``"release"``.
        hand_id: whose.
        velocity: the hand's velocity at a release (arena px/s); None for a grab.
    """

    kind: str
    hand_id: int
    velocity: tuple[float, float] | None = None


class Hands:
    """Keeps one :class:`HandState` per hand from handplay's hand events.

    Grabs and releases are queued in :attr:`actions` (the playfield takes them each step), so
    a hand that releases and leaves in the same frame still throws its ball.

    Args:
        arena_size: the arena in px; ``norm_pos`` is scaled by it.
    """

    def __init__(self, arena_size: tuple[int, int]) -> None:
        self.arena_size = arena_size
        self.states: dict[int, HandState] = {}
        self._colour_of: dict[int, tuple[int, int, int]] = {}
        self._next_colour = 0
        self.entered_total = 0  # hands that have entered since start (for benchmarks, tests)
        self.actions: list[HandAction] = []

    def __len__(self) -> int:
        return len(self.states)

    def _arena_pos(self, event: pygame.event.Event) -> tuple[float, float]:
        nx, ny = event.norm_pos
        return nx * self.arena_size[0], ny * self.arena_size[1]

    def _colour(self) -> tuple[int, int, int]:
        """The next free player colour (round-robin when everyone is taken)."""
        used = {s.colour for s in self.states.values()}
        for i in range(len(HAND_COLOURS)):
            colour = HAND_COLOURS[(self._next_colour + i) % len(HAND_COLOURS)]
            if colour not in used:
                self._next_colour = (self._next_colour + i + 1) % len(HAND_COLOURS)
                return colour
        colour = HAND_COLOURS[self._next_colour]
        self._next_colour = (self._next_colour + 1) % len(HAND_COLOURS)
        return colour

    def handle_event(self, event: pygame.event.Event) -> str | None:
        """Update the hands from one event.

        Returns:
            ``"enter"``, ``"move"``, ``"leave"``, ``"grab"`` or ``"release"`` when the event was
            a hand event, else None.
        """
        if event.type == handplay.HANDENTER:
            self._enter(event)
            return "enter"
        if event.type == handplay.HANDMOVE:
            state = self.states.get(event.hand_id)
            if state is None:  # a move without an enter: treat it as one (robust to restarts)
                self._enter(event)
                return "enter"
            # the capture clock gives the camera's true frame interval; arrival times would be
            # rounded to the game's frames
            now = float(getattr(event, "timestamp", time.monotonic()))
            gap = min(MAX_CATCH_UP, max(1e-3, now - state.last_update))
            state.interval += EVENT_INTERVAL_SMOOTHING * (gap - state.interval)
            state.last_update = now
            state.pos = self._arena_pos(event)
            state.radius = float(event.radius)
            state.confidence = float(event.confidence)
            state.open = bool(getattr(event, "open", True))
            state.openness = getattr(event, "openness", None)
            state.trail.append(state.pos)
            state.samples.append((now, state.pos))
            state.fresh = True
            return "move"
        if event.type == handplay.HANDGRAB:
            state = self.states.get(event.hand_id)
            if state is not None:
                state.open = False
                self.actions.append(HandAction("grab", event.hand_id))
            return "grab"
        if event.type == handplay.HANDRELEASE:
            state = self.states.get(event.hand_id)
            if state is not None:
                state.open = True
                self.actions.append(HandAction("release", event.hand_id, state.throw_velocity()))
            return "release"
        if event.type == handplay.HANDLEAVE:
            state = self.states.pop(event.hand_id, None)
            if state is not None and not state.open:  # handplay releases first; others may not
                self.actions.append(HandAction("release", event.hand_id, state.throw_velocity()))
            return "leave"
        return None

    def take_actions(self) -> list[HandAction]:
        """The grabs and releases since the last call, oldest first."""
        actions, self.actions = self.actions, []
        return actions

    def _enter(self, event: pygame.event.Event) -> None:
        self.entered_total += 1
        pos = self._arena_pos(event)
        state = HandState(
            event.hand_id, self._colour(), pos, float(event.radius), float(event.confidence)
        )
        state.last_update = float(getattr(event, "timestamp", time.monotonic()))
        state.open = bool(getattr(event, "open", True))
        state.openness = getattr(event, "openness", None)
        state.trail.append(pos)
        state.samples.append((state.last_update, pos))
        self.states[event.hand_id] = state

    def clear(self) -> None:
        """Forget every hand (e.g. when the input restarts); held balls are let go."""
        for state in self.states.values():
            if not state.open:
                self.actions.append(HandAction("release", state.hand_id, (0.0, 0.0)))
        self.states.clear()


def hand_event(
    kind: int,
    hand_id: int,
    pos: tuple[float, float],
    arena_size: tuple[int, int],
    radius: float,
    rel: tuple[float, float] = (0.0, 0.0),
    confidence: float = 1.0,
    open: bool = True,
    openness: float | None = None,
    timestamp: float | None = None,
) -> pygame.event.Event:
    """Build a handplay-style event (used by the mouse stand-in and by tests).

    Args:
        kind: ``handplay.HANDENTER``, ``HANDMOVE``, ``HANDLEAVE``, ``HANDGRAB`` or
            ``HANDRELEASE``.
        hand_id: the hand's id.
        pos: arena px.
        arena_size: to compute ``norm_pos``.
        radius: px.
        rel: motion since the last event, px.
        confidence: 0..1.
        open: whether the hand is open.
        openness: the open score (None: not known).
        timestamp: capture time; None for now (``time.monotonic()``).
    """
    return pygame.event.Event(
        kind,
        hand_id=hand_id,
        pos=pos,
        rel=rel,
        norm_pos=(pos[0] / arena_size[0], pos[1] / arena_size[1]),
        radius=radius,
        confidence=confidence,
        timestamp=time.monotonic() if timestamp is None else timestamp,
        open=open,
        openness=openness,
    )


class MouseHand:
    """The mouse as one hand: posts handplay events for mouse motion and the left button.

    The hand enters on the first motion, moves with the mouse, and leaves when the mouse leaves
    the window or rests for ``MOUSE_IDLE_LEAVE`` seconds (so the attract screen comes back).
    The left button is the hand closing: down posts ``HANDGRAB``, up ``HANDRELEASE`` (and a
    leave while it is down releases first, as handplay does).

    Args:
        arena_size: the arena in px (the logical window size).
    """

    def __init__(self, arena_size: tuple[int, int]) -> None:
        self.arena_size = arena_size
        self.inside = False
        self.held = False
        self.last_motion = 0.0
        self.pos: tuple[float, float] = (0.0, 0.0)

    def handle_event(self, event: pygame.event.Event) -> None:
        """Post hand events for a mouse event."""
        if event.type == pygame.MOUSEMOTION:
            self._move(event.pos, event.rel)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and not self.held:
            if not self.inside:
                self._move(event.pos, (0, 0))
            self.held = True
            self._post(handplay.HANDGRAB, event.pos)
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._release(event.pos)
        elif event.type == pygame.WINDOWLEAVE:
            self.leave()

    def _post(self, kind: int, pos: tuple[float, float], rel: tuple[float, float] = (0, 0)) -> None:
        pygame.event.post(
            hand_event(
                kind, MOUSE_HAND_ID, pos, self.arena_size, MOUSE_RADIUS, rel, open=not self.held
            )
        )

    def _release(self, pos: tuple[float, float]) -> None:
        if self.held:
            self.held = False
            self._post(handplay.HANDRELEASE, pos)

    def _move(self, pos: tuple[float, float], rel: tuple[float, float]) -> None:
        self.last_motion = time.monotonic()
        kind = handplay.HANDMOVE if self.inside else handplay.HANDENTER
        self.inside = True
        self.pos = pos
        self._post(kind, pos, rel)

    def update(self) -> None:
        """Call once a frame: lets an idle mouse leave."""
        if self.inside and time.monotonic() - self.last_motion > MOUSE_IDLE_LEAVE:
            self.leave()

    def leave(self) -> None:
        """Post HANDLEAVE if the mouse hand is in."""
        if self.inside:
            self._release(self.pos)
            self.inside = False
            pygame.event.post(
                hand_event(
                    handplay.HANDLEAVE, MOUSE_HAND_ID, (0.0, 0.0), self.arena_size, MOUSE_RADIUS
                )
            )
