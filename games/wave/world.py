"""The physics world: a walled meadow with beach balls in the wind, star targets and hand bodies.

Coordinates are arena pixels (1280×720, origin top-left, y down), the same as pymunk's here:
gravity points to +y. Everything is stepped at a fixed 1/60 s, split into ``SUBSTEPS`` so that a
hand swept at 3000 px/s moves only 12.5 px per sub-step, far less than any ball's radius.

Tunnelling is prevented three ways, because a kinematic hand has infinite mass and can squeeze
a ball against a wall with any force:

1. sub-steps (the solver sees every contact before shapes pass through each other);
2. ball speeds are clamped to ``MAX_BALL_SPEED`` after every sub-step, and the walls are
   ``WALL_THICKNESS`` px thick slabs, so a ball can never cross one in a sub-step;
3. a last guard puts any ball whose centre left the arena back inside, moving inwards.

Catch and throw: a closing hand (:meth:`World.grab`) catches the nearest ball it touches. The
held ball follows the hand: each sub-step its velocity is the hand body's plus a pull to the
hand's centre that closes the gap in ``HOLD_TAU`` seconds. :meth:`World.release` throws it with
the hand's velocity. A held ball shares its hand's collision group, so the two never push each
other, and keeps it after the throw until it is clear of the hand. A held ball neither scores
nor pops on the grass: only a thrown one counts.

Collisions are reported as :class:`WorldEvent` values in :attr:`World.events`, which the scene
reads after each frame (sounds, particles, points); pymunk callbacks only record, they never
change the space, because the space is locked while it steps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import NamedTuple

import pymunk

ARENA_SIZE = (1280, 720)
GROUND_HEIGHT = 64  # px of grass at the bottom; the floor's top edge
STEP = 1.0 / 60.0
SUBSTEPS = 4
GRAVITY = 240.0  # px/s², light: balls float down slowly enough to be batted from 4 m away
AIR_DAMPING = 0.55  # fraction of velocity kept per second (pymunk's Space.damping)
MAX_BALL_SPEED = 2000.0  # px/s; 8.3 px per sub-step, well under the smallest radius
MAX_HAND_SPEED = 4500.0  # px/s; a hand catching up after a jump moves at most this fast
WALL_THICKNESS = 400.0
BALL_RADIUS = (40.0, 52.0)
# the physics shape follows the hand radius within these; the floor keeps a hand seen from 4 m
# (about 15 camera px) big enough to hit balls
HAND_RADIUS_LIMITS = (40.0, 110.0)
TARGET_RADIUS = 62.0
TARGET_TOP = 215.0  # stars stay below the score and timer
WIND_MAX = 230.0  # px/s² of sideways push in the strongest gust
GRAB_SLACK = 24.0  # px beyond touching that a closing hand still catches a ball
HOLD_TAU = 0.05  # s; a held ball closes the gap to its hand's centre this fast

# collision types
BALL, HAND, TARGET, FLOOR, WALL = 1, 2, 3, 4, 5


class WorldEvent(NamedTuple):
    """Something that happened during a step, for sounds, particles and points.

    Attributes:
        kind: ``"hit"`` (hand hit a ball), ``"bounce"`` (ball hit a wall or ball),
            ``"score"`` (ball touched a target), ``"floor"`` (ball touched the grass),
            ``"grab"`` (a hand caught a ball), ``"throw"`` (it let go).
        pos: where, in arena px.
        strength: 0..1, how hard (relative impact speed).
        ball: the ball involved.
        hand_id: the hand that hit, caught or threw the ball, or last touched it (``"score"``),
            or None.
        target: the target touched (``"score"``), else None.
    """

    kind: str
    pos: tuple[float, float]
    strength: float
    ball: Ball
    hand_id: int | None = None
    target: Target | None = None


@dataclass(eq=False)
class Ball:
    """A ball: a dynamic pymunk circle plus what the game needs to know about it."""

    body: pymunk.Body
    shape: pymunk.Circle
    hue: int  # picks the ball's colours from the palette
    last_hand: int | None = None  # who touched it last (points go to that player's colour)
    last_hit_time: float = -10.0
    spin: float = 0.0
    held_by: int | None = None  # the hand holding it
    ghost_of: int | None = None  # the hand it does not collide with (held, or just thrown)

    @property
    def radius(self) -> float:
        """Radius in px."""
        return self.shape.radius


@dataclass(eq=False)
class Target:
    """A floating star: a sensor circle that drifts on a slow Lissajous path."""

    body: pymunk.Body
    shape: pymunk.Circle
    home: tuple[float, float]
    phase: float
    born: float
    hit: bool = False


@dataclass(eq=False)
class HandBody:
    """A kinematic circle that follows one tracked hand."""

    hand_id: int
    body: pymunk.Body
    shape: pymunk.Circle
    goal: tuple[float, float]
    catch_up: float = STEP  # seconds to reach the goal (the event interval, smoothed)
    group: int = 0  # pymunk collision group: the hand and the ball it holds do not collide


@dataclass(eq=False)
class World:
    """The pymunk space with walls, balls, targets and hands.

    Args:
        size: arena size in px.
        seed: seed for spawn positions and the wind, so tests are repeatable.
    """

    size: tuple[int, int] = ARENA_SIZE
    seed: int = 0
    space: pymunk.Space = field(init=False)
    balls: list[Ball] = field(init=False, default_factory=list)
    targets: list[Target] = field(init=False, default_factory=list)
    hands: dict[int, HandBody] = field(init=False, default_factory=dict)
    events: list[WorldEvent] = field(init=False, default_factory=list)
    time: float = field(init=False, default=0.0)
    wind: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.space = pymunk.Space()
        self.space.gravity = (0.0, GRAVITY)
        self.space.damping = AIR_DAMPING
        self._add_walls()
        self.space.on_collision(BALL, HAND, begin=self._on_hand_hit)
        self.space.on_collision(BALL, TARGET, begin=self._on_target)
        self.space.on_collision(BALL, FLOOR, begin=self._on_floor)
        self.space.on_collision(BALL, WALL, begin=self._on_bounce)
        self.space.on_collision(BALL, BALL, begin=self._on_bounce)
        self._wind_phases = [self.rng.uniform(0, math.tau) for _ in range(3)]
        self._next_group = 1

    # ---- building -------------------------------------------------------------------------

    @property
    def floor_y(self) -> float:
        """The y of the grass line (balls rest above it)."""
        return self.size[1] - GROUND_HEIGHT

    def _add_walls(self) -> None:
        w, h = self.size
        t = WALL_THICKNESS
        floor = self.floor_y
        slabs = [  # (x0, y0, x1, y1, collision type): thick boxes just outside the arena
            (-t, -t, 0.0, h + t, WALL),
            (w, -t, w + t, h + t, WALL),
            (-t, -t, w + t, 0.0, WALL),
            (-t, floor, w + t, floor + t, FLOOR),
        ]
        for x0, y0, x1, y1, kind in slabs:
            shape = pymunk.Poly(self.space.static_body, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            shape.elasticity = 0.7 if kind == WALL else 0.5
            shape.friction = 0.6
            shape.collision_type = kind
            self.space.add(shape)

    def add_ball(
        self,
        pos: tuple[float, float] | None = None,
        velocity: tuple[float, float] = (0.0, 0.0),
        radius: float | None = None,
    ) -> Ball:
        """Drop a ball at ``pos`` (default: a random spot above the top third)."""
        r = radius if radius is not None else self.rng.uniform(*BALL_RADIUS)
        if pos is None:
            pos = (self.rng.uniform(r + 80, self.size[0] - r - 80), r + 6)
        body = pymunk.Body(mass=1.0, moment=pymunk.moment_for_circle(1.0, 0, r))
        body.position = pos
        body.velocity = velocity
        shape = pymunk.Circle(body, r)
        shape.elasticity = 0.85
        shape.friction = 0.4
        shape.collision_type = BALL
        self.space.add(body, shape)
        ball = Ball(body, shape, hue=self.rng.randrange(1 << 16))
        shape.ball = ball  # back-reference for collision callbacks
        self.balls.append(ball)
        return ball

    def remove_ball(self, ball: Ball) -> None:
        """Take a ball out of the world (after it popped)."""
        if ball in self.balls:
            self.balls.remove(ball)
            self.space.remove(ball.body, ball.shape)

    def add_target(self) -> Target:
        """A new star somewhere in the upper half, away from the other targets."""
        w, h = self.size
        best, best_gap = None, -1.0
        for _ in range(30):  # the candidate farthest from the other stars (they drift ±90 px)
            home = (self.rng.uniform(180, w - 180), self.rng.uniform(TARGET_TOP, h * 0.52))
            gap = min((math.dist(home, t.home) for t in self.targets), default=1e9)
            if gap > best_gap:
                best, best_gap = home, gap
            if gap > 2 * TARGET_RADIUS + 220:
                break
        home = best
        body = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        body.position = home
        shape = pymunk.Circle(body, TARGET_RADIUS)
        shape.sensor = True
        shape.collision_type = TARGET
        self.space.add(body, shape)
        target = Target(body, shape, home, self.rng.uniform(0, math.tau), self.time)
        shape.target = target
        self.targets.append(target)
        return target

    def remove_target(self, target: Target) -> None:
        """Take a target out of the world."""
        if target in self.targets:
            self.targets.remove(target)
            self.space.remove(target.body, target.shape)

    def clear(self) -> None:
        """Remove every ball and target (hands stay)."""
        for ball in list(self.balls):
            self.remove_ball(ball)
        for target in list(self.targets):
            self.remove_target(target)

    # ---- hands ----------------------------------------------------------------------------

    def set_hand(
        self, hand_id: int, goal: tuple[float, float], radius: float, catch_up: float = STEP
    ) -> HandBody:
        """Create or update the kinematic body of a hand.

        Args:
            hand_id: the tracker's id.
            goal: where the hand is now (arena px); the body moves there over ``catch_up`` s.
            radius: hand radius in px (clamped to ``HAND_RADIUS_LIMITS`` for physics).
            catch_up: how long to take to reach ``goal``: the interval between hand updates, so
                a 30 Hz camera still gives a 60 Hz game smooth, continuous hand velocities.
        """
        r = min(max(radius, HAND_RADIUS_LIMITS[0]), HAND_RADIUS_LIMITS[1])
        goal = self._clamp_to_arena(goal, 0.0)
        hand = self.hands.get(hand_id)
        if hand is None:
            body = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
            body.position = goal
            shape = pymunk.Circle(body, r)
            shape.elasticity = 0.75
            shape.friction = 0.8
            shape.collision_type = HAND
            shape.hand_id = hand_id
            group, self._next_group = self._next_group, self._next_group + 1
            shape.filter = pymunk.ShapeFilter(group=group)
            self.space.add(body, shape)
            hand = HandBody(hand_id, body, shape, goal, group=group)
            self.hands[hand_id] = hand
        hand.shape.unsafe_set_radius(r)
        hand.goal = goal
        hand.catch_up = max(STEP, catch_up)
        return hand

    def remove_hand(self, hand_id: int) -> None:
        """Remove a hand's body (no-op when it is not there); a ball it held flies on."""
        self.release(hand_id)
        hand = self.hands.pop(hand_id, None)
        if hand is not None:
            self.space.remove(hand.body, hand.shape)
        for ball in self.balls:
            if ball.ghost_of == hand_id:
                self._unghost(ball)

    def held_ball(self, hand_id: int) -> Ball | None:
        """The ball the hand holds, or None."""
        return next((b for b in self.balls if b.held_by == hand_id), None)

    def grab(self, hand_id: int) -> Ball | None:
        """The hand closed: catch the nearest free ball it touches (within ``GRAB_SLACK``).

        Returns:
            The caught ball, or None (nothing in reach, or the hand already holds one).
        """
        hand = self.hands.get(hand_id)
        if hand is None or self.held_ball(hand_id) is not None:
            return None
        centre = hand.body.position
        best, best_gap = None, GRAB_SLACK
        for ball in self.balls:
            if ball.held_by is not None:
                continue
            gap = (ball.body.position - centre).length - ball.radius - hand.shape.radius
            if gap <= best_gap:
                best, best_gap = ball, gap
        if best is None:
            return None
        best.held_by = best.ghost_of = hand_id
        best.shape.filter = pymunk.ShapeFilter(group=hand.group)
        best.last_hand, best.last_hit_time = hand_id, self.time
        pos = best.body.position
        self.events.append(WorldEvent("grab", (pos.x, pos.y), 0.5, best, hand_id=hand_id))
        return best

    def release(self, hand_id: int, velocity: tuple[float, float] | None = None) -> Ball | None:
        """The hand opened: throw its ball with ``velocity`` (px/s; None: the hand body's).

        Returns:
            The thrown ball, or None when the hand held none.
        """
        ball = self.held_ball(hand_id)
        if ball is None:
            return None
        hand = self.hands.get(hand_id)
        if velocity is None:
            velocity = tuple(hand.body.velocity) if hand is not None else tuple(ball.body.velocity)
        vx, vy = velocity
        speed = math.hypot(vx, vy)
        if speed > MAX_BALL_SPEED:
            vx, vy = vx * MAX_BALL_SPEED / speed, vy * MAX_BALL_SPEED / speed
        ball.body.velocity = (vx, vy)
        ball.held_by = None
        ball.last_hand, ball.last_hit_time = hand_id, self.time
        pos = ball.body.position
        strength = min(1.0, math.hypot(vx, vy) / 1800.0)
        self.events.append(WorldEvent("throw", (pos.x, pos.y), strength, ball, hand_id=hand_id))
        return ball

    def _unghost(self, ball: Ball) -> None:
        ball.ghost_of = None
        ball.shape.filter = pymunk.ShapeFilter()

    def _drive_held(self) -> None:
        """Held balls follow their hands; thrown ones collide again once clear of the hand."""
        for ball in self.balls:
            if ball.ghost_of is None:
                continue
            hand = self.hands.get(ball.ghost_of)
            if hand is None:
                ball.held_by = None
                self._unghost(ball)
                continue
            offset = hand.body.position - ball.body.position
            if ball.held_by is None:
                if offset.length > ball.radius + hand.shape.radius:
                    self._unghost(ball)
                continue
            # 2 px above the grass: a held ball never touches it, so once thrown it pops there
            goal = self._clamp_to_arena(tuple(hand.body.position), ball.radius + 2.0)
            vx = hand.body.velocity.x + (goal[0] - ball.body.position.x) / HOLD_TAU
            vy = hand.body.velocity.y + (goal[1] - ball.body.position.y) / HOLD_TAU
            ball.body.velocity = (vx, vy)
            ball.body.angular_velocity *= 0.9  # a held ball stops spinning

    def _drive_hands(self, dt: float) -> None:
        """Set each hand's velocity so it reaches its goal in ``catch_up`` seconds.

        The velocity is what a hit transfers: a fast swipe carries the ball away, a slow
        push just nudges it. Speeds are clamped so a tracking jump cannot fling balls.
        """
        for hand in self.hands.values():
            dx = hand.goal[0] - hand.body.position.x
            dy = hand.goal[1] - hand.body.position.y
            t = max(hand.catch_up, dt)
            vx, vy = dx / t, dy / t
            speed = math.hypot(vx, vy)
            if speed > MAX_HAND_SPEED:
                vx, vy = vx * MAX_HAND_SPEED / speed, vy * MAX_HAND_SPEED / speed
            hand.body.velocity = (vx, vy)
            hand.catch_up = max(STEP, hand.catch_up - dt)

    # ---- stepping -------------------------------------------------------------------------

    def wind_at(self, t: float) -> float:
        """Sideways wind acceleration (px/s², + is right): slow swells plus gusts."""
        p = self._wind_phases
        swell = math.sin(t * 0.21 + p[0]) * 0.6 + math.sin(t * 0.53 + p[1]) * 0.3
        gust = max(0.0, math.sin(t * 1.3 + p[2])) ** 4 * math.copysign(0.5, swell)
        return WIND_MAX * max(-1.0, min(1.0, swell + gust))

    def step(self, dt: float = STEP) -> None:
        """Advance the world by ``dt`` seconds in ``SUBSTEPS`` sub-steps.

        New events are appended to :attr:`events` (the caller clears it).
        """
        self.wind = self.wind_at(self.time)
        for target in self.targets:  # drift on a slow figure-eight around home
            t = self.time * 0.35 + target.phase
            goal = (target.home[0] + 90 * math.sin(t), target.home[1] + 35 * math.sin(2 * t))
            target.body.velocity = (
                (goal[0] - target.body.position.x) / dt,
                (goal[1] - target.body.position.y) / dt,
            )
        h = dt / SUBSTEPS
        for _ in range(SUBSTEPS):
            self._drive_hands(h)
            self._drive_held()
            for ball in self.balls:  # balls catch the wind more than they fall
                if ball.held_by is None:
                    ball.body.apply_force_at_local_point((self.wind * ball.body.mass, 0.0))
            self.space.step(h)
            self._limit_balls()
        for ball in self.balls:
            ball.spin = ball.body.angle
        self.time += dt

    def _limit_balls(self) -> None:
        w, h = self.size
        for ball in self.balls:
            body = ball.body
            vx, vy = body.velocity
            speed = math.hypot(vx, vy)
            if speed > MAX_BALL_SPEED:
                body.velocity = (vx * MAX_BALL_SPEED / speed, vy * MAX_BALL_SPEED / speed)
            r = ball.radius
            x, y = body.position
            cx, cy = self._clamp_to_arena((x, y), r)
            if (cx, cy) != (x, y):  # the last guard: back inside, moving inwards
                body.position = (cx, cy)
                vx, vy = body.velocity
                if cx != x:
                    vx = abs(vx) * (1 if cx > x else -1) * 0.5
                if cy != y:
                    vy = abs(vy) * (1 if cy > y else -1) * 0.5
                body.velocity = (vx, vy)

    def _clamp_to_arena(self, p: tuple[float, float], r: float) -> tuple[float, float]:
        x = min(max(p[0], r), self.size[0] - r)
        y = min(max(p[1], r), self.floor_y - r)
        return x, y

    def contains(self, ball: Ball) -> bool:
        """Whether the ball is entirely inside the arena (walls, ceiling and grass)."""
        x, y = ball.body.position
        r = ball.radius - 1.0  # the solver may leave a sliver of overlap
        return r <= x <= self.size[0] - r and r <= y <= self.floor_y - r

    # ---- collision callbacks (record only) ------------------------------------------------

    def _on_hand_hit(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data: object) -> None:
        ball_shape, hand_shape = arbiter.shapes
        ball = ball_shape.ball
        rel = (ball.body.velocity - hand_shape.body.velocity).length
        ball.last_hand = hand_shape.hand_id
        ball.last_hit_time = self.time
        point = (
            arbiter.contact_point_set.points[0].point_a
            if arbiter.contact_point_set.points
            else ball.body.position
        )
        self.events.append(
            WorldEvent(
                "hit", (point.x, point.y), min(1.0, rel / 1800.0), ball, hand_id=hand_shape.hand_id
            )
        )

    def _on_target(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data: object) -> None:
        ball_shape, target_shape = arbiter.shapes
        target = target_shape.target
        ball = ball_shape.ball
        if target.hit or ball.held_by is not None:  # carrying a ball into a star is no throw
            return
        target.hit = True
        pos = target.body.position
        self.events.append(
            WorldEvent("score", (pos.x, pos.y), 1.0, ball, hand_id=ball.last_hand, target=target)
        )

    def _on_floor(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data: object) -> None:
        ball = arbiter.shapes[0].ball
        if ball.held_by is not None:  # a hand holds it up
            return
        pos = ball.body.position
        speed = abs(ball.body.velocity.y)
        self.events.append(
            WorldEvent(
                "floor",
                (pos.x, pos.y + ball.radius),
                min(1.0, speed / 900.0),
                ball,
                hand_id=ball.last_hand,
            )
        )

    def _on_bounce(self, arbiter: pymunk.Arbiter, space: pymunk.Space, data: object) -> None:
        a, b = arbiter.shapes
        rel = a.body.velocity - b.body.velocity
        strength = min(1.0, abs(rel.dot(arbiter.normal)) / 1200.0)
        if strength > 0.1:
            pos = a.body.position
            self.events.append(WorldEvent("bounce", (pos.x, pos.y), strength, a.ball))
