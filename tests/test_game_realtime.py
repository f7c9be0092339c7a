"""Wave! on the path a player runs: the real loop, paced by the real clock (no ``fast``).

The game once shipped frozen in normal play while every test used ``fast=True``: these tests run
:meth:`WaveGame.run` for about 1.5 s of wall time and check that game time kept up with it.
"""

from __future__ import annotations

import math
import threading
import time

import pygame
import pytest

from games.wave.app import Options, WaveGame
from games.wave.hands import MOUSE_HAND_ID
from games.wave.scenes import ROUND_SECONDS

WALL_FRAMES = 90  # 1.5 s at the 60 fps cap


def _mouse_game() -> WaveGame:
    g = WaveGame(Options(mouse=True, mute=True, max_frames=WALL_FRAMES))
    assert g.mouse is not None
    return g


def test_real_loop_advances_by_wall_time_with_the_mouse():
    """Mouse mode, real clock: the mouse starts a round and the round timer runs in real time."""
    pygame.init()
    try:
        g = _mouse_game()
        # a player moves the mouse: the mouse hand enters and the attract screen starts a round
        pygame.event.post(
            pygame.event.Event(pygame.MOUSEMOTION, pos=(640, 400), rel=(5, 0), buttons=(0, 0, 0))
        )
        result = g.run()
        assert result.frames == WALL_FRAMES
        # within ±25 % of the wall time (the bound): a frozen world gives ~0
        assert result.game_seconds == pytest.approx(result.wall_seconds, rel=0.25)
        assert result.wall_seconds > 1.0  # the 60 fps cap paced it
        assert MOUSE_HAND_ID in g.field.hands.states
        assert g.scene.name == "play"
        assert ROUND_SECONDS - g.scene.time_left == pytest.approx(result.wall_seconds, rel=0.3)
    finally:
        pygame.quit()


def test_real_loop_with_a_scripted_hand_video(tmp_path):
    """A disc waving in a video, seen by the real Input thread: the game plays in real time."""
    pytest.importorskip("onnx")
    from handplay.testing import iter_disc_clip, make_disc_model, write_clip

    def track(i: int) -> tuple[float, float, float]:
        t = i / 30
        return 320 + 150 * math.sin(2.0 * t), 240 + 80 * math.sin(3.0 * t), 30.0

    clip = write_clip(tmp_path / "wave.mp4", list(iter_disc_clip([track], (640, 480), 150)), 30)
    model = make_disc_model(tmp_path / "disc.onnx")
    pygame.init()
    try:
        g = WaveGame(Options(source=str(clip), model=str(model), mute=True, max_frames=WALL_FRAMES))
        assert g.inp is not None, g.field.status
        result = g.run()
        assert result.game_seconds == pytest.approx(result.wall_seconds, rel=0.25)
        assert result.hands_entered >= 1
        assert g.scene.name == "play"
        assert g.scene.time_left < ROUND_SECONDS - 0.5  # the round clock ran
    finally:
        pygame.quit()


