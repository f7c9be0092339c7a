"""Everything drawn: the meadow, clouds, beach balls, star targets, hand markers and big text.

All art is drawn in code. Static layers (sky, hills, grass) are rendered once into surfaces;
per-frame drawing is a handful of blits and small polygons, so a frame costs a few ms at
1280×720. Sizes are chosen for a projected wall seen from 4 m: text is at least 48 px tall.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
import pygame

from games.wave.hands import HandState
from games.wave.world import GROUND_HEIGHT, Ball, Target

SKY_TOP = (46, 110, 210)
SKY_HORIZON = (176, 226, 255)
HILL_FAR = (112, 186, 120)
HILL_NEAR = (70, 160, 80)
GRASS = (58, 150, 60)
GRASS_DARK = (38, 118, 44)
INK = (22, 34, 70)  # text shadows and outlines
WHITE = (255, 255, 255)
GOLD = (255, 210, 60)
BALL_COLOURS = [
    (239, 68, 68),
    (59, 130, 246),
    (250, 204, 21),
    (34, 197, 94),
    (168, 85, 247),
    (249, 115, 22),
]
BALL_SLICES = 6
CLOUD_COUNT = 7


def clear_caches() -> None:
    """Forget cached fonts and images; call after ``pygame.init()`` (fonts die with
    ``pygame.quit()``, and using one after that crashes)."""
    font.cache_clear()
    _rendered.cache_clear()
    _glow.cache_clear()
    _hand_disc.cache_clear()


@lru_cache(maxsize=64)
def font(size: int) -> pygame.font.Font:
    """pygame's default font (bundled with pygame, so it exists everywhere) at ``size`` px."""
    return pygame.font.Font(None, size)


