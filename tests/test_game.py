"""Wave!: hands hit balls, points, scene changes, no tunnelling, the no-camera fallback.

Hands are scripted as handplay events posted to pygame's queue (what ``handplay.Input``
does), so these tests are deterministic and need neither a camera nor a model.
"""

from __future__ import annotations

import math

import pygame
import pytest

import handplay
from games.wave import scenes
from games.wave.app import Options, WaveGame, parse_args, run
from games.wave.hands import MOUSE_HAND_ID, hand_event
from games.wave.world import ARENA_SIZE, STEP, World


@pytest.fixture
def game():
    pygame.init()
    g = WaveGame(Options(mouse=True, fast=True, mute=True))
    g.mouse = None  # only scripted hands in these tests
    yield g
    g.stop_input()
    pygame.quit()


def post(kind: int, hand_id: int, pos: tuple[float, float], radius: float = 50.0) -> None:
    pygame.event.post(hand_event(kind, hand_id, pos, ARENA_SIZE, radius))


def sweep(
    game: WaveGame,
    hand_id: int,
    start: tuple[float, float],
    end: tuple[float, float],
    speed: float,
    on_frame=None,
) -> None:
    """Move a hand from start to end at ``speed`` px/s with one event per 1/60 s frame."""
    dist = math.dist(start, end)
    frames = max(1, math.ceil(dist / (speed * STEP)))
    for i in range(1, frames + 1):
        t = i / frames
        post(
            handplay.HANDMOVE,
            hand_id,
            (start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t),
        )
        game.frame(STEP)
        if on_frame is not None:
            on_frame()


def test_hand_sweep_bats_ball_into_star_for_points(game):
    post(handplay.HANDENTER, 1, (640.0, 640.0))
    game.frame(STEP)
    assert game.scene.name == "play"
    play = game.scene
    world = game.field.world
    play.spawn_wait = 1e9  # no extra balls: this test follows one
    world.clear()
    ball = world.add_ball((640.0, 470.0), radius=44.0)
    star = world.add_target()
    star.home = (640.0, 240.0)
    star.phase = -world.time * 0.35  # park its drift near home for the test's second
    star.body.position = star.home
    still = ball.body.velocity.length
    assert play.score == 0
    sweep(game, 1, (640.0, 640.0), (640.0, 380.0), speed=1500.0)
    assert ball.body.velocity.y < -300, "an upward swipe should send the ball up"
    assert ball.body.velocity.length > still + 300
    assert ball.last_hand == 1
    for _ in range(90):  # let it fly into the star (it may be there already)
        if play.score:
            break
        game.frame(STEP)
    assert play.score == scenes.STAR_POINTS
    assert play.stars == 1
    assert play.stars_by_colour == {game.field.hands.states[1].colour: 1}, "credited to hand 1"
    assert star not in world.targets, "a caught star disappears (and is replaced later)"
    assert play.combo == 2


def test_ball_on_grass_pops_and_resets_combo(game):
    post(handplay.HANDENTER, 1, (100.0, 300.0))
    game.frame(STEP)
    play, world = game.scene, game.field.world
    play.spawn_wait = 1e9
    world.clear()
    play.combo = 3
    ball = world.add_ball((900.0, world.floor_y - 120.0), velocity=(0.0, 600.0), radius=40.0)
    for _ in range(30):
        post(handplay.HANDMOVE, 1, (100.0, 300.0))
        game.frame(STEP)
    assert ball not in world.balls
    assert play.combo == 1


def test_attract_play_attract_on_enter_and_leave(game):
    assert game.scene.name == "attract"
    for _ in range(10):
        game.frame(STEP)
    assert game.scene.name == "attract", "nobody there: stay on the attract screen"
    post(handplay.HANDENTER, 7, (500.0, 400.0))
    game.frame(STEP)
    assert game.scene.name == "play"
    assert 7 in game.field.world.hands, "the hand got a kinematic body"
    post(handplay.HANDLEAVE, 7, (500.0, 400.0))
    game.frame(STEP)
    assert 7 not in game.field.world.hands
    frames_absent = round(scenes.ABSENT_SECONDS / STEP)
    for _ in range(frames_absent - 10):
        game.frame(STEP)
    assert game.scene.name == "play", "a short absence keeps the round going"
    post(handplay.HANDENTER, 8, (500.0, 400.0))  # someone steps back in: the round goes on
    game.frame(STEP)
    post(handplay.HANDLEAVE, 8, (500.0, 400.0))
    for _ in range(frames_absent + 5):
        game.frame(STEP)
    assert game.scene.name == "attract"
    assert not game.field.world.targets, "the attract screen has no stars"


