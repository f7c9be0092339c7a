"""training.record on a video file source (no camera needed) and its camera error."""

import json

import cv2
import numpy as np
import pygame
import pytest

from handplay.sources import SourceError
from training.annotate import record
from training.annotate.video import ClipReader


def _source_clip(path, frames=20, size=(160, 120)):
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
    for i in range(frames):
        img = np.full((h, w, 3), 40, np.uint8)
        cv2.circle(img, (20 + 5 * i, 60), 15, (0, 0, 255), -1)
        writer.write(img)
    writer.release()
    return path


def test_record_writes_a_clip_that_reads_back_with_every_frame(tmp_path, capsys):
    src = _source_clip(tmp_path / "src.mp4", frames=20)
    out = tmp_path / "clips"
    argv = [
        "--camera",
        str(src),
        "--out",
        str(out),
        "--name",
        "take",
        "--countdown",
        "0",
        "--start",
    ]
    assert record.main(argv) == 0

    clip = ClipReader(out / "take.mp4")
    assert (clip.frame_count, clip.width, clip.height) == (20, 160, 120)
    original = ClipReader(src)
    for i in (0, 7, 19):
        diff = np.abs(clip.frame(i).astype(int) - original.frame(i).astype(int)).mean()
        assert diff < 6, f"frame {i} differs from the source"
    meta = json.loads((out / "take.meta.json").read_text())
    assert meta["frames"] == 20
    assert (meta["width"], meta["height"], meta["fps"]) == (160, 120, 30.0)
    assert meta["camera"] == str(src) and meta["date"][:2] == "20"
    assert "python -m training.annotate" in capsys.readouterr().out


def test_keys_start_and_stop_recordings(tmp_path):
    src = _source_clip(tmp_path / "src.mp4", frames=30)
    rec = record.Recorder(str(src), tmp_path / "out", countdown=0, name="a")
    try:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0))
        rec.run(max_frames=5)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_r, mod=0))
        rec.run(max_frames=3)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0))
        rec.run(max_frames=3)
    finally:
        rec.close()
    assert [m["frames"] for m in rec.saved] == [5, 3]
    assert [m["clip"] for m in rec.saved] == ["a.mp4", "a-2.mp4"]
    assert ClipReader(tmp_path / "out" / "a-2.mp4").frame_count == 3


def test_countdown_delays_the_first_recorded_frame(tmp_path):
    src = _source_clip(tmp_path / "src.mp4", frames=30)
    rec = record.Recorder(str(src), tmp_path / "out", countdown=60, name="late")
    try:
        rec.toggle()
        rec.run(max_frames=4)  # frames 0-3 go by during the countdown: nothing is written
        assert rec.writer is None and not (tmp_path / "out" / "late.mp4").exists()
        rec.count_until = 0.0  # the countdown is over (instead of waiting 60 s)
        rec.run(max_frames=6)  # frames 4-9 are recorded
    finally:
        rec.close()
    assert [m["frames"] for m in rec.saved] == [6]
    clip, original = ClipReader(tmp_path / "out" / "late.mp4"), ClipReader(src)
    assert clip.frame_count == 6
    for i in range(6):  # the clip starts at the frame after the countdown, not at frame 0
        diff = np.abs(clip.frame(i).astype(int) - original.frame(4 + i).astype(int)).mean()
        assert diff < 6, f"clip frame {i} is not source frame {4 + i}"
    assert np.abs(clip.frame(0).astype(int) - original.frame(0).astype(int)).mean() > 6


def test_a_second_key_during_the_countdown_cancels_it(tmp_path):
    src = _source_clip(tmp_path / "src.mp4", frames=10)
    rec = record.Recorder(str(src), tmp_path / "out", countdown=60)
    try:
        rec.toggle()
        rec.toggle()
        assert rec.count_until is None and "cancelled" in rec.message
    finally:
        rec.close()


def test_a_camera_that_does_not_open_is_named(capsys):
    assert record.main(["--camera", "97"]) == 2
    err = capsys.readouterr().err
    assert "camera index 97 does not open" in err and "--list" in err


def test_missing_video_file_is_named(tmp_path):
    with pytest.raises(SourceError, match=r"nope\.mp4 does not exist"):
        record.open_source(str(tmp_path / "nope.mp4"), None)
