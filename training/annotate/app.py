"""Annotate a clip: scrub, place and resize hand markers, carry them along with optical flow.

Run::

    python -m training.annotate clips/kitchen.mp4                 # the window
    python -m training.annotate clips/kitchen.mp4 --model handplay/models/hand.onnx   # + proposals
    python -m training.annotate clips/kitchen.mp4 --propagate 120:300  # batch, no window
    python -m training.annotate clips/kitchen.mp4 --propagate 120:0    # ... backward

Every change is saved at once to ``clips/kitchen.labels.jsonl`` (DESIGN.md format, atomic
write); reopening the clip restores everything. A frame is used for training once it has a line
in that file: place its markers, or press N on a frame with no hands.

Controls (also on screen, H hides them):

    click            add a marker (or pick the one under the mouse); drag moves it
    wheel            resize the marker under the mouse (or the selected one)
    right click      delete the marker (or dismiss the proposal) under the mouse
    C                class: open / other         Del, X   delete the selected marker
    Tab              select the next marker
    Right / Left     next / previous frame; Right carries the markers by optical flow
    Shift+Right      next frame without optical flow
    Ctrl+Left        previous frame, carrying the markers back by optical flow
    PgDn / PgUp      one second forward / back   Home / End   first / last frame
    Space            play / pause                ] / [    next / previous flagged frame
    I                interpolate between the keyframes around this frame
    F                optical flow on / off       N        mark frame "no hands" / unmark
    M                propose markers with the model; click a proposal or A accepts them
    Ctrl+Z, Ctrl+Y   undo / redo                 T        training target view on / off
    O                target view: "other" hands trained as hands / masked
    H                help on / off               Esc, Q   quit (everything is saved already)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import sys
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # batch mode output stays clean

import numpy as np
import pygame

from handplay.sources import SourceError, argument_type, parse_size
from training.annotate import draw, flow
from training.annotate.batch import propagate_batch
from training.annotate.store import HUMAN, LabelStore
from training.annotate.video import ClipError, ClipReader
from training.labels import HandLabel, LabelError, clip_labels_path

log = logging.getLogger(__name__)

WINDOW = (1280, 720)  # default window size
SIDE_PANEL = 320  # px on the right for the target view and the help
TIMELINE_H = 22  # px height of the scrub bar
STATUS_H = 64  # px under the frame for the timeline and two status lines
WHEEL_STEP = 1.08  # radius factor per wheel notch
MIN_RADIUS = 4.0  # px: smallest marker
HIT_SLACK = 6.0  # window px beyond the ring that still picks a marker


class Proposal(NamedTuple):
    """A marker offered, not yet placed: from the model, or held back by optical flow.

    Attributes:
        x, y, radius: frame pixels.
        score: the model's peak value (1.0 for held flow markers).
        track: the track a held flow marker continues, None for model proposals.
        cls: the class it gets when accepted.
    """

    x: float
    y: float
    radius: float
    score: float
    track: int | None = None
    cls: str = "open"


class _Drag(NamedTuple):
    frame: int
    index: int
    before: tuple[HandLabel, ...]
    dx: float
    dy: float


class Annotator:
    """The annotation window for one clip. Drive it with :meth:`run` (it reads the pygame queue).

    Args:
        clip: the video file; its labels live beside it (``clip_labels_path``).
        model: an ONNX model for pre-annotation proposals (``None``: M tries the shipped one).
        window: window size in pixels.
        others: how the target view treats "other" hands: ``"target"`` (trained as hands,
            ``training.fit``'s default) or ``"ignore"`` (masked, ``--others=ignore``).

    Raises:
        ClipError: the clip does not open.
        LabelError: its labels file is malformed (the message names the line).
    """

    def __init__(
        self,
        clip: str | os.PathLike[str],
        model: str | os.PathLike[str] | None = None,
        window: tuple[int, int] = WINDOW,
        others: str = "target",
    ) -> None:
        if others not in ("target", "ignore"):
            raise ValueError(f"others must be 'target' or 'ignore', not {others!r}")
        self.clip = ClipReader(clip)
        self.store = LabelStore(clip_labels_path(clip), self.clip.width, self.clip.height)
        self.model_path = model
        self._detector = None
        self.proposals: dict[int, list[Proposal]] = {}  # frame -> offered markers
        self.frame = 0
        self.selected: int | None = None  # track id of the selected marker
        self.flow_on = True
        self.show_help = True
        self.show_target = True
        self.others = others  # how the target view treats "other" hands, as training.fit does
        self.playing = False
        self.message = (
            f"{len(self.store.records)} annotated frames loaded"
            if self.store.records
            else "click on a hand to place a marker; H toggles this help"
        )
        self.running = True
        self._drag: _Drag | None = None
        self._scrubbing = False
        self._mouse = (0, 0)
        self._play_clock = 0.0
        self._stepped = False  # an arrow-key step happened in this loop turn
        pygame.display.init()  # no pygame.init(): the mixer would open a sound device
        pygame.font.init()
        self.screen = pygame.display.set_mode(window)
        pygame.display.set_caption(f"annotate {Path(clip).name}")
        pygame.key.set_repeat(300, 40)
        self.painter = draw.Painter()
        self._layout(window)
        beyond = [f for f in self.store.records if f >= self.clip.frame_count]
        if beyond:
            self.message = (
                f"warning: {len(beyond)} annotated frame(s) from {min(beyond)} on "
                f"lie past the end of the clip ({self.clip.frame_count} frames)"
            )
            log.warning(self.message)
        self.seek(0)

    # ---- geometry ----------------------------------------------------------------------

    def _layout(self, window: tuple[int, int]) -> None:
        ww, wh = window
        area_w, area_h = ww - SIDE_PANEL, wh - STATUS_H
        self.scale = min(area_w / self.clip.width, area_h / self.clip.height)
        fw, fh = round(self.clip.width * self.scale), round(self.clip.height * self.scale)
        self.view = pygame.Rect((area_w - fw) // 2, (area_h - fh) // 2, fw, fh)
        self.timeline = pygame.Rect(8, area_h + 6, ww - 16, TIMELINE_H)
        self.panel = pygame.Rect(area_w, 0, SIDE_PANEL, area_h)

    def to_screen(self, x: float, y: float) -> tuple[float, float]:
        """Frame pixel -> window pixel."""
        return self.view.x + (x + 0.5) * self.scale, self.view.y + (y + 0.5) * self.scale

    def to_frame(self, sx: float, sy: float) -> tuple[float, float]:
        """Window pixel -> frame pixel."""
        return (sx - self.view.x) / self.scale - 0.5, (sy - self.view.y) / self.scale - 0.5

    def _hit(self, pos: tuple[int, int]) -> int | None:
        """Index of the marker under the window position ``pos`` (the nearest centre wins)."""
        x, y = self.to_frame(*pos)
        best, best_d = None, math.inf
        for i, h in enumerate(self.store.hands(self.frame)):
            d = math.hypot(h.x - x, h.y - y)
            if d <= h.r + HIT_SLACK / self.scale and d < best_d:
                best, best_d = i, d
        return best

    def selected_index(self) -> int | None:
        """Index of the selected marker among this frame's hands, or None."""
        for i, h in enumerate(self.store.hands(self.frame)):
            if h.track is not None and h.track == self.selected:
                return i
        return None

    # ---- frames ------------------------------------------------------------------------

    def gray(self, index: int) -> np.ndarray:
        """Greyscale frame ``index`` (for optical flow)."""
        return flow.to_gray(self.clip.frame(index))

    def seek(self, index: int) -> None:
        """Show frame ``index`` (clamped to the clip); proposes markers there if a model is set."""
        self.frame = min(max(0, index), self.clip.frame_count - 1)
        if (
            self.model_path is not None
            and not self.playing
            and not self.store.annotated(self.frame)
            and self.frame not in self.proposals
        ):
            self.propose()

    def step(self, direction: int, use_flow: bool) -> None:
        """Go to the next (``direction=1``) or previous (-1) frame; with ``use_flow`` the
        markers of this frame are carried there first."""
        target = self.frame + direction
        if not 0 <= target < self.clip.frame_count:
            self.message = "last frame" if direction > 0 else "first frame"
            return
        if use_flow and self.store.hands(self.frame):
            report = self.store.propagate(
                self.frame, self.gray(self.frame), self.gray(target), direction
            )
            self.message = report.describe()
            if report.held:
                self.proposals[target] = [
                    Proposal(h.x, h.y, h.r, 1.0, h.track, h.cls) for h in report.held
                ]
        self.seek(target)

    def _jump_flag(self, direction: int) -> None:
        flags = self.store.flagged()
        ahead = [f for f in flags if (f - self.frame) * direction > 0]
        if not ahead:
            self.message = "no more flagged frames that way"
            return
        self.seek(min(ahead) if direction > 0 else max(ahead))

    # ---- model proposals -----------------------------------------------------------------

    def propose(self) -> None:
        """Run the detector on this frame and show its detections as proposals."""
        try:
            if self._detector is None:
                from handplay import Detector  # lazy: the tool works without a model

                self._detector = Detector(self.model_path)
            dets = self._detector.detect(self.clip.frame(self.frame))
        except Exception as e:  # a missing/broken model must not kill an annotation session
            self.message = f"no proposals: {e}"
            log.warning("pre-annotation failed: %s", e)
            self.model_path = None  # stop retrying on every frame
            return
        self.proposals[self.frame] = [Proposal(d.x, d.y, d.radius, d.score) for d in dets]
        self.message = f"model proposes {len(dets)} marker(s): click one or A to accept"

    def accept(self, which: list[Proposal] | None = None) -> None:
        """Turn proposals of this frame (all when ``which`` is None) into human markers."""
        props = self.proposals.get(self.frame, [])
        take = props if which is None else which
        if not take:
            self.message = "no proposals here (M asks the model)"
            return
        track = self.store.next_track()
        new = tuple(
            HandLabel(
                p.x, p.y, p.radius, p.cls, HUMAN, track=track + k if p.track is None else p.track
            )
            for k, p in enumerate(take)
        )
        self.store.commit("accept", {self.frame: self.store.hands(self.frame) + new})
        self.proposals[self.frame] = [d for d in props if d not in take]
        self.selected = new[-1].track
        self.message = f"accepted {len(new)} proposal(s)"

    def _hit_proposal(self, pos: tuple[int, int]) -> Proposal | None:
        x, y = self.to_frame(*pos)
        for d in self.proposals.get(self.frame, []):
            if math.hypot(d.x - x, d.y - y) <= d.radius:
                return d
        return None

    # ---- events ------------------------------------------------------------------------

    def handle(self, ev: pygame.event.Event) -> None:
        """Apply one pygame event."""
        if ev.type == pygame.QUIT:
            self.running = False
        elif ev.type == pygame.KEYDOWN:
            self._key(ev.key, getattr(ev, "mod", 0))
        elif ev.type == pygame.MOUSEBUTTONDOWN and ev.button in (1, 3):
            self._mouse_down(ev.pos, ev.button)
        elif ev.type == pygame.MOUSEMOTION:
            self._mouse = ev.pos
            self._mouse_move(ev.pos)
        elif ev.type == pygame.MOUSEBUTTONUP and ev.button == 1:
            self._mouse_up()
        elif ev.type == pygame.MOUSEWHEEL:
            self._wheel(ev.y)

    def _key(self, key: int, mod: int) -> None:
        ctrl, shift = mod & pygame.KMOD_CTRL, mod & pygame.KMOD_SHIFT
        fps = max(1, round(self.clip.fps))
        if key in (pygame.K_ESCAPE, pygame.K_q):
            self.running = False
        elif key == pygame.K_z and ctrl:
            done = self.store.redo() if shift else self.store.undo()
            self._after_history(done, "redo" if shift else "undo")
        elif key == pygame.K_y and ctrl:
            self._after_history(self.store.redo(), "redo")
        elif key in (pygame.K_RIGHT, pygame.K_LEFT):
            # One step per loop turn: when a step is slower than the key repeat, the repeats
            # queue up and would carry on stepping after the key is released.
            if self._stepped:
                return
            self._stepped = True
            self.playing = False
            if key == pygame.K_RIGHT:
                self.step(+1, use_flow=self.flow_on and not shift)
            else:  # backward carries only on request: going back is mostly for looking
                self.step(-1, use_flow=self.flow_on and bool(ctrl))
        elif key == pygame.K_PAGEDOWN:
            self.seek(self.frame + fps)
        elif key == pygame.K_PAGEUP:
            self.seek(self.frame - fps)
        elif key == pygame.K_HOME:
            self.seek(0)
        elif key == pygame.K_END:
            self.seek(self.clip.frame_count - 1)
        elif key == pygame.K_SPACE:
            self.playing = not self.playing
            self._play_clock = 0.0
        elif key == pygame.K_RIGHTBRACKET:
            self._jump_flag(+1)
        elif key == pygame.K_LEFTBRACKET:
            self._jump_flag(-1)
        elif key == pygame.K_c:
            self._toggle_class()
        elif key in (pygame.K_DELETE, pygame.K_BACKSPACE, pygame.K_x):
            i = self.selected_index()
            if i is not None:
                self.store.delete(self.frame, i)
                self.message = "deleted (Ctrl+Z undoes)"
        elif key == pygame.K_TAB:
            hands = self.store.hands(self.frame)
            if hands:
                i = self.selected_index()
                self.selected = hands[0 if i is None else (i + 1) % len(hands)].track
        elif key == pygame.K_i:
            done = self.store.interpolate(self.frame)
            self.message = (
                "interpolate needs human keyframes before and after this frame"
                if done is None
                else f"interpolated {done[2]} marker(s) between frames {done[0]} and {done[1]}"
            )
        elif key == pygame.K_f:
            self.flow_on = not self.flow_on
            self.message = f"optical flow {'on' if self.flow_on else 'off'}"
        elif key == pygame.K_n:
            try:
                empty = self.store.toggle_empty(self.frame)
                self.message = "frame marked: no hands" if empty else "frame unannotated"
            except ValueError as e:
                self.message = str(e)
        elif key == pygame.K_m:
            self.propose()
        elif key in (pygame.K_a, pygame.K_RETURN):
            self.accept()
        elif key == pygame.K_t:
            self.show_target = not self.show_target
        elif key == pygame.K_o:
            self.others = "ignore" if self.others == "target" else "target"
            how = "masked" if self.others == "ignore" else "trained as hands"
            self.message = f"target view: other hands {how}"
        elif key == pygame.K_h:
            self.show_help = not self.show_help

    def _after_history(self, done: tuple[str, list[int]] | None, what: str) -> None:
        if done is None:
            self.message = f"nothing to {what}"
            return
        name, frames = done
        if self.frame not in frames:
            self.seek(frames[0])  # show what changed
        self.message = f"{what}: {name}"

    def _toggle_class(self) -> None:
        i = self.selected_index()
        if i is None:
            i = self._hit(self._mouse)
        if i is None:
            self.message = "select a marker first (click it)"
            return
        h = self.store.hands(self.frame)[i]
        self.store.replace(
            self.frame, i, dataclasses.replace(h, cls="other" if h.cls == "open" else "open")
        )
        self.selected = h.track
        self.message = f"marker {h.track}: {'other' if h.cls == 'open' else 'open'}"

    def _mouse_down(self, pos: tuple[int, int], button: int) -> None:
        self._mouse = pos
        if self.timeline.inflate(0, 10).collidepoint(pos) and button == 1:
            self._scrubbing = True
            self.playing = False
            self._scrub(pos)
            return
        if not self.view.collidepoint(pos):
            return
        i = self._hit(pos)
        if button == 3:
            prop = self._hit_proposal(pos) if i is None else None
            if i is not None:
                self.store.delete(self.frame, i)
                self.message = "deleted (Ctrl+Z undoes)"
            elif prop is not None:  # proposals are not labels: dismissing one needs no undo
                self.proposals[self.frame].remove(prop)
                self.message = "proposal dismissed"
            return
        if i is None:
            prop = self._hit_proposal(pos)
            if prop is not None:  # accept it, and let the same press drag it into place
                self.accept([prop])
                i = len(self.store.hands(self.frame)) - 1
        if i is None:
            x, y = self.to_frame(*pos)
            hand = self.store.add(self.frame, x, y, self._default_radius())
            self.selected = hand.track
            i = len(self.store.hands(self.frame)) - 1
            self.message = f"added marker {hand.track}: drag to move, wheel to resize"
        hands = self.store.hands(self.frame)
        self.selected = hands[i].track
        x, y = self.to_frame(*pos)
        self._drag = _Drag(self.frame, i, hands, hands[i].x - x, hands[i].y - y)

    def _default_radius(self) -> float:
        hands = self.store.hands(self.frame) or self.store.hands(self.frame - 1)
        if hands:
            return hands[-1].r
        return max(MIN_RADIUS, self.clip.height / 10)

    def _mouse_move(self, pos: tuple[int, int]) -> None:
        if self._scrubbing:
            self._scrub(pos)
            return
        d = self._drag
        if d is None or d.frame != self.frame:
            return
        x, y = self.to_frame(*pos)
        x = min(max(0.0, x + d.dx), self.clip.width - 1.0)
        y = min(max(0.0, y + d.dy), self.clip.height - 1.0)
        hands = list(d.before)
        hands[d.index] = dataclasses.replace(hands[d.index], x=x, y=y, label_source=HUMAN, flag="")
        self.store.preview(self.frame, hands)

    def _mouse_up(self) -> None:
        self._scrubbing = False
        d, self._drag = self._drag, None
        if d is None:
            return
        now = self.store.hands(d.frame)
        if now != d.before:
            self.store.commit("move", {d.frame: now}, before={d.frame: d.before})
            self.message = f"moved marker {now[d.index].track}"

    def _scrub(self, pos: tuple[int, int]) -> None:
        t = (pos[0] - self.timeline.x) / max(1, self.timeline.w)
        self.seek(int(t * self.clip.frame_count))

    def _wheel(self, notches: int) -> None:
        i = self._hit(self._mouse)
        if i is None:
            i = self.selected_index()
        if i is None or notches == 0:
            return
        h = self.store.hands(self.frame)[i]
        r = min(
            max(MIN_RADIUS, h.r * WHEEL_STEP**notches), max(self.clip.width, self.clip.height) / 2
        )
        self.store.replace(
            self.frame, i, dataclasses.replace(h, r=r), merge_key=("resize", self.frame, h.track)
        )
        self.selected = h.track
        self.message = f"marker {h.track}: radius {r:.1f} px"

    # ---- loop --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        """Advance playback by ``dt`` seconds."""
        if not self.playing:
            return
        self._play_clock += dt
        steps = int(self._play_clock * self.clip.fps)
        if steps:
            self._play_clock -= steps / self.clip.fps
            if self.frame + steps >= self.clip.frame_count:
                self.playing = False
            self.seek(self.frame + steps)

    def current_image(self) -> np.ndarray:
        """The BGR image of the current frame (steps back if the file ends early)."""
        try:
            return self.clip.frame(self.frame)
        except ClipError as e:  # the container promised more frames than it holds
            self.message = str(e)
            self.frame = self.clip.frame_count - 1
            return self.clip.frame(self.frame)

    def draw(self) -> None:
        """Draw the whole window."""
        self.painter.draw(self)

    def run(self, max_frames: int | None = None, fps: int = 60) -> None:
        """The event loop; ``max_frames`` stops it after that many frames (tests, screenshots)."""
        clock = pygame.time.Clock()
        n = 0
        while self.running and (max_frames is None or n < max_frames):
            events = pygame.event.get()
            self._stepped = False
            for ev in events:
                self.handle(ev)
            self.update(clock.get_time() / 1000)
            # Redraw only when something happened: an idle window should not eat a core the
            # batch propagation or a training run could use.
            if events or self.playing or n == 0:
                self.draw()
                pygame.display.flip()
            clock.tick(fps)
            n += 1

    def close(self) -> None:
        """Release the clip and the window; the labels are already on disk."""
        self.clip.close()
        pygame.display.quit()


def main(argv: list[str] | None = None, max_frames: int | None = None) -> int:
    """Command line entry point; ``max_frames`` ends the window loop early (tests)."""
    parser = argparse.ArgumentParser(
        prog="python -m training.annotate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("clip", help="the video to annotate (labels go to CLIP.labels.jsonl)")
    parser.add_argument(
        "--propagate",
        metavar="START:END",
        help="no window: carry the markers of frame START through END (backward "
        "when END < START) and save",
    )
    parser.add_argument("--model", help="ONNX model for proposals on unannotated frames")
    parser.add_argument(
        "--window",
        default=f"{WINDOW[0]}x{WINDOW[1]}",
        type=argument_type(parse_size),
        help="window size WIDTHxHEIGHT (default %(default)s)",
    )
    parser.add_argument(
        "--others",
        choices=("target", "ignore"),
        default="target",
        help="target view: train 'other' hands as hands (training.fit's default) "
        "or mask them, like fit's --others",
    )
    parser.add_argument("--screenshot", help="save the window to this PNG when the tool quits")
    args = parser.parse_args(argv)
    try:
        if args.propagate:
            propagate_batch(args.clip, args.propagate)
            return 0
        w, h = args.window
        min_w, min_h = SIDE_PANEL + 320, STATUS_H + 240
        if w < min_w or h < min_h:
            parser.error(f"--window must be at least {min_w}x{min_h}, not {w}x{h}")
        tool = Annotator(args.clip, model=args.model, window=(w, h), others=args.others)
    except (SourceError, LabelError) as e:  # a ClipError is a SourceError
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        tool.run(max_frames)
        if args.screenshot:
            pygame.image.save(tool.screen, args.screenshot)
    finally:
        tool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
