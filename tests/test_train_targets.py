import numpy as np
import pytest

from training.labels import HandLabel
from training.targets import Targets, check_targets, from_grid, make_targets, to_grid


def test_peak_is_one_at_the_labelled_centre_cell():
    # x=41.5 -> grid 10.0 ; y=17.5 -> grid 4.0 (cell centres at (j+0.5)*s-0.5)
    t = make_targets([HandLabel(41.5, 17.5, 12.0)], image_size=(96, 64), stride=4)
    assert t.heatmap.shape == (16, 24) and t.heatmap.dtype == np.float32
    assert np.unravel_index(t.heatmap.argmax(), t.heatmap.shape) == (4, 10)
    assert t.heatmap[4, 10] == 1.0
    assert 0.0 <= t.heatmap.min() and t.heatmap.max() <= 1.0
    assert t.size[4, 10] == 12.0
    assert t.ignore.max() == 0.0


def test_sub_cell_offset_shows_in_neighbours():
    t = make_targets([HandLabel(42.5, 17.5, 12.0)], image_size=(96, 64), stride=4)
    assert t.heatmap[4, 10] == 1.0
    assert t.heatmap[4, 11] > t.heatmap[4, 9]


def test_other_hand_is_ignored_and_overlaps_combine_by_max():
    hands = [
        HandLabel(20, 20, 10, "open"),
        HandLabel(26, 20, 10, "open"),
        HandLabel(70, 40, 8, "other"),
    ]
    t = make_targets(hands, image_size=(96, 64), stride=4)
    assert t.heatmap.max() == 1.0 and (t.heatmap == 1.0).sum() == 2
    gi, gj = round(to_grid(40, 4)), round(to_grid(70, 4))
    assert t.ignore[gi, gj] == 1.0 and t.heatmap[gi, gj] < 1e-3
    assert t.ignore[round(to_grid(20, 4)), round(to_grid(20, 4))] == 0.0


def test_hand_centre_outside_image_is_ignored_not_a_target():
    t = make_targets([HandLabel(-5, 30, 10)], image_size=(64, 64), stride=4)
    assert t.heatmap.max() == 0.0 and t.ignore[7, 0] == 1.0


def test_grid_round_trip_and_range_check():
    assert from_grid(to_grid(13.25, 4), 4) == pytest.approx(13.25)
    bad = Targets(
        np.full((2, 2), 255, np.float32), np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32)
    )
    with pytest.raises(ValueError, match="0..1"):
        check_targets(bad)


def test_every_hand_is_a_heatmap_target_and_only_known_hands_train_the_open_head():
    hands = [
        HandLabel(20, 20, 10, "open"),
        HandLabel(60, 20, 10, "other"),
        HandLabel(20, 48, 10, "hand"),  # a hand whose openness is unknown
        HandLabel(60, 48, 10, "maybe"),  # perhaps an unlabelled hand: masked everywhere
    ]
    t = make_targets(hands, image_size=(96, 64), stride=4, others="target")
    cell = [(round(to_grid(h.y, 4)), round(to_grid(h.x, 4))) for h in hands]
    assert [t.heatmap[c] for c in cell[:3]] == [1.0, 1.0, 1.0] and t.heatmap[cell[3]] < 1e-3
    assert t.ignore[cell[3]] == 1.0 and t.open_mask[cell[3]] == 0.0
    assert (t.open_mask[cell[0]], t.open[cell[0]]) == (1.0, 1.0)
    assert (t.open_mask[cell[1]], t.open[cell[1]]) == (1.0, 0.0)
    assert t.open_mask[cell[2]] == 0.0
    assert t.open_mask[0, 12] == 0.0  # background far from every hand
    # format-1 targets: only the open hand, no open maps
    t1 = make_targets(hands, image_size=(96, 64), stride=4)
    assert t1.heatmap[cell[0]] == 1.0 and t1.heatmap[cell[1]] < 1e-3 and t1.open_mask.sum() == 0
    with pytest.raises(ValueError, match="others must be one of"):
        make_targets(hands, (96, 64), 4, others="all")