def test_real_loop_catch_and_throw_with_a_scripted_hand_video(tmp_path, open_disc_model):
    """A disc rests on a ball, closes (magenta), carries it, opens while moving: the ball
    follows the hand and flies on with the hand's velocity. Real loop, real Input thread."""
    from handplay import Calibration
    from handplay.testing import iter_disc_clip, write_clip

    rest, hold, carry, fling, after = 45, 12, 25, 20, 30
    x0, y0, step = 160.0, 300.0, 6.0  # frame px; 6 px a frame = 180 px/s at 30 fps

    def track(i: int) -> tuple[float, float, float, bool]:
        moving = min(max(0, i - rest - hold), carry + fling)
        closed = rest <= i < rest + hold + carry
        return x0 + step * moving, y0, 30.0, not closed

    frames = rest + hold + carry + fling + after
    clip = write_clip(tmp_path / "catch.mp4", list(iter_disc_clip([track], (640, 480), frames)))
    # what the hand's velocity is on screen: the default calibration (mirrored) maps frame px
    cal = Calibration()
    a = cal.to_screen(300.0, y0, (640, 480), (1280, 720))
    b = cal.to_screen(301.0, y0, (640, 480), (1280, 720))
    truth = ((b[0] - a[0]) * step * 30, (b[1] - a[1]) * step * 30)

    pygame.init()
    try:
        g = WaveGame(
            Options(source=str(clip), model=str(open_disc_model), mute=True, max_frames=900)
        )
        assert g.inp is not None, g.field.status
        seen: dict[str, object] = {"ball": None, "gap": 0.0, "held": False, "after": 0}
        original = g.step

        def step() -> None:
            original()
            world, states = g.field.world, g.field.hands.states
            if g.scene.name != "play" or not states:
                return
            hand_id = next(iter(states))
            hand = world.hands.get(hand_id)
            ball = seen["ball"]
            if ball is None and hand is not None:  # a ball floats under the resting hand
                g.scene.spawn_wait = 1e9
                world.clear()
                ball = seen["ball"] = world.add_ball(tuple(hand.body.position), radius=44.0)
            if ball is None:
                return
            if ball.held_by is None and not seen["held"]:  # pinned there until caught
                ball.body.position, ball.body.velocity = hand.body.position, (0.0, 0.0)
            elif ball.held_by is not None:
                seen["held"] = True
                gap = (ball.body.position - hand.body.position).length
                seen["gap"] = max(seen["gap"], gap)
            elif "thrown" not in seen:
                seen["thrown"] = tuple(ball.body.velocity)
                seen["hand_v"] = g.field.hands.states[hand_id].velocity()
            else:
                seen["after"] += 1
                if seen["after"] > 10:
                    g.running = False

        g.step = step
        g.run()
    finally:
        pygame.quit()
    assert seen["held"], "the closing hand caught the ball"
    assert seen["gap"] < 44.0, "the held ball stayed on the hand"
    assert "thrown" in seen, "opening the hand let go of the ball"
    vx, vy = seen["thrown"]
    speed = math.hypot(*truth)
    assert math.hypot(vx, vy) == pytest.approx(speed, rel=0.3)
    angle = math.atan2(vy, vx) - math.atan2(truth[1], truth[0])
    assert abs(math.remainder(angle, math.tau)) < 0.3, (seen["thrown"], truth)


def test_a_stall_is_caught_up_only_a_little():
    """A 0.5 s stall (e.g. a window drag) costs game time instead of a burst of 30 steps."""
    pygame.init()
    try:
        g = _mouse_game()
        g.options.max_frames = 10
        stalled = threading.Event()
        original = g.draw

        def slow_draw() -> None:
            original()
            if not stalled.is_set():
                stalled.set()
                time.sleep(0.5)

        g.draw = slow_draw
        result = g.run()
        # 10 frames at 60 fps plus the stall: at most 4 steps of catch-up after it
        assert result.wall_seconds > 0.6
        assert result.game_seconds < result.wall_seconds - 0.3
        assert result.game_seconds > 0.1  # but the world did move
    finally:
        pygame.quit()


def test_fast_mode_steps_once_per_frame_without_the_clock():
    """``--fast`` (tests and work-time benchmarks): one 1/60 s step per frame, no waiting."""
    pygame.init()
    try:
        g = WaveGame(Options(mouse=True, mute=True, fast=True, max_frames=120))
        result = g.run()
        assert result.game_seconds == pytest.approx(120 / 60)
        assert result.wall_seconds < result.game_seconds  # not paced by the 60 fps cap
    finally:
        pygame.quit()


def test_python_m_games_wave_plays_in_real_time(tmp_path):
    """The README's command, as typed (plus --mouse and --max-frames), in a subprocess."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env["HANDPLAY_CONFIG_DIR"] = str(tmp_path)  # no user calibration file
    out = subprocess.run(
        [sys.executable, "-m", "games.wave", "--mouse", "--mute", "--max-frames", "90"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("frames"))
    game_s = float(line.split("game time ")[1].split(" s")[0])
    wall_s = float(line.split(" s in ")[1].split(" s")[0])
    assert wall_s > 1.0
    assert game_s == pytest.approx(wall_s, rel=0.25)
