"""Reach: the calibration's or Input's choice of the detector's input size, and the suggestion
the calibration screen makes from the hands it sees (issue 14)."""

import itertools

import pytest

import handplay
import handplay.testing as ht
from handplay import Calibration
from handplay.reach import (
    MIN_RADIUS_CELLS,
    check_reach,
    radius_cells,
    reach_size,
    reach_sizes,
    suggest_reach,
)

SHIPPED = (320, 192)


def test_named_reaches_scale_the_models_own_size():
    assert reach_sizes(SHIPPED, 4) == {"near": (320, 192), "room": (480, 288), "hall": (640, 384)}
    # the disc model's 320x180: 1.5 x 180 = 270 is rounded up to the stride
    assert reach_sizes((320, 180), 4) == {
        "near": (320, 180),
        "room": (480, 272),
        "hall": (640, 360),
    }
    assert reach_size("800x480", SHIPPED, 4) == (800, 480)


@pytest.mark.parametrize("bad", ["far", "640x", "0x384", "640*384", 640, None, ""])
def test_bad_reach_lists_the_choices(bad):
    with pytest.raises(ValueError, match=r"reach must be one of \['near', 'room', 'hall'\]"):
        check_reach(bad)


def test_an_explicit_size_must_be_a_multiple_of_the_stride():
    with pytest.raises(ValueError, match=r"'642x384'.*stride 4; use '644x384'"):
        reach_size("642x384", SHIPPED, 4)


def test_reach_in_the_calibration_file_round_trips_and_is_checked(tmp_path):
    path = Calibration(reach="room").save(tmp_path / "c.json")
    assert Calibration.load(path).reach == "room"
    path.write_text('{"reach": "far away"}')
    with pytest.raises(ValueError, match=r"c\.json: reach must be one of .* not 'far away'"):
        Calibration.load(path)
    assert Calibration().reach == "near"  # an old file without the key


def _input_size(model, **kwargs):
    frames = itertools.repeat(ht.render_disc_frame((640, 360), []))
    with handplay.Input(frames, model=model, post_events=False, **kwargs) as inp:
        return inp.detector.input_size


def test_reach_from_the_calibration_file_reaches_the_detector(disc_model, tmp_path):
    """As users set it: the calibration screen saves the file, Input(calibration=None) reads
    it and the detector runs at that reach's size."""
    Calibration(reach="hall").save()  # the user's default file (a private folder in tests)
    assert _input_size(disc_model) == (640, 360)
    Calibration(reach="480x288").save()
    assert _input_size(disc_model) == (480, 288)
    path = Calibration(reach="room").save(tmp_path / "room.json")
    assert _input_size(disc_model, calibration=path) == (480, 272)
    # Input's own reach (or an input size) wins over the file's
    assert _input_size(disc_model, calibration=path, reach="near") == (320, 180)
    assert _input_size(disc_model, calibration=path, input_size=(160, 96)) == (160, 96)


def test_bad_reach_arguments_are_refused(disc_model):
    with pytest.raises(ValueError, match="reach or input_size, not both"):
        handplay.Input([], reach="hall", input_size=(640, 384))
    with pytest.raises(ValueError, match="reach must be one of"):
        handplay.Input([], reach="everywhere")
    with pytest.raises(ValueError, match="multiples of the model's stride 4; use '644x384'"):
        _input_size(disc_model, reach="642x384")


def test_suggested_reach_follows_the_hand_sizes():
    sizes = reach_sizes(SHIPPED, 4)
    frame = (640, 480)  # scale 0.4 into 320x192 at near: a 30 px radius is 3 cells

    def suggest(radius, crop=frame):
        return suggest_reach([radius * f for f in (0.9, 1.0, 1.1)], crop, 4, sizes)

    assert suggest(60.0) == "near"  # 6 cells at near
    assert suggest(31.0) == "near"
    assert suggest(25.0) == "room"  # 2.5 cells at near, 3.75 at room
    assert suggest(16.0) == "hall"  # 3.2 cells at hall
    assert suggest(5.0) == "hall", "the farthest reach when even it falls short"
    assert suggest_reach([], frame, 4, sizes) is None
    # a play area half the view's width and height doubles the pixels per hand: near reads it
    # at the scale hall reads the whole view
    assert suggest(16.0, crop=(320, 240)) == "near"
    assert suggest(12.0, crop=(320, 240)) == "room"
    assert radius_cells(30.0, frame, SHIPPED, 4) == pytest.approx(MIN_RADIUS_CELLS)
