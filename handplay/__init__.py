"""handplay: play pygame games by waving your hands at an ordinary webcam.

A small ONNX network turns each camera frame into a heatmap of hands and how open each is; the
peaks become hands with stable ids, smoothed by a One Euro filter, and arrive in your game as
pygame events::

    import pygame, handplay

    pygame.init()
    screen = pygame.display.set_mode((1280, 720))
    with handplay.Input() as hands:            # camera from the calibration file, shipped model
        while True:
            for event in pygame.event.get():
                if event.type == handplay.HANDMOVE:
                    print(event.hand_id, event.pos, event.radius)
                elif event.type == handplay.HANDGRAB:      # an open hand closed
                    print(event.hand_id, "grabs at", event.pos)

Threading contract
------------------
* ``Input.start()`` runs in your thread: it opens the model and the source and reads one frame,
  so a bad camera, video or model raises there (``SourceError``, ``ModelError``).
* One worker thread, ``handplay-input``, owns the source (camera or file), the onnxruntime
  session and the tracker. A live camera has its own grab thread that keeps only the newest
  frame, so lag never builds up.
* The worker only *posts* events (SDL's push is thread-safe); it never reads the queue. Only
  your (display) thread reads the queue, draws and calls pygame's display functions.
* ``HANDMOVE`` is coalesced: at most one per hand per processed frame, and the first to be
  dropped when the queue is full. ``HANDENTER`` and ``HANDLEAVE`` are never dropped and always
  pair up; a lost camera, the end of a video and ``stop()`` all end in ``HANDLEAVE``.
* ``HANDGRAB`` (an open hand closed) and ``HANDRELEASE`` (it opened again) are never dropped
  either and always pair up: a hand that leaves while closed gets its ``HANDRELEASE`` just
  before its ``HANDLEAVE``. Events that wait for room in a full queue keep their order, and no
  ``HANDMOVE`` overtakes them.
* ``Input.hands``, ``stats``, ``latest_frame`` and ``latest_heatmap`` are immutable snapshots,
  replaced whole by the worker: reading them never blocks and never sees a half-made frame.
* An exception in the worker is kept and raised in your thread on the next ``inp.hands``,
  ``inp.wait()`` or ``inp.stop()``.
* ``stop()`` returns within about a second, is safe to call twice, and releases the camera.
* The worker runs onnxruntime on ``threads`` threads (default 1) without busy-waiting, and
  sets OpenCV to one thread while it runs (``cv2.setNumThreads`` is process-wide; the old
  value is put back when the worker ends), so it never spreads over the game's cores.

Coordinates are described once, on :class:`Hand`.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# pygame prints a banner on import; a library should not print (set it to "0" to see it)
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

# The public names are loaded on first use (PEP 562), so the pure modules (handplay.peaks,
# handplay.tracking, handplay.smoothing...) import without pygame, OpenCV or onnxruntime.
_HOMES = {
    "HANDENTER": "handplay.events",
    "HANDGRAB": "handplay.events",
    "HANDLEAVE": "handplay.events",
    "HANDMOVE": "handplay.events",
    "HANDRELEASE": "handplay.events",
    "Calibration": "handplay.calibration",
    "Detection": "handplay.peaks",
    "Detector": "handplay.detector",
    "Hand": "handplay.input",
    "Input": "handplay.input",
    "ModelError": "handplay.detector",
    "Smoothing": "handplay.smoothing",
    "SourceError": "handplay.sources",
    "Stats": "handplay.input",
}

__all__ = [
    "HANDENTER",
    "HANDGRAB",
    "HANDLEAVE",
    "HANDMOVE",
    "HANDRELEASE",
    "Calibration",
    "Detection",
    "Detector",
    "Hand",
    "Input",
    "ModelError",
    "Smoothing",
    "SourceError",
    "Stats",
]

if TYPE_CHECKING:
    from handplay.calibration import Calibration
    from handplay.detector import Detector, ModelError
    from handplay.events import HANDENTER, HANDGRAB, HANDLEAVE, HANDMOVE, HANDRELEASE
    from handplay.input import Hand, Input, Stats
    from handplay.peaks import Detection
    from handplay.smoothing import Smoothing
    from handplay.sources import SourceError


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use, then keep the name here."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'handplay' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
