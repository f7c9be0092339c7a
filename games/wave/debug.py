"""The ``--debug`` overlay (key D): camera preview, heatmap, detections and timings in a corner.

Each hand is ringed in its player's colour on the preview (a filled dot while it is closed), and
a line gives every hand's open/closed state and openness, to check a grab as it happens.

Everything comes from handplay's public API: ``inp.latest_frame``, ``inp.latest_heatmap``,
``inp.hands``, ``inp.stats`` and ``inp.calibration``; the preview is drawn by
:func:`handplay.calibrate.preview_surface`, the same picture as on the calibration screen.
"""

from __future__ import annotations

import numpy as np
import pygame

import handplay
from handplay.calibrate import preview_surface

PREVIEW_WIDTH = 400
MARGIN = 16
BACKDROP = (16, 20, 36, 210)
TEXT = (235, 240, 255)
AREA = (0, 200, 255)


class DebugOverlay:
    """Draws the overlay; converts each camera frame once, however many game frames show it."""

    def __init__(self) -> None:
        self.font = pygame.font.Font(None, 26)
        self._frame: np.ndarray | None = None
        self._surface: pygame.Surface | None = None
        self._backdrop: pygame.Surface | None = None

    def draw(
        self,
        surface: pygame.Surface,
        inp: handplay.Input | None,
        hand_colours: dict[int, tuple[int, int, int]],
        frame_ms: tuple[float, float],
        note: str = "",
    ) -> None:
        """Draw in the bottom-right corner.

        Args:
            surface: the screen.
            inp: the running input, or None in mouse mode (then only the timings show).
            hand_colours: hand_id -> the player's colour, to mark each hand in its colour.
            frame_ms: the game's frame-time (p50, p95) in ms.
            note: an extra line (e.g. why there is no camera).
        """
        lines = [f"game frame p50 {frame_ms[0]:.1f} ms  p95 {frame_ms[1]:.1f} ms"]
        frame = inp.latest_frame if inp is not None else None
        preview = None
        if frame is not None:
            h, w = frame.shape[:2]
            size = (PREVIEW_WIDTH, int(PREVIEW_WIDTH * h / w))
            if frame is not self._frame or self._surface is None:
                mirror = inp.calibration.mirror if inp.calibration is not None else True
                # the heatmap covers only the play-area crop the detector read (latest_roi)
                self._surface = preview_surface(
                    frame, inp.latest_heatmap, size, mirror, roi=inp.latest_roi
                )
                self._frame = frame
            preview = self._surface
            stats = inp.stats
            lines.insert(
                0,
                f"input {stats.fps:.0f} fps  model {stats.inference_ms:.1f} ms  "
                f"latency {stats.latency_ms:.0f} ms  hands {len(inp.hands)}",
            )
            if inp.hands:
                lines.insert(1, "  ".join(hand_state(h) for h in inp.hands[:4]))
        if note:
            lines.append(note if len(note) <= 60 else note[:57] + "...")
        text_h = 26 * len(lines) + 10
        box_w = PREVIEW_WIDTH + 2 * 10
        box_h = text_h + (preview.get_height() + 10 if preview is not None else 0)
        sw, sh = surface.get_size()
        box = pygame.Rect(sw - box_w - MARGIN, sh - box_h - MARGIN, box_w, box_h)
        if self._backdrop is None or self._backdrop.get_size() != box.size:
            self._backdrop = pygame.Surface(box.size, pygame.SRCALPHA)
            self._backdrop.fill(BACKDROP)
        surface.blit(self._backdrop, box)
        y = box.y + 8
        if preview is not None:
            pos = (box.x + 10, y)
            surface.blit(preview, pos)
            self._draw_marks(surface, inp, pygame.Rect(pos, preview.get_size()), hand_colours)
            y += preview.get_height() + 8
        for line in lines:
            surface.blit(self.font.render(line, True, TEXT), (box.x + 10, y))
            y += 26

    @staticmethod
    def _draw_marks(
        surface: pygame.Surface,
        inp: handplay.Input,
        rect: pygame.Rect,
        hand_colours: dict[int, tuple[int, int, int]],
    ) -> None:
        """The play area and each hand, in the preview's (view) coordinates."""
        cal = inp.calibration or handplay.Calibration()
        x0, y0, x1, y1 = cal.play_area
        area = pygame.Rect(
            rect.x + x0 * rect.width,
            rect.y + y0 * rect.height,
            (x1 - x0) * rect.width,
            (y1 - y0) * rect.height,
        )
        pygame.draw.rect(surface, AREA, area, 2)
        frame = inp.latest_frame
        scale = (
            rect.width
            / frame.shape[1]
            / max(1e-6, cal.scale((frame.shape[1], frame.shape[0]), inp.screen_size or (1280, 720)))
        )
        for hand in inp.hands:
            u = x0 + hand.norm_pos[0] * (x1 - x0)  # play-area units back to view units
            v = y0 + hand.norm_pos[1] * (y1 - y0)
            centre = (rect.x + u * rect.width, rect.y + v * rect.height)
            colour = hand_colours.get(hand.hand_id, TEXT)
            pygame.draw.circle(surface, colour, centre, max(4, hand.radius * scale), 3)
            # a closed hand gets a big filled dot, so a grab shows at a glance
            pygame.draw.circle(surface, colour, centre, 3 if hand.open else 8)


def hand_state(hand: handplay.Hand) -> str:
    """``"#3 open 87%"`` / ``"#3 closed 12%"`` (no % from a format-1 model)."""
    state = "open" if hand.open else "closed"
    score = "" if hand.openness is None else f" {hand.openness:.0%}"
    return f"#{hand.hand_id} {state}{score}"
