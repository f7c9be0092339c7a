"""The game's screens: the attract screen ("wave to play") and the round being played.

Both scenes share one :class:`Playfield` (the physics world, the hands, effects, sounds and the
scenery), so balls keep flying when the screen changes. A scene has three hooks, called by the
app once per fixed 1/60 s step: :meth:`Scene.enter`, :meth:`Scene.update` (returns the name of
the next scene, or None to stay) and :meth:`Scene.draw`.

The rules: balls drift down through the wind; bat them into the golden stars, or close a hand
on a ball to catch it and open it to throw. Each star is
worth 10 points times the combo, and the combo grows with every star until a ball touches the
grass (it pops). A round lasts ``ROUND_SECONDS``; when everybody walks away for
``ABSENT_SECONDS`` the attract screen comes back.
"""

from __future__ import annotations

import math

import pygame

from games.wave import art
from games.wave.effects import Effects
from games.wave.hands import Hands
from games.wave.sounds import Sounds
from games.wave.world import STEP, Ball, World, WorldEvent

ROUND_SECONDS = 60.0
OVER_SECONDS = 6.0  # the "time!" screen before the next round (or the attract screen)
ABSENT_SECONDS = 3.0  # nobody in view this long -> back to the attract screen
TARGETS = 3
STAR_POINTS = 10
BALLS_BASE = 2  # balls in play with one player; one more per extra hand, up to BALLS_MAX
BALLS_MAX = 6
SPAWN_INTERVAL = 0.9  # s between new balls
TARGET_RESPAWN = 0.7  # s before a caught star is replaced
ATTRACT_BALLS = 3
COUNTDOWN_TICKS = 5  # a tick sound for each of the last seconds


class Playfield:
    """What every scene shares: world, hands, effects, sounds and scenery.

    Args:
        size: the arena size in px.
        sounds: the sound player (silent in tests).
        seed: seed for the world and effects.
    """

    def __init__(self, size: tuple[int, int], sounds: Sounds, seed: int = 0) -> None:
        art.clear_caches()
        self.size = size
        self.world = World(size, seed=seed)
        self.hands = Hands(size)
        self.effects = Effects(seed)
        self.sounds = sounds
        self.background = art.make_background(size)
        self.clouds = art.Clouds(size)
        self.streaks = art.WindStreaks(size)
        self.best = 0
        self.status = ""  # a line for the attract screen, e.g. "no camera: mouse mode"

    def sync_hands(self) -> None:
        """Give the physics the newest hand positions, grabs and releases (in event order);
        remove bodies of hands that left (after their release, so the ball is thrown)."""
        for state in self.hands.states.values():
            if state.fresh or state.hand_id not in self.world.hands:
                self.world.set_hand(state.hand_id, state.pos, state.radius, state.interval)
                state.fresh = False
        for action in self.hands.take_actions():
            if action.kind == "grab":
                self.world.grab(action.hand_id)
            else:
                self.world.release(action.hand_id, action.velocity)
        for hand_id in list(self.world.hands):
            if hand_id not in self.hands.states:
                self.world.remove_hand(hand_id)

    def step(self, dt: float) -> list[WorldEvent]:
        """One fixed step of physics and scenery; returns the world's events."""
        self.world.events.clear()
        self.sync_hands()  # its catches and throws are this step's events too
        self.world.step(dt)
        self.effects.update(dt, self.world.wind)
        self.clouds.update(dt, self.world.wind)
        self.streaks.update(dt, self.world.wind)
        return list(self.world.events)

    def hand_colours(self) -> dict[int, tuple[int, int, int]]:
        """hand_id -> colour for every hand in view."""
        return {s.hand_id: s.colour for s in self.hands.states.values()}

    def hit_effects(self, event: WorldEvent) -> None:
        """Sound and sparks for a hand hitting a ball."""
        colour = self.hand_colours().get(event.hand_id, art.WHITE)
        self.effects.burst(
            event.pos,
            colour,
            count=int(8 + 22 * event.strength),
            speed=200 + 500 * event.strength,
            size=6,
        )
        self.effects.ring(event.ball.body.position, colour, event.ball.radius, grow=1.8)
        self.sounds.play(
            "hit",
            0.4 + 0.6 * event.strength,
            variant=(event.hand_id or 0) + int(event.strength * 3),
        )

    def catch_effects(self, event: WorldEvent) -> None:
        """A ring and a soft note for a catch; sparks and a hit note for a throw."""
        colour = self.hand_colours().get(event.hand_id, art.WHITE)
        ball = event.ball
        if event.kind == "grab":
            self.effects.ring(ball.body.position, colour, ball.radius, grow=1.4, life=0.3)
            self.sounds.play("bounce", 0.6, variant=event.hand_id or 0)
        else:
            self.effects.burst(event.pos, colour, count=int(6 + 16 * event.strength), speed=300)
            self.sounds.play("hit", 0.3 + 0.6 * event.strength, variant=event.hand_id or 0)

    def draw_world(self, surface: pygame.Surface) -> tuple[int, int]:
        """Scenery, targets, balls, hands and effects; returns the shake offset used."""
        offset = self.effects.shake_offset()
        surface.blit(self.background, offset)
        self.clouds.draw(surface)
        self.streaks.draw(surface)
        now = self.world.time
        for target in self.world.targets:
            art.draw_target(surface, target, now)
        colours = self.hand_colours()
        for ball in self.world.balls:
            art.draw_ball(surface, ball, colours, now, self.world.floor_y)
        for state in self.hands.states.values():
            hand = self.world.hands.get(state.hand_id)
            if hand is not None:
                pos, radius = tuple(hand.body.position), hand.shape.radius
            else:  # not stepped yet (entered this frame)
                pos, radius = state.pos, state.radius
            holding = self.world.held_ball(state.hand_id) is not None
            art.draw_hand(surface, state, pos, radius, now, holding)
        self.effects.draw(surface)
        return offset


