"""Wave!'s catch and throw (issue 13): close a hand on a ball to hold it, open it to throw.

Hands are scripted as handplay events with explicit capture timestamps (one camera frame per
game frame), on the fast loop; ``test_game_realtime.py`` drives the same through the real loop
and the real Input thread.
"""

from __future__ import annotations

import math

import pygame
import pytest

import handplay
from games.wave.app import Options, WaveGame
from games.wave.hands import MOUSE_HAND_ID, HandState, hand_event
from games.wave.world import ARENA_SIZE, STEP, World


class Script:
    """Posts one hand's events with capture timestamps one game step apart."""

    def __init__(self, game: WaveGame, hand_id: int = 1, radius: float = 60.0) -> None:
        self.game, self.hand_id, self.radius = game, hand_id, radius
        self.t = 100.0
        self.pos = (0.0, 0.0)
        self.open = True

    def post(self, kind: int, pos: tuple[float, float] | None = None) -> None:
        if pos is not None:
            self.pos = pos
        event = hand_event(
            kind, self.hand_id, self.pos, ARENA_SIZE, self.radius, open=self.open, timestamp=self.t
        )
        pygame.event.post(event)

    def frame(self, pos: tuple[float, float] | None = None, kind: int = handplay.HANDMOVE) -> None:
        """One camera frame (a move) and one game frame."""
        self.t += STEP
        self.post(kind, pos)
        self.game.frame(STEP)

    def close(self) -> None:
        self.open = False
        self.post(handplay.HANDGRAB)

    def open_hand(self) -> None:
        self.open = True
        self.post(handplay.HANDRELEASE)


@pytest.fixture
def game():
    pygame.init()
    g = WaveGame(Options(mouse=True, fast=True, mute=True))
    g.mouse = None  # only scripted hands
    yield g
    g.stop_input()
    pygame.quit()


def _start(game: WaveGame, at: tuple[float, float]):
    """A hand enters (the round starts), the world is emptied, one ball floats under it."""
    hand = Script(game)
    hand.frame(at, handplay.HANDENTER)
    assert game.scene.name == "play"
    game.scene.spawn_wait = 1e9  # only this test's ball
    world = game.field.world
    world.clear()
    ball = world.add_ball(at, radius=45.0)
    for _ in range(3):
        hand.frame(at)
    return hand, world, ball


def _kinds_seen(game: WaveGame) -> list[str]:
    """Record the kinds of world events the scene gets from each step from now on."""
    seen: list[str] = []
    original = game.field.step

    def step(dt: float):
        events = original(dt)
        seen.extend(e.kind for e in events)
        return events

    game.field.step = step
    return seen


def test_close_on_a_ball_holds_it_and_opening_throws_it(game):
    hand, world, ball = _start(game, (400.0, 400.0))
    seen = _kinds_seen(game)
    hand.close()
    hand.frame()
    assert ball.held_by == 1
    assert seen.count("grab") == 1  # the scene gets it (a ring and a sound)
    speed = 900.0  # px/s, up and to the right
    direction = (math.cos(-0.6), math.sin(-0.6))
    x, y = hand.pos
    for _ in range(20):
        x, y = x + direction[0] * speed * STEP, y + direction[1] * speed * STEP
        hand.frame((x, y))
    # the ball came along (within the smoothing's lag of the hand)
    assert math.dist(ball.body.position, (x, y)) < 45.0
    hand.open_hand()
    hand.frame((x + direction[0] * speed * STEP, y + direction[1] * speed * STEP))
    assert ball.held_by is None
    v = ball.body.velocity
    assert v.length == pytest.approx(speed, rel=0.15)
    assert math.atan2(v.y, v.x) == pytest.approx(-0.6, abs=0.15)
    assert seen.count("throw") == 1
    assert ball.last_hand == 1  # a star it reaches now scores for hand 1
    assert ball.ghost_of == 1  # and its own hand does not knock it on the way out


def test_a_hand_closed_away_from_every_ball_catches_nothing(game):
    hand, world, ball = _start(game, (400.0, 400.0))
    ball.body.position = (900.0, 200.0)
    hand.close()
    hand.frame()
    assert ball.held_by is None and world.held_ball(1) is None


def test_a_held_ball_neither_pops_nor_scores_and_its_hand_does_not_push_it(game):
    hand, world, ball = _start(game, (600.0, 400.0))
    hand.close()
    hand.frame()
    floor = world.floor_y
    for _ in range(60):  # hold it down on the grass: a thrown ball would pop there
        hand.frame((600.0, floor - 10.0))
    assert ball in world.balls and ball.held_by == 1
    assert ball.body.position.y <= floor - ball.radius
    assert math.dist(ball.body.position, world.hands[1].body.position) < 60.0
    assert game.scene.score == 0