@lru_cache(maxsize=256)
def _rendered(text: str, size: int, colour: tuple[int, int, int], outline: int) -> pygame.Surface:
    """Text with a soft dark outline, rendered once per (text, size, colour)."""
    f = font(size)
    face = f.render(text, True, colour)
    if outline <= 0:
        return face
    edge = f.render(text, True, INK)
    out = pygame.Surface(
        (face.get_width() + 2 * outline, face.get_height() + 2 * outline + 3), pygame.SRCALPHA
    )
    for dx in range(-outline, outline + 1, max(1, outline // 2)):
        for dy in range(-outline, outline + 1, max(1, outline // 2)):
            out.blit(edge, (outline + dx, outline + dy + 3))
    out.blit(face, (outline, outline))
    return _fast(out)


def draw_text(
    surface: pygame.Surface,
    text: str,
    size: int,
    colour: tuple[int, int, int],
    center: tuple[float, float],
    outline: int = 4,
    alpha: int = 255,
) -> pygame.Rect:
    """Draw outlined text centred at ``center``; returns the rectangle drawn."""
    img = _rendered(text, size, colour, outline)
    rect = img.get_rect(center=(int(center[0]), int(center[1])))
    if alpha < 255:
        img = img.copy()
        img.set_alpha(alpha)
    surface.blit(img, rect)
    return rect


def _fast(surface: pygame.Surface) -> pygame.Surface:
    """The display's pixel format (blits several times faster) once a window exists."""
    return surface.convert_alpha() if pygame.display.get_surface() is not None else surface


def glow(radius: int, colour: tuple[int, int, int], strength: float = 1.0) -> pygame.Surface:
    """A soft radial glow with per-pixel alpha; ``strength`` is rounded to eighths so that
    fading glows come from a small cache instead of being recomputed every frame."""
    return _glow(radius, colour, round(max(0.0, min(1.0, strength)) * 8) / 8)


@lru_cache(maxsize=256)
def _glow(radius: int, colour: tuple[int, int, int], strength: float) -> pygame.Surface:
    size = radius * 2
    y, x = np.mgrid[0:size, 0:size]
    d = np.hypot(x - radius + 0.5, y - radius + 0.5) / radius
    a = np.clip(1.0 - d, 0, 1) ** 2 * 255 * strength
    surf = pygame.Surface((size, size), pygame.SRCALPHA)
    surf.fill((*colour, 0))
    pygame.surfarray.pixels_alpha(surf)[:] = a.T.astype(np.uint8)
    return _fast(surf)


def _hill(width: int, base: float, amp: float, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    phases = [rng.uniform(0, math.tau) for _ in range(3)]
    pts = [(0.0, 2000.0)]
    for x in range(0, width + 20, 20):
        y = base - amp * (
            0.6 * math.sin(x / 260 + phases[0])
            + 0.3 * math.sin(x / 110 + phases[1])
            + 0.1 * math.sin(x / 47 + phases[2])
        )
        pts.append((float(x), y))
    pts.append((float(width + 20), 2000.0))
    return pts


def make_background(size: tuple[int, int], seed: int = 3) -> pygame.Surface:
    """Sky gradient, two rows of hills and the grass, rendered once."""
    w, h = size
    t = np.linspace(0.0, 1.0, h)[:, None] ** 1.3
    sky = (np.array(SKY_TOP) * (1 - t) + np.array(SKY_HORIZON) * t).astype(np.uint8)
    column = np.repeat(sky[None, :, :], w, axis=0)  # (w, h, 3) as surfarray wants
    bg = pygame.surfarray.make_surface(column)
    floor = h - GROUND_HEIGHT
    pygame.draw.polygon(bg, HILL_FAR, _hill(w, floor - 110, 60, seed))
    pygame.draw.polygon(bg, HILL_NEAR, _hill(w, floor - 40, 35, seed + 1))
    pygame.draw.rect(bg, GRASS, (0, floor, w, GROUND_HEIGHT))
    pygame.draw.line(bg, GRASS_DARK, (0, floor), (w, floor), 4)
    rng = random.Random(seed)
    for _ in range(260):  # grass tufts on the ground strip
        x = rng.uniform(0, w)
        y = rng.uniform(floor + 8, h)
        pygame.draw.line(
            bg, GRASS_DARK, (x, y), (x + rng.uniform(-4, 4), y - rng.uniform(6, 14)), 2
        )
    return bg.convert() if pygame.display.get_surface() else bg


def _cloud(seed: int) -> pygame.Surface:
    """A fluffy cloud: overlapping puffs on a flat base, drawn at 2x and smoothed down."""
    rng = random.Random(seed)
    w, h = rng.randint(200, 320), rng.randint(80, 110)
    big = pygame.Surface((2 * w, 2 * h), pygame.SRCALPHA)
    base = int(h * 0.72)  # the flat bottom, in 1x units
    puffs = rng.randint(4, 6)
    for i in range(puffs):
        cx = w * (0.18 + 0.64 * i / (puffs - 1)) + rng.uniform(-10, 10)
        middle = 1.0 - abs(i / (puffs - 1) - 0.5) * 1.2  # taller puffs in the middle
        r = h * (0.22 + 0.22 * middle) + rng.uniform(-4, 4)
        pygame.draw.circle(big, (255, 255, 255, 255), (2 * cx, 2 * (base - r * 0.45)), 2 * r)
    pygame.draw.rect(
        big,
        (255, 255, 255, 255),
        (2 * w * 0.12, 2 * (base - h * 0.25), 2 * w * 0.76, 2 * h * 0.25),
        border_radius=int(h * 0.25),
    )
    pygame.draw.rect(big, (0, 0, 0, 0), (0, 2 * base, 2 * w, 2 * (h - base)))  # flat bottom
    cloud = pygame.transform.smoothscale(big, (w, h))
    cloud.fill((255, 255, 255, 225), special_flags=pygame.BLEND_RGBA_MULT)
    return _fast(cloud)


class Clouds:
    """Clouds that drift with the wind (the wind made visible)."""

    def __init__(self, size: tuple[int, int], seed: int = 5) -> None:
        self.size = size
        rng = random.Random(seed)
        self.sprites = [_cloud(seed + i) for i in range(CLOUD_COUNT)]
        self.x = [rng.uniform(0, size[0]) for _ in self.sprites]
        self.y = [rng.uniform(20, size[1] * 0.45) for _ in self.sprites]
        self.speed = [rng.uniform(0.5, 1.0) for _ in self.sprites]

    def update(self, dt: float, wind: float) -> None:
        """Move with the wind (px/s² used as px/s: clouds are far away and slow)."""
        w = self.size[0]
        for i, sprite in enumerate(self.sprites):
            self.x[i] += (8.0 + wind * 0.35) * self.speed[i] * dt
            span = w + sprite.get_width()
            self.x[i] = (self.x[i] + sprite.get_width()) % span - sprite.get_width()

    def draw(self, surface: pygame.Surface) -> None:
        """Blit every cloud."""
        for sprite, x, y in zip(self.sprites, self.x, self.y, strict=True):
            surface.blit(sprite, (x, y))


class WindStreaks:
    """Thin streaks that fly with the wind, so players can see which way it will push."""

    COUNT = 22

    def __init__(self, size: tuple[int, int], seed: int = 9) -> None:
        self.size = size
        self.rng = random.Random(seed)
        w, h = size
        floor = h - GROUND_HEIGHT
        self.streaks = [
            [self.rng.uniform(0, w), self.rng.uniform(40, floor - 20), self.rng.uniform(0.6, 1.4)]
            for _ in range(self.COUNT)
        ]
        self.wind = 0.0

    def update(self, dt: float, wind: float) -> None:
        """Move each streak at a speed that follows the wind (px/s² read as px/s, ×2.5)."""
        self.wind = wind
        w = self.size[0]
        for streak in self.streaks:
            streak[0] += wind * 2.5 * streak[2] * dt
            if streak[0] > w + 120:
                streak[0] -= w + 240
            elif streak[0] < -120:
                streak[0] += w + 240

    def draw(self, surface: pygame.Surface) -> None:
        """Streak length and brightness grow with the wind; calm air shows none."""
        strength = min(1.0, abs(self.wind) / 200.0)
        if strength < 0.15:
            return
        colour = (225, 240, 255) if strength > 0.5 else (200, 225, 250)
        direction = 1 if self.wind > 0 else -1
        for x, y, k in self.streaks:
            length = 70 * strength * k
            pygame.draw.line(surface, colour, (x, y), (x - direction * length, y), 2)


def draw_ball(
    surface: pygame.Surface,
    ball: Ball,
    hand_colours: dict[int, tuple[int, int, int]],
    now: float,
    floor_y: float,
) -> None:
    """A spinning beach ball with a shadow, lit in the colour of the last player to hit it."""
    x, y = ball.body.position
    r = ball.radius
    # the shadow on the grass shrinks as the ball rises
    height = max(0.0, floor_y - (y + r))
    k = max(0.25, 1.0 - height / 600.0)
    shadow = pygame.Rect(0, 0, 2 * r * k, 14 * k)
    shadow.center = (int(x), int(floor_y + 10))
    pygame.draw.ellipse(surface, GRASS_DARK, shadow)
    since_hit = now - ball.last_hit_time
    if ball.last_hand is not None and since_hit < 1.5:
        colour = hand_colours.get(ball.last_hand, WHITE)
        g = glow(int(r * 1.9), colour, 1.0 - since_hit / 1.5)
        surface.blit(g, g.get_rect(center=(int(x), int(y))))
    colour = BALL_COLOURS[ball.hue % len(BALL_COLOURS)]
    second = BALL_COLOURS[(ball.hue // len(BALL_COLOURS) + 1 + ball.hue) % len(BALL_COLOURS)]
    pygame.draw.circle(surface, WHITE, (x, y), r)
    for i in range(BALL_SLICES):  # coloured slices alternate with white ones
        if i % 2:
            continue
        a0 = ball.spin + i * math.tau / BALL_SLICES
        pts = [(x, y)] + [
            (
                x + r * math.cos(a0 + j * math.tau / BALL_SLICES / 6),
                y + r * math.sin(a0 + j * math.tau / BALL_SLICES / 6),
            )
            for j in range(7)
        ]
        pygame.draw.polygon(surface, colour if i % 4 == 0 else second, pts)
    pygame.draw.circle(surface, WHITE, (x, y), r * 0.22)
    pygame.draw.circle(surface, INK, (x, y), r, 3)
    pygame.draw.circle(surface, (255, 255, 255), (x - r * 0.38, y - r * 0.42), r * 0.16)


def draw_target(surface: pygame.Surface, target: Target, now: float) -> None:
    """A pulsing golden star in a ring: the place to bat the balls into."""
    x, y = target.body.position
    r = target.shape.radius
    appear = min(1.0, (now - target.born) / 0.4)  # pop in
    pulse = 1.0 + 0.06 * math.sin(now * 5.0 + target.phase)
    rr = r * pulse * (0.3 + 0.7 * appear)
    g = glow(int(r * 2.0), GOLD, 0.8)
    surface.blit(g, g.get_rect(center=(int(x), int(y))))
    spin = now * 0.8 + target.phase
    pts = []
    for i in range(10):
        radius = rr * (0.62 if i % 2 == 0 else 0.28)
        a = spin + i * math.pi / 5
        pts.append((x + radius * math.cos(a), y + radius * math.sin(a)))
    pygame.draw.polygon(surface, GOLD, pts)
    pygame.draw.polygon(surface, (200, 130, 0), pts, 3)
    pygame.draw.circle(surface, WHITE, (x, y), rr, 6)
    pygame.draw.circle(surface, GOLD, (x, y), rr - 6, 3)


def draw_hand(
    surface: pygame.Surface,
    hand: HandState,
    body_pos: tuple[float, float],
    radius: float,
    now: float,
    holding: bool = False,
) -> None:
    """A player's marker: a motion trail, a translucent disc sized by the hand, a bold ring,
    and an open palm or, while the hand is closed, a fist.

    Args:
        surface: where to draw.
        hand: the hand's state (colour, trail).
        body_pos: where its physics body is (drawn there, so what you see is what hits).
        radius: the physics radius (the hand's radius, within the game's limits).
        now: the world time, for animation.
        holding: the hand holds a ball: no fill, so the ball shows clearly inside the ring.
    """
    colour = hand.colour
    trail = list(hand.trail)
    for i in range(1, len(trail)):  # a tapering streak behind a moving hand
        k = i / len(trail)
        width = max(2, int(radius * 0.5 * k))
        pygame.draw.line(surface, colour, trail[i - 1], trail[i], width)
        pygame.draw.circle(surface, colour, trail[i], width / 2)
    x, y = body_pos
    r = radius
    if not holding:
        g = glow(int(r * 1.8), colour, 0.7)
        surface.blit(g, g.get_rect(center=(int(x), int(y))))
        disc = _hand_disc(int(r), colour)
        surface.blit(disc, disc.get_rect(center=(int(x), int(y))))
    pygame.draw.circle(surface, WHITE, (x, y), r, 8)
    pygame.draw.circle(surface, colour, (x, y), r - 2, 5)
    # a small open-palm icon reads as "your hand" from across a room; a fist says "holding"
    if hand.open:
        draw_palm(surface, (x, y + r * 0.08), r * 0.42, WHITE)
    else:
        draw_fist(surface, (x, y), r * 0.42, WHITE)


@lru_cache(maxsize=128)
def _hand_disc(r: int, colour: tuple[int, int, int]) -> pygame.Surface:
    """The translucent fill of a hand marker (cached per radius and colour)."""
    disc = pygame.Surface((2 * r + 4, 2 * r + 4), pygame.SRCALPHA)
    pygame.draw.circle(disc, (*colour, 110), (r + 2, r + 2), r)
    return _fast(disc)


def draw_palm(
    surface: pygame.Surface, center: tuple[float, float], size: float, colour: tuple[int, int, int]
) -> None:
    """A simple open palm (four fingers and a thumb), ``size`` ≈ palm radius."""
    cx, cy = center
    width = max(3, int(size * 0.36))
    tip_r = width / 2
    for fx, length in ((-0.55, 1.05), (-0.18, 1.3), (0.18, 1.25), (0.55, 1.0)):
        base = (cx + fx * size, cy - size * 0.2)
        tip = (cx + fx * size * 1.25, cy - size * (0.2 + length))
        pygame.draw.line(surface, colour, base, tip, width)
        pygame.draw.circle(surface, colour, tip, tip_r)
    pygame.draw.line(
        surface,
        colour,
        (cx + size * 0.6, cy + size * 0.3),
        (cx + size * 1.25, cy - size * 0.25),
        width,
    )
    pygame.draw.circle(surface, colour, (cx + size * 1.25, cy - size * 0.25), tip_r)
    pygame.draw.ellipse(
        surface, colour, (cx - size * 0.78, cy - size * 0.55, size * 1.56, size * 1.35)
    )


def draw_fist(
    surface: pygame.Surface, center: tuple[float, float], size: float, colour: tuple[int, int, int]
) -> None:
    """A closed hand: four knuckles over a rounded palm and a thumb across, ``size`` ≈ radius."""
    cx, cy = center
    outline = max(2, int(size * 0.12))
    palm = pygame.Rect(0, 0, size * 1.7, size * 1.35)
    palm.center = (int(cx), int(cy + size * 0.2))
    pygame.draw.rect(
        surface, INK, palm.inflate(2 * outline, 2 * outline), border_radius=int(size * 0.5)
    )
    pygame.draw.rect(surface, colour, palm, border_radius=int(size * 0.45))
    knuckle_r = size * 0.3
    for i in range(4):  # the curled fingers as a row of knuckles along the top
        kx = cx - size * 0.64 + i * size * 0.43
        pygame.draw.circle(surface, colour, (kx, cy - size * 0.42), knuckle_r)
        pygame.draw.circle(surface, INK, (kx, cy - size * 0.42), knuckle_r, outline)
    thumb = pygame.Rect(0, 0, size * 1.2, size * 0.42)
    thumb.center = (int(cx - size * 0.05), int(cy + size * 0.18))
    pygame.draw.rect(surface, colour, thumb, border_radius=int(size * 0.21))
    pygame.draw.rect(surface, INK, thumb, outline, border_radius=int(size * 0.21))


def draw_waving_hand(
    surface: pygame.Surface,
    center: tuple[float, float],
    size: float,
    now: float,
    colour: tuple[int, int, int] = WHITE,
) -> None:
    """A big cartoon hand waving side to side, for the attract screen."""
    angle = 0.35 * math.sin(now * 6.0)
    cx, cy = center

    def rot(px: float, py: float) -> tuple[float, float]:
        # rotate around the wrist, below the palm
        wy = size * 0.9
        dx, dy = px, py - wy
        c, s = math.cos(angle), math.sin(angle)
        return cx + dx * c - dy * s, cy + wy + dx * s + dy * c

    palm = [
        rot(size * 0.55 * math.cos(a), size * 0.6 * math.sin(a) + size * 0.1)
        for a in np.linspace(0, math.tau, 24)
    ]
    fingers = [(-0.5, -0.55, 0.55), (-0.22, -0.75, 0.75), (0.08, -0.8, 0.8), (0.36, -0.68, 0.68)]
    for fx, fy, length in fingers:
        base = rot(fx * size, 0.0)
        tip = rot(fx * size * 1.15, fy * size * 1.0 - length * size * 0.2)
        pygame.draw.line(surface, INK, base, tip, int(size * 0.26) + 8)
        pygame.draw.circle(surface, INK, tip, size * 0.13 + 4)
    thumb_base, thumb_tip = rot(0.45 * size, 0.15 * size), rot(0.95 * size, -0.2 * size)
    pygame.draw.line(surface, INK, thumb_base, thumb_tip, int(size * 0.26) + 8)
    pygame.draw.circle(surface, INK, thumb_tip, size * 0.13 + 4)
    pygame.draw.polygon(surface, INK, palm, 8)
    for fx, fy, length in fingers:
        base = rot(fx * size, 0.0)
        tip = rot(fx * size * 1.15, fy * size * 1.0 - length * size * 0.2)
        pygame.draw.line(surface, colour, base, tip, int(size * 0.26))
        pygame.draw.circle(surface, colour, tip, size * 0.13)
    pygame.draw.line(surface, colour, thumb_base, thumb_tip, int(size * 0.26))
    pygame.draw.circle(surface, colour, thumb_tip, size * 0.13)
    pygame.draw.polygon(surface, colour, palm)
