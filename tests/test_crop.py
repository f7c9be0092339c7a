"""The play-area crop: the detector reads only the play area plus a margin, and positions still
map exactly to frame pixels and to the screen (issue 14). Known red discs, the disc model."""

import time

import numpy as np
import pytest

import handplay
import handplay.testing as ht
from handplay import Calibration, Detector
from handplay.calibration import PLAY_AREA_MARGIN

FRAME = (800, 450)


def _by_position(detections):
    return sorted(detections, key=lambda d: (d.x, d.y))


def test_a_crop_is_the_cropped_frame_shifted_exactly(disc_model):
    """detect(frame, roi) is detect(the cropped pixels) moved by the roi's corner, to 1e-9 px:
    the crop adds no offset, rounding or scale of its own."""
    det = Detector(disc_model)
    frame = ht.render_disc_frame(FRAME, [(300.3, 200.7, 25.0), (520.6, 310.2, 18.0)])
    roi = (157, 61, 677, 433)  # odd corners and an odd size: a non-integer scale
    x0, y0, x1, y1 = roi
    crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
    got = _by_position(det.detect(frame, roi))
    want = _by_position(det.detect(crop))
    assert len(got) == len(want) == 2
    for g, w in zip(got, want, strict=True):
        assert g.x == pytest.approx(w.x + x0, abs=1e-9) and g.y == pytest.approx(w.y + y0, abs=1e-9)
        assert (g.radius, g.score) == (w.radius, w.score)
    np.testing.assert_array_equal(det.heatmap(frame, roi), det.heatmap(crop))


@pytest.mark.parametrize("roi", [(0, 0, 800, 450), (200, 100, 600, 400), (257, 131, 541, 339)])
def test_discs_inside_the_crop_are_found_where_they_are(disc_model, roi):
    """Sub-pixel positions and radii of known discs, with and without a crop, agree with the
    truth and with each other (the crop only changes how many pixels each disc gets)."""
    det = Detector(disc_model)
    discs = [(300.3, 200.7, 24.0), (450.8, 270.4, 16.0)]
    frame = ht.render_disc_frame(FRAME, discs)
    whole = _by_position(det.detect(frame))
    cropped = _by_position(det.detect(frame, roi))
    assert len(whole) == len(cropped) == 2
    for (x, y, r), a, b in zip(discs, whole, cropped, strict=True):
        assert np.hypot(b.x - x, b.y - y) < 1.0, (b, x, y)
        assert np.hypot(b.x - a.x, b.y - a.y) < 1.0
        assert b.radius == pytest.approx(r, rel=0.12)


def test_discs_outside_the_crop_are_not_found(disc_model):
    det = Detector(disc_model)
    frame = ht.render_disc_frame(FRAME, [(100.0, 100.0, 20.0), (400.0, 225.0, 20.0)])
    assert len(det.detect(frame)) == 2
    [d] = det.detect(frame, (250, 100, 550, 350))
    assert abs(d.x - 400) < 1 and abs(d.y - 225) < 1


@pytest.mark.parametrize("roi", [(0, 0, 801, 450), (10, 10, 10, 20), (-1, 0, 5, 5), (0.5, 0, 9, 9)])
def test_a_roi_outside_the_frame_is_refused(disc_model, roi):
    frame = ht.render_disc_frame(FRAME, [])
    with pytest.raises(ValueError, match=r"roi must be \(x0, y0, x1, y1\).*800x450"):
        Detector(disc_model).detect(frame, roi)


def test_detection_roi_is_the_mirrored_play_area_plus_the_margin():
    m = PLAY_AREA_MARGIN * 450  # 27 px
    plain = Calibration(mirror=False, play_area=(0.25, 0.2, 0.75, 0.6))
    assert plain.detection_roi(FRAME) == (200 - m, 90 - m, 600 + m, 270 + m)
    # mirrored: the view's left part is the camera's right part
    mirrored = Calibration(mirror=True, play_area=(0.0, 0.2, 0.5, 0.6))
    assert mirrored.detection_roi(FRAME) == (400 - m, 90 - m, 800, 270 + m)
    assert Calibration().detection_roi(FRAME) == (0, 0, 800, 450)


def _hands(frames, cal, model):
    with handplay.Input(
        frames, model=model, calibration=cal, screen_size=(1280, 720), post_events=False
    ) as inp:
        deadline = time.monotonic() + 10
        while not inp.hands and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # let the tracker settle on a still hand
        return inp.hands, inp.latest_roi, inp.latest_heatmap.shape


def test_input_reads_the_play_area_and_maps_hands_to_the_screen(disc_model):
    """Through Input as a game uses it: a mirrored play area over the camera's right half; the
    disc inside maps to the screen where the calibration says, the disc outside the area and
    its margin is never seen."""
    inside, outside = (560.4, 250.6, 22.0), (120.0, 200.0, 22.0)
    frames = [ht.render_disc_frame(FRAME, [inside, outside], seed=i % 8) for i in range(60)]
    cal = Calibration(mirror=True, play_area=(0.0, 0.1, 0.5, 0.9))
    hands, roi, heat_shape = _hands(frames, cal, disc_model)
    assert roi == cal.detection_roi(FRAME) and roi[0] > outside[0] + outside[2]
    [hand] = hands
    expected = cal.to_screen(inside[0], inside[1], FRAME, (1280, 720))
    assert hand.pos == pytest.approx(expected, abs=1.0)
    assert hand.norm_pos == pytest.approx(cal.to_norm(inside[0], inside[1], FRAME), abs=2e-3)
    # the heatmap covers the crop, at the crop's scale (more cells than the whole frame gets)
    assert heat_shape[1] > 320 / 4 * (roi[2] - roi[0]) / FRAME[0]
    # the whole view, as before the crop: both discs
    hands, roi, _ = _hands(frames, Calibration(mirror=True), disc_model)
    assert len(hands) == 2 and roi == (0, 0) + FRAME


def test_preview_tints_the_heatmap_over_the_crop_only(pygame_display):
    """A preview of a cropped run (inp.latest_roi) puts the heatmap over the crop, not the
    whole frame."""
    import pygame

    from handplay._calibrate_view import preview_surface

    frame = np.zeros((480, 640, 3), np.uint8)
    heat = np.ones((30, 40), np.float32)
    tinted = pygame.surfarray.array3d(  # (x, y, rgb) of a 320x240 preview
        preview_surface(frame, heat, (320, 240), False, roi=(320, 0, 640, 240))
    ).sum(axis=2)
    assert tinted[170:, :120].min() > 0 and tinted[:160].max() == 0 and tinted[:, 120:].max() == 0
    whole = pygame.surfarray.array3d(preview_surface(frame, heat, (320, 240), False))
    assert whole.sum(axis=2).min() > 0
