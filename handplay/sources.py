"""Frame sources: a live camera, a video file, or any iterable of BGR frames.

A live camera keeps only the newest frame: a grab thread reads continuously and the consumer
gets the latest one, so lag never builds up when processing is slower than the camera. A video
file or an iterable is read frame by frame with none dropped, so results on recorded input are
reproducible; a file can be paced at its own frame rate (like a live camera) or read as fast as
possible (benchmarks).

Timestamps: ``Frame.timestamp`` is the time the frame shows, on the ``time.monotonic()`` clock.
For a camera it is the moment the frame was grabbed; for files and iterables it is the start
time plus ``index / fps`` (a media clock), so smoothing behaves the same however fast frames are
processed. ``Frame.captured`` is always the wall-clock moment the frame entered handplay, for
latency figures.

A lost camera (reads fail) sets :attr:`CameraSource.lost`; the grab thread then reopens the
device with exponential backoff until it answers again or the source is closed.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import cv2
import numpy as np

log = logging.getLogger(__name__)

PROBE_INDICES = range(6)  # camera indices probed for the calibration screen and error hints

T = TypeVar("T")


class SourceError(RuntimeError):
    """A camera or video that cannot be opened or read; the message says what to try."""


# ---- what a user types: camera index or path, WxH --------------------------------------------


def check_camera(value: object) -> int | str:
    """``value`` if it is a camera index (an int >= 0) or a video path (a non-empty str).

    Negative indices are refused here, before OpenCV sees them: ``cv2.VideoCapture(-1)``
    crashes the whole process on some systems.

    Raises:
        ValueError: anything else (the message names the value).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(
                f"camera must be a camera index 0 or more (or a video path), not {value!r}"
            )
        return value
    if isinstance(value, str) and value.strip():
        return value
    raise ValueError(f"camera must be a camera index (0, 1, ...) or a video path, not {value!r}")


def parse_source(text: str) -> int | str:
    """Command-line text to a camera index or a video path: ``"0"`` -> ``0``, ``"clip.mp4"``
    stays a path.

    Raises:
        ValueError: a negative index (``"-1"``) or an empty string.
    """
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return check_camera(int(stripped))
    return check_camera(text)  # a path


def parse_size(text: str) -> tuple[int, int]:
    """``"320x192"`` -> ``(320, 192)`` (width, height; the DESIGN.md "WxH" order).

    Raises:
        ValueError: not two positive integers joined by ``x``.
    """
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"size must look like WIDTHxHEIGHT, e.g. 320x192, not {text!r}")
    return int(parts[0]), int(parts[1])


def argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse`` for ``argparse``'s ``type=``, so its ValueError message reaches the user
    (argparse replaces a ValueError with a generic "invalid value")."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from e

    convert.__name__ = parse.__name__
    return convert


# ---- opening and probing devices ---------------------------------------------------------------


def open_video(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    """Open a video file for reading (nothing is read yet).

    Raises:
        SourceError: ``path`` is a folder, is missing, or OpenCV cannot decode it.
    """
    path = Path(path)
    if path.is_dir():
        raise SourceError(
            f"{path} is a folder, not a video file; give the path of a video file "
            "(e.g. clip.mp4) or a camera index"
        )
    if not path.is_file():
        raise SourceError(f"video file {path} does not exist; check the path")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"could not open video file {path}: OpenCV cannot decode it")
    return cap


