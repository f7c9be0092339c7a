"""The pygame events handplay posts, and the poster that keeps enter/leave pairs intact.

``HANDENTER``, ``HANDMOVE`` and ``HANDLEAVE`` are ``pygame.event.custom_type()`` values made at
import. Their attributes follow pygame's ``MOUSEMOTION``: ``hand_id``, ``pos`` (screen px),
``rel`` (movement since the previous event of this hand, px), ``norm_pos`` (0..1 in the play
area), ``radius`` (px), ``confidence`` (0..1), ``timestamp`` (capture time, ``time.monotonic()``).

Posting happens on the input thread (SDL's push is thread-safe); nothing here reads the queue.
When the queue is full pygame raises "Event queue is full": a ``HANDMOVE`` is then dropped (a
newer one follows next frame), while ``HANDENTER``/``HANDLEAVE`` wait in an outbox and are posted,
in order, as soon as there is room, so every ``HANDENTER`` is followed by exactly one
``HANDLEAVE``. A ``HANDMOVE`` for a hand whose ``HANDENTER`` is still waiting is dropped so a
game never sees a move before the enter.
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

EVENT_NAMES = {HANDENTER: "HANDENTER", HANDMOVE: "HANDMOVE", HANDLEAVE: "HANDLEAVE"}


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
        #: HANDMOVE events dropped because the queue was full.
        self.dropped_moves = 0

    @property
    def pending(self) -> int:
        """Enter/leave events still waiting for room in the queue."""
        return len(self._outbox)

    def flush(self) -> bool:
        """Post waiting enter/leave events in order; True when none is left waiting."""
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
        """Queue a ``HANDLEAVE`` (never dropped; after the hand's ``HANDENTER``)."""
        self._outbox.append(pygame.event.Event(HANDLEAVE, **attrs))
        self.flush()

    def move(self, **attrs: object) -> bool:
        """Post a ``HANDMOVE`` if there is room; returns whether it was posted."""
        if attrs["hand_id"] in self._pending_enter or not self.flush():
            self.dropped_moves += 1
            return False
        if not self._post(pygame.event.Event(HANDMOVE, **attrs)):
            self.dropped_moves += 1
            return False
        return True
