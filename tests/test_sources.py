import itertools
import threading
import time

import numpy as np
import pytest

import handplay.testing as ht
from handplay.sources import (
    CameraSource,
    IterableSource,
    SourceError,
    VideoFileSource,
    open_source,
)
from handplay.testing import FakeCapture


def _frame(value):
    return np.full((24, 32, 3), value, np.uint8)


def _drain(source, limit=1000):
    out = []
    while len(out) < limit:
        f = source.read(timeout=0.5)
        if f is None and source.ended:
            return out
        if f is not None:
            out.append(f)
    return out


def test_iterable_delivers_every_frame_with_a_media_clock():
    src = IterableSource([_frame(i) for i in range(10)], fps=20)
    first = src.open()
    frames = _drain(src)
    assert [f.index for f in frames] == list(range(10))
    assert frames[0] is first
    assert [int(f.image[0, 0, 0]) for f in frames] == list(range(10))
    assert np.allclose(np.diff([f.timestamp for f in frames]), 0.05)
    assert src.read() is None and src.ended


def test_bad_frames_and_empty_iterables_are_named():
    with pytest.raises(SourceError, match="gave no frames"):
        IterableSource([]).open()
    src = IterableSource([_frame(0), np.zeros((4, 4), np.uint8)])
    src.open()
    src.read()
    with pytest.raises(SourceError, match=r"frame 1 must be an H×W×3 uint8 BGR array, not \(4, 4"):
        src.read()


def test_video_file_reads_back_every_frame(tmp_path):
    clip = ht.write_clip(
        tmp_path / "c.mp4",
        ht.disc_clip([ht.linear_path((20, 20), (100, 60), 12, 8)], (128, 96), 12),
        fps=25,
    )
    src = VideoFileSource(clip, paced=False)
    src.open()
    frames = _drain(src)
    assert len(frames) == 12 and src.fps == pytest.approx(25)
    assert frames[0].image.shape == (96, 128, 3)
    src.close()
    src.close()  # twice is fine


def test_missing_video_is_named(tmp_path):
    with pytest.raises(SourceError, match=r"nothing\.mp4 does not exist"):
        open_source(str(tmp_path / "nothing.mp4")).open()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(SourceError, match="junk.mp4"):
        open_source(junk).open()


def test_open_source_dispatch():
    assert isinstance(open_source(0), CameraSource)
    assert isinstance(open_source("2"), CameraSource) and open_source("2").index == 2
    assert isinstance(open_source(iter([_frame(0)])), IterableSource)
    with pytest.raises(TypeError, match="camera index, a video path"):
        open_source(3.5)


def test_camera_that_does_not_open_names_index_and_fix():
    src = CameraSource(3, capture_factory=lambda i: FakeCapture(opened=False))
    with pytest.raises(
        SourceError, match=r"camera 3.*no other camera answered.*tried 0, 1, 2, 4, 5.*video file"
    ):
        src.open()


def test_camera_hint_names_the_cameras_a_probe_found():
    # only camera 2 exists: the hint after camera 7 fails says 2 (it used to say "try 8")
    src = CameraSource(7, capture_factory=lambda i: FakeCapture(opened=i == 2))
    with pytest.raises(SourceError, match=r"camera 7.*camera 2 answered: try --source 2") as e:
        src.open()
    assert "8" not in str(e.value)


def test_real_camera_path_fails_clearly_without_a_camera():
    with pytest.raises(SourceError, match="could not open camera 97"):
        CameraSource(97).open()


def test_live_camera_keeps_only_the_newest_frame():
    frames = [_frame(i) for i in range(256)]
    src = CameraSource(0, capture_factory=lambda i: FakeCapture(frames, delay=0.001))
    src.open()
    try:
        time.sleep(0.1)  # the grab thread reads ~100 frames meanwhile
        newest = src.read()
        time.sleep(0.05)
        after = src.read()
    finally:
        src.close()
    assert newest.index > 10  # not frame 1: stale frames were skipped, not queued
    assert after.index > newest.index + 5


