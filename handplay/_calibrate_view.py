"""Drawing helpers for the calibration screen: the camera preview and two small widgets.

Kept apart from :mod:`handplay.calibrate` so that the screen's module reads as the screen's
logic. Only pygame, cv2 and numpy are needed; nothing here touches the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pygame

SCREEN_SIZE = (1280, 720)  # the calibration screen's (logical) size
PREVIEW_BOX = pygame.Rect(24, 96, 880, 560)  # the preview is fitted into this
PANEL_X = 930  # left edge of the control panel
TEST_TARGET_R = 60  # px, the corner targets of the full-screen test
CURSOR_COLOURS = [(255, 64, 129), (255, 171, 0), (0, 229, 255), (118, 255, 3), (213, 0, 249)]
HEAT_FLOOR = 0.08  # heat below this is not tinted, so the picture stays readable
PANEL = (24, 30, 48)
PANEL_LIGHT = (52, 62, 92)
ACCENT = (0, 200, 255)
TEXT = (235, 240, 255)
MUTED = (150, 160, 190)


def preview_surface(
    frame: np.ndarray,
    heatmap: np.ndarray | None,
    size: tuple[int, int],
    mirror: bool,
    roi: tuple[int, int, int, int] | None = None,
) -> pygame.Surface:
    """The camera frame as a pygame surface with the heatmap tinted over it.

    Args:
        frame: H×W×3 uint8 BGR camera frame (not mirrored).
        heatmap: the model's grid for the frame (float32 0..1, cropped to the frame as
            :meth:`handplay.Detector.heatmap` returns it), or None.
        size: ``(width, height)`` of the surface to make.
        mirror: flip left-right, as the calibration's ``mirror`` does (the view the players see).
        roi: the part of the frame the heatmap covers (``Input.latest_roi``: the play-area
            crop), camera pixels; None for the whole frame.

    Returns:
        A ``size`` surface.
    """
    w, h = size
    # everything in OpenCV (a few ms in numpy float64 would be ~10x slower at 30 fps)
    bgr = cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)  # AREA is 7x slower
    if heatmap is not None and heatmap.size:
        fh, fw = frame.shape[:2]
        x0, y0, x1, y1 = (0, 0, w, h) if roi is None else (
            round(roi[0] * w / fw), round(roi[1] * h / fh),
            max(round(roi[0] * w / fw) + 1, round(roi[2] * w / fw)),
            max(round(roi[1] * h / fh) + 1, round(roi[3] * h / fh)),
        )  # fmt: skip
        # the grid covers the roi only (the play-area crop): tint there, nothing around it
        heat = np.zeros((h, w), np.float32)
        heat[y0:y1, x0:x1] = cv2.resize(
            heatmap.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR
        )
        heat8 = cv2.convertScaleAbs(heat, alpha=255.0)  # 0..1 -> 0..255, saturating
        colour = cv2.applyColorMap(heat8, cv2.COLORMAP_JET)
        alpha = cv2.min(cv2.max(heat - HEAT_FLOOR, 0.0) * (0.65 / (1 - HEAT_FLOOR)), 0.65)
        bgr = cv2.blendLinear(bgr, colour, 1.0 - alpha, alpha)
    if mirror:
        bgr = cv2.flip(bgr, 1)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    surface = pygame.image.frombuffer(rgb.tobytes(), (w, h), "RGB")
    # in the display's pixel format, or every blit converts 24-bit RGB pixel by pixel
    return surface.convert() if pygame.display.get_surface() is not None else surface


def fit_rect(content: tuple[int, int], box: pygame.Rect) -> pygame.Rect:
    """The largest rectangle with ``content``'s aspect ratio centred in ``box``."""
    cw, ch = content
    s = min(box.width / cw, box.height / ch)
    rect = pygame.Rect(0, 0, int(cw * s), int(ch * s))
    rect.center = box.center
    return rect


@dataclass
class Button:
    """A clickable label with a keyboard shortcut shown on it."""

    rect: pygame.Rect
    label: str
    key_hint: str = ""
    active: bool = False

    def hit(self, pos: tuple[int, int]) -> bool:
        """Whether ``pos`` is on the button."""
        return self.rect.collidepoint(pos)

    def draw(self, surface: pygame.Surface, font: pygame.font.Font) -> None:
        """Draw it (highlighted when ``active``)."""
        pygame.draw.rect(
            surface, ACCENT if self.active else PANEL_LIGHT, self.rect, border_radius=10
        )
        text = font.render(self.label, True, PANEL if self.active else TEXT)
        surface.blit(text, text.get_rect(midleft=(self.rect.x + 14, self.rect.centery)))
        if self.key_hint:
            hint = font.render(self.key_hint, True, PANEL if self.active else MUTED)
            surface.blit(hint, hint.get_rect(midright=(self.rect.right - 12, self.rect.centery)))


@dataclass
class Slider:
    """A horizontal slider over ``lo..hi``, dragged with the mouse or stepped with keys."""

    rect: pygame.Rect
    lo: float
    hi: float
    value: float
    dragging: bool = False

    def value_at(self, x: float) -> float:
        """The value under screen x (clamped to the range)."""
        t = (x - self.rect.x) / max(1, self.rect.width)
        return self.lo + (self.hi - self.lo) * min(1.0, max(0.0, t))

    def handle(self, event: pygame.event.Event) -> bool:
        """Mouse handling; returns True when the value changed."""
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.rect.inflate(0, 24).collidepoint(event.pos):
                self.dragging = True
                self.value = self.value_at(event.pos[0])
                return True
        elif event.type == pygame.MOUSEMOTION and self.dragging:
            self.value = self.value_at(event.pos[0])
            return True
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self.dragging = False
        return False

    def draw(self, surface: pygame.Surface) -> None:
        """Track, filled part and knob."""
        pygame.draw.rect(surface, PANEL_LIGHT, self.rect, border_radius=6)
        t = (self.value - self.lo) / (self.hi - self.lo)
        filled = self.rect.copy()
        filled.width = int(self.rect.width * t)
        pygame.draw.rect(surface, ACCENT, filled, border_radius=6)
        pygame.draw.circle(
            surface, TEXT, (self.rect.x + filled.width, self.rect.centery), self.rect.height
        )