class Scene:
    """One screen of the game."""

    name = "scene"

    def __init__(self, field: Playfield) -> None:
        self.field = field

    def enter(self) -> None:
        """Called when the scene becomes active."""

    def update(self, dt: float) -> str | None:
        """Advance by ``dt`` s. Returns the next scene's name, or None to stay."""
        return None

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the whole screen."""


class AttractScene(Scene):
    """The "wave to play" screen: balls juggle themselves until a hand appears."""

    name = "attract"

    def enter(self) -> None:
        """Clear the round and float a few balls."""
        world = self.field.world
        world.clear()
        self.field.effects.clear()
        for _ in range(ATTRACT_BALLS):
            world.add_ball()
        self.t = 0.0

    def update(self, dt: float) -> str | None:
        """Balls hop off the grass; any hand starts the game."""
        self.t += dt
        for event in self.field.step(dt):
            if event.kind == "floor":  # a springy meadow keeps the idle screen moving
                ball = event.ball
                ball.body.velocity = (
                    ball.body.velocity.x + self.field.world.rng.uniform(-250, 250),
                    -self.field.world.rng.uniform(650, 900),
                )
                self.field.effects.burst(event.pos, art.GRASS, count=10, speed=220, size=5)
            elif event.kind == "hit":
                self.field.hit_effects(event)
            elif event.kind in ("grab", "throw"):
                self.field.catch_effects(event)
        if len(self.field.hands):
            return "play"
        return None

    def draw(self, surface: pygame.Surface) -> None:
        """Title, waving hand, instructions."""
        self.field.draw_world(surface)
        w, h = self.field.size
        bob = 10 * math.sin(self.t * 2.2)
        for i, letter in enumerate("WAVE!"):  # letters bounce one after another
            x = w / 2 + (i - 2) * 118
            y = h * 0.25 + bob + 18 * math.sin(self.t * 4.0 - i * 0.7)
            colour = art.BALL_COLOURS[i % len(art.BALL_COLOURS)]
            art.draw_text(surface, letter, 190, colour, (x, y), outline=7)
        art.draw_waving_hand(surface, (w / 2, h * 0.55), 70, self.t)
        pulse = int(200 + 55 * math.sin(self.t * 3.0))
        art.draw_text(
            surface, "wave your hand to play", 72, (255, 255, pulse), (w / 2, h * 0.78), outline=5
        )
        self._draw_catch_hint(surface, (w / 2, h * 0.875))
        if self.field.best:
            art.draw_text(surface, f"best score  {self.field.best}", 44, art.GOLD, (w / 2, 40))
        if self.field.status:
            art.draw_text(surface, self.field.status, 38, art.WHITE, (w / 2, h - 30), outline=3)
        else:  # for whoever sets the game up; players never need the keyboard
            keys = "Esc quit  -  F fullscreen  -  C calibrate  -  D debug"
            art.draw_text(surface, keys, 26, (225, 240, 225), (w / 2, h - 22), outline=2)

    def _draw_catch_hint(self, surface: pygame.Surface, center: tuple[float, float]) -> None:
        """How to catch and throw: a fist, the words, an open palm, on a dark pill."""
        hint = getattr(self, "_hint", None)
        if hint is None:  # drawn once: the font and the pill would cost every frame
            text = "bat the balls  -  or close your hand on one to catch it, open it to throw"
            icon = 22
            label = art.font(34).size(text)
            hint = pygame.Surface((label[0] + 6 * icon, 2 * icon + 16), pygame.SRCALPHA)
            rect = hint.get_rect()
            pygame.draw.rect(hint, (20, 30, 70, 150), rect, border_radius=icon + 8)
            art.draw_text(hint, text, 34, art.WHITE, rect.center, outline=3)
            y = rect.centery
            art.draw_fist(hint, (1.6 * icon, y), icon * 0.8, art.WHITE)
            art.draw_palm(hint, (rect.width - 1.6 * icon, y + icon * 0.2), icon * 0.75, art.WHITE)
            self._hint = hint
        surface.blit(hint, hint.get_rect(center=(int(center[0]), int(center[1]))))


class PlayScene(Scene):
    """A timed round: bat balls into the stars."""

    name = "play"

    def enter(self) -> None:
        """Start a new round."""
        world = self.field.world
        world.clear()
        self.field.effects.clear()
        for _ in range(TARGETS):
            world.add_target()
        self.time_left = ROUND_SECONDS
        self.score = 0
        self.combo = 1
        self.stars = 0
        self.stars_by_colour: dict[tuple[int, int, int], int] = {}  # who caught them
        self.over = 0.0  # > 0 while the "time!" screen shows
        self.absent = 0.0
        self.spawn_wait = 0.0
        self.pending_targets: list[float] = []
        self.banner = ("GO!", 1.2)
        self.field.sounds.play("start")

    def wanted_balls(self) -> int:
        """How many balls should be in play for the number of hands."""
        return min(BALLS_MAX, BALLS_BASE + max(0, len(self.field.hands) - 1))

    def update(self, dt: float) -> str | None:
        """Physics, rules, the timer and leaving."""
        field = self.field
        world = field.world
        for event in field.step(dt):
            if event.kind == "hit":
                field.hit_effects(event)
            elif event.kind == "score" and not self.over:
                self._score(event)
            elif event.kind == "floor" and event.ball in world.balls:
                self._pop(event.ball)
            elif event.kind == "bounce":
                field.sounds.play("bounce", event.strength * 0.6, variant=event.ball.hue)
            elif event.kind in ("grab", "throw"):
                field.catch_effects(event)
        self.pending_targets = [t - dt for t in self.pending_targets]
        while self.pending_targets and self.pending_targets[0] <= 0 and not self.over:
            self.pending_targets.pop(0)
            world.add_target()
        self.spawn_wait -= dt
        if len(world.balls) < self.wanted_balls() and self.spawn_wait <= 0 and not self.over:
            world.add_ball(velocity=(world.rng.uniform(-120, 120), 60.0))
            self.spawn_wait = SPAWN_INTERVAL
        self.banner = (self.banner[0], self.banner[1] - dt)

        self.absent = 0.0 if len(field.hands) else self.absent + dt
        if self.absent >= ABSENT_SECONDS:
            return "attract"
        if self.over:
            self.over -= dt
            if self.over <= 0:
                if len(field.hands):
                    self.enter()
                else:
                    return "attract"
            return None
        before = math.ceil(self.time_left)
        self.time_left -= dt
        if math.ceil(self.time_left) < before <= COUNTDOWN_TICKS:  # the last seconds tick
            field.sounds.play("tick", 0.8)
        if self.time_left <= 0:
            self.time_left = 0.0
            self.over = OVER_SECONDS
            field.best = max(field.best, self.score)
            field.sounds.play("end")
            for _ in range(6):
                field.effects.burst(
                    (world.rng.uniform(200, 1080), world.rng.uniform(150, 400)),
                    art.BALL_COLOURS[world.rng.randrange(6)],
                    count=40,
                    speed=500,
                )
        return None

    def _score(self, event: WorldEvent) -> None:
        field = self.field
        points = STAR_POINTS * self.combo
        self.score += points
        self.stars += 1
        colour = field.hand_colours().get(event.hand_id, art.GOLD)
        self.stars_by_colour[colour] = self.stars_by_colour.get(colour, 0) + 1
        field.effects.burst(event.pos, art.GOLD, count=60, speed=650, size=9, gravity=0.6)
        field.effects.burst(event.pos, colour, count=30, speed=450, size=7)
        field.effects.ring(event.pos, art.GOLD, 60, grow=3.0, life=0.6, width=10)
        field.effects.text(f"+{points}", event.pos, colour, size=96)
        if self.combo > 1:
            field.effects.text(
                f"combo x{self.combo}",
                (event.pos[0], event.pos[1] + 70),
                art.WHITE,
                size=56,
                life=1.0,
            )
        field.effects.kick(10)
        field.sounds.play("score")
        self.combo += 1
        if event.target is not None:
            field.world.remove_target(event.target)
            self.pending_targets.append(TARGET_RESPAWN)

    def _pop(self, ball: Ball) -> None:
        field = self.field
        pos = ball.body.position
        colour = art.BALL_COLOURS[ball.hue % len(art.BALL_COLOURS)]
        field.effects.burst((pos.x, pos.y), colour, count=45, speed=520, size=8)
        field.effects.burst((pos.x, pos.y), art.WHITE, count=15, speed=350, size=5)
        field.effects.kick(4)
        field.sounds.play("pop")
        if self.combo > 1:
            field.effects.text("combo lost", (pos.x, pos.y - 40), art.WHITE, size=48, life=0.9)
        self.combo = 1
        field.world.remove_ball(ball)

    def draw(self, surface: pygame.Surface) -> None:
        """World plus the HUD (score, timer, combo) and banners."""
        self.field.draw_world(surface)
        w, h = self.field.size
        art.draw_text(surface, f"{self.score}", 110, art.WHITE, (w / 2, 62), outline=6)
        secs = math.ceil(self.time_left)
        timer_colour = (255, 90, 90) if secs <= 10 else art.WHITE
        self._draw_timer(surface, (w - 90, 80), secs, timer_colour)
        if self.combo > 1 and not self.over:
            art.draw_text(surface, f"x{self.combo}", 84, art.GOLD, (100, 70), outline=5)
        if self.banner[1] > 0:
            k = min(1.0, self.banner[1] / 0.4)
            art.draw_text(
                surface,
                self.banner[0],
                220,
                art.GOLD,
                (w / 2, h * 0.42),
                outline=8,
                alpha=int(255 * k),
            )
        if self.over:
            self._draw_round_over(surface)
        elif self.absent > 0.3:
            art.draw_text(
                surface,
                "come back!",
                96,
                art.WHITE,
                (w / 2, h * 0.45),
                outline=6,
                alpha=int(255 * min(1.0, self.absent)),
            )

    def _draw_round_over(self, surface: pygame.Surface) -> None:
        """The "time!" panel: score, stars per player colour, best score, next round."""
        w, h = self.field.size
        panel = pygame.Surface((780, 450), pygame.SRCALPHA)
        pygame.draw.rect(panel, (20, 30, 70, 190), panel.get_rect(), border_radius=36)
        surface.blit(panel, panel.get_rect(center=(w / 2, h * 0.5)))
        art.draw_text(surface, "TIME!", 150, art.GOLD, (w / 2, h * 0.29), outline=7)
        line = f"{self.score} points  -  {self.stars} stars"
        art.draw_text(surface, line, 72, art.WHITE, (w / 2, h * 0.44))
        counts = sorted(self.stars_by_colour.items(), key=lambda item: -item[1])[:6]
        x = w / 2 - 65 * (len(counts) - 1)
        for colour, count in counts:  # one star badge per player colour
            pygame.draw.circle(surface, colour, (x - 24, h * 0.555), 20)
            pygame.draw.circle(surface, art.WHITE, (x - 24, h * 0.555), 20, 3)
            art.draw_text(surface, str(count), 52, colour, (x + 18, h * 0.555), outline=3)
            x += 130
        art.draw_text(surface, f"best {self.field.best}", 56, art.GOLD, (w / 2, h * 0.655))
        art.draw_text(
            surface,
            f"next round in {math.ceil(self.over)}",
            40,
            art.WHITE,
            (w / 2, h * 0.74),
            outline=3,
        )

    def _draw_timer(
        self,
        surface: pygame.Surface,
        center: tuple[float, float],
        secs: int,
        colour: tuple[int, int, int],
    ) -> None:
        """The seconds left inside a ring that empties as the round runs out."""
        radius = 62
        rect = pygame.Rect(0, 0, 2 * radius, 2 * radius)
        rect.center = (int(center[0]), int(center[1]))
        pygame.draw.circle(surface, (20, 30, 70), rect.center, radius)
        frac = max(0.0, self.time_left / ROUND_SECONDS)
        if frac > 0:  # the remaining time as a thick ring segment (clockwise from the top)
            steps = max(2, int(64 * frac))
            angles = [-math.pi / 2 + math.tau * frac * i / steps for i in range(steps + 1)]
            cx, cy = center
            outer = [(cx + radius * math.cos(a), cy + radius * math.sin(a)) for a in angles]
            inner = [
                (cx + (radius - 10) * math.cos(a), cy + (radius - 10) * math.sin(a))
                for a in reversed(angles)
            ]
            pygame.draw.polygon(surface, colour, outer + inner)
        art.draw_text(surface, f"{secs}", 80, colour, center, outline=0)


SCENES: dict[str, type[Scene]] = {"attract": AttractScene, "play": PlayScene}
__all__ = ["STEP", "Playfield", "Scene", "AttractScene", "PlayScene", "SCENES"]
