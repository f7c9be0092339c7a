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

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

log = logging.getLogger(__name__)

PROBE_INDICES = range(6)  # camera indices probed for the calibration screen and error hints


class SourceError(RuntimeError):
    """A camera or video that cannot be opened or read; the message says what to try."""


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


def probe_cameras(
    indices: Iterable[int] = PROBE_INDICES,
    capture_factory: Callable[[int], Any] = cv2.VideoCapture,
) -> list[int]:
    """The camera indices that open and deliver a frame.

    Args:
        indices: indices to try (negative ones are skipped: see :func:`check_camera`).
        capture_factory: builds a capture from an index (``cv2.VideoCapture``; tests pass a
            fake device).

    Returns:
        The ones that work, in order (empty when there is no camera).
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
                if cap.isOpened() and cap.read()[0]:
                    found.append(i)
            finally:
                cap.release()
    finally:
        cv2.utils.logging.setLogLevel(previous)
    return found


def camera_hint(failed: int, capture_factory: Callable[[int], Any] = cv2.VideoCapture) -> str:
    """What to try after camera ``failed`` did not work, from a probe of the other indices."""
    others = [i for i in PROBE_INDICES if i != failed]
    found = probe_cameras(others, capture_factory)
    if found:
        listed = ", ".join(str(i) for i in found)
        return (
            f"camera{'s' if len(found) > 1 else ''} {listed} answered: try --source {found[0]}, "
            "or a video file path (--source clip.mp4)"
        )
    tried = ", ".join(str(i) for i in others)
    return (
        f"no other camera answered either (tried {tried}): connect one, or give a video file "
        "path (--source clip.mp4)"
    )


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
        if self.path.is_dir():
            raise SourceError(
                f"{self.path} is a folder, not a video file; give the path of a video file "
                "(e.g. clip.mp4) or a camera index"
            )
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist; check the path")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"could not open video file {self.path}: OpenCV cannot decode it")
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
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise SourceError(
                f"camera index must be 0 or more, not {index!r}; try --source 0, or a video "
                "file path (--source clip.mp4)"
            )
        self.index = index
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
        cap = self._factory(self.index)
        if not cap.isOpened():
            cap.release()
            return None
        w, h = self.requested_size
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        cap.set(cv2.CAP_PROP_FPS, self.requested_fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # where supported: no stale frames in the driver
        return cap

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
        return CameraSource(int(source))  # "-1" is refused there, not opened as a file
    if isinstance(source, (str, os.PathLike)):
        return VideoFileSource(source, paced=paced)
    if isinstance(source, Iterable):
        return IterableSource(source, paced=paced)
    raise TypeError(
        f"source must be a camera index, a video path or an iterable of frames, not {source!r}"
    )