def test_round_ends_then_restarts_with_players(game):
    post(handplay.HANDENTER, 1, (640.0, 300.0))
    game.frame(STEP)
    play = game.scene
    play.time_left = 2 * STEP
    play.score = 70
    for _ in range(3):
        post(handplay.HANDMOVE, 1, (640.0, 300.0))
        game.frame(STEP)
    assert play.over > 0 and game.field.best == 70
    for _ in range(round(scenes.OVER_SECONDS / STEP) + 2):
        post(handplay.HANDMOVE, 1, (640.0, 300.0))
        game.frame(STEP)
    assert game.scene is play and not play.over
    assert play.score == 0 and play.time_left > scenes.ROUND_SECONDS - 1


@pytest.mark.parametrize("ball_x", [1100.0, 1180.0, 1236.0])
@pytest.mark.parametrize("ball_y", [200.0, 450.0, 612.0])
def test_hand_at_3000_px_per_s_never_knocks_ball_out(ball_x, ball_y):
    """A hand swept at 3000 px/s through a ball towards the right wall (and past it)."""
    world = World()
    ball = world.add_ball((ball_x, ball_y), radius=40.0)
    x = 150.0
    world.set_hand(1, (x, ball_y + 6.0), 55.0)
    hit = False
    for _ in range(150):
        x = min(x + 3000.0 * STEP, ARENA_SIZE[0] + 300.0)
        world.set_hand(1, (x, ball_y + 6.0), 55.0)
        world.events.clear()
        world.step()
        hit = hit or any(e.kind == "hit" for e in world.events)
        assert world.contains(ball), f"ball left the arena at {ball.body.position}"
    assert hit, "the sweep must actually hit the ball"


@pytest.mark.parametrize("direction", [(1, 0), (-1, 0), (0, -1), (0, 1), (1, -1)])
def test_game_hand_events_at_3000_px_per_s_keep_balls_inside(game, direction):
    """Through the event path: every wall and the grass hold, whichever way the swipe goes."""
    post(handplay.HANDENTER, 1, (640.0, 360.0))
    game.frame(STEP)
    world = game.field.world
    game.scene.spawn_wait = 1e9
    world.clear()
    cx, cy = 640.0, 330.0
    dx, dy = direction
    norm = math.hypot(dx, dy)
    dx, dy = dx / norm, dy / norm
    ball = world.add_ball((cx, cy), radius=40.0)
    start = (cx - dx * 500, cy - dy * 500)
    end = (cx + dx * 2000, cy + dy * 2000)  # far beyond the arena: hands are clamped to it
    post(handplay.HANDMOVE, 1, start)
    game.frame(STEP)

    def check():
        assert world.contains(ball), f"ball out at {ball.body.position}"

    sweep(game, 1, start, end, speed=3000.0, on_frame=check)
    assert ball.last_hand == 1
    for _ in range(30):
        game.frame(STEP)
        check()


def test_no_camera_falls_back_to_mouse(tmp_path):
    """A camera index that does not open: the game says so and the mouse becomes a hand."""
    pytest.importorskip("onnx")
    from handplay.testing import make_disc_model

    model = make_disc_model(tmp_path / "disc.onnx")
    pygame.init()
    try:
        g = WaveGame(Options(source=5, model=str(model), fast=True, mute=True))
        assert g.inp is None and g.mouse is not None
        assert "no camera" in g.field.status
        g.frame(STEP)
        pygame.event.post(
            pygame.event.Event(pygame.MOUSEMOTION, pos=(300, 200), rel=(4, 0), buttons=(0, 0, 0))
        )
        g.frame(STEP)
        g.frame(STEP)
        assert MOUSE_HAND_ID in g.field.hands.states
        assert g.scene.name == "play"
        body = g.field.world.hands[MOUSE_HAND_ID].body
        assert body.position.x == pytest.approx(300, abs=1)
        g.mouse.leave()
        g.frame(STEP)
        assert MOUSE_HAND_ID not in g.field.world.hands
    finally:
        pygame.quit()


