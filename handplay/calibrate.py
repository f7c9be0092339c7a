"""The calibration screen: pick a camera, mirror it, set the threshold and the play area, save.

Run::

    python -m handplay.calibrate                     # cameras 0-5 are probed, the first is used
    python -m handplay.calibrate --source clip.mp4   # a video file instead of a camera

Controls (keyboard and mouse only):

* ``0``-``5`` or click a camera in the list: use that camera; ``P`` probes the cameras again;
* drag on the preview: draw the play area (the part of the camera view stretched onto the
  screen); ``R`` resets it to the whole view;
* ``M`` or the button: mirror on/off (on: move right, the cursor moves right);
* threshold slider (drag it, or ``←``/``→``): how sure the model must be to report a hand;
* reach buttons, or ``F`` to step through them: how far away players stand (``near``,
  ``room``, ``hall``: a larger model input for smaller, farther hands, at more ms per frame).
  Under each, its milliseconds per frame measured on this machine with the live picture; above
  them, the reach the hands in view suggest (their median radius in heatmap cells against
  :data:`handplay.reach.MIN_RADIUS_CELLS`, inside the play area being drawn);
* ``S`` or the button: save to the calibration file (``handplay.calibration.default_path()``,
  or ``--output``), which ``handplay.Input`` reads when ``calibration=None``;
* ``Esc``: back (to the game, or quit).

The preview shows what the players see (mirrored when mirroring is on), the model's heatmap
tinted over it, the raw peaks above the threshold (white crosses) and the tracked hands
(coloured rings, each with "open" or "closed" and, from a format-2 model, a live openness bar
with a tick at the model's open threshold). Each tracked hand also draws a cursor over the
whole window through the current mapping: the live test of the calibration.

To map hands itself, the screen runs :class:`handplay.Input` with an identity calibration (no
mirror, the full view), so a hand's ``norm_pos`` is its place in the camera frame; the mapping
being edited is then applied here, so every change shows at once without restarting the input.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pygame

from handplay._calibrate_draw import Painter
from handplay._calibrate_view import (
    PANEL_X,
    PREVIEW_BOX,
    SCREEN_SIZE,
    TEST_TARGET_R,
    Button,
    Slider,
    fit_rect,
    preview_surface,
)
from handplay.calibration import Calibration, default_path
from handplay.detector import Detector, ModelError
from handplay.input import Input
from handplay.reach import REACH_SCALES, radius_cells, reach_sizes, suggest_reach
from handplay.sources import SourceError, argument_type, parse_source, probe_cameras

log = logging.getLogger(__name__)

__all__ = ["CalibrationScreen", "main", "preview_surface", "probe_cameras", "run"]

MIN_AREA = 0.05  # the smallest play-area side, in view units (smaller drags are ignored)
THRESHOLD_RANGE = (0.05, 0.95)
CURSOR_TRAIL = 24
REACH_TIMED_FRAMES = 5  # live frames each reach's detector is timed on, once, after a warm-up
RADII_KEPT = 90  # hand radii the reach suggestion looks at: about 3 s of one hand at 30 fps


class CalibrationScreen:
    """The screen's state, event handling and drawing (the loop is :func:`run`).

    Args:
        source: a camera index or video path to start with; None to use the saved calibration's
            camera if it opens, else the first camera found.
        model: ONNX model path, None for the shipped model.
        output: where Save writes; None for :func:`handplay.calibration.default_path`.
        size: the window's (logical) size.
        cameras: camera indices to offer; None to probe 0-5.
    """

    def __init__(
        self,
        source: int | str | None = None,
        model: str | os.PathLike[str] | None = None,
        output: str | os.PathLike[str] | None = None,
        size: tuple[int, int] = SCREEN_SIZE,
        cameras: Sequence[int] | None = None,
    ) -> None:
        self.size = size
        self.model = model
        self.output = Path(output) if output is not None else None
        try:
            self.cal = (
                Calibration.load(self.output)
                if self.output and self.output.exists()
                else Calibration.load()
            )
        except ValueError as e:  # a broken file must not lock the user out of fixing it
            log.warning("%s; starting from defaults", e)
            self.cal = Calibration()
        self.cameras = list(cameras) if cameras is not None else probe_cameras()
        refused = ""
        if isinstance(source, str):
            try:
                source = parse_source(source)
            except ValueError as e:  # e.g. "-1": said on the screen, like a camera that fails
                source, refused = None, str(e)
        self.video = source if isinstance(source, str) else None
        self.source: int | str | None = None
        self.inp: Input | None = None
        self.message = ""
        self.saved_to: Path | None = None
        self.drag_start: tuple[float, float] | None = None
        self.drag_now: tuple[float, float] | None = None
        self.trails: dict[int, deque[tuple[float, float]]] = {}
        self.test_mode = False
        self.threshold_moved = False  # True once the user moves the slider
        self.reached: set[tuple[int, int]] = set()
        #: Milliseconds per ``detect`` at each named reach on this machine's live frames (None
        #: for a reach the model cannot run at); empty until measured.
        self.reach_ms: dict[str, float | None] = {}
        self._timing_frames: list[np.ndarray] = []
        self.radii: deque[float] = deque(maxlen=RADII_KEPT)  # camera px, of the hands seen
        self.painter = Painter()
        self.slider = Slider(
            pygame.Rect(PANEL_X + 10, 0, 300, 12), *THRESHOLD_RANGE, self.cal.threshold or 0.5
        )
        self.buttons: dict[str, Button] = {}
        self._layout()
        if source is not None:
            self.select(source)
        elif self.cal.camera in self.cameras:
            self.select(self.cal.camera)
        elif self.cameras:
            self.select(self.cameras[0])
        else:
            self.message = (
                "No camera found (probed 0-5). Connect one and press P, or run "
                "python -m handplay.calibrate --source VIDEO.mp4"
            )
        if refused:
            self.message = refused

    # ---- layout and sources ---------------------------------------------------------------

    def _layout(self) -> None:
        y = 110
        self.buttons = {}
        for k, i in enumerate(self.cameras):  # three camera buttons per row
            rect = pygame.Rect(PANEL_X + (k % 3) * 108, y + (k // 3) * 52, 100, 44)
            self.buttons[f"cam{i}"] = Button(rect, f"Cam {i}")
        y += 52 * math.ceil(len(self.cameras) / 3)
        if self.video is not None:
            name = Path(self.video).name[:20]
            self.buttons["video"] = Button(pygame.Rect(PANEL_X, y, 320, 44), f"Video {name}")
            y += 52
        if not self.cameras and self.video is None:
            y += 52
        y += 16
        self.buttons["mirror"] = Button(pygame.Rect(PANEL_X, y, 320, 44), "Mirror", "M")
        y += 88
        self.slider.rect.y = y
        y += 64  # the reach label above the buttons
        for k, name in enumerate(REACH_SCALES):
            rect = pygame.Rect(PANEL_X + k * 110, y, 100, 44)
            self.buttons[f"reach_{name}"] = Button(rect, name.capitalize())
        self.reach_y = y
        y += 44 + 30  # and each reach's ms under its button
        # two buttons a row from here, so the panel fits 720 px with two rows of cameras
        self.buttons["reset"] = Button(pygame.Rect(PANEL_X, y, 184, 44), "Whole view", "R")
        self.buttons["save"] = Button(pygame.Rect(PANEL_X + 192, y, 128, 44), "Save", "S")
        y += 52
        self.buttons["test"] = Button(pygame.Rect(PANEL_X, y, 184, 44), "Screen test", "T")
        self.buttons["back"] = Button(pygame.Rect(PANEL_X + 192, y, 128, 44), "Back", "Esc")
        self.info_y = y + 64

    def select(self, source: int | str) -> None:
        """Switch the preview to a camera index or a video path (restarts the input)."""
        self.stop()
        self.source = source
        self.trails.clear()
        identity = self.cal.with_changes(mirror=False, play_area=(0.0, 0.0, 1.0, 1.0))
        try:
            self.inp = Input(
                source,
                model=self.model,
                calibration=identity,
                screen_size=(1, 1),
                post_events=False,
            ).start()
        except (SourceError, ModelError, ValueError) as e:  # ValueError: the reach's size
            self.inp = None
            self.message = str(e)
            log.warning("%s", e)
            return
        if self.cal.threshold is None:
            self.slider.value = self.inp.detector.threshold
        self.message = f"Showing {'camera ' if isinstance(source, int) else ''}{source}"

    def stop(self) -> None:
        """Stop the input (the camera is released for the game)."""
        if self.inp is not None:
            try:
                self.inp.stop()
            except Exception as e:  # noqa: BLE001 - shown on screen; the user can pick another
                self.message = f"input stopped with an error: {e}"
            self.inp = None

    # ---- the mapping being edited ---------------------------------------------------------

    def calibration(self) -> Calibration:
        """The calibration as edited so far (camera, mirror, play area, threshold)."""
        camera = self.source if self.source is not None else self.cal.camera
        # the model's recommended threshold stays None (it follows a new model) until moved
        threshold = round(self.slider.value, 3) if self.threshold_moved else self.cal.threshold
        return self.cal.with_changes(camera=camera, threshold=threshold)

    def preview_rect(self) -> pygame.Rect:
        """Where the preview sits (the frame's aspect ratio fitted into the preview box)."""
        frame = self.inp.latest_frame if self.inp is not None else None
        content = (frame.shape[1], frame.shape[0]) if frame is not None else (16, 9)
        return fit_rect(content, PREVIEW_BOX)

    def _view_at(self, pos: tuple[int, int]) -> tuple[float, float]:
        rect = self.preview_rect()
        u = (pos[0] - rect.x) / rect.width
        v = (pos[1] - rect.y) / rect.height
        return min(1.0, max(0.0, u)), min(1.0, max(0.0, v))

    def frame_view(self, norm: tuple[float, float]) -> tuple[float, float]:
        """Identity-calibrated ``norm_pos`` (camera frame 0..1) to view coordinates."""
        return (1.0 - norm[0] if self.cal.mirror else norm[0]), norm[1]

    # ---- events ---------------------------------------------------------------------------

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Handle one event. Returns False when the screen should close."""
        if event.type == pygame.QUIT:
            return False
        if event.type == pygame.KEYDOWN:
            return self._key(event.key)
        if self.test_mode:  # the panel is hidden: only keys work
            return True
        if self.slider.handle(event):
            self._set_threshold(self.slider.value)
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            for name, button in self.buttons.items():
                if button.hit(event.pos):
                    return self._press(name)
            if self.preview_rect().collidepoint(event.pos):
                self.drag_start = self.drag_now = self._view_at(event.pos)
        elif event.type == pygame.MOUSEMOTION and self.drag_start is not None:
            self.drag_now = self._view_at(event.pos)
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1 and self.drag_start:
            self.drag_now = self._view_at(event.pos)
            self._finish_drag()
        return True

    def _key(self, key: int) -> bool:
        if key == pygame.K_ESCAPE:
            if self.test_mode:  # Esc leaves the test first, then the screen
                self.test_mode = False
                return True
            return False
        if pygame.K_0 <= key <= pygame.K_5 and key - pygame.K_0 in self.cameras:
            self.select(key - pygame.K_0)
        elif key == pygame.K_p:
            self.stop()
            self.cameras = probe_cameras()
            self._layout()
            self.message = f"cameras found: {self.cameras or 'none'}"
        elif key == pygame.K_m:
            self._press("mirror")
        elif key == pygame.K_r:
            self._press("reset")
        elif key == pygame.K_f:
            names = list(REACH_SCALES)
            at = names.index(self.cal.reach) + 1 if self.cal.reach in names else 0
            self._press(f"reach_{names[at % len(names)]}")
        elif key == pygame.K_t:
            self.test_mode = not self.test_mode
            self.reached.clear()
        elif key == pygame.K_s:
            self._press("save")
        elif key in (pygame.K_LEFT, pygame.K_RIGHT):
            step = 0.05 if key == pygame.K_RIGHT else -0.05
            self.slider.value = min(
                THRESHOLD_RANGE[1], max(THRESHOLD_RANGE[0], self.slider.value + step)
            )
            self._set_threshold(self.slider.value)
        return True

    def _press(self, name: str) -> bool:
        if name.startswith("cam"):
            self.select(int(name[3:]))
        elif name == "video" and self.video is not None:
            self.select(self.video)
        elif name == "mirror":
            # the play area stays on the same part of the room: flip it with the view
            x0, y0, x1, y1 = self.cal.play_area
            self.cal = self.cal.with_changes(
                mirror=not self.cal.mirror, play_area=(1.0 - x1, y0, 1.0 - x0, y1)
            )
        elif name.startswith("reach_"):
            self.cal = self.cal.with_changes(reach=name[len("reach_") :])
            if self.source is not None:
                self.select(self.source)  # the preview runs at the new reach
        elif name == "reset":
            self.cal = self.cal.with_changes(play_area=(0.0, 0.0, 1.0, 1.0))
        elif name == "save":
            self.saved_to = self.calibration().save(self.output)
            self.message = f"Saved to {self.saved_to}"
        elif name == "test":
            self.test_mode, self.reached = True, set()
        elif name == "back":
            return False
        return True

    def _set_threshold(self, value: float) -> None:
        self.threshold_moved = True
        if self.inp is not None and self.inp.detector is not None:
            self.inp.detector.threshold = value  # read by the worker on its next frame

    def _finish_drag(self) -> None:
        (u0, v0), (u1, v1) = self.drag_start, self.drag_now
        self.drag_start = self.drag_now = None
        x0, x1 = sorted((u0, u1))
        y0, y1 = sorted((v0, v1))
        if x1 - x0 < MIN_AREA or y1 - y0 < MIN_AREA:
            self.message = "Play area too small: drag a bigger rectangle on the preview"
            return
        self.cal = self.cal.with_changes(
            play_area=(round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4))
        )

    # ---- per frame ------------------------------------------------------------------------

    def update(self) -> None:
        """Restart a finished video (so it loops) and extend the cursor trails."""
        if self.inp is not None and not self.inp.running and isinstance(self.source, str):
            self.select(self.source)
        hands = self.inp.hands if self.inp is not None else ()
        x0, y0, x1, y1 = self.cal.play_area
        w, h = self.size
        seen = set()
        frame = self.inp.latest_frame if self.inp is not None else None
        if frame is not None:
            self._time_reaches(frame)
            w_f, h_f = frame.shape[1], frame.shape[0]
            # identity mapping onto a 1×1 screen: radii come scaled by the mean of 1/w and 1/h
            self.radii.extend(hnd.radius / (0.5 * (1 / w_f + 1 / h_f)) for hnd in hands)
        for hand in hands:
            u, v = self.frame_view(hand.norm_pos)
            pos = ((u - x0) / (x1 - x0) * w, (v - y0) / (y1 - y0) * h)
            self.trails.setdefault(hand.hand_id, deque(maxlen=CURSOR_TRAIL)).append(pos)
            seen.add(hand.hand_id)
            if self.test_mode:
                for corner in self.corners():
                    if math.dist(pos, corner) < TEST_TARGET_R:
                        self.reached.add(corner)
        for hand_id in list(self.trails):
            if hand_id not in seen:
                del self.trails[hand_id]

    # ---- reach ----------------------------------------------------------------------------

    def _time_reaches(self, frame: np.ndarray) -> None:
        """Time each named reach's detector on a few live frames, once (a second or so)."""
        if self.reach_ms or self.inp is None or self.inp.detector is None:
            return
        if not self._timing_frames or self._timing_frames[-1] is not frame:
            self._timing_frames.append(frame)
        if len(self._timing_frames) < REACH_TIMED_FRAMES:
            return
        frames, self._timing_frames = self._timing_frames, []
        for name in REACH_SCALES:
            try:
                det = Detector(self.model, reach=name, threshold=self.inp.detector.threshold)
            except (ModelError, ValueError) as e:  # e.g. a model with a fixed input size
                log.info("reach %s: %s", name, e)
                self.reach_ms[name] = None
                continue
            det.detect(frames[0])  # warm-up: the first run allocates
            times = []
            for f in frames:
                t0 = time.perf_counter()
                det.detect(f)
                times.append((time.perf_counter() - t0) * 1e3)
            self.reach_ms[name] = statistics.median(times)

    def suggested_reach(self) -> tuple[str, float] | None:
        """The reach the hands seen suggest, and their median radius in cells at ``near``,
        for the play area being drawn; None before any hand was seen."""
        frame = self.inp.latest_frame if self.inp is not None else None
        if frame is None or not self.radii or self.inp.detector is None:
            return None
        det = self.inp.detector
        sizes = reach_sizes(det.model_size, det.stride)
        roi = self.cal.detection_roi((frame.shape[1], frame.shape[0]))
        crop = (roi[2] - roi[0], roi[3] - roi[1])
        name = suggest_reach(self.radii, crop, det.stride, sizes)
        median = statistics.median(self.radii)
        return name, radius_cells(median, crop, sizes["near"], det.stride)

    def draw(self, surface: pygame.Surface) -> None:
        """The whole screen (or the full-screen test, when it is on)."""
        self.painter.draw(surface, self)

    def corners(self) -> list[tuple[int, int]]:
        """The centres of the full-screen test's corner targets, screen px."""
        w, h = self.size
        m = TEST_TARGET_R + 20
        return [(m, m), (w - m, m), (m, h - m), (w - m, h - m)]


def run(
    screen: pygame.Surface,
    source: int | str | None = None,
    model: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    max_frames: int | None = None,
    cameras: Sequence[int] | None = None,
) -> Calibration:
    """Run the calibration screen on ``screen`` until Esc (or ``max_frames`` frames).

    Games call this (key C) after stopping their own :class:`~handplay.Input`, so the camera is
    free, and start a new ``Input`` afterwards to read the saved file.

    Returns:
        The calibration as edited (saved only if the user pressed Save).
    """
    clock = pygame.time.Clock()
    cal_screen = CalibrationScreen(source, model, output, screen.get_size(), cameras)
    frames = 0
    try:
        running = True
        while running:
            for event in pygame.event.get():
                running = cal_screen.handle_event(event) and running
            cal_screen.update()
            cal_screen.draw(screen)
            pygame.display.flip()
            clock.tick(60)
            frames += 1
            if max_frames is not None and frames >= max_frames:
                break
    finally:
        cal_screen.stop()
    return cal_screen.calibration()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m handplay.calibrate``; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m handplay.calibrate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--source",
        type=argument_type(parse_source),
        help="camera index or video file (default: probe 0-5)",
    )
    parser.add_argument("--model", help="ONNX model (default: the shipped one)")
    parser.add_argument("--output", help="calibration file to write (default: the user's)")
    parser.add_argument("--fullscreen", action="store_true", help="start fullscreen")
    parser.add_argument("--max-frames", type=int, help="stop after N frames (tests)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pygame.init()
    scaled = pygame.SCALED if pygame.display.get_driver() != "dummy" else 0  # any window size
    flags = scaled | (pygame.FULLSCREEN if args.fullscreen else 0)
    screen = pygame.display.set_mode(SCREEN_SIZE, flags)
    pygame.display.set_caption("handplay calibration")
    print(f"calibration file: {Path(args.output) if args.output else default_path()}")
    cal = run(screen, args.source, args.model, args.output, args.max_frames)
    print(f"calibration: mirror={cal.mirror} play_area={cal.play_area} threshold={cal.threshold}")
    pygame.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
