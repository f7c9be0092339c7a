"""The game's window, input and main loop; see :mod:`games.wave` for how to play.

The loop: read events (hands, keys, mouse) → advance the scene by fixed 1/60 s steps → draw →
flip. Hands come from :class:`handplay.Input` on its own thread, as pygame events; the loop
never waits for the camera or the model, so a slow camera makes hands update less often but
never slows the game.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pygame

import handplay
from games.wave.debug import DebugOverlay
from games.wave.hands import MouseHand
from games.wave.scenes import SCENES, Playfield, Scene
from games.wave.sounds import Sounds
from games.wave.world import ARENA_SIZE, STEP
from handplay.sources import argument_type, parse_source

log = logging.getLogger(__name__)

FPS = 60
MAX_STEPS_PER_FRAME = 4  # after a long stall, catch up at most this much (then slow down)
FRAME_WINDOW = 300  # frames in the on-screen p50/p95


@dataclass
class Options:
    """Command-line options (see ``python -m games.wave --help``).

    Attributes:
        source: camera index or video path; None for the calibration's camera.
        model: ONNX model path; None for the shipped model.
        fullscreen: start fullscreen.
        debug: show the debug overlay.
        max_frames: stop after this many frames (tests); None to run until Esc.
        fast: one physics step per frame and no frame cap (tests and work-time benchmarks).
        mute: no sound.
        mouse: skip the camera and play with the mouse.
        seed: random seed for spawns and wind.
    """

    source: int | str | None = None
    model: str | None = None
    fullscreen: bool = False
    debug: bool = False
    max_frames: int | None = None
    fast: bool = False
    mute: bool = False
    mouse: bool = False
    seed: int = 0


@dataclass
class RunResult:
    """What a run did (returned by :func:`run`, printed by :func:`main`).

    Attributes:
        frames: frames drawn.
        work_ms: per-frame time spent on events, update and drawing (excludes waiting).
        interval_ms: time between successive frames (what the player sees; ~16.7 at 60 fps).
        mouse_mode: True when the mouse stood in for the hands.
        best: the best round score.
        hands_entered: how many hands entered during the run.
        input_stats: the input's last :class:`handplay.Stats` (None in mouse mode).
        game_seconds: game time simulated (fixed steps × 1/60 s).
        wall_seconds: wall-clock time the run took.
    """

    frames: int
    work_ms: list[float]
    interval_ms: list[float]
    mouse_mode: bool
    best: int
    hands_entered: int = 0
    input_stats: handplay.Stats | None = None
    game_seconds: float = 0.0
    wall_seconds: float = 0.0


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) of ``values`` (0, 0 when empty)."""
    if not values:
        return 0.0, 0.0
    p50, p95 = np.percentile(np.asarray(values), [50, 95])
    return float(p50), float(p95)


