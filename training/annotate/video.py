"""Frame-accurate random access to a video clip for the annotation tool.

OpenCV can seek (``CAP_PROP_POS_FRAMES``), but a seek costs a decode from the previous keyframe,
and stepping, playing and optical flow mostly want the *next* frame. So the reader keeps the
decoder's position, reads forward when the wanted frame is a little ahead, seeks otherwise, and
keeps the most recent frames in a small cache so stepping back is free. Every returned frame is
the one with that index in decode order (tests check it on a clip whose frames carry their number).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from handplay.sources import SourceError, open_video

log = logging.getLogger(__name__)

READ_AHEAD = 48  # frames: reading forward this far is cheaper than seeking (keyframes ~12-250)
CACHE_FRAMES = 96  # decoded frames kept (about 90 MB at 640x480)


class ClipError(SourceError):
    """A frame of a clip cannot be decoded; the message names the file. (A clip that does not
    open raises :class:`handplay.sources.SourceError`, like every video that does not open.)"""


class ClipReader:
    """Random access to the frames of one clip.

    Args:
        path: a video file OpenCV can decode (``.mp4`` from ``training.record``).
        cache_frames: how many decoded frames to keep in memory.

    Raises:
        SourceError: the file is a folder, is missing or does not open.
        ClipError: it holds no decodable frame.

    Example::

        clip = ClipReader("clips/kitchen.mp4")
        frame = clip.frame(120)      # BGR uint8, shape (clip.height, clip.width, 3)
    """

    def __init__(self, path: str | os.PathLike[str], cache_frames: int = CACHE_FRAMES) -> None:
        self.path = Path(path)
        self._cap = open_video(self.path)
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 30.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, first = self._cap.read()
        if not ok:
            raise ClipError(f"clip {self.path} holds no decodable frame")
        self.height, self.width = first.shape[:2]
        self._next = 1  # index of the frame the decoder returns on the next read()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = max(2, cache_frames)
        self._remember(0, first)
        if self.frame_count <= 0:  # some containers do not store a count: count by decoding
            self.frame_count = self._count_by_decoding()

    def _count_by_decoding(self) -> int:
        n = self._next
        while self._cap.grab():
            n += 1
        self._seek(0)
        return n

    def _remember(self, index: int, frame: np.ndarray) -> None:
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)

    def _seek(self, index: int) -> None:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    def frame(self, index: int) -> np.ndarray:
        """The BGR frame ``index`` (0-based). Do not modify it: it is shared with the cache.

        Raises:
            IndexError: ``index`` is outside ``0 .. frame_count - 1``.
            ClipError: the frame does not decode (a truncated file).
        """
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame must be between 0 and {self.frame_count - 1}, not {index}")
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        if not self._next <= index <= self._next + READ_AHEAD:
            self._seek(index)
        frame = None
        while self._next <= index:
            ok, frame = self._cap.read()
            if not ok:
                # The container promised more frames than it holds: shrink so the UI stays sane.
                log.warning(
                    "%s: frame %d does not decode; clip ends at %d frames",
                    self.path,
                    self._next,
                    self._next,
                )
                self.frame_count = self._next
                raise ClipError(
                    f"clip {self.path}: frame {index} does not decode "
                    f"(the file holds {self._next} frames)"
                )
            self._remember(self._next, frame)
            self._next += 1
        assert frame is not None
        return frame

    def close(self) -> None:
        """Release the decoder; safe to call twice."""
        self._cap.release()
        self._cache.clear()
