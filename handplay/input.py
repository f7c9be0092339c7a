"""``handplay.Input``: camera → model → peaks → tracking → pygame events, on a background thread.

See the ``handplay`` package docstring for the threading contract.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

import cv2
import numpy as np
import pygame

from handplay.calibration import Calibration
from handplay.detector import DEFAULT_LOOKS, Detector, check_looks
from handplay.events import EventPoster, reserve_event_types
from handplay.reach import check_reach_or_size
from handplay.smoothing import OneEuroFilter
from handplay.sources import Frame, FrameSource, open_source
from handplay.tracking import (
    ENTER_FRAMES,
    KEEP_RATIO,
    LEAVE_FRAMES,
    OPEN_FRAMES,
    Track,
    Tracker,
)

log = logging.getLogger(__name__)

Source = int | str | os.PathLike[str] | Iterable[np.ndarray] | FrameSource


class Hand(NamedTuple):
    """One tracked hand, as the game sees it. Immutable.

    Coordinates: screen pixels, origin at the top-left, x right, y down. With the calibration's
    ``mirror`` on (the default) the camera image is flipped left-right first, so a player who
    moves their right hand to their right sees it move right on the screen, as in a mirror.
    ``norm_pos`` is 0..1 across the play area (values outside mean outside it).

    Attributes:
        hand_id: stable id while the hand is tracked (1, 2, 3, ...; never reused).
        pos: smoothed centre ``(x, y)``, screen px.
        norm_pos: the same in play-area units, 0..1.
        radius: hand radius, screen px.
        confidence: detector peak value, 0..1 (a hand already entered is kept by peaks down
            to ``KEEP_RATIO`` times the threshold, so it can be below it).
        velocity: ``(vx, vy)``, screen px per second, smoothed.
        timestamp: when the frame was captured (``time.monotonic()`` clock).
        open: whether the hand is open, debounced (see :class:`handplay.tracking.Openness`);
            always True with a format-1 model, which sees only open hands.
        openness: the model's open score, smoothed, 0..1; ``None`` with a format-1 model.
    """

    hand_id: int
    pos: tuple[float, float]
    norm_pos: tuple[float, float]
    radius: float
    confidence: float
    velocity: tuple[float, float]
    timestamp: float
    open: bool = True
    openness: float | None = None


class Stats(NamedTuple):
    """Running figures over the last ~2 s of frames.

    Attributes:
        fps: processed frames per second.
        inference_ms: mean model time per frame (the frame pass and the second looks).
        latency_ms: mean capture → events-posted time.
        latency_p95_ms: its 95th percentile.
        frames: frames processed since start.
        dropped_moves: ``HANDMOVE`` events dropped because pygame's queue was full.
        camera_lost: times the camera was lost (then reconnected) since start.
    """

    fps: float = 0.0
    inference_ms: float = 0.0
    latency_ms: float = 0.0
    latency_p95_ms: float = 0.0
    frames: int = 0
    dropped_moves: int = 0
    camera_lost: int = 0


class FrameTiming(NamedTuple):
    """Where one frame's time went (milliseconds), for :attr:`Input.timings` and the benchmark.

    Attributes:
        done: ``time.monotonic()`` when the frame's events were posted (seconds).
        preprocess, inference, peaks, look: the detector's stages (``look``: the second look
            at the strongest candidates, :mod:`handplay.detector`).
        tracking: tracking, smoothing, calibration mapping and posting events.
        latency: capture → events posted.
        cpu: CPU time the worker thread spent on the frame.
    """

    done: float
    preprocess: float
    inference: float
    peaks: float
    look: float
    tracking: float
    latency: float
    cpu: float


class Input:
    """Hands from a camera (or a video, or frames) as pygame events and snapshots.

    Args:
        source: a camera index, a video file path, an iterable of BGR frames, or a
            :class:`~handplay.sources.FrameSource`; ``None`` for the calibration's camera.
        model: an ``.onnx`` path; ``None`` for the shipped model.
        calibration: a :class:`Calibration`, a path to a calibration file, or ``None`` for the
            user's saved calibration (defaults when there is none).
        max_hands: at most this many hands at once.
        screen_size: ``(width, height)`` that ``pos`` maps onto; ``None`` for the size of the
            pygame display at ``start()`` (1280×720 when there is none).
        post_events: post ``HANDENTER``/``HANDMOVE``/``HANDLEAVE`` and ``HANDGRAB``/
            ``HANDRELEASE`` (needs ``pygame.init()`` first); False to use only ``hands`` (e.g.
            benchmarks, other frameworks).
        threads: onnxruntime threads (1 leaves the other cores to the game).
        input_size: ``(width, height)`` frames are resized into for the model; ``None`` to
            take it from ``reach``. Larger finds smaller (farther) hands and costs more time.
        reach: ``"near"``, ``"room"``, ``"hall"`` or ``"WxH"`` (:mod:`handplay.reach`): picks
            the model's input size; ``None`` for the calibration's ``reach``. Give ``reach`` or
            ``input_size``, not both.
        paced: play video files (and frame iterables, at 30 fps) at their frame rate like a
            camera (True), or as fast as possible (False: tests, benchmarks).
        enter_frames, leave_frames: hysteresis, see :mod:`handplay.tracking`.
        open_frames: frames an open hand must look closed (or a closed one open) before it
            flips and ``HANDGRAB``/``HANDRELEASE`` is posted; see :mod:`handplay.tracking`.
        looks: at most this many hands per frame get the detector's second look, a magnified
            patch that finds small hands and their openness more surely (about 0.3 ms each,
            :mod:`handplay.detector`); 0 for one pass only.

    Raises:
        ValueError: a bad argument (on construction).
        handplay.SourceError, handplay.ModelError: from ``start()``, in the caller's thread.

    Example:
        Frames instead of a camera (any iterable; here one still frame with a red disc and the
        test model that finds red discs), hands polled instead of posted:

        >>> import itertools, pathlib, tempfile, time, handplay.testing as ht
        >>> model = ht.make_disc_model(pathlib.Path(tempfile.mkdtemp()) / "disc.onnx")
        >>> frames = itertools.repeat(ht.render_disc_frame((640, 360), [(320.0, 180.0, 30.0)]))
        >>> with Input(frames, model=model, calibration=Calibration(mirror=False),
        ...            screen_size=(1280, 720), post_events=False) as inp:
        ...     while not inp.hands:
        ...         time.sleep(0.01)
        ...     hand = inp.hands[0]
        >>> hand.hand_id, [round(v, -1) for v in hand.pos], round(hand.radius, -1)
        (1, [640.0, 360.0], 60.0)
    """

    def __init__(
        self,
        source: Source | None = None,
        model: str | os.PathLike[str] | None = None,
        calibration: Calibration | str | os.PathLike[str] | None = None,
        max_hands: int = 4,
        screen_size: tuple[int, int] | None = None,
        post_events: bool = True,
        threads: int = 1,
        input_size: tuple[int, int] | None = None,
        paced: bool = True,
        enter_frames: int = ENTER_FRAMES,
        leave_frames: int = LEAVE_FRAMES,
        open_frames: int = OPEN_FRAMES,
        reach: str | None = None,
        looks: int = DEFAULT_LOOKS,
    ) -> None:
        if max_hands < 1:
            raise ValueError(f"max_hands must be at least 1, not {max_hands}")
        if screen_size is not None and (len(screen_size) != 2 or min(screen_size) <= 0):
            raise ValueError(f"screen_size must be (width, height) > 0, not {screen_size!r}")
        self._source_arg = source
        self._model = model
        self._calibration_arg = calibration
        self.max_hands = max_hands
        self._screen_size = screen_size
        self.post_events = post_events
        self.threads = threads
        self.input_size = input_size
        check_reach_or_size(reach, input_size)
        self.reach = reach
        self.looks = check_looks(looks)
        self.paced = paced
        self._hysteresis = (enter_frames, leave_frames)
        if open_frames < 1:
            raise ValueError(f"open_frames must be at least 1, not {open_frames}")
        self.open_frames = open_frames
        self.calibration: Calibration | None = None
        self.detector: Detector | None = None
        self.source: FrameSource | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._hands: tuple[Hand, ...] = ()
        self._latest_frame: np.ndarray | None = None
        self._latest_heatmap: np.ndarray | None = None
        self._latest_roi: tuple[int, int, int, int] | None = None
        self._rois: dict[tuple[int, int], tuple[int, int, int, int] | None] = {}
        self._timings: deque[FrameTiming] = deque(maxlen=1000)
        self._frames = 0
        self._lost_count = 0
        self._poster = EventPoster()

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> Input:
        """Open model and source, read one frame, then start the worker thread.

        Errors in opening surface here, in the caller's thread. Calling it on a running Input
        does nothing.

        Returns:
            self, so ``inp = Input(...).start()`` works.
        """
        if self._thread is not None:
            return self
        if self.post_events and not pygame.display.get_init():
            raise RuntimeError(
                "pygame's display is not initialised, so events cannot be posted: call "
                "pygame.init() before Input.start(), or pass post_events=False"
            )
        reserve_event_types()
        cal = self._calibration_arg
        self.calibration = cal if isinstance(cal, Calibration) else Calibration.load(cal)
        # an explicit input_size wins; otherwise the reach asked for, or the calibration's
        reach = None if self.input_size is not None else self.reach or self.calibration.reach
        self.detector = Detector(
            self._model,
            threads=self.threads,
            input_size=self.input_size,
            reach=reach,
            threshold=self.calibration.threshold,
            max_hands=self.max_hands,
            looks=self.looks,
        )
        source = self._source_arg if self._source_arg is not None else self.calibration.camera
        self.source = open_source(source, paced=self.paced)
        self.source.open()  # reads the first frame: a bad source fails here; read() delivers it
        if self._screen_size is None:
            surface = pygame.display.get_surface() if pygame.display.get_init() else None
            self._screen_size = surface.get_size() if surface is not None else (1280, 720)
        smoothing = self.calibration.smoothing
        self._tracker = Tracker(
            self.max_hands,
            *self._hysteresis,
            make_filter=lambda: OneEuroFilter(smoothing),
            open_threshold=self.detector.open_threshold,
            open_frames=self.open_frames,
        )
        self._last_pos: dict[int, tuple[float, float]] = {}
        self._stop.clear()
        self._done.clear()
        self._start_time = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="handplay-input", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the worker (within about 1 s), release the source, post the last leaves.

        Safe to call twice, and before ``start()``.

        Raises:
            Exception: the worker's exception, if it died of one and it was not raised yet.
        """
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=1.0)
            if self._thread.is_alive():
                log.warning("handplay input thread did not stop within 1 s")
            self._thread = None
        if self.source is not None:
            self.source.close()
        self._flush_events()
        self._raise_worker_error()

    def __enter__(self) -> Input:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until a video or frame source is used up (or the worker stopped).

        Returns:
            True if it finished, False on timeout.
        """
        if self._thread is None and not self._done.is_set():
            raise RuntimeError("Input is not started: call start() first")
        finished = self._done.wait(timeout)
        self._flush_events()
        self._raise_worker_error()
        return finished

    @property
    def running(self) -> bool:
        """True while the worker thread processes frames."""
        return self._thread is not None and not self._done.is_set()

    # ---- what the game reads --------------------------------------------------------------

    @property
    def hands(self) -> tuple[Hand, ...]:
        """The newest hands (an immutable snapshot; never blocks).

        Raises:
            Exception: the worker's exception, once, if it died of one.
        """
        self._raise_worker_error()
        if self._done.is_set():
            self._flush_events()
        return self._hands

    @property
    def latest_frame(self) -> np.ndarray | None:
        """The newest processed camera frame (BGR, not mirrored), or None."""
        return self._latest_frame

    @property
    def latest_heatmap(self) -> np.ndarray | None:
        """The model's grid for :attr:`latest_frame` (float32 0..1), or None."""
        return self._latest_heatmap

    @property
    def latest_roi(self) -> tuple[int, int, int, int] | None:
        """The part of :attr:`latest_frame` the detector read and :attr:`latest_heatmap`
        covers: ``(x0, y0, x1, y1)`` camera pixels (the play area plus a margin), or None."""
        return self._latest_roi

    @property
    def stats(self) -> Stats:
        """Running :class:`Stats`."""
        newest = self._timings[-1].done if self._timings else 0.0
        timings = [t for t in list(self._timings) if t.done > newest - 2.0]
        lost = self._lost_count
        dropped = self._poster.dropped_moves
        if len(timings) < 2:
            return Stats(frames=self._frames, dropped_moves=dropped, camera_lost=lost)
        span = timings[-1].done - timings[0].done
        latencies = np.array([t.latency for t in timings])
        return Stats(
            fps=(len(timings) - 1) / span if span > 0 else 0.0,
            inference_ms=float(np.mean([t.inference + t.look for t in timings])),
            latency_ms=float(latencies.mean()),
            latency_p95_ms=float(np.percentile(latencies, 95)),
            frames=self._frames,
            dropped_moves=dropped,
            camera_lost=lost,
        )

    @property
    def timings(self) -> tuple[FrameTiming, ...]:
        """Per-frame :class:`FrameTiming` of the last (up to) 1000 frames, oldest first."""
        return tuple(self._timings)

    @property
    def screen_size(self) -> tuple[int, int] | None:
        """The size hands are mapped onto (known after ``start()``)."""
        return self._screen_size

    # ---- worker ---------------------------------------------------------------------------

    def _flush_events(self) -> None:
        """Post enter/leave events the worker left waiting for room (from the caller's thread,
        once the worker is gone: the game may have drained its queue since)."""
        if self.post_events and self._done.is_set() and self._poster.pending:
            if pygame.display.get_init():
                self._poster.flush()

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        # OpenCV's own thread pool would run the resize on every core, competing with the game
        # for a few microseconds' gain; the setting is process-wide, so it is put back after.
        cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            while not self._stop.is_set():
                frame = self.source.read(timeout=0.1)
                if frame is not None:
                    self._process(frame)
                elif self.source.ended:
                    break
                elif self.source.lost:
                    self._leave_all()
                    self._lost_count += 1
                    while self.source.lost and not self._stop.wait(0.05):
                        pass
            self._leave_all()
        except BaseException as e:  # kept for the caller's thread
            log.exception("handplay input thread failed")
            self._error = e
            try:
                self._leave_all()
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
        finally:
            cv2.setNumThreads(cv_threads)
            self._done.set()

    def _hand(self, track: Track, frame_size: tuple[int, int]) -> Hand:
        cal = self.calibration
        x, y = float(track.pos[0]), float(track.pos[1])
        nx, ny = cal.to_norm(x, y, frame_size)
        sx, sy = cal.to_screen(x, y, frame_size, self._screen_size)
        scale = cal.scale(frame_size, self._screen_size)
        vx, vy = float(track.velocity[0]), float(track.velocity[1])
        if cal.mirror:
            vx = -vx
        return Hand(
            hand_id=track.track_id,
            pos=(sx, sy),
            norm_pos=(nx, ny),
            radius=track.radius * scale,
            confidence=track.score,
            velocity=(vx * scale, vy * scale),
            timestamp=track.timestamp,
            open=track.openness.open,
            openness=track.openness.value,
        )

    def _event_attrs(self, hand: Hand) -> dict:
        last = self._last_pos.get(hand.hand_id, hand.pos)
        self._last_pos[hand.hand_id] = hand.pos
        return {
            "hand_id": hand.hand_id,
            "pos": hand.pos,
            "rel": (hand.pos[0] - last[0], hand.pos[1] - last[1]),
            "norm_pos": hand.norm_pos,
            "radius": hand.radius,
            "confidence": hand.confidence,
            "timestamp": hand.timestamp,
            "open": hand.open,
            "openness": hand.openness,
        }

    def _process(self, frame: Frame) -> None:
        cpu0 = time.thread_time()
        size = (frame.image.shape[1], frame.image.shape[0])
        roi = self._roi(size)
        # two thresholds (tracking module): peaks down to KEEP_RATIO x the threshold, of which
        # only those above it start a hand; read each frame, so the calibration slider applies
        threshold = self.detector.threshold
        self._tracker.enter_threshold = threshold
        detections, heatmap = self.detector.detect_with_heatmap(
            frame.image, roi, threshold * KEEP_RATIO
        )
        t_detected = time.perf_counter()
        update = self._tracker.update(detections, frame.timestamp)
        entered = {t.track_id for t in update.entered}
        flipped = {t.track_id for t in update.flipped}
        hands = tuple(self._hand(t, size) for t in self._tracker.tracks if t.entered)
        self._hands = hands
        self._latest_frame, self._latest_heatmap = frame.image, heatmap
        self._latest_roi = roi or (0, 0) + size
        if self.post_events:
            self._poster.flush()
            for t in update.left:
                self._post_leave(t.track_id, size, t)
            for hand in hands:
                if hand.hand_id in entered:
                    self._poster.enter(**self._event_attrs(hand))
                elif self._tracker_seen(hand.hand_id):
                    attrs = self._event_attrs(hand)
                    if hand.hand_id in flipped:
                        # like a mouse button: the grab is the close, the release the opening;
                        # before the move, so no event says "open" before its release
                        flip = dict(attrs, rel=(0.0, 0.0))  # the move carries the motion
                        if hand.open:
                            self._poster.release(**flip)
                        else:
                            self._poster.grab(**flip)
                    self._poster.move(**attrs)
        self._frames += 1
        done = time.monotonic()
        stages = self.detector.timings
        self._timings.append(
            FrameTiming(
                done=done,
                preprocess=stages["preprocess"],
                inference=stages["inference"],
                peaks=stages["peaks"],
                look=stages["look"],
                tracking=(time.perf_counter() - t_detected) * 1e3,
                latency=(done - frame.captured) * 1e3,
                cpu=(time.thread_time() - cpu0) * 1e3,
            )
        )

    def _roi(self, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """The detector's crop for a frame size: the play area plus a margin; None when that
        is the whole frame."""
        if size not in self._rois:
            roi = self.calibration.detection_roi(size)
            self._rois[size] = None if roi == (0, 0) + size else roi
        return self._rois[size]

    def _tracker_seen(self, hand_id: int) -> bool:
        """True if the hand was detected this frame (a coasting hand posts no HANDMOVE)."""
        return any(t.track_id == hand_id and t.misses == 0 for t in self._tracker.tracks)

    def _post_leave(self, hand_id: int, size: tuple[int, int], track: Track) -> None:
        if self.post_events:
            attrs = self._event_attrs(self._hand(track, size))
            attrs["rel"] = (0.0, 0.0)
            self._poster.leave(**attrs)
        self._last_pos.pop(hand_id, None)

    def _leave_all(self) -> None:
        """Every hand leaves (end of stream, lost camera, stop); pending events are flushed."""
        size = self.source.frame_size or (1, 1)
        for track in self._tracker.clear():
            self._post_leave(track.track_id, size, track)
        self._hands = ()
        if self.post_events:
            # give a busy game a moment to drain its queue; what is still waiting after that is
            # posted by wait(), stop() or the next read of ``hands`` in the game's thread
            deadline = time.monotonic() + 0.3
            while not self._poster.flush() and time.monotonic() < deadline:
                time.sleep(0.01)
