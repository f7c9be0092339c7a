"""Runtime preprocessing (contract.letterbox, cv2.resize) and training's (cv2.warpAffine with
contract.letterbox_matrix) give the same pixels, so the net sees at run time what it learnt on.

Tolerance: 1 grey level. The two OpenCV paths interpolate with different fixed-point steps
(resize: 11-bit weights; warpAffine: positions in 1/32 pixel), so about 1 pixel in 10 differs
by one level; a geometric mismatch (a scale or offset off by a fraction of a pixel) shows as
tens of levels on the noise images used here.
"""

import cv2
import numpy as np
import pytest

from handplay import contract as c

SIZES = [(640, 480), (800, 600), (1280, 720), (333, 217), (403, 297), (217, 333), (160, 96),
         (100, 60), (1000, 37)]  # fmt: skip


def _frame(rng, w, h):
    noise = rng.integers(0, 256, (h, w, 3), np.uint8)  # worst case: every sub-pixel shows
    return noise


@pytest.mark.parametrize("frame_wh", SIZES)
def test_letterbox_matches_training_warp_within_one_level(frame_wh):
    rng = np.random.default_rng(sum(frame_wh))
    frame = _frame(rng, *frame_wh)
    size = c.oriented_size(frame_wh, (320, 192))
    canvas, s = c.letterbox(frame, size)
    rw, rh = round(frame_wh[0] * s), round(frame_wh[1] * s)
    m = c.letterbox_matrix(s)
    # resize clamps at the frame's edge: compare with the same border rule
    warped = cv2.warpAffine(frame, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    diff = np.abs(canvas[:rh, :rw].astype(int) - warped[:rh, :rw].astype(int))
    assert diff.max() <= 1, (frame_wh, diff.max())
    assert diff.mean() < 0.2
    assert not canvas[rh:].any() and not canvas[:, rw:].any(), "the padding is black"
    # training pads with a constant (black, or a random colour), which blends into the pixels
    # within half a source pixel of the frame's edge; inside that they are the same
    black = cv2.warpAffine(frame, m, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    e = 1 + int(np.ceil(s / 2))
    inner = np.abs(canvas[e : rh - e, e : rw - e].astype(int) - black[e : rh - e, e : rw - e])
    assert inner.max() <= 1


def test_letterbox_places_a_point_where_the_matrix_says():
    frame = np.zeros((217, 333, 3), np.uint8)
    frame[150, 300] = 255  # far from the origin, where a scale error is largest
    canvas, s = c.letterbox(frame, (320, 192))
    ys, xs = np.nonzero(canvas[:, :, 0])
    weights = canvas[ys, xs, 0].astype(float)
    centre = np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()
    expected = c.letterbox_matrix(s) @ np.array([300.0, 150.0, 1.0])
    assert centre == pytest.approx(expected, abs=0.05)


def test_letterbox_reuses_the_canvas():
    out = np.full((192, 320, 3), 7, np.uint8)
    canvas, _ = c.letterbox(np.full((217, 333, 3), 9, np.uint8), (320, 192), out=out)
    assert canvas is out and out[0, 0, 0] == 9 and out[-1, -1, 0] == 0