def _checked_index(index: object) -> int:
    """``index`` if it is a camera index OpenCV may see (see :func:`check_camera`)."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise SourceError(
            f"camera index must be 0 or more, not {index!r}; try --source 0, or a video "
            "file path (--source clip.mp4)"
        )
    return index


def open_camera(
    index: int,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    mjpg: bool = False,
    newest_only: bool = False,
    capture_factory: Callable[[int], Any] = cv2.VideoCapture,
) -> Any | None:
    """Open camera ``index`` and ask for a size, frame rate and format (nothing is read yet).

    Args:
        index: camera index, 0 or more (checked here, before OpenCV sees it).
        size: ``(width, height)`` to ask for; the camera may give another.
        fps: frame rate to ask for.
        mjpg: ask for MJPG: many USB webcams give raw YUYV at only 5-10 fps above 640x480 but
            30 fps as MJPG; a camera without MJPG ignores the request.
        newest_only: a one-frame driver buffer where supported, so no stale frames queue up
            (live input); off when every frame is wanted (recording).
        capture_factory: builds the capture from the index (``cv2.VideoCapture``; tests pass a
            fake device).

    Returns:
        The open capture, or ``None`` when no camera answers at ``index``.

    Raises:
        SourceError: ``index`` is negative.
    """
    cap = capture_factory(_checked_index(index))
    if not cap.isOpened():
        cap.release()
        return None
    if mjpg:
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
    if size is not None:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    if fps is not None:
        cap.set(cv2.CAP_PROP_FPS, fps)
    if newest_only:
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return cap


class CameraInfo(NamedTuple):
    """A camera that answered a probe, and the size of its first frame (px)."""

    index: int
    width: int
    height: int


def find_cameras(
    indices: Iterable[int] = PROBE_INDICES,
    capture_factory: Callable[[int], Any] = cv2.VideoCapture,
) -> list[CameraInfo]:
    """The cameras among ``indices`` that open and deliver a frame.

    Args:
        indices: indices to try (negative ones are skipped: see :func:`check_camera`).
        capture_factory: builds a capture from an index (``cv2.VideoCapture``; tests pass a
            fake device).

    Returns:
        One :class:`CameraInfo` per camera that works, in order (empty when there is none).
    """
    found = []
    quiet = cv2.utils.logging.LOG_LEVEL_SILENT
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(quiet)  # a missing camera is an answer here, not a warning
    try:
        for i in indices:
            if i < 0:
                continue
            cap = capture_factory(i)
            try:
                ok, image = cap.read() if cap.isOpened() else (False, None)
                if ok and image is not None:
                    found.append(CameraInfo(i, image.shape[1], image.shape[0]))
            finally:
                cap.release()
    finally:
        cv2.utils.logging.setLogLevel(previous)
    return found


def probe_cameras(
    indices: Iterable[int] = PROBE_INDICES,
    capture_factory: Callable[[int], Any] = cv2.VideoCapture,
) -> list[int]:
    """The indices of :func:`find_cameras` (the camera indices that open and give a frame)."""
    return [camera.index for camera in find_cameras(indices, capture_factory)]


def camera_hint(
    failed: int,
    capture_factory: Callable[[int], Any] = cv2.VideoCapture,
    flag: str = "--source",
) -> str:
    """What to try after camera ``failed`` did not work, from a probe of the other indices.

    Args:
        failed: the index that did not work (not probed again).
        capture_factory: as for :func:`find_cameras`.
        flag: the command-line option that picks a camera, for the advice.
    """
    others = [i for i in PROBE_INDICES if i != failed]
    found = probe_cameras(others, capture_factory)
    if found:
        listed = ", ".join(str(i) for i in found)
        return (
            f"camera{'s' if len(found) > 1 else ''} {listed} answered: try {flag} {found[0]}, "
            f"or a video file path ({flag} clip.mp4)"
        )
    tried = ", ".join(str(i) for i in others)
    return (
        f"no other camera answered either (tried {tried}): connect one, or give a video file "
        f"path ({flag} clip.mp4)"
    )


# ---- frame sources ---------------------------------------------------------------------------


class Frame(NamedTuple):
    """One frame from a source.

    Attributes:
        image: H×W×3 uint8 BGR.
        timestamp: the time the frame shows (``time.monotonic()`` clock, see module docstring).
        index: 0, 1, 2, ... in the order frames were delivered.
        captured: ``time.monotonic()`` when handplay received the frame (for latency).
    """

    image: np.ndarray
    timestamp: float
    index: int
    captured: float


class FrameSource:
    """Base class: ``open()``, then ``read()`` until it returns ``None`` with ``ended``."""

    #: True for cameras (newest frame only), False for files and iterables (every frame).
    live: bool = False
    #: Nominal frames per second.
    fps: float = 30.0

    def __init__(self) -> None:
        self.ended = False
        self.lost = False
        self.frame_size: tuple[int, int] | None = None

    def open(self) -> Frame:
        """Open the source and return its first frame.

        Raises:
            SourceError: it does not open or gives no frame.
        """
        raise NotImplementedError

    def read(self, timeout: float = 0.1) -> Frame | None:
        """The next frame, or ``None`` when none came within ``timeout`` seconds or the stream
        ended (then ``ended`` is True) or a camera is lost (``lost``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file. Safe to call twice."""

    def describe(self) -> str:
        return type(self).__name__


class IterableSource(FrameSource):
    """Frames from any iterable of H×W×3 uint8 BGR arrays, all delivered, in order.

    Args:
        frames: the frames (a list, a generator...).
        fps: the frame rate the media clock assumes.
        paced: deliver at ``fps`` like a camera instead of as fast as they are read.
    """

    def __init__(self, frames: Iterable[np.ndarray], fps: float = 30.0, paced: bool = False):
        super().__init__()
        if fps <= 0:
            raise ValueError(f"fps must be greater than 0, not {fps}")
        self._iterable = frames
        self._it: Iterator[np.ndarray] | None = None
        self.fps = float(fps)
        self.paced = paced
        self._index = 0
        self._start = 0.0
        self._first: Frame | None = None

    def _next_image(self) -> np.ndarray | None:
        assert self._it is not None
        try:
            image = next(self._it)
        except StopIteration:
            return None
        if not (
            isinstance(image, np.ndarray)
            and image.ndim == 3
            and image.shape[2] == 3
            and image.dtype == np.uint8
        ):
            got = getattr(image, "shape", type(image).__name__)
            raise SourceError(f"frame {self._index} must be an H×W×3 uint8 BGR array, not {got}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise SourceError(
                f"frame {self._index} of {self.describe()} is empty ({image.shape[1]}x"
                f"{image.shape[0]} pixels); a frame needs at least one pixel"
            )
        return image

    def _make_frame(self, image: np.ndarray) -> Frame:
        timestamp = self._start + self._index / self.fps
        if self.paced:
            delay = timestamp - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        frame = Frame(image, timestamp, self._index, time.monotonic())
        self._index += 1
        return frame

    def open(self) -> Frame:
        self._it = iter(self._iterable)
        self._start = time.monotonic()
        image = self._next_image()
        if image is None:
            raise SourceError(f"{self.describe()} gave no frames")
        self.frame_size = (image.shape[1], image.shape[0])
        self._first = self._make_frame(image)
        return self._first

    def read(self, timeout: float = 0.1) -> Frame | None:
        if self._it is None:
            raise RuntimeError(f"{self.describe()} is not open: call open() first")
        if self._first is not None:  # open() read it to validate the source; deliver it too
            first, self._first = self._first, None
            return first
        if self.ended:
            return None
        image = self._next_image()
        if image is None:
            self.ended = True
            return None
        return self._make_frame(image)


class VideoFileSource(IterableSource):
    """Every frame of a video file, at its own frame rate (``paced``) or as fast as read.

    Raises:
        SourceError: (on ``open``) the file is missing or cannot be decoded.
    """

    def __init__(self, path: str | os.PathLike[str], paced: bool = True) -> None:
        self.path = Path(path)
        self._cap: cv2.VideoCapture | None = None
        super().__init__(self._frames(), paced=paced)

    def describe(self) -> str:
        return f"video file {self.path}"

    def _frames(self) -> Iterator[np.ndarray]:
        while self._cap is not None:
            ok, image = self._cap.read()
            if not ok:
                return
            yield image

    def open(self) -> Frame:
        self._cap = open_video(self.path)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1 <= fps <= 1000 else 30.0
        return super().open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CameraSource(FrameSource):
    """A live camera through ``cv2.VideoCapture``; a grab thread keeps only the newest frame.

    Args:
        index: the camera index (0 is usually the built-in webcam).
        size: requested ``(width, height)``; the camera may choose another (see ``frame_size``).
        fps: requested frame rate; the actual one is in ``fps`` after ``open()``.
        max_failures: consecutive failed reads after which the camera counts as lost.
        capture_factory: builds the capture from the index (``cv2.VideoCapture``; tests pass a
            fake device here).

    Raises:
        SourceError: ``index`` is negative (on construction, before OpenCV sees it), or (on
            ``open``) no camera answers at ``index``; the message says which indices did.
    """

    live = True

    def __init__(
        self,
        index: int,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        max_failures: int = 10,
        capture_factory: Callable[[int], Any] = cv2.VideoCapture,
    ) -> None:
        super().__init__()
        self.index = _checked_index(index)
        self.requested_size = size
        self.requested_fps = fps
        self.max_failures = max_failures
        self._factory = capture_factory
        self._cap: Any = None
        self._cond = threading.Condition()
        self._newest: Frame | None = None
        self._delivered = -1
        self._count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: How many times the camera was reopened after being lost.
        self.reconnects = 0

    def describe(self) -> str:
        return f"camera {self.index}"

    def _connect(self) -> Any:
        return open_camera(
            self.index,
            self.requested_size,
            self.requested_fps,
            newest_only=True,  # no stale frames in the driver
            capture_factory=self._factory,
        )

    def open(self) -> Frame:
        self._cap = self._connect()
        if self._cap is None:
            hint = camera_hint(self.index, self._factory)
            raise SourceError(f"could not open camera {self.index}: it did not answer; {hint}")
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            self._cap.release()
            self._cap = None
            hint = camera_hint(self.index, self._factory)
            raise SourceError(f"camera {self.index} opened but gave no frame; {hint}")
        self.frame_size = (image.shape[1], image.shape[0])
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else self.requested_fps
        log.info(
            "camera %d: %dx%d at %.1f fps (asked for %dx%d at %.1f)",
            self.index,
            *self.frame_size,
            self.fps,
            *self.requested_size,
            self.requested_fps,
        )
        now = time.monotonic()
        first = self._publish(image, now)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._grab_loop, name=f"handplay-camera-{self.index}", daemon=True
        )
        self._thread.start()
        return first

    def _publish(self, image: np.ndarray, now: float) -> Frame:
        with self._cond:
            frame = Frame(image, now, self._count, now)
            self._count += 1
            self._newest = frame
            self._cond.notify_all()
        return frame

    def _grab_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            ok, image = self._cap.read() if self._cap is not None else (False, None)
            if ok and image is not None:
                failures = 0
                self._publish(image, time.monotonic())
                continue
            failures += 1
            if failures < self.max_failures:
                time.sleep(0.01)
                continue
            with self._cond:
                self.lost = True
                self._cond.notify_all()
            log.warning("camera %d lost; reconnecting", self.index)
            self._reconnect()
            failures = 0

    def _reconnect(self) -> None:
        """Reopen the device with exponential backoff (0.25 s doubling to 4 s) until it answers
        or the source is closed."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        delay = 0.25
        while not self._stop.wait(delay):
            cap = self._connect()
            if cap is not None:
                self._cap = cap
                self.reconnects += 1
                with self._cond:
                    self.lost = False
                log.info("camera %d reconnected", self.index)
                return
            delay = min(delay * 2, 4.0)

    def read(self, timeout: float = 0.1) -> Frame | None:
        if self._thread is None:
            raise RuntimeError(f"{self.describe()} is not open: call open() first")
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    (self._newest is not None and self._newest.index > self._delivered)
                    or self.lost
                    or self._stop.is_set()
                ),
                timeout=timeout,
            )
            frame = self._newest
            if frame is None or frame.index <= self._delivered or self.lost:
                return None
            self._delivered = frame.index
            return frame

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_source(
    source: int | str | os.PathLike[str] | Iterable[np.ndarray] | FrameSource, paced: bool = True
) -> FrameSource:
    """Make a :class:`FrameSource` from what a user passes as ``source``.

    Args:
        source: a camera index (``0`` or ``"0"``), a video file path, an iterable of BGR frames,
            or a ready :class:`FrameSource`.
        paced: for video files and iterables: deliver at the frame rate (the file's, or 30 fps
            for iterables) like a camera (True), or as fast as possible (False).

    Raises:
        TypeError: ``source`` is none of these.
        SourceError: a negative camera index (``-1`` or ``"-1"``).
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, bool):
        raise TypeError(f"source must be a camera index, a video path or frames, not {source!r}")
    if isinstance(source, int):
        return CameraSource(source)
    if isinstance(source, str) and source.strip().lstrip("-").isdigit():
        return CameraSource(int(source))  # "-1" is refused there, never opened as a file
    if isinstance(source, (str, os.PathLike)):
        return VideoFileSource(source, paced=paced)
    if isinstance(source, Iterable):
        return IterableSource(source, paced=paced)
    raise TypeError(
        f"source must be a camera index, a video path or an iterable of frames, not {source!r}"
    )
