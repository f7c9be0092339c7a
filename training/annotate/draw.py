"""Drawing for the annotation tool: frame, markers, timeline, target view, help, status.

:class:`Painter` reads an ``Annotator``'s state and draws its window; it never changes labels.

Colours say who placed a marker: open hands green, "other" hands orange; a thick ring is a
human keyframe, a thin ring was carried by optical flow, a dotted ring was interpolated; a red
ring with "!" is flagged (flow stopped there); yellow dashed rings with "?" are proposals (from
the model, or markers flow held back when another one was lost). Tags name the track id, the
class and, unless a human placed it, who did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import pygame

from training.labels import HandLabel

BG = (24, 26, 30)
PANEL = (36, 39, 46)
TEXT = (225, 228, 235)
DIM = (140, 146, 160)
OPEN = (70, 220, 110)
OTHER = (255, 160, 40)
FLAG = (255, 60, 60)
PROPOSAL = (255, 230, 60)
SELECT = (255, 255, 255)
KEY_TICK = (70, 220, 110)
FLOW_TICK = (90, 150, 255)
EMPTY_TICK = (140, 146, 160)
TARGET_WIDTH = 320  # training input width the target view simulates
TARGET_STRIDE = 4  # model output stride the target view simulates

HELP = [
    ("click / drag", "add or pick / move"),
    ("wheel", "resize marker"),
    ("right click", "delete / dismiss"),
    ("C", "class open / other"),
    ("Del, X", "delete selected"),
    ("Tab", "select next marker"),
    ("Right / Left", "step (Right = flow)"),
    ("Shift+Right", "step without flow"),
    ("Ctrl+Left", "step back with flow"),
    ("PgDn / PgUp", "one second"),
    ("Home / End", "first / last frame"),
    ("Space", "play / pause"),
    ("] / [", "next / prev flag"),
    ("I", "interpolate keyframes"),
    ("F", "optical flow on / off"),
    ("N", "frame has no hands"),
    ("M / A", "model proposals / accept"),
    ("Ctrl+Z / Ctrl+Y", "undo / redo"),
    ("T / O", "target view / others mode"),
    ("H", "help on / off"),
    ("Esc, Q", "quit (all saved)"),
]


def frame_surface(frame_bgr: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """A BGR frame scaled to ``size`` as a pygame surface."""
    rgb = cv2.cvtColor(cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    return pygame.image.frombuffer(rgb.tobytes(), size, "RGB")


def _dashed_circle(
    surf: pygame.Surface, colour, centre, radius: float, width: int, dashes: int
) -> None:
    for k in range(dashes):
        a0 = 2 * math.pi * k / dashes
        a1 = a0 + math.pi / dashes
        pts = [
            (centre[0] + radius * math.cos(a), centre[1] + radius * math.sin(a))
            for a in np.linspace(a0, a1, 5)
        ]
        pygame.draw.lines(surf, colour, False, pts, width)


def draw_marker(
    surf: pygame.Surface,
    hand: HandLabel,
    to_screen,
    scale: float,
    selected: bool,
) -> None:
    """Draw one marker's ring and cross; ``to_screen`` maps frame pixels to window pixels."""
    cx, cy = to_screen(hand.x, hand.y)
    r = max(3.0, hand.r * scale)
    colour = FLAG if hand.flag else (OPEN if hand.cls == "open" else OTHER)
    if selected:
        pygame.draw.circle(surf, SELECT, (cx, cy), r + 4, 2)
    if hand.label_source == "interp":
        _dashed_circle(surf, colour, (cx, cy), r, 2, 24)
    else:
        width = 3 if hand.label_source == "human" else 2
        pygame.draw.circle(surf, colour, (cx, cy), r, width)
    pygame.draw.line(surf, colour, (cx - 5, cy), (cx + 5, cy), 1)
    pygame.draw.line(surf, colour, (cx, cy - 5), (cx, cy + 5), 1)


def draw_marker_label(
    surf: pygame.Surface, font: pygame.font.Font, hand: HandLabel, to_screen, scale: float
) -> None:
    """The tag above a marker (track, class, who placed it); drawn after every ring."""
    cx, cy = to_screen(hand.x, hand.y)
    colour = FLAG if hand.flag else (OPEN if hand.cls == "open" else OTHER)
    tag = f"{'' if hand.track is None else hand.track} {hand.cls}"
    if hand.label_source != "human":
        tag += f" ({hand.label_source})"
    if hand.flag:
        tag = "! " + tag
    label(surf, font, tag, colour, cx, cy - max(3.0, hand.r * scale) - 3)


