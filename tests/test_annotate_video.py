"""Frame-accurate random access: every frame read is the one with that index in decode order."""

import cv2
import numpy as np
import pytest

from handplay.sources import SourceError
from training.annotate.video import ClipReader

BITS = 8


def _coded_clip(path, frames):
    """Frames whose top row of 8 blocks spells the frame number in binary."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (160, 120))
    rng = np.random.default_rng(0)
    for i in range(frames):
        img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)  # noise: hard to compress
        img[:40] = 0
        for b in range(BITS):
            if i >> b & 1:
                img[:40, b * 20 : b * 20 + 20] = 255
        writer.write(img)
    writer.release()
    return path


def _number(frame):
    return sum(1 << b for b in range(BITS) if frame[20, b * 20 + 10, 1] > 128)


def test_random_access_returns_the_right_frame(tmp_path):
    clip = ClipReader(_coded_clip(tmp_path / "c.mp4", 150), cache_frames=8)
    assert clip.frame_count == 150
    rng = np.random.default_rng(1)
    order = [0, 1, 2, 149, 148, 75, 76, 40, 39, 38, 120, 121, 5]
    order += [int(i) for i in rng.integers(0, 150, 60)]
    for i in order:
        assert _number(clip.frame(i)) == i


def test_reading_forward_matches_sequential_decode(tmp_path):
    path = _coded_clip(tmp_path / "c.mp4", 40)
    cap = cv2.VideoCapture(str(path))
    clip = ClipReader(path, cache_frames=4)
    for i in range(40):
        ok, ref = cap.read()
        assert ok and np.array_equal(clip.frame(i), ref)


def test_out_of_range_and_missing_files(tmp_path):
    clip = ClipReader(_coded_clip(tmp_path / "c.mp4", 5))
    with pytest.raises(IndexError, match="between 0 and 4, not 5"):
        clip.frame(5)
    # one error type for every video that does not open (handplay.sources.open_video)
    with pytest.raises(SourceError, match="nope.mp4 does not exist"):
        ClipReader(tmp_path / "nope.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(SourceError, match="junk.mp4"):
        ClipReader(tmp_path / "junk.mp4")