def test_open_hands_still_bat_and_a_held_ball_can_be_batted_by_another_hand(game):
    hand, world, ball = _start(game, (300.0, 400.0))
    free = world.add_ball((900.0, 400.0), radius=45.0)
    other = Script(game, hand_id=2)
    other.frame((900.0, 600.0), handplay.HANDENTER)
    for i in range(1, 16):  # an open hand sweeps up through the free ball
        other.frame((900.0, 600.0 - 25.0 * i))
    assert free.last_hand == 2 and free.body.velocity.y < -300


def test_a_hand_that_leaves_holding_a_ball_lets_it_fly(game):
    hand, world, ball = _start(game, (400.0, 400.0))
    hand.close()
    hand.frame()
    for i in range(10):
        hand.frame((400.0 + 10 * i, 400.0))
    hand.post(handplay.HANDLEAVE)  # (handplay posts a release first; this game copes without)
    game.frame(STEP)
    assert ball.held_by is None and 1 not in world.hands
    for _ in range(10):
        game.frame(STEP)
    assert ball.ghost_of is None  # it collides with everything again


def test_release_then_leave_in_one_frame_throws(game):
    hand, world, ball = _start(game, (400.0, 400.0))
    hand.close()
    hand.frame()
    x = 400.0
    for _ in range(10):
        x += 600.0 * STEP
        hand.frame((x, 400.0))
    hand.open_hand()
    hand.post(handplay.HANDLEAVE)
    game.frame(STEP)
    assert ball.held_by is None
    assert ball.body.velocity.x == pytest.approx(600.0, rel=0.2)


def test_the_mouse_button_grabs_and_releases(game):
    from games.wave.hands import MouseHand

    game.mouse = MouseHand(ARENA_SIZE)
    world = game.field.world

    def mouse(kind, pos, **kw):
        game.handle_event(pygame.event.Event(kind, pos=pos, **kw))
        game.frame(STEP)

    mouse(pygame.MOUSEMOTION, (500, 400), rel=(1, 0), buttons=(0, 0, 0))
    game.frame(STEP)
    assert game.scene.name == "play"
    game.scene.spawn_wait = 1e9
    world.clear()
    ball = world.add_ball((500.0, 400.0), radius=45.0)
    mouse(pygame.MOUSEBUTTONDOWN, (500, 400), button=1)
    game.frame(STEP)
    assert ball.held_by == MOUSE_HAND_ID
    assert not game.field.hands.states[MOUSE_HAND_ID].open
    mouse(pygame.MOUSEBUTTONUP, (500, 400), button=1)
    game.frame(STEP)
    assert ball.held_by is None and game.field.hands.states[MOUSE_HAND_ID].open


def test_hand_velocity_is_measured_over_the_throw_window():
    state = HandState(1, (0, 0, 0), (0.0, 0.0), 40.0)
    for i in range(10):  # 30 fps camera, 300 px/s to the right
        state.samples.append((i / 30, (10.0 * i, 0.0)))
    assert state.velocity() == pytest.approx((300.0, 0.0))
    assert HandState(2, (0, 0, 0), (0.0, 0.0), 40.0).velocity() == (0.0, 0.0)


def test_a_throw_has_the_swings_speed_not_the_slowing_as_the_hand_opens():
    state = HandState(1, (0, 0, 0), (0.0, 0.0), 40.0)
    x = 0.0
    for i in range(12):  # 900 px/s for 0.4 s, then 3 frames slowing to a stop (the release lag)
        x += 30.0 if i < 9 else 10.0 * (11 - i)
        state.samples.append((i / 30, (x, 0.0)))
    assert state.velocity()[0] < 500  # the last 0.1 s alone: the slowing hand
    assert state.throw_velocity()[0] == pytest.approx(900.0, rel=0.1)
    for i in range(12, 30):  # then it rests for 0.6 s: opening now just lets go
        state.samples.append((i / 30, (x, 0.0)))
    assert state.throw_velocity() == pytest.approx((0.0, 0.0))


def test_world_throw_is_clamped_and_ghost_ends_when_clear():
    world = World(seed=1)
    world.set_hand(1, (300.0, 300.0), 60.0)
    ball = world.add_ball((320.0, 300.0), radius=45.0)
    assert world.grab(1) is ball and world.grab(1) is None  # one ball per hand
    world.step()
    thrown = world.release(1, (9000.0, 0.0))
    assert thrown is ball and ball.body.velocity.length <= 2000.0 + 1e-6
    assert ball.ghost_of == 1
    for _ in range(30):
        world.step()
    assert ball.ghost_of is None


def test_debug_overlay_says_how_open_each_hand_is():
    from games.wave.debug import hand_state

    hand = handplay.Hand(3, (0.0, 0.0), (0.0, 0.0), 40.0, 0.9, (0.0, 0.0), 1.0, False, 0.12)
    assert hand_state(hand) == "#3 closed 12%"
    assert hand_state(hand._replace(open=True, openness=None)) == "#3 open"  # format 1
