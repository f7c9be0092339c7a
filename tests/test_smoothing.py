import numpy as np
import pytest

from handplay.accuracy import RawFilter
from handplay.accuracy import evaluate_filter as evaluate
from handplay.smoothing import KalmanFilter, OneEuroFilter, Smoothing


def test_one_euro_cuts_jitter_with_little_lag():
    raw = evaluate(RawFilter)
    one_euro = evaluate(OneEuroFilter)
    assert one_euro["jitter_px"] < 0.5 * raw["jitter_px"]
    assert one_euro["lag_ms"] < 15
    assert one_euro["overshoot_px"] < raw["overshoot_px"]


def test_kalman_overshoots_a_stopping_swipe_more_than_one_euro():
    assert evaluate(KalmanFilter)["overshoot_px"] > 2 * evaluate(OneEuroFilter)["overshoot_px"]


@pytest.mark.parametrize("make", [OneEuroFilter, KalmanFilter])
def test_filters_converge_on_a_still_point_and_report_velocity(make):
    f = make()
    for i in range(60):
        out = f(np.array([100.0, 50.0]), i / 30, 20.0)
    assert out == pytest.approx([100.0, 50.0], abs=1e-3)
    f2 = make()
    for i in range(60):
        f2(np.array([100.0 + 10 * i, 50.0]), i / 30, 20.0)  # 300 px/s to the right
    assert f2.velocity[0] == pytest.approx(300, rel=0.1)


def test_settings_scale_with_hand_size():
    # the same motion in radii gives the same smoothing in radii, for small and large hands
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, (90, 2))
    outs = []
    for r in (10.0, 80.0):
        f = OneEuroFilter(Smoothing())
        outs.append(np.array([f(noise[i] * r, i / 30, r) / r for i in range(90)]))
    assert np.allclose(outs[0], outs[1], atol=1e-9)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="beta must be greater than 0"):
        Smoothing(beta=0)
