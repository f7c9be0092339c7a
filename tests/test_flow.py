"""Optical-flow propagation on a synthetic textured hand moving on a known path."""

import math

import numpy as np
import pytest

from training.annotate import bench as flow_bench
from training.annotate import flow
from training.annotate.store import LabelStore
from training.labels import read_labels

FRAMES = 50
RADIUS = 40


@pytest.fixture(scope="module")
def scene():
    path = flow_bench.synthetic_path(FRAMES + 10)
    bg = flow_bench.synthetic_background()
    patch = flow_bench.textured_patch(RADIUS)
    return path, bg, patch


def test_track_marker_follows_the_hand_within_1_5_px_for_50_frames(scene):
    path, bg, patch = scene
    grays = [flow.to_gray(flow_bench.render_scene(bg, patch, *p)) for p in path[:FRAMES]]
    x, y, r = *path[0], float(RADIUS)
    steps = np.hypot(*np.diff(path[:FRAMES], axis=0).T)
    assert steps.max() > 8  # the path is brisk, not a crawl
    for i in range(1, FRAMES):
        res = flow.track_marker(grays[i - 1], grays[i], x, y, r)
        assert res.ok, f"frame {i}: {res.reason}"
        x, y, r = res.x, res.y, res.r
        assert math.hypot(x - path[i][0], y - path[i][1]) <= 1.5, f"frame {i}"
    assert r == pytest.approx(RADIUS, rel=0.05)


@pytest.mark.parametrize("occluder", ["flat board", "textured object"])
def test_propagation_stops_with_a_flag_when_the_hand_is_covered(tmp_path, scene, occluder):
    path, bg, patch = scene
    covered_from = 30
    other = flow_bench.textured_patch(70, seed=9)

    def frame(i):
        img = flow_bench.render_scene(
            bg, patch, *path[i], occluder=occluder == "flat board" and i >= covered_from
        )
        if occluder == "textured object" and i >= covered_from:
            img = flow_bench.render_scene(img, other, path[i][0] + 3, path[i][1] - 4)
        return flow.to_gray(img)

    grays = [frame(i) for i in range(FRAMES)]
    store = LabelStore(tmp_path / "c.labels.jsonl", 640, 480)
    store.add(0, *path[0], RADIUS)
    last = store.propagate_range(0, FRAMES - 1, grays.__getitem__)

    assert last == covered_from - 1
    for f in range(1, covered_from):
        (h,) = store.hands(f)
        assert h.label_source == "flow"
        assert math.hypot(h.x - path[f][0], h.y - path[f][1]) <= 1.5
    (stopped,) = store.hands(covered_from - 1)
    assert stopped.flag.startswith("flow stopped")
    assert not store.annotated(covered_from)
    on_disk = {r.frame: r.hands for r in read_labels(store.path)}
    assert on_disk[covered_from - 1][0].flag == stopped.flag
    assert store.flagged() == [covered_from - 1]


def test_a_marker_off_the_frame_is_not_tracked():
    gray = np.zeros((120, 160), np.uint8)
    res = flow.track_marker(gray, gray, -200.0, 50.0, 20.0)
    assert not res.ok and "off the frame" in res.reason


def test_a_flat_image_gives_no_reliable_motion():
    gray = np.full((120, 160), 90, np.uint8)
    assert not flow.track_marker(gray, gray, 80.0, 60.0, 20.0).ok


def test_track_marker_rejects_mismatched_frames_and_bad_radius():
    a = np.zeros((10, 10), np.uint8)
    with pytest.raises(ValueError, match="same size"):
        flow.track_marker(a, np.zeros((10, 11), np.uint8), 5, 5, 3)
    with pytest.raises(ValueError, match="radius must be greater than 0, not 0"):
        flow.track_marker(a, a, 5, 5, 0)


def test_interpolate():
    assert flow.interpolate((0, 10, 4), (10, 20, 8), 0.25) == (2.5, 12.5, 5.0)
    with pytest.raises(ValueError, match="between 0 and 1, not 1.5"):
        flow.interpolate((0, 0, 1), (1, 1, 1), 1.5)


def test_bench_reports_accuracy_and_speed():
    out = flow_bench.bench(frames=12, radius=30)
    assert out["error_px_max"] < 1.5
    assert out["ms_per_frame_median"] > 0
