"""Record webcam clips to annotate: preview, countdown, ``mp4`` + a small metadata file.

Run::

    python -m training.record                       # camera 0 at 640x480, clips into ./clips
    python -m training.record --camera 1 --size 1280x720 --out clips/kitchen
    python -m training.record --list                # which camera indices open
    python -m training.record --camera old.mp4      # a video file as the source (tests, demos)

Controls:

    Space, R     start recording (after the countdown; again cancels it) / stop and save
    Esc, Q       quit (a recording in progress is saved first)

Each recording becomes ``OUT/NAME.mp4`` (codec ``mp4v``, frames exactly as the camera gave them:
not mirrored) and ``OUT/NAME.meta.json`` with the camera, resolution, fps, date and frame count.
The preview is mirrored (like a mirror, which is what people expect) unless ``--no-mirror``.
Annotate the clip next: ``python -m training.annotate OUT/NAME.mp4``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pygame

from handplay.sources import (
    PROBE_INDICES,
    SourceError,
    argument_type,
    camera_hint,
    find_cameras,
    open_camera,
    open_video,
    parse_size,
    parse_source,
)

log = logging.getLogger(__name__)

FOURCC = "mp4v"  # plays everywhere OpenCV does, needs no extra codec packages
DEFAULT_SIZE = (640, 480)  # what most webcams give at 30 fps and what training resizes from
PREVIEW_MAX = (960, 720)  # largest preview window
COUNTDOWN_S = 3  # seconds between the key and the first recorded frame


class RecordError(RuntimeError):
    """The clip cannot be written (a source that does not open is a ``SourceError``)."""


def open_source(source: int | str, size: tuple[int, int] | None) -> cv2.VideoCapture:
    """Open a camera index (asking for MJPG and ``size``) or a video file; read nothing yet.

    Args:
        source: camera index (``0`` is the first webcam) or a video path.
        size: ``(width, height)`` to ask a camera for; ignored for files.

    Raises:
        SourceError: it does not open (the message names the index or path and what to try).
    """
    if isinstance(source, str):
        return open_video(source)
    # MJPG: many USB webcams give 30 fps only as MJPG above 640x480 (see open_camera)
    cap = open_camera(source, size, mjpg=True)
    if cap is None:
        raise SourceError(
            f"camera index {source} does not open (cv2.VideoCapture({source}) failed): is a "
            "webcam plugged in and free (close other programs using it)? "
            f"{camera_hint(source, flag='--camera')}; `python -m training.record --list` shows "
            "which indices open."
        )
    return cap


def unique_stem(out: Path, name: str | None) -> Path:
    """``out/name`` (default ``clip-YYYYmmdd-HHMMSS``) with ``-2``, ``-3``... if it is taken."""
    base = name or dt.datetime.now().strftime("clip-%Y%m%d-%H%M%S")
    stem, k = out / base, 2
    while stem.with_suffix(".mp4").exists():
        stem, k = out / f"{base}-{k}", k + 1
    return stem


class ClipWriter:
    """Writes one recording: the ``mp4`` and, on :meth:`close`, its ``.meta.json``.

    Args:
        stem: path without suffix (``clips/kitchen`` -> ``clips/kitchen.mp4``).
        size: frame ``(width, height)``.
        fps: frame rate written into the file.
        camera: the index or path recorded from (for the metadata).

    Raises:
        RecordError: OpenCV cannot open a writer there.
    """

    def __init__(self, stem: Path, size: tuple[int, int], fps: float, camera: int | str) -> None:
        self.path = stem.with_suffix(".mp4")
        self.meta_path = stem.with_suffix(".meta.json")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size, self.fps, self.camera = size, fps, camera
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*FOURCC), fps, size)
        if not self._writer.isOpened():
            raise RecordError(
                f"cannot write {self.path} with codec {FOURCC}; is the folder writable?"
            )
        self.frames = 0
        self._t0 = time.monotonic()
        self.started = dt.datetime.now(dt.timezone.utc)

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR frame of the clip's size."""
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> dict:
        """Finish the mp4, write the metadata, return the metadata."""
        self._writer.release()
        elapsed = time.monotonic() - self._t0
        meta = {
            "clip": self.path.name,
            "camera": self.camera,
            "width": self.size[0],
            "height": self.size[1],
            "fps": self.fps,
            "measured_fps": round(self.frames / elapsed, 2) if elapsed > 0 else None,
            "frames": self.frames,
            "date": self.started.isoformat(timespec="seconds"),
            "codec": FOURCC,
        }
        self.meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return meta


