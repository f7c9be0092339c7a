"""Eye candy: particles, expanding rings, floating points and screen shake.

Particles live in numpy arrays (one row each) so a few hundred cost well under a millisecond
to update; drawing is one small filled circle per particle.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import pygame

MAX_PARTICLES = 900
PARTICLE_GRAVITY = 380.0  # px/s²
PARTICLE_DRAG = 1.6  # 1/s


@dataclass
class Ring:
    """An expanding, fading circle outline (a hit's shock wave)."""

    pos: tuple[float, float]
    colour: tuple[int, int, int]
    start_radius: float
    end_radius: float
    life: float
    age: float = 0.0
    width: int = 6


@dataclass
class FloatingText:
    """A label that rises and fades ("+30", "x3 COMBO")."""

    text: str
    pos: tuple[float, float]
    colour: tuple[int, int, int]
    size: int
    life: float = 1.2
    age: float = 0.0


class Effects:
    """All transient effects of a scene.

    Args:
        seed: for repeatable particle sprays in tests.
    """

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        # columns: x, y, vx, vy, age, life, size, r, g, b, gravity scale
        self.p = np.zeros((0, 11), np.float32)
        self.rings: list[Ring] = []
        self.texts: list[FloatingText] = []
        self.shake = 0.0
        self._fonts: dict[int, pygame.font.Font] = {}

    def burst(
        self,
        pos: tuple[float, float],
        colour: tuple[int, int, int],
        count: int = 30,
        speed: float = 420.0,
        size: float = 7.0,
        life: float = 0.9,
        gravity: float = 1.0,
    ) -> None:
        """Spray ``count`` particles from ``pos`` in every direction."""
        n = max(0, min(count, MAX_PARTICLES - len(self.p)))
        if n == 0:
            return
        g = self.np_rng
        angle = g.uniform(0, math.tau, n)
        v = speed * g.uniform(0.25, 1.0, n)
        rows = np.empty((n, 11), np.float32)
        rows[:, 0], rows[:, 1] = pos
        rows[:, 2], rows[:, 3] = np.cos(angle) * v, np.sin(angle) * v - speed * 0.25
        rows[:, 4] = 0.0
        rows[:, 5] = life * g.uniform(0.6, 1.2, n)
        rows[:, 6] = size * g.uniform(0.5, 1.3, n)
        jitter = g.uniform(-30, 30, (n, 3))
        rows[:, 7:10] = np.clip(np.array(colour, np.float32) + jitter, 0, 255)
        rows[:, 10] = gravity
        self.p = np.concatenate([self.p, rows])

    def ring(
        self,
        pos: tuple[float, float],
        colour: tuple[int, int, int],
        radius: float,
        grow: float = 2.2,
        life: float = 0.45,
        width: int = 6,
    ) -> None:
        """An expanding ring from ``radius`` to ``radius * grow``."""
        self.rings.append(Ring(pos, colour, radius, radius * grow, life, width=width))

    def text(
        self,
        text: str,
        pos: tuple[float, float],
        colour: tuple[int, int, int],
        size: int = 64,
        life: float = 1.2,
    ) -> None:
        """A floating label."""
        self.texts.append(FloatingText(text, pos, colour, size, life))

    def kick(self, amount: float) -> None:
        """Shake the screen (px, decays quickly)."""
        self.shake = min(18.0, self.shake + amount)

    def shake_offset(self) -> tuple[int, int]:
        """This frame's screen offset."""
        if self.shake < 0.5:
            return 0, 0
        return (
            int(self.rng.uniform(-self.shake, self.shake)),
            int(self.rng.uniform(-self.shake, self.shake)),
        )

    def update(self, dt: float, wind: float = 0.0) -> None:
        """Age and move everything by ``dt`` seconds."""
        p = self.p
        if len(p):
            p[:, 4] += dt
            p = p[p[:, 4] < p[:, 5]]
            p[:, 2] += (wind * 0.4 - p[:, 2] * PARTICLE_DRAG) * dt
            p[:, 3] += (PARTICLE_GRAVITY * p[:, 10] - p[:, 3] * PARTICLE_DRAG) * dt
            p[:, 0] += p[:, 2] * dt
            p[:, 1] += p[:, 3] * dt
            self.p = p
        for ring in self.rings:
            ring.age += dt
        self.rings = [r for r in self.rings if r.age < r.life]
        for t in self.texts:
            t.age += dt
        self.texts = [t for t in self.texts if t.age < t.life]
        self.shake *= math.exp(-dt * 9.0)

    def clear(self) -> None:
        """Drop every effect."""
        self.p = self.p[:0]
        self.rings.clear()
        self.texts.clear()
        self.shake = 0.0

    def _font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def draw(self, surface: pygame.Surface, offset: tuple[int, int] = (0, 0)) -> None:
        """Draw particles, rings and texts."""
        ox, oy = offset
        circle = pygame.draw.circle
        for x, y, _vx, _vy, age, life, size, r, g, b, _gr in self.p.tolist():
            k = 1.0 - age / life
            radius = size * (0.4 + 0.6 * k)
            if radius >= 1.0:
                circle(surface, (int(r), int(g), int(b)), (x + ox, y + oy), radius)
        for ring in self.rings:
            k = ring.age / ring.life
            radius = ring.start_radius + (ring.end_radius - ring.start_radius) * (1 - (1 - k) ** 2)
            width = max(1, int(ring.width * (1 - k)))
            circle(surface, ring.colour, (ring.pos[0] + ox, ring.pos[1] + oy), radius, width)
        for t in self.texts:
            k = t.age / t.life
            img = self._font(t.size).render(t.text, True, t.colour)
            shadow = self._font(t.size).render(t.text, True, (20, 30, 60))
            alpha = 255 if k < 0.6 else int(255 * (1 - k) / 0.4)
            img.set_alpha(alpha)
            shadow.set_alpha(alpha // 2)
            x = t.pos[0] - img.get_width() / 2 + ox
            y = t.pos[1] - img.get_height() / 2 - 90 * (1 - (1 - k) ** 2) + oy
            surface.blit(shadow, (x + 3, y + 3))
            surface.blit(img, (x, y))