def test_main_runs_headless_for_max_frames_without_a_camera(tmp_path):
    pytest.importorskip("onnx")
    from handplay.testing import make_disc_model

    model = make_disc_model(tmp_path / "disc.onnx")
    result = run(
        parse_args(
            [
                "--source",
                "4",
                "--model",
                str(model),
                "--max-frames",
                "12",
                "--fast",
                "--mute",
                "--debug",
            ]
        )
    )
    assert result.frames == 12 and result.mouse_mode
    assert len(result.work_ms) == 12


def test_parse_args():
    opts = parse_args(["--source", "2", "--fullscreen", "--debug", "--max-frames", "5"])
    assert opts.source == 2 and opts.fullscreen and opts.debug and opts.max_frames == 5
    assert parse_args(["--source", "clip.mp4"]).source == "clip.mp4"
    with pytest.raises(SystemExit):
        parse_args(["--max-frames", "0"])


def test_generated_sounds_are_audible_and_never_clip():
    from games.wave.sounds import SAMPLE_RATE, synthesise

    sounds = synthesise()
    assert {"hit", "bounce", "pop", "score", "start", "end", "tick"} <= set(sounds)
    for name, variants in sounds.items():
        for wave in variants:
            peak = float(abs(wave).max())
            assert 0.3 < peak <= 0.95, f"{name} peaks at {peak}"
            assert 0.05 < len(wave) / SAMPLE_RATE < 2.0
            assert abs(wave[-50:]).max() < 0.2 * peak, f"{name} must fade out, not click"


def test_hand_catch_up_follows_the_camera_frame_interval():
    """A 30 fps camera in a 60 fps game: each move is spread over the camera's 1/30 s."""
    from games.wave.hands import Hands

    hands = Hands(ARENA_SIZE)
    t0 = 1000.0
    for i in range(20):
        kind = handplay.HANDENTER if i == 0 else handplay.HANDMOVE
        event = hand_event(kind, 3, (100.0 + 10 * i, 200.0), ARENA_SIZE, 50.0)
        event.timestamp = t0 + i / 30.0  # the capture clock
        hands.handle_event(event)
    state = hands.states[3]
    assert state.interval == pytest.approx(1 / 30, rel=0.02)
    world = World()
    body = world.set_hand(3, state.pos, state.radius, state.interval).body
    world.set_hand(3, (state.pos[0] + 40.0, state.pos[1]), state.radius, state.interval)
    world.step()  # one 1/60 s game frame: half way there, at the hand's real speed
    assert body.velocity.x == pytest.approx(40.0 * 30, rel=0.05)
    assert body.position.x == pytest.approx(state.pos[0] + 20.0, abs=1.0)


def test_each_hand_gets_its_own_colour_and_a_free_one_is_reused():
    from games.wave.hands import HAND_COLOURS, Hands

    hands = Hands(ARENA_SIZE)
    for hand_id in (1, 2, 3):
        hands.handle_event(hand_event(handplay.HANDENTER, hand_id, (10.0, 10.0), ARENA_SIZE, 40))
    colours = [hands.states[i].colour for i in (1, 2, 3)]
    assert len(set(colours)) == 3 and set(colours) <= set(HAND_COLOURS)
    hands.handle_event(hand_event(handplay.HANDLEAVE, 2, (10.0, 10.0), ARENA_SIZE, 40))
    hands.handle_event(hand_event(handplay.HANDENTER, 4, (10.0, 10.0), ARENA_SIZE, 40))
    assert hands.states[4].colour not in (colours[0], colours[2])


def test_broken_calibration_file_falls_back_to_mouse_and_says_so():
    from handplay.calibration import default_path

    default_path().parent.mkdir(parents=True, exist_ok=True)
    default_path().write_text("{not json", encoding="utf-8")
    pygame.init()
    try:
        g = WaveGame(Options(source=5, fast=True, mute=True))
        assert g.inp is None and g.mouse is not None
        assert "calibration file is broken" in g.field.status
        assert str(default_path()) in g.note, "the detail names the file"
    finally:
        pygame.quit()


def test_last_seconds_tick_and_the_round_ends_with_a_jingle(game):
    played: list[str] = []
    game.field.sounds.play = lambda name, *a, **k: played.append(name)
    post(handplay.HANDENTER, 1, (640.0, 300.0))
    game.frame(STEP)
    game.scene.time_left = 6.5
    for _ in range(round(7.0 / STEP)):
        post(handplay.HANDMOVE, 1, (640.0, 300.0))
        game.frame(STEP)
    assert played.count("tick") == scenes.COUNTDOWN_TICKS
    assert played.count("end") == 1
    assert played.index("end") > max(i for i, n in enumerate(played) if n == "tick")