class WaveGame:
    """The running game: window, input, scenes.

    Args:
        options: the run's options.
        screen: a display surface to draw on; None to open the window here.
    """

    def __init__(self, options: Options, screen: pygame.Surface | None = None) -> None:
        self.options = options
        if not pygame.get_init():
            pygame.init()
        if screen is None:
            # SCALED: the 1280×720 arena is stretched to any window or fullscreen size
            scaled = pygame.SCALED if pygame.display.get_driver() != "dummy" else 0
            flags = scaled | (pygame.FULLSCREEN if options.fullscreen else 0)
            screen = pygame.display.set_mode(ARENA_SIZE, flags, vsync=0)
            pygame.display.set_caption("Wave! - handplay")
        self.screen = screen
        self.field = Playfield(ARENA_SIZE, Sounds(enabled=not options.mute), seed=options.seed)
        self.scenes: dict[str, Scene] = {name: cls(self.field) for name, cls in SCENES.items()}
        self.scene = self.scenes["attract"]
        self.scene.enter()
        self.debug = options.debug
        self.overlay = DebugOverlay()
        self.inp: handplay.Input | None = None
        self.mouse: MouseHand | None = None
        self.note = ""
        self.running = True
        self.work_ms: deque[float] = deque(maxlen=FRAME_WINDOW)
        self._accumulator = 0.0
        self.game_seconds = 0.0  # simulated time: STEP per fixed step
        self._calibrated = False
        self.start_input()

    # ---- input ----------------------------------------------------------------------------

    def start_input(self) -> None:
        """Start handplay's Input; on a missing camera or model, let the mouse be the hand."""
        self.field.hands.clear()
        if self.options.mouse:
            self._mouse_mode("mouse mode (--mouse): the mouse is your hand")
            return
        inp = handplay.Input(
            source=self.options.source, model=self.options.model, screen_size=ARENA_SIZE
        )
        try:
            self.inp = inp.start()
        except handplay.SourceError as e:
            log.warning("%s", e)
            self._mouse_mode("no camera - move the mouse to play (C: calibrate)", str(e))
            return
        except handplay.ModelError as e:
            log.warning("%s", e)
            self._mouse_mode("no hand model - move the mouse to play", str(e))
            return
        except ValueError as e:  # a malformed calibration file (the message names it)
            log.warning("%s", e)
            self._mouse_mode("calibration file is broken - press C to recalibrate", str(e))
            return
        self.mouse = None
        self.field.status = ""
        self.note = ""

    def _mouse_mode(self, status: str, detail: str = "") -> None:
        self.inp = None
        self.mouse = MouseHand(ARENA_SIZE)
        self.field.status = status
        self.note = detail

    def _check_input(self) -> None:
        """The input stopped (end of a video, or an error): report an error, keep playing.

        A game on a wall in a public place should not die with the camera, so an error from
        the input thread is logged in full and the mouse takes over, with the reason on screen.
        """
        try:
            self.inp.hands  # noqa: B018 - raises the worker's error here, if it had one
        except Exception as e:  # noqa: BLE001 - see the docstring
            log.exception("hand input stopped")
            self.stop_input()
            self.field.hands.clear()
            self._mouse_mode("hand input stopped - move the mouse to play", str(e))
            return
        if not self.field.status:  # a video source came to its end
            self.field.status = "the video has ended - Esc quits"

    def stop_input(self) -> None:
        """Stop the input thread (idempotent)."""
        if self.inp is not None:
            inp, self.inp = self.inp, None
            try:
                inp.stop()
            except Exception:  # noqa: BLE001 - already reported by _check_input or at exit
                log.exception("hand input stopped with an error")

    def calibrate(self) -> None:
        """Key C: free the camera, run the calibration screen, restart with the new file."""
        self.stop_input()
        from handplay import calibrate  # the screen is only loaded when it is used

        calibrate.run(self.screen, source=self.options.source, model=self.options.model)
        self._calibrated = True
        pygame.event.clear()  # hand events from the stopped input are stale now
        self.start_input()

    # ---- the loop -------------------------------------------------------------------------

    def handle_event(self, event: pygame.event.Event) -> None:
        """Keys, window and hand events."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.running = False
            elif event.key == pygame.K_f:
                try:
                    pygame.display.toggle_fullscreen()
                except pygame.error as e:  # e.g. the dummy driver
                    log.warning("cannot toggle fullscreen: %s", e)
            elif event.key == pygame.K_d:
                self.debug = not self.debug
            elif event.key == pygame.K_c:
                self.calibrate()
        elif self.field.hands.handle_event(event) is None and self.mouse is not None:
            self.mouse.handle_event(event)

    def frame(self, dt: float) -> float | None:
        """One frame: events, ``dt`` seconds of fixed physics steps, drawing.

        Returns:
            The frame's work time in ms, or None when the calibration screen ran in it.
        """
        t0 = time.perf_counter()
        self._calibrated = False
        for event in pygame.event.get():
            self.handle_event(event)
        if self.mouse is not None:
            self.mouse.update()
        if self.inp is not None and not self.inp.running:
            self._check_input()
        self._accumulator = min(self._accumulator + dt, MAX_STEPS_PER_FRAME * STEP)
        while self._accumulator >= STEP - 1e-9:
            self._accumulator -= STEP
            self.step()
        self.draw()
        if self._calibrated:
            self._accumulator = 0.0
            return None
        work_ms = (time.perf_counter() - t0) * 1e3
        self.work_ms.append(work_ms)
        return work_ms

    def step(self) -> None:
        """One fixed 1/60 s step of the current scene (and a scene change if it asks)."""
        self.game_seconds += STEP
        next_name = self.scene.update(STEP)
        if next_name is not None:
            self.scene = self.scenes[next_name]
            self.scene.enter()

    def draw(self) -> None:
        """Draw the scene and the overlay; flip."""
        self.scene.draw(self.screen)
        if self.debug:
            self.overlay.draw(
                self.screen,
                self.inp,
                self.field.hand_colours(),
                percentiles(self.work_ms),
                self.note,
            )
        pygame.display.flip()

    def run(self) -> RunResult:
        """Run until Esc, the window closes or ``max_frames``; stops the input at the end."""
        clock = pygame.time.Clock()
        work: list[float] = []
        intervals: list[float] = []
        frames = 0
        start = last = time.perf_counter()
        try:
            while self.running:
                # dt is measured from the start of one frame to the start of the next, so it
                # includes the clock's wait: the world advances by the real elapsed time.
                now = time.perf_counter()
                dt, last = now - last, now
                work_ms = self.frame(STEP if self.options.fast else dt)
                if frames > 0 and work_ms is not None:  # calibration-screen frames not counted
                    intervals.append(dt * 1e3)
                if work_ms is not None:
                    work.append(work_ms)
                if not self.options.fast:
                    clock.tick(FPS)
                frames += 1
                if self.options.max_frames is not None and frames >= self.options.max_frames:
                    break
        finally:
            mouse_mode = self.inp is None
            stats = self.inp.stats if self.inp is not None else None
            self.stop_input()
        return RunResult(
            frames,
            work,
            intervals,
            mouse_mode,
            self.field.best,
            self.field.hands.entered_total,
            stats,
            game_seconds=self.game_seconds,
            wall_seconds=time.perf_counter() - start,
        )


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Command line -> :class:`Options`."""
    parser = argparse.ArgumentParser(
        prog="python -m games.wave",
        description="Wave! Bat the balls into the stars with your hands. "
        "Keys: Esc quit, F fullscreen, C calibrate, D debug overlay.",
    )
    parser.add_argument(
        "--source",
        type=argument_type(parse_source),
        help="camera index (0, 1, ...) or video file; default: the calibrated camera",
    )
    parser.add_argument("--model", help="ONNX hand model; default: the shipped model")
    parser.add_argument("--fullscreen", action="store_true", help="start fullscreen (or press F)")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="camera preview, heatmap and detections in a corner (or press D)",
    )
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="no 60 fps cap, one physics step per frame (tests, benchmarks)",
    )
    parser.add_argument("--mute", action="store_true", help="no sound")
    parser.add_argument("--mouse", action="store_true", help="play with the mouse, no camera")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be at least 1, not {args.max_frames}")
    return Options(
        source=args.source,
        model=args.model,
        fullscreen=args.fullscreen,
        debug=args.debug,
        max_frames=args.max_frames,
        fast=args.fast,
        mute=args.mute,
        mouse=args.mouse,
        seed=args.seed,
    )


def run(options: Options) -> RunResult:
    """Open the window, play, close; returns what happened."""
    pygame.init()
    try:
        return WaveGame(options).run()
    finally:
        pygame.quit()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m games.wave``: play; prints the frame-time figures at exit."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = parse_args(argv)
    result = run(options)
    w50, w95 = percentiles(result.work_ms)
    i50, i95 = percentiles(result.interval_ms)
    print(
        f"frames {result.frames}  work p50 {w50:.2f} ms p95 {w95:.2f} ms  "
        f"frame interval p50 {i50:.2f} ms p95 {i95:.2f} ms  "
        f"game time {result.game_seconds:.1f} s in {result.wall_seconds:.1f} s"
        f"{'  (mouse mode)' if result.mouse_mode else ''}"
    )
    return 0
