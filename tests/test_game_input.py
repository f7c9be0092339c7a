"""Wave! with the real handplay.Input: a video of a red disc (a stand-in hand) bats a ball.

The clip is rendered with handplay.testing and detected by its disc model, so the whole path
runs: video file → model → tracking → HANDENTER/HANDMOVE/HANDLEAVE → kinematic hand → ball.
The loop waits for the paced video, bounded by a frame budget (no timing asserts).
"""

from __future__ import annotations

import time

import pygame
import pytest

from games.wave.app import Options, WaveGame
from games.wave.world import STEP

pytest.importorskip("onnx")
from handplay.testing import linear_path, make_disc_model, write_clip  # noqa: E402

FRAME_SIZE = (320, 180)
FPS = 30.0
HOLD = 24  # video frames the disc stays still (the tracker's enter hysteresis, then the ball)
SWEEP = 30  # video frames of the sweep
START, END = (262.0, 100.0), (60.0, 100.0)  # camera px; mirrored, this sweeps left to right


def _disc_track(i: int) -> tuple[float, float, float] | None:
    if i < 3 or i >= 3 + HOLD + SWEEP + 10:  # absent at the start and at the end
        return None
    if i < 3 + HOLD:
        return (*START, 18.0)
    return linear_path(START, END, SWEEP, radius=18.0, first=3 + HOLD)(i)


@pytest.fixture(scope="module")
def clip_and_model(tmp_path_factory):
    from handplay.testing import disc_clip

    folder = tmp_path_factory.mktemp("wave_clip")
    frames = disc_clip([_disc_track], FRAME_SIZE, 3 + HOLD + SWEEP + 25)
    return write_clip(folder / "sweep.mp4", frames, FPS), make_disc_model(folder / "disc.onnx")


def test_video_hand_sweeps_through_ball(clip_and_model):
    clip, model = clip_and_model
    pygame.init()
    game = WaveGame(Options(source=str(clip), model=str(model), mute=True, debug=True))
    try:
        assert game.inp is not None, game.field.status
        world = game.field.world
        ball = None
        hand_ids: set[int] = set()
        hit_velocity = None
        pin = (0.0, 0.0)
        for _ in range(900):  # ~15 s budget; the clip lasts ~3 s
            if ball is not None and ball.last_hand is None:
                # hold the ball still on the hand's path until it is hit, however the paced
                # video and the test loop line up
                ball.body.position, ball.body.velocity = pin, (0.0, 0.0)
            game.frame(STEP)
            time.sleep(STEP / 2)
            hand_ids |= set(world.hands)
            if ball is None and game.scene.name == "play" and world.hands:
                game.scene.spawn_wait = 1e9
                world.clear()
                hand = next(iter(world.hands.values()))
                # on the disc's path, ahead of it (screen x grows as the disc sweeps)
                pin = (hand.body.position.x + 330, hand.body.position.y)
                ball = world.add_ball(pin, radius=42.0)
            if ball is not None and ball.last_hand is not None and hit_velocity is None:
                hit_velocity = tuple(ball.body.velocity)
            if ball is not None and not game.inp.running and not world.hands:
                break
        assert hand_ids, "the disc never became a hand"
        assert ball is not None
        assert ball.last_hand in hand_ids, "the swept hand hit the ball"
        assert hit_velocity[0] > 150, f"the ball flew off to the right, got {hit_velocity}"
        assert not world.hands, "the video ended: every hand left"
        assert game.scene.name == "play"
        for _ in range(round(3.2 / STEP)):
            game.frame(STEP)
        assert game.scene.name == "attract", "nobody left in view: back to the attract screen"
        assert "video has ended" in game.field.status
    finally:
        game.stop_input()
        pygame.quit()


def test_input_thread_error_falls_back_to_the_mouse(clip_and_model):
    import handplay
    from games.wave.world import ARENA_SIZE
    from handplay.testing import render_disc_frame

    _, model = clip_and_model

    def frames():
        for _ in range(3):
            yield render_disc_frame(FRAME_SIZE, [])
        raise OSError("camera unplugged")

    pygame.init()
    game = WaveGame(Options(mouse=True, mute=True, fast=True))
    try:
        game.mouse = None
        game.inp = handplay.Input(frames(), model=model, screen_size=ARENA_SIZE).start()
        for _ in range(500):
            game.frame(STEP)
            if game.inp is None:
                break
            time.sleep(0.005)
        assert game.inp is None, "the failed input was stopped"
        assert game.mouse is not None and "stopped" in game.field.status
        assert "camera unplugged" in game.note
        game.frame(STEP)  # and the game goes on
    finally:
        game.stop_input()
        pygame.quit()


def test_bench_plays_the_real_loop_with_hands_and_prints_consistent_figures(capsys):
    import re

    from games.wave import bench

    assert bench.main(["--frames", "60"]) == 0
    out = capsys.readouterr().out
    assert "mouse mode" not in out
    number = r"(\d+(?:\.\d+)?)"
    frames = re.search(
        rf"frames (\d+)  work p50 {number} ms p95 {number} ms  interval p50 {number} ms "
        rf"p95 {number} ms  hands entered (\d+)",
        out,
    )
    assert frames is not None, out
    n, w50, w95, i50, i95, entered = (float(v) for v in frames.groups())
    assert n == 60 and 0 < w50 <= w95 and 0 < i50 <= i95
    assert w50 <= i50  # a frame's work fits in the time between frames (the loop waits)
    assert entered >= 1  # the discs of the clip came through Input as hands
    game = re.search(rf"game time {number} s in {number} s of wall time", out)
    assert game is not None and float(game.group(1)) > 0  # the world moved
    stats = re.search(rf"input: {number} fps, model {number} ms", out)
    assert stats is not None and float(stats.group(1)) > 0 and float(stats.group(2)) > 0
