"""The detector's second look: the strongest candidates rescored on magnified patches."""

import numpy as np
import onnx
import pytest

import handplay.testing as ht
from handplay import Detector
from handplay.detector import LOOK_FLOOR, look_patch
from handplay.peaks import Detection

DISCS = [(160.0, 150.0, 24.0), (460.0, 220.0, 30.0), (300.0, 80.0, 12.0)]


def test_looks_zero_is_the_frame_pass_and_a_look_keeps_position_and_radius(disc_model):
    frame = ht.render_disc_frame((640, 360), DISCS)
    one = sorted(Detector(disc_model, looks=0).detect(frame), key=lambda d: d.x)
    two = sorted(Detector(disc_model).detect(frame), key=lambda d: d.x)
    assert len(one) == len(two) == 3
    for a, b in zip(one, two, strict=True):
        assert (a.x, a.y, a.radius) == (b.x, b.y, b.radius)
        # the looked-at score is the mean of the frame's peak and the patch's, and the patch
        # (the disc magnified, centred) sees the disc: its peak is well above zero
        patch_peak = 2 * b.score - a.score
        assert 0.4 < patch_peak <= 1.0 + 1e-6 and b.score != a.score


def test_a_look_is_centred_on_its_candidate_and_scaled_by_its_radius(disc_model):
    det = Detector(disc_model)
    frame = ht.render_disc_frame((640, 360), [(200.0, 180.0, 24.0)])

    def look(x: float, y: float, radius: float, score: float, scale: float = 0.5) -> float:
        # scale: the frame pass's (640x360 into 320x180 is 0.5)
        return det._second_look(frame, [Detection(x, y, radius, score, None)], scale)[0].score

    # a weak candidate on the disc is confirmed (its score rises) ...
    assert look(200.0, 180.0, 24.0, 0.31) > 0.5
    # ... a strong one on blank background, or two radii off the disc, is halved
    assert look(500.0, 100.0, 24.0, 0.9) == pytest.approx(0.45, abs=0.02)
    assert look(248.0, 180.0, 24.0, 0.9) == pytest.approx(0.45, abs=0.02)
    # the patch is LOOK_SPAN radii wide: 1.5 radii off, the disc is 12 cells from the patch's
    # centre; with a radius 8 times larger the patch shrinks it 8 times and finds it again (at
    # a frame-pass scale where that radius is still small enough to be looked at)
    assert look(236.0, 180.0, 24.0, 0.9) == pytest.approx(0.45, abs=0.02)
    assert look(236.0, 180.0, 192.0, 0.9, scale=0.1) > 0.6
    # a hand the patch would not magnify (already 8 cells or more in the frame pass: 2 × 32 =
    # 64 frame px at scale 0.5) is not looked at
    assert look(500.0, 100.0, 63.0, 0.9) == pytest.approx(0.45, abs=0.02)
    assert look(500.0, 100.0, 64.0, 0.9) == 0.9


def test_only_the_strongest_candidates_get_a_look(disc_model):
    frame = ht.render_disc_frame((640, 360), DISCS)
    one = {(d.x, d.y): d.score for d in Detector(disc_model, looks=0).detect(frame)}
    det = Detector(disc_model, looks=1)
    found = det.detect(frame)
    changed = [d for d in found if d.score != one[(d.x, d.y)]]
    assert len(found) == 3 and len(changed) == 1
    # the one looked at is the frame pass's strongest, and the result is strongest first again
    strongest = max(one, key=one.get)
    assert (changed[0].x, changed[0].y) == strongest
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    assert set(det.timings) == {"preprocess", "inference", "peaks", "look"}
    det.looks = 3  # raised after construction: all three are looked at
    assert sorted(d.score for d in det.detect(frame)) == pytest.approx(
        sorted(d.score for d in Detector(disc_model, looks=3).detect(frame))
    )


def test_a_candidate_below_the_look_floor_is_not_looked_at(disc_model):
    det = Detector(disc_model)
    frame = ht.render_disc_frame((640, 360), [(200.0, 180.0, 24.0)])
    weak = Detection(200.0, 180.0, 24.0, LOOK_FLOOR - 0.01, None)
    assert det._second_look(frame, [weak], 0.5) == [weak]


def test_open_is_read_from_the_look(open_disc_model):
    frame = ht.render_disc_frame((640, 360), [(160.0, 150.0, 24.0, True), (460, 200, 24, False)])
    found = sorted(Detector(open_disc_model).detect(frame), key=lambda d: d.x)
    assert len(found) == 2 and found[0].open > 0.9 and found[1].open < 0.1
    # the frame pass's open and the look's agree on discs, to within the read-out's averaging
    one = sorted(Detector(open_disc_model, looks=0).detect(frame), key=lambda d: d.x)
    assert np.allclose([d.open for d in found], [d.open for d in one], atol=0.1)