def test_lost_camera_reconnects():
    captures = [FakeCapture(fail_after=5), FakeCapture()]
    factory = iter(captures + [FakeCapture()] * 10).__next__
    src = CameraSource(0, max_failures=3, capture_factory=lambda i: factory())
    src.open()
    saw_lost = threading.Event()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            src.read(timeout=0.05)
            if src.lost:
                saw_lost.set()
            if saw_lost.is_set() and not src.lost and src.reconnects:
                break
        frame = src.read(timeout=1.0)
    finally:
        src.close()
    assert saw_lost.is_set() and src.reconnects == 1
    assert captures[0].released and frame is not None


def test_paced_iterable_follows_fps():
    src = IterableSource(itertools.repeat(_frame(0), 6), fps=50, paced=True)
    src.open()
    t0 = time.monotonic()
    frames = _drain(src)
    assert len(frames) == 6
    # pacing: frame k is not delivered before its media time
    assert all(f.captured >= f.timestamp - 1e-3 for f in frames)
    assert time.monotonic() - t0 >= 0.09


# ---- one home for what users type and for opening devices (issue 12) ----------------------


def test_parse_source_and_parse_size():
    from handplay.sources import parse_size, parse_source

    assert parse_source("0") == 0 and parse_source(" 2 ") == 2
    assert parse_source("clip.mp4") == "clip.mp4"
    for bad in ("-1", "", "  "):
        with pytest.raises(ValueError, match="camera must be a camera index"):
            parse_source(bad)
    assert parse_size("320x192") == (320, 192) and parse_size("64X48") == (64, 48)
    for bad in ("320", "0x10", "axb", "1x2x3", "-3x4"):
        with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
            parse_size(bad)


def test_argument_type_keeps_the_message(capsys):
    import argparse

    from handplay.sources import argument_type, parse_size

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=argument_type(parse_size))
    assert parser.parse_args(["--size", "8x6"]).size == (8, 6)
    with pytest.raises(SystemExit):
        parser.parse_args(["--size", "big"])
    assert "--size: size must look like WIDTHxHEIGHT, e.g. 320x192, not 'big'" in (
        capsys.readouterr().err
    )


class _RecordingCapture(FakeCapture):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.props = {}

    def set(self, prop, value):
        self.props[prop] = value
        return True


def test_open_camera_asks_for_size_fps_and_mjpg_only_when_told():
    import cv2

    from handplay.sources import open_camera

    made = []

    def factory(index):
        made.append(_RecordingCapture(opened=index == 1))
        return made[-1]

    cap = open_camera(1, (640, 480), 30.0, mjpg=True, capture_factory=factory)
    assert cap.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert (cap.props[cv2.CAP_PROP_FRAME_WIDTH], cap.props[cv2.CAP_PROP_FRAME_HEIGHT]) == (640, 480)
    assert cap.props[cv2.CAP_PROP_FPS] == 30.0 and cv2.CAP_PROP_BUFFERSIZE not in cap.props
    live = open_camera(1, newest_only=True, capture_factory=factory)
    assert live.props == {cv2.CAP_PROP_BUFFERSIZE: 1}
    assert open_camera(0, capture_factory=factory) is None and made[-1].released
    with pytest.raises(SourceError, match="camera index must be 0 or more, not -1"):
        open_camera(-1, capture_factory=factory)
    assert len(made) == 3  # the negative index never reached the factory


def test_find_cameras_reports_each_camera_and_its_frame_size():
    from handplay.sources import CameraInfo, find_cameras, probe_cameras

    frames = {2: np.zeros((30, 40, 3), np.uint8), 4: np.zeros((12, 16, 3), np.uint8)}

    def factory(i):
        return FakeCapture([frames[i]] if i in frames else None, opened=i in frames)

    assert find_cameras(capture_factory=factory) == [CameraInfo(2, 40, 30), CameraInfo(4, 16, 12)]
    assert probe_cameras([4, -1, 3], capture_factory=factory) == [4]


def test_open_video_is_the_one_check_for_video_files(tmp_path):
    from handplay.sources import open_video

    with pytest.raises(SourceError, match="is a folder"):
        open_video(tmp_path)
    with pytest.raises(SourceError, match="does not exist"):
        open_video(tmp_path / "none.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"junk")
    with pytest.raises(SourceError, match="OpenCV cannot decode it"):
        open_video(tmp_path / "junk.mp4")
    clip = ht.write_clip(tmp_path / "ok.mp4", [_frame(0)] * 3)
    cap = open_video(clip)
    assert cap.read()[0]
    cap.release()