def draw_proposal(
    surf: pygame.Surface, font: pygame.font.Font, x: float, y: float, r: float, text: str
) -> None:
    """A proposal (window coordinates): dashed yellow ring with ``text`` above it."""
    _dashed_circle(surf, PROPOSAL, (x, y), max(3.0, r), 2, 16)
    label(surf, font, text, PROPOSAL, x, y - r - 3)


def label(
    surf: pygame.Surface, font: pygame.font.Font, text: str, colour, cx: float, bottom: float
) -> None:
    """Text centred on ``cx`` above ``bottom`` on a dark box, readable on any frame."""
    label = font.render(text, True, colour)
    box = label.get_rect(midbottom=(round(cx), round(bottom))).inflate(6, 2)
    shade = pygame.Surface(box.size, pygame.SRCALPHA)
    shade.fill((0, 0, 0, 150))
    surf.blit(shade, box)
    surf.blit(label, label.get_rect(center=box.center))


def timeline_surface(
    size: tuple[int, int],
    count: int,
    annotated: Sequence[int],
    keyframes: Sequence[int],
    flagged: Sequence[int],
) -> pygame.Surface:
    """The scrub bar's ticks: blue annotated frames, green keyframes, red flags.

    Drawn once per change and cached by the caller: a long clip has thousands of ticks.
    """
    surf = pygame.Surface(size)
    surf.fill(PANEL)
    w, h = size
    for frames, colour, top, bottom in (
        (annotated, FLOW_TICK, h // 2, h),
        (keyframes, KEY_TICK, 0, h),
        (flagged, FLAG, 0, h // 2),
    ):
        for f in frames:
            x = timeline_x(f, count, w)
            pygame.draw.line(surf, colour, (x, top), (x, bottom), 2 if colour == FLAG else 1)
    return surf


def timeline_x(frame: int, count: int, width: int) -> int:
    """Horizontal position of ``frame`` on a timeline ``width`` pixels wide."""
    return round((frame + 0.5) / max(1, count) * width)


def target_surface(
    hands: Sequence[HandLabel],
    frame_size: tuple[int, int],
    width: int,
    stride: int,
    view_size: tuple[int, int],
    others: str = "target",
) -> pygame.Surface:
    """The training target of a frame (heatmap blobs, ignored areas grey) scaled to view_size.

    The hands are scaled to an input image ``width`` pixels wide, as training resizes frames.
    ``others="target"`` trains "other" hands as hands (``training.fit``'s default),
    ``"ignore"`` masks them, as ``--others`` does in training.

    Raises:
        ImportError: ``training.targets`` is not available.
    """
    from training.targets import make_targets  # lazy: the tool runs without it

    fw, fh = frame_size
    s = width / fw
    size = (width, max(stride, round(fh * s)))
    scaled = [
        HandLabel(h.x * s, h.y * s, h.r * s, "open" if others == "target" else h.cls) for h in hands
    ]
    t = make_targets(scaled, size, stride)
    heat = cv2.applyColorMap(
        (np.clip(t.heatmap, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO
    )
    heat[t.ignore > 0] = (heat[t.ignore > 0] * 0.4 + np.array([110, 110, 110]) * 0.6).astype(
        np.uint8
    )
    return frame_surface(cv2.resize(heat, view_size, interpolation=cv2.INTER_NEAREST), view_size)


def draw_text_lines(
    surf: pygame.Surface,
    font: pygame.font.Font,
    lines: Sequence[tuple],
    x: int,
    y: int,
    key_width: int = 0,
) -> int:
    """Draw ``(key, what)`` or ``(text, colour)`` lines from ``y`` down; return the y below."""
    step = font.get_linesize()
    for line in lines:
        if len(line) == 2 and isinstance(line[1], str):
            surf.blit(font.render(line[0], True, TEXT), (x, y))
            surf.blit(font.render(line[1], True, DIM), (x + key_width, y))
        else:
            surf.blit(font.render(line[0], True, line[1] if len(line) > 1 else TEXT), (x, y))
        y += step
    return y


class Painter:
    """Draws an annotation window; keeps the fonts and the surfaces worth caching.

    Attributes:
        target_rect: where the target view was last drawn (None before, or when hidden).
    """

    def __init__(self) -> None:
        self.font = pygame.font.Font(None, 20)
        self.small = pygame.font.Font(None, 17)
        self.target_rect: pygame.Rect | None = None
        self._frame: tuple[int, pygame.Surface] | None = None
        self._ticks: tuple[tuple, pygame.Surface] | None = None

    def draw(self, tool) -> None:
        """Draw ``tool`` (an ``training.annotate.Annotator``) into ``tool.screen``."""
        scr = tool.screen
        scr.fill(BG)
        if self._frame is None or self._frame[0] != tool.frame:
            image = tool.current_image()
            self._frame = (tool.frame, frame_surface(image, tool.view.size))
        scr.blit(self._frame[1], tool.view)
        hands = tool.store.hands(tool.frame)
        sel = tool.selected_index()
        for i, h in enumerate(hands):
            draw_marker(scr, h, tool.to_screen, tool.scale, i == sel)
        for h in hands:
            draw_marker_label(scr, self.small, h, tool.to_screen, tool.scale)
        for d in tool.proposals.get(tool.frame, []):
            sx, sy = tool.to_screen(d.x, d.y)
            text = f"? model {d.score:.2f}" if d.track is None else f"? flow {d.track}"
            draw_proposal(scr, self.small, sx, sy, d.radius * tool.scale, text)
        if tool.store.annotated(tool.frame) and not hands:
            label(
                scr,
                self.font,
                "annotated: no hands (N undoes)",
                TEXT,
                tool.view.centerx,
                tool.view.y + 24,
            )
        self._panel(tool)
        self._status(tool)

    def _panel(self, tool) -> None:
        scr = tool.screen
        pygame.draw.rect(scr, PANEL, tool.panel)
        x, y = tool.panel.x + 10, 8
        self.target_rect = None
        if tool.show_target:
            w = tool.panel.w - 20
            h = round(w * tool.clip.height / tool.clip.width)
            title = f"training target, others={tool.others} (O); grey = ignored"
            scr.blit(self.small.render(title, True, DIM), (x, y))
            y += 18
            try:
                surf = target_surface(
                    tool.store.hands(tool.frame),
                    (tool.clip.width, tool.clip.height),
                    TARGET_WIDTH,
                    TARGET_STRIDE,
                    (w, h),
                    tool.others,
                )
                scr.blit(surf, (x, y))
                self.target_rect = pygame.Rect(x, y, w, h)
            except ImportError as e:
                scr.blit(self.small.render(f"unavailable: {e}", True, FLAG), (x, y))
            if not tool.store.annotated(tool.frame):
                scr.blit(
                    self.small.render("frame not annotated: not used", True, FLAG), (x + 4, y + 4)
                )
            y += h + 10
        if tool.show_help:
            y = draw_text_lines(scr, self.small, [("keys (H hides)", DIM)], x, y)
            draw_text_lines(scr, self.small, HELP, x, y, key_width=110)

    def _status(self, tool) -> None:
        scr, store, count, bar = tool.screen, tool.store, tool.clip.frame_count, tool.timeline
        key = (store.saves, len(store.records), count)
        if self._ticks is None or self._ticks[0] != key:
            ticks = timeline_surface(
                bar.size, count, sorted(store.records), store.keyframes(), store.flagged()
            )
            self._ticks = (key, ticks)
        scr.blit(self._ticks[1], bar)
        x = bar.x + timeline_x(tool.frame, count, bar.w)
        pygame.draw.rect(scr, SELECT, (x - 2, bar.y - 3, 4, bar.h + 6))
        hands = store.hands(tool.frame)
        kinds: dict[str, int] = {}
        for h in hands:
            kinds[h.label_source] = kinds.get(h.label_source, 0) + 1
        what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
        line1 = (
            f"frame {tool.frame} of 0-{count - 1}   {tool.frame / tool.clip.fps:6.2f} s   "
            f"markers: {what}   flow {'ON' if tool.flow_on else 'off'}   "
            f"{'playing' if tool.playing else 'paused'}   "
            f"annotated frames {len(store.records)}   saved x{store.saves}"
        )
        flags = [h.flag for h in hands if h.flag]
        line2 = ("! " + flags[0]) if flags else tool.message
        y = bar.bottom + 6
        scr.blit(self.font.render(line1, True, TEXT), (10, y))
        scr.blit(self.font.render(line2, True, FLAG if flags else DIM), (10, y + 18))