@pytest.mark.parametrize("looks", [-1, 1.5, "4"])
def test_looks_must_be_a_whole_number(disc_model, looks):
    with pytest.raises(ValueError, match=r"looks must be a whole number from 0 .*"):
        Detector(disc_model, looks=looks)


def _with_input_dims(model_path, out_path, dims):
    """A copy of the model whose input has these dims (ints fixed, strings dynamic)."""
    model = onnx.load(model_path)
    (image,) = [i for i in model.graph.input if i.name == "image"]
    for dim, value in zip(image.type.tensor_type.shape.dim, dims, strict=True):
        dim.Clear()
        if isinstance(value, int):
            dim.dim_value = value
        else:
            dim.dim_param = value
    onnx.save(model, out_path)
    return out_path


def test_a_model_with_a_fixed_batch_of_one_looks_one_patch_at_a_time(disc_model, tmp_path):
    frame = ht.render_disc_frame((640, 360), DISCS)
    one = _with_input_dims(disc_model, tmp_path / "n1.onnx", (1, 3, "H", "W"))
    batched = Detector(disc_model).detect(frame)
    single = Detector(one).detect(frame)
    assert len(single) == 3 and [d.score for d in single] == pytest.approx(
        [d.score for d in batched], abs=1e-6
    )


def test_a_model_with_a_fixed_input_size_gets_no_second_look(disc_model, tmp_path):
    fixed = _with_input_dims(disc_model, tmp_path / "fixed.onnx", (1, 3, 180, 320))
    det = Detector(fixed)
    assert det.looks == 0
    frame = ht.render_disc_frame((640, 360), DISCS)
    assert det.detect(frame) == Detector(disc_model, looks=0).detect(frame)


@pytest.mark.parametrize(("x", "y", "scale"), [(40.3, 30.7, 2.5), (10.0, 5.0, 1.3), (60, 45, 0.7)])
def test_the_patch_is_the_frame_resampled_around_the_candidate(x, y, scale):
    # linear interpolation is exact on a linear ramp: blue = 3 x column, green = 3 x row
    cols, rows = np.meshgrid(np.arange(85), np.arange(66))
    ramp = np.stack([3 * cols, 3 * rows, np.zeros_like(cols)], axis=-1).astype(np.uint8)
    patch = look_patch(ramp, x, y, scale)
    assert patch.shape == (3, 96, 96) and patch.dtype == np.float32
    got = patch * 255 / 3  # in frame columns (blue, channel 2) and rows (green, channel 1)
    # patch pixel j samples x0 + (j + 0.5) / fx - 0.5: a crop from the frame pixel x0 and a
    # scale within 3 % of the one asked for that puts (x, y) exactly at the patch's middle
    x0, y0 = np.floor(x - 48 / scale + 1), np.floor(y - 48 / scale + 1)
    fx, fy = 48 / (x - x0 + 0.5), 48 / (y - y0 + 0.5)
    assert abs(fx / scale - 1) < 0.031 and abs(fy / scale - 1) < 0.031
    j = np.arange(96)
    want_x, want_y = x0 + (j + 0.5) / fx - 0.5, y0 + (j + 0.5) / fy - 0.5
    assert (want_x[47] + want_x[48]) / 2 == pytest.approx(x)
    assert (want_y[47] + want_y[48]) / 2 == pytest.approx(y)
    # inside the frame (and off the patch's outermost pixels, which the resize takes from the
    # crop's edge): the ramp, to OpenCV's fixed-point rounding (under a grey level, 1/3 px)
    ok_x = (want_x >= 1) & (want_x <= 83) & (j >= 2) & (j <= 93)
    ok_y = (want_y >= 1) & (want_y <= 64) & (j >= 2) & (j <= 93)
    assert ok_x.sum() > 20 and ok_y.sum() > 20
    block = np.ix_(ok_y, ok_x)
    assert np.abs(got[2][block] - want_x[None, ok_x]).max() <= 1 / 3
    assert np.abs(got[1][block] - want_y[ok_y, None]).max() <= 1 / 3


def test_outside_the_frame_the_patch_is_black():
    frame = np.full((100, 100, 3), 200, np.uint8)
    patch = look_patch(frame, 0.0, 50.0, 1.0)  # the left half of the patch is off the frame
    assert patch[:, :, :47].max() == 0 and patch[:, :, 49:].min() == pytest.approx(200 / 255)
    far = look_patch(frame, -500.0, -500.0, 1.0)  # wholly outside
    assert far.max() == 0


def test_input_refuses_bad_looks_on_construction():
    import handplay

    with pytest.raises(ValueError, match=r"looks must be a whole number from 0 .*-2"):
        handplay.Input(looks=-2)
