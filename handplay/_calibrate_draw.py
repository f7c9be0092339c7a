"""Drawing the calibration screen: the preview with its marks, the panel, the cursors, the test.

:class:`Painter` draws a :class:`handplay.calibrate.CalibrationScreen` as it is; it owns only
the fonts and the per-frame preview cache, never the screen's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from handplay._calibrate_view import (
    ACCENT,
    CURSOR_COLOURS,
    MUTED,
    PANEL,
    PANEL_X,
    TEST_TARGET_R,
    TEXT,
    preview_surface,
)
from handplay.peaks import find_peaks
from handplay.reach import REACH_SCALES

if TYPE_CHECKING:
    from handplay.calibrate import CalibrationScreen
    from handplay.input import Hand

MAX_CROSSES = 16  # raw peaks drawn on the preview
OPEN_BAR = (96, 12)  # px: each hand's openness bar under its ring on the preview


class Painter:
    """Draws the calibration screen; converts each camera frame once."""

    def __init__(self) -> None:
        self.font = pygame.font.Font(None, 30)
        self.big = pygame.font.Font(None, 54)
        self._preview: pygame.Surface | None = None
        self._preview_key: tuple[int, bool, float] | None = None
        self._peaks: list[tuple[float, float]] = []  # view coordinates

    def draw(self, surface: pygame.Surface, screen: CalibrationScreen) -> None:
        """The whole screen (or the full-screen test, when it is on)."""
        if screen.test_mode:
            self._test(surface, screen)
            return
        surface.fill(PANEL)
        surface.blit(self.big.render("Calibration", True, TEXT), (24, 22))
        help_text = "drag on the preview to set the play area  -  T: full-screen test"
        surface.blit(self.font.render(help_text, True, MUTED), (300, 36))
        self._preview_with_marks(surface, screen)
        self._panel(surface, screen)
        if screen.message:
            surface.blit(self.font.render(screen.message[:110], True, TEXT), (24, 676))
        self._cursors(surface, screen)

    def _cursors(self, surface: pygame.Surface, screen: CalibrationScreen) -> None:
        """The live test: each hand's cursor where the mapping puts it on the screen."""
        for hand_id, trail in screen.trails.items():
            colour = CURSOR_COLOURS[hand_id % len(CURSOR_COLOURS)]
            points = list(trail)
            for i in range(1, len(points)):  # a trail that thins out behind the cursor
                width = max(1, int(8 * i / len(points)))
                pygame.draw.line(surface, colour, points[i - 1], points[i], width)
            pygame.draw.circle(surface, PANEL, points[-1], 28, 10)
            pygame.draw.circle(surface, colour, points[-1], 26, 6)
            pygame.draw.circle(surface, TEXT, points[-1], 8)

    def _test(self, surface: pygame.Surface, screen: CalibrationScreen) -> None:
        """Full-screen test: a grid and four corner targets that light up when reached."""
        surface.fill((14, 18, 32))
        w, h = screen.size
        for x in range(0, w, 80):
            pygame.draw.line(surface, (30, 38, 62), (x, 0), (x, h))
        for y in range(0, h, 80):
            pygame.draw.line(surface, (30, 38, 62), (0, y), (w, y))
        for corner in screen.corners():
            reached = corner in screen.reached
            pygame.draw.circle(
                surface, ACCENT if reached else MUTED, corner, TEST_TARGET_R, 0 if reached else 5
            )
        text = f"reach the four corners ({len(screen.reached)}/4)  -  T: back"
        label = self.big.render(text, True, TEXT)
        surface.blit(label, label.get_rect(center=(w / 2, h / 2)))
        self._cursors(surface, screen)

    def _preview_with_marks(self, surface: pygame.Surface, screen: CalibrationScreen) -> None:
        """Camera view + heatmap, raw peaks (crosses), tracked hands (rings), the play area."""
        rect = screen.preview_rect()
        inp = screen.inp
        if inp is None or inp.latest_frame is None:
            pygame.draw.rect(surface, (12, 16, 28), rect)
            text = self.font.render("no picture", True, MUTED)
            surface.blit(text, text.get_rect(center=rect.center))
            return
        # read the heatmap first: the worker replaces the frame and then the heatmap, so the
        # heatmap read here is never newer than the frame (crosses never lead the picture)
        heat = inp.latest_heatmap
        frame = inp.latest_frame
        threshold = screen.slider.value
        key = (id(frame), screen.cal.mirror, round(threshold, 3))
        if key != self._preview_key:  # convert each new frame once
            self._preview = preview_surface(
                frame, heat, rect.size, screen.cal.mirror, roi=inp.latest_roi
            )
            self._peaks = []
            if heat is not None and heat.size:
                found = find_peaks(heat, threshold, MAX_CROSSES)
                gh, gw = heat.shape
                for x, y in zip(found.x.tolist(), found.y.tolist(), strict=True):
                    self._peaks.append(screen.frame_view(((x + 0.5) / gw, (y + 0.5) / gh)))
            self._preview_key = key
        surface.blit(self._preview, rect)
        for u, v in self._peaks:
            px, py = rect.x + u * rect.width, rect.y + v * rect.height
            pygame.draw.line(surface, TEXT, (px - 10, py), (px + 10, py), 3)
            pygame.draw.line(surface, TEXT, (px, py - 10), (px, py + 10), 3)
        frame_h, frame_w = frame.shape[:2]
        # the input maps onto a 1×1 "screen" over the whole view, so a radius comes scaled by
        # the mean of 1/w and 1/h; undo that to get camera px, then scale to the preview
        per_px = 0.5 * (1.0 / frame_w + 1.0 / frame_h)
        for hand in inp.hands:
            u, v = screen.frame_view(hand.norm_pos)
            colour = CURSOR_COLOURS[hand.hand_id % len(CURSOR_COLOURS)]
            r = max(6, int(hand.radius / per_px * rect.width / frame_w))
            centre = (rect.x + u * rect.width, rect.y + v * rect.height)
            pygame.draw.circle(surface, colour, centre, r, 4)
            self._openness(surface, hand, centre, r, colour, inp.detector.open_threshold)
        x0, y0, x1, y1 = screen.cal.play_area
        if screen.drag_start is not None and screen.drag_now is not None:
            (u0, v0), (u1, v1) = screen.drag_start, screen.drag_now
            x0, x1 = sorted((u0, u1))
            y0, y1 = sorted((v0, v1))
        area = pygame.Rect(
            rect.x + x0 * rect.width,
            rect.y + y0 * rect.height,
            (x1 - x0) * rect.width,
            (y1 - y0) * rect.height,
        )
        shade = pygame.Surface(rect.size, pygame.SRCALPHA)  # dim what lies outside the area
        shade.fill((0, 0, 0, 120))
        shade.fill((0, 0, 0, 0), area.move(-rect.x, -rect.y))
        surface.blit(shade, rect)
        pygame.draw.rect(surface, ACCENT, area, 4)

    def openness_label(self, hand: Hand) -> str:
        """What the preview says of a hand: "open 87%" / "closed 12%" (just "open" for a
        format-1 model, which gives no score)."""
        state = "open" if hand.open else "closed"
        return state if hand.openness is None else f"{state} {hand.openness:.0%}"

    def _openness(
        self,
        surface: pygame.Surface,
        hand: Hand,
        centre: tuple[float, float],
        r: int,
        colour: tuple[int, int, int],
        threshold: float | None,
    ) -> None:
        """The hand's open/closed state and, with a format-2 model, its live openness as a bar
        with a tick at the model's open threshold, under the hand's ring."""
        w, h = OPEN_BAR
        x, y = int(centre[0] - w / 2), int(centre[1] + r + 8)
        label = self.font.render(self.openness_label(hand), True, TEXT if hand.open else colour)
        surface.blit(label, label.get_rect(midtop=(int(centre[0]), y + h + 4)))
        if hand.openness is None:
            return
        pygame.draw.rect(surface, PANEL, (x - 2, y - 2, w + 4, h + 4), border_radius=4)
        fill = int(w * min(1.0, max(0.0, hand.openness)))
        pygame.draw.rect(surface, colour, (x, y, fill, h), border_radius=3)
        pygame.draw.rect(surface, MUTED, (x, y, w, h), 1, border_radius=3)
        if threshold is not None:
            tx = x + int(w * threshold)
            pygame.draw.line(surface, TEXT, (tx, y - 3), (tx, y + h + 2), 2)

    def _reach(self, surface: pygame.Surface, screen: CalibrationScreen) -> None:
        """The reach label with the suggestion, and each reach's measured ms under its button."""
        label = "Reach (F)"
        if screen.cal.reach not in REACH_SCALES:
            label += f": {screen.cal.reach}"
        suggestion = screen.suggested_reach()
        if suggestion is not None:
            label += f"   suggested: {suggestion[0]}"
        surface.blit(self.font.render(label, True, MUTED), (PANEL_X, screen.reach_y - 30))
        for k, name in enumerate(REACH_SCALES):
            ms = screen.reach_ms.get(name)
            text = "..." if name not in screen.reach_ms else "n/a" if ms is None else f"{ms:.1f} ms"
            surface.blit(
                self.font.render(text, True, MUTED), (PANEL_X + k * 110 + 8, screen.reach_y + 50)
            )

    def _panel(self, surface: pygame.Surface, screen: CalibrationScreen) -> None:
        """Source list, buttons, threshold slider, figures."""
        surface.blit(self.font.render("Source", True, MUTED), (PANEL_X, 84))
        for name, button in screen.buttons.items():
            button.active = (
                (name.startswith("cam") and screen.source == int(name[3:]))
                or (name == "video" and screen.video is not None and screen.source == screen.video)
                or (name == "mirror" and screen.cal.mirror)
                or (name == f"reach_{screen.cal.reach}")
            )
            button.draw(surface, self.font)
        if not screen.cameras and screen.video is None:
            surface.blit(self.font.render("no camera found (P: probe)", True, TEXT), (PANEL_X, 120))
        label = f"Threshold {screen.slider.value:.2f}   (left / right)"
        surface.blit(self.font.render(label, True, MUTED), (PANEL_X, screen.slider.rect.y - 34))
        screen.slider.draw(surface)
        self._reach(surface, screen)
        if screen.inp is not None:
            stats = screen.inp.stats
            line = f"{stats.fps:.0f} fps   model {stats.inference_ms:.0f} ms"
            surface.blit(self.font.render(line, True, MUTED), (PANEL_X, screen.info_y + 30))
        x0, y0, x1, y1 = screen.cal.play_area
        area = f"area {x0:.2f},{y0:.2f} - {x1:.2f},{y1:.2f}"
        surface.blit(self.font.render(area, True, MUTED), (PANEL_X, screen.info_y))