class Recorder:
    """The preview window and the start/stop logic; :meth:`run` reads the pygame queue.

    Args:
        source: camera index or video path.
        out: folder for the clips.
        size: resolution to ask the camera for.
        fps: frame rate to ask for and to write (None: what the source reports, else 30).
        countdown: seconds between pressing the key and recording.
        name: clip name (later clips of the session get -2, -3...; default date-time).
        mirror: mirror the preview (never the recording).

    Raises:
        SourceError: the source does not open or gives no frame.
    """

    def __init__(
        self,
        source: int | str,
        out: Path,
        size: tuple[int, int] | None = DEFAULT_SIZE,
        fps: float | None = None,
        countdown: float = COUNTDOWN_S,
        name: str | None = None,
        mirror: bool = True,
    ) -> None:
        self.source, self.out, self.countdown, self.name, self.mirror = (
            source,
            out,
            countdown,
            name,
            mirror,
        )
        self.cap = open_source(source, size)
        if fps and isinstance(source, int):
            self.cap.set(cv2.CAP_PROP_FPS, fps)
        ok, self._pending = self.cap.read()
        if not ok:
            self.cap.release()
            raise SourceError(
                f"{'camera index' if isinstance(source, int) else 'video'} "
                f"{source} opened but gives no frame"
            )
        h, w = self._pending.shape[:2]
        self.size = (w, h)
        if size and isinstance(source, int) and (w, h) != tuple(size):
            print(
                f"camera {source} gives {w}x{h}, not the {size[0]}x{size[1]} asked for; "
                "recording at its size"
            )
        self.fps = float(fps or self.cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.is_file = isinstance(source, str)
        self.writer: ClipWriter | None = None
        self.count_until: float | None = None
        self.saved: list[dict] = []
        self.saved_paths: list[Path] = []  # the clip of each entry of ``saved``
        self.running = True
        self.message = "Space or R: start recording    Esc: quit"
        pygame.display.init()  # no pygame.init(): the mixer would open a sound device
        pygame.font.init()
        scale = min(1.0, PREVIEW_MAX[0] / w, PREVIEW_MAX[1] / h)
        self.view = (round(w * scale), round(h * scale))
        self.screen = pygame.display.set_mode((self.view[0], self.view[1] + 30))
        pygame.display.set_caption(f"record from {source}")
        self.font = pygame.font.Font(None, 24)
        self.big = pygame.font.Font(None, 160)

    def toggle(self) -> None:
        """Start the countdown, cancel it, or stop and save the recording in progress."""
        if self.writer is not None:
            self.stop()
        elif self.count_until is not None:
            self.count_until = None
            self.message = "countdown cancelled. Space or R: start recording"
        else:
            self.count_until = time.monotonic() + self.countdown
            if self.countdown <= 0:
                self._start()

    def _start(self) -> None:
        self.count_until = None
        stem = unique_stem(self.out, self.name)
        self.writer = ClipWriter(stem, self.size, self.fps, self.source)
        print(f"recording {self.writer.path} ...", flush=True)

    def stop(self) -> None:
        """Stop and save the recording in progress (nothing when not recording)."""
        self.count_until = None
        if self.writer is None:
            return
        meta = self.writer.close()
        self.saved.append(meta)
        self.saved_paths.append(self.writer.path)
        print(
            f"saved {self.writer.path} ({meta['frames']} frames, {meta['width']}x"
            f"{meta['height']}) and {self.writer.meta_path.name}",
            flush=True,
        )
        self.message = f"saved {self.writer.path.name}: {meta['frames']} frames. Space: again"
        self.writer = None

    def handle(self, ev: pygame.event.Event) -> None:
        """Apply one pygame event."""
        if ev.type == pygame.QUIT:
            self.running = False
        elif ev.type == pygame.KEYDOWN:
            if ev.key in (pygame.K_ESCAPE, pygame.K_q):
                self.running = False
            elif ev.key in (pygame.K_SPACE, pygame.K_r):
                self.toggle()

    def _next_frame(self) -> np.ndarray | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        ok, frame = self.cap.read()
        return frame if ok else None

    def _draw(self, frame: np.ndarray) -> None:
        shown = cv2.flip(frame, 1) if self.mirror else frame
        rgb = cv2.cvtColor(
            cv2.resize(shown, self.view, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
        )
        self.screen.fill((20, 20, 24))
        self.screen.blit(pygame.image.frombuffer(rgb.tobytes(), self.view, "RGB"), (0, 0))
        if self.count_until is not None:
            left = max(0.0, self.count_until - time.monotonic())
            digit = self.big.render(str(int(left) + 1), True, (255, 255, 255))
            box = digit.get_rect(center=(self.view[0] // 2, self.view[1] // 2)).inflate(50, 20)
            shade = pygame.Surface(box.size, pygame.SRCALPHA)
            shade.fill((0, 0, 0, 140))
            self.screen.blit(shade, box)
            self.screen.blit(digit, digit.get_rect(center=box.center))
            status = f"recording starts in {left:.1f} s   Space: cancel"
        elif self.writer is not None:
            pygame.draw.circle(self.screen, (230, 30, 30), (24, 24), 10)
            secs = self.writer.frames / self.fps
            status = f"REC {secs:5.1f} s  {self.writer.frames} frames  Space: stop and save"
        else:
            status = self.message
        info = f"{self.size[0]}x{self.size[1]} @ {self.fps:g} fps   {status}"
        self.screen.blit(self.font.render(info, True, (230, 230, 235)), (8, self.view[1] + 6))

    def run(self, max_frames: int | None = None) -> list[dict]:
        """Preview and record until quit, the end of a video source or ``max_frames`` frames.

        Returns:
            The metadata of each clip saved.
        """
        clock = pygame.time.Clock()
        n = 0
        try:
            while self.running and (max_frames is None or n < max_frames):
                for ev in pygame.event.get():
                    self.handle(ev)
                if self.count_until is not None and time.monotonic() >= self.count_until:
                    self._start()
                frame = self._next_frame()
                if frame is None:
                    if not self.is_file:
                        self.message = f"camera {self.source} stopped giving frames"
                        log.warning(self.message)
                    break
                if self.writer is not None:
                    self.writer.write(frame)
                self._draw(frame)
                pygame.display.flip()
                if self.is_file:
                    clock.tick(self.fps)  # a file plays at its own pace; a camera paces itself
                n += 1
        finally:
            self.stop()
        return self.saved

    def close(self) -> None:
        """Release the source and the window (saves a recording in progress)."""
        self.stop()
        self.cap.release()
        pygame.display.quit()


def _name(text: str) -> str:
    """A clip name is a file name: the folder is ``--out``'s."""
    if text in ("", ".", "..") or any(sep and sep in text for sep in ("/", os.sep, os.altsep)):
        raise argparse.ArgumentTypeError(
            f"--name must be a file name without a folder, not {text!r}; use --out for the folder"
        )
    return text


def main(argv: list[str] | None = None, max_frames: int | None = None) -> int:
    """Command line entry point; ``max_frames`` stops after that many frames (tests)."""
    parser = argparse.ArgumentParser(
        prog="python -m training.record",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--camera",
        type=argument_type(parse_source),
        default=0,
        help="camera index or video file (default 0)",
    )
    parser.add_argument(
        "--size",
        type=argument_type(parse_size),
        default=DEFAULT_SIZE,
        help="resolution to ask the camera for (default 640x480)",
    )
    parser.add_argument("--fps", type=float, help="frame rate (default: what the camera says)")
    parser.add_argument("--out", type=Path, default=Path("clips"), help="folder for the clips")
    parser.add_argument("--name", type=_name, help="clip name (default clip-DATE-TIME)")
    parser.add_argument(
        "--countdown",
        type=float,
        default=COUNTDOWN_S,
        help="seconds before recording starts (default %(default)s)",
    )
    parser.add_argument("--start", action="store_true", help="start recording at once")
    parser.add_argument("--no-mirror", action="store_true", help="do not mirror the preview")
    parser.add_argument("--list", action="store_true", help="list the cameras that open")
    args = parser.parse_args(argv)
    if args.list:
        found = find_cameras()
        for i, w, h in found:
            print(f"camera {i}: {w}x{h}")
        if not found:
            print(f"no camera opens at indices {PROBE_INDICES.start}..{PROBE_INDICES.stop - 1}")
        return 0 if found else 1
    try:
        rec = Recorder(
            args.camera,
            args.out,
            args.size,
            args.fps,
            args.countdown,
            args.name,
            mirror=not args.no_mirror,
        )
    except (RecordError, SourceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.start:
        rec.toggle()
    try:
        rec.run(max_frames)
    finally:
        rec.close()
    for path in rec.saved_paths:  # the real paths, so each command works as printed
        print(f"next: python -m training.annotate {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
