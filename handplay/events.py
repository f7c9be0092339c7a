"""The pygame events handplay posts, and the poster that keeps enter/leave and grab/release pairs.

``HANDENTER``, ``HANDMOVE``, ``HANDLEAVE``, ``HANDGRAB`` and ``HANDRELEASE`` are
``pygame.event.custom_type()`` values made at import. Their attributes follow pygame's
``MOUSEMOTION``: ``hand_id``, ``pos`` (screen px), ``rel`` (movement since the previous event of
this hand, px), ``norm_pos`` (0..1 in the play area), ``radius`` (px), ``confidence`` (0..1),
``timestamp`` (capture time, ``time.monotonic()``), ``open`` (the debounced open/closed state)
and ``openness`` (the smoothed open score 0..1, ``None`` for a format-1 model).

``HANDGRAB`` and ``HANDRELEASE`` are to a hand what ``MOUSEBUTTONDOWN``/``UP`` are to the mouse,
with the same attributes as ``HANDMOVE``: ``HANDGRAB`` when a tracked open hand closes,
``HANDRELEASE`` when it opens again. They always pair up: a hand that leaves while closed gets
its ``HANDRELEASE`` just before its ``HANDLEAVE`` (with the hand's last attributes, so ``open``
may still be False there). A hand first seen closed has grabbed nothing: its first event is the
``HANDGRAB`` after it has opened and closed again. A format-1 model sees only open hands and
posts neither.

Posting happens on the input thread (SDL's push is thread-safe); nothing here reads the queue.
When the queue is full pygame raises "Event queue is full": a ``HANDMOVE`` is then dropped (a
newer one follows next frame), while ``HANDENTER``, ``HANDGRAB``, ``HANDRELEASE`` and
``HANDLEAVE`` wait in an outbox and are posted, in order, as soon as there is room, so every
``HANDENTER`` is followed by exactly one ``HANDLEAVE`` and every ``HANDGRAB`` by exactly one
``HANDRELEASE`` before it. A ``HANDMOVE`` is dropped while any of these waits, so a game never
sees a move before the enter, or out of order with a grab.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import pygame

log = logging.getLogger(__name__)

HANDENTER: int = pygame.event.custom_type()
HANDMOVE: int = pygame.event.custom_type()
HANDLEAVE: int = pygame.event.custom_type()
HANDGRAB: int = pygame.event.custom_type()
HANDRELEASE: int = pygame.event.custom_type()

EVENT_NAMES = {
    HANDENTER: "HANDENTER",
    HANDMOVE: "HANDMOVE",
    HANDLEAVE: "HANDLEAVE",
    HANDGRAB: "HANDGRAB",
    HANDRELEASE: "HANDRELEASE",
}


def reserve_event_types() -> None:
    """Make sure later ``pygame.event.custom_type()`` calls cannot return handplay's types.

    pygame restarts its custom-type counter when the display (and with it the event system) is
    quit, so after ``pygame.display.quit()`` or ``pygame.quit()`` the game's next
    ``custom_type()`` would collide with ``HANDENTER``. ``Input.start()`` calls this; call it
    yourself after re-initialising pygame if you allocate event types before starting Input.
    """
    while pygame.event.custom_type() <= max(EVENT_NAMES):
        pass


def _pygame_post(event: pygame.event.Event) -> bool:
    try:
        return bool(pygame.event.post(event))
    except pygame.error as e:
        if "full" in str(e).lower():
            return False
        raise


class EventPoster:
    """Posts hand events with the guarantees in the module docstring.

    Args:
        post: the function that posts one event and returns False when the queue is full
            (pygame's by default; tests may pass another).
    """

    def __init__(self, post: Callable[[pygame.event.Event], bool] = _pygame_post) -> None:
        self._post = post
        self._outbox: deque[pygame.event.Event] = deque()
        self._pending_enter: set[int] = set()
        self._held: set[int] = set()  # hands with a HANDGRAB queued and no HANDRELEASE yet
        #: HANDMOVE events dropped because the queue was full.
        self.dropped_moves = 0

    @property
    def pending(self) -> int:
        """Enter/grab/release/leave events still waiting for room in the queue."""
        return len(self._outbox)

    def flush(self) -> bool:
        """Post waiting events in order; True when none is left waiting."""
        while self._outbox:
            event = self._outbox[0]
            if not self._post(event):
                return False
            self._outbox.popleft()
            if event.type == HANDENTER:
                self._pending_enter.discard(event.hand_id)
        return True

    def enter(self, **attrs: object) -> None:
        """Queue a ``HANDENTER`` (never dropped)."""
        self._pending_enter.add(attrs["hand_id"])  # type: ignore[arg-type]
        self._outbox.append(pygame.event.Event(HANDENTER, **attrs))
        self.flush()

    def leave(self, **attrs: object) -> None:
        """Queue a ``HANDLEAVE`` (never dropped; after the hand's ``HANDENTER``), preceded by a
        ``HANDRELEASE`` with the same attributes when the hand is still held."""
        self.release(**attrs)
        self._outbox.append(pygame.event.Event(HANDLEAVE, **attrs))
        self.flush()

    def held(self, hand_id: int) -> bool:
        """Whether the hand has a ``HANDGRAB`` without its ``HANDRELEASE`` (queued or posted)."""
        return hand_id in self._held

    def grab(self, **attrs: object) -> bool:
        """Queue a ``HANDGRAB`` (never dropped); returns False (and queues nothing) when the
        hand is already held."""
        hand_id = attrs["hand_id"]
        if hand_id in self._held:
            return False
        self._held.add(hand_id)  # type: ignore[arg-type]
        self._outbox.append(pygame.event.Event(HANDGRAB, **attrs))
        self.flush()
        return True

    def release(self, **attrs: object) -> bool:
        """Queue a ``HANDRELEASE`` (never dropped) if the hand is held; returns whether it did,
        so a release never comes without its grab."""
        hand_id = attrs["hand_id"]
        if hand_id not in self._held:
            return False
        self._held.discard(hand_id)  # type: ignore[arg-type]
        self._outbox.append(pygame.event.Event(HANDRELEASE, **attrs))
        self.flush()
        return True

    def move(self, **attrs: object) -> bool:
        """Post a ``HANDMOVE`` if there is room; returns whether it was posted."""
        if attrs["hand_id"] in self._pending_enter or not self.flush():
            self.dropped_moves += 1
            return False
        if not self._post(pygame.event.Event(HANDMOVE, **attrs)):
            self.dropped_moves += 1
            return False
        return True
