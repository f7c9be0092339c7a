"""LabelStore: edits, undo/redo, saving, interpolation and propagation rules (no display)."""

import dataclasses
import json
import os

import cv2
import numpy as np
import pytest

from training.annotate import bench as flow_bench
from training.annotate import flow
from training.annotate.store import LabelStore
from training.labels import HandLabel, LabelError, read_labels


def _on_disk(store):
    return {
        r.frame: [
            (round(h.x, 2), round(h.y, 2), round(h.r, 2), h.cls, h.label_source) for h in r.hands
        ]
        for r in read_labels(store.path)
    }


def test_edits_are_saved_at_once_and_undo_redo_walk_the_history(tmp_path):
    store = LabelStore(tmp_path / "c.labels.jsonl", 320, 240)
    a = store.add(3, 100, 80, 20)
    store.add(3, 200, 90, 25, cls="other")
    store.replace(3, 0, HandLabel(110, 85, 20, "open", "flow", track=a.track))
    assert _on_disk(store) == {3: [(110, 85, 20, "open", "human"), (200, 90, 25, "other", "human")]}
    store.delete(3, 1)
    assert _on_disk(store) == {3: [(110, 85, 20, "open", "human")]}
    assert store.undo() == ("delete", [3])
    assert len(_on_disk(store)[3]) == 2
    store.undo()
    store.undo()
    assert _on_disk(store) == {3: [(100, 80, 20, "open", "human")]}
    store.undo()
    assert _on_disk(store) == {}
    assert store.undo() is None
    store.redo()
    store.redo()
    assert _on_disk(store)[3][1][3] == "other"
    store.add(5, 1, 1, 5)  # a new edit drops the redo history
    assert store.redo() is None


def test_wheel_steps_on_one_marker_undo_as_one(tmp_path):
    store = LabelStore(tmp_path / "c.labels.jsonl", 320, 240)
    h = store.add(0, 50, 50, 20)
    for _ in range(5):
        cur = store.hands(0)[0]
        store.replace(
            0,
            0,
            HandLabel(cur.x, cur.y, cur.r * 1.1, track=h.track),
            merge_key=("resize", 0, h.track),
        )
    assert store.hands(0)[0].r == pytest.approx(20 * 1.1**5)
    store.undo()
    assert store.hands(0)[0].r == 20


def test_reopening_restores_everything(tmp_path):
    path = tmp_path / "c.labels.jsonl"
    store = LabelStore(path, 320, 240)
    store.add(0, 10, 20, 8)
    store.toggle_empty(7)
    again = LabelStore(path, 320, 240)
    assert again.records == store.records
    assert again.annotated(7) and again.hands(7) == ()
    assert again.hands(0)[0].track == store.hands(0)[0].track


def test_a_crash_in_the_middle_of_a_save_leaves_the_previous_file(tmp_path, monkeypatch):
    store = LabelStore(tmp_path / "c.labels.jsonl", 320, 240)
    store.add(0, 10, 20, 8)
    before = store.path.read_bytes()

    def power_cut(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="simulated crash"):
        store.add(1, 30, 30, 8)
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.labels.jsonl"]
    assert [r.frame for r in read_labels(store.path)] == [0]


def test_a_malformed_file_names_its_line(tmp_path):
    path = tmp_path / "c.labels.jsonl"
    good = {"frame": 0, "width": 320, "height": 240, "hands": []}
    bad = {"frame": 1, "width": 320, "height": 240, "hands": [{"x": 1, "y": 2, "r": "big"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(LabelError, match=r"c\.labels\.jsonl:2, hand 0: 'r' must be a finite"):
        LabelStore(path, 320, 240)
    path.write_text(json.dumps(good) + "\n")
    with pytest.raises(LabelError, match="320x240 image but the clip is 640x480"):
        LabelStore(path, 640, 480)


def test_track_and_flag_round_trip_and_old_files_still_read(tmp_path):
    path = tmp_path / "c.labels.jsonl"
    old = {
        "frame": 0,
        "width": 8,
        "height": 8,
        "hands": [{"x": 1, "y": 2, "r": 3, "cls": "open", "label_source": "human"}],
    }
    path.write_text(json.dumps(old) + "\n")
    store = LabelStore(path, 8, 8)
    assert read_labels(path)[0].hands[0].track is None
    # A hand without a track id gets one in memory, so it can be selected and followed.
    assert store.hands(0)[0].track == 0 and store.hands(0)[0].flag == ""
    store.replace(0, 0, HandLabel(1, 2, 3, track=4, flag="look here"))
    line = json.loads(path.read_text())
    # replace() makes a human keyframe and clears the flag: a person looked at it.
    assert line["hands"][0]["track"] == 4 and "flag" not in line["hands"][0]
    with pytest.raises(LabelError, match="'track' must be an integer"):
        bad = dict(old, hands=[dict(old["hands"][0], track="x")])
        path.write_text(json.dumps(bad) + "\n")
        read_labels(path)


def test_interpolation_fills_between_keyframes(tmp_path):
    store = LabelStore(tmp_path / "c.labels.jsonl", 320, 240)
    a = store.add(10, 100, 100, 20)
    store.add(10, 250, 50, 30, cls="other")
    # Keyframe 20 places the same two hands in the other order, without track ids: pairing
    # falls back to the nearest centres.
    store.commit("load", {20: (HandLabel(260, 60, 30, "other"), HandLabel(120, 80, 24))})
    store.commit("load", {15: (HandLabel(1, 1, 5, "open", "flow", track=a.track),)})
    assert store.interpolate(12) == (10, 20, 2)
    hands = {h.cls: h for h in store.hands(15)}
    assert (hands["open"].x, hands["open"].y, hands["open"].r) == pytest.approx((110, 90, 22))
    assert hands["other"].x == pytest.approx(255) and hands["other"].label_source == "interp"
    assert len(store.hands(15)) == 2  # the stale flow marker of that track was replaced
    assert {h.track for h in store.hands(20)} == {h.track for h in store.hands(10)}
    store.undo()
    assert store.hands(15)[0].label_source == "flow"
    assert store.interpolate(25) is None  # no keyframe after frame 25


def test_propagation_leaves_the_next_keyframe_alone(tmp_path):
    path = flow_bench.synthetic_path(3)
    bg = flow_bench.synthetic_background()
    patch = flow_bench.textured_patch(40)
    grays = [flow.to_gray(flow_bench.render_scene(bg, patch, *p)) for p in path]
    store = LabelStore(tmp_path / "c.labels.jsonl", 640, 480)
    h = store.add(0, *path[0], 40)
    report = store.propagate(0, grays[0], grays[1])
    assert report.carried == [h.track]
    moved = store.hands(1)[0]
    assert np.hypot(moved.x - path[1][0], moved.y - path[1][1]) < 0.5
    store.replace(1, 0, dataclasses.replace(moved, x=moved.x + 3))  # the user corrects it
    keyed = store.hands(1)
    report = store.propagate(0, grays[0], grays[1])
    assert report.kept == [h.track] and store.hands(1) == keyed


def test_when_one_marker_is_lost_the_next_frame_is_not_written(tmp_path):
    path = flow_bench.synthetic_path(2)
    bg = flow_bench.synthetic_background()
    patch = flow_bench.textured_patch(40)
    first = flow_bench.render_scene(bg, patch, *path[0])
    second = flow_bench.render_scene(bg, patch, *path[1])
    cv2.rectangle(second, (20, 20), (140, 140), (128, 128, 128), -1)  # covers the 2nd hand
    store = LabelStore(tmp_path / "c.labels.jsonl", 640, 480)
    carried = store.add(0, *path[0], 40)
    covered = store.add(0, 80, 80, 30)
    report = store.propagate(0, flow.to_gray(first), flow.to_gray(second))
    assert [t for t, _ in report.lost] == [covered.track]
    assert report.carried == [] and [h.track for h in report.held] == [carried.track]
    assert np.hypot(report.held[0].x - path[1][0], report.held[0].y - path[1][1]) < 1
    assert not store.annotated(1)  # a frame missing a visible hand would teach "no hand"
    assert store.hands(0)[1].flag.startswith("flow stopped")


def test_deferred_saves_write_once_at_the_end_even_after_an_error(tmp_path):
    store = LabelStore(tmp_path / "c.labels.jsonl", 320, 240)
    store.add(0, 10, 10, 5)
    with pytest.raises(KeyboardInterrupt), store.deferred_saves():
        store.add(1, 10, 10, 5)
        store.add(2, 10, 10, 5)
        assert [r.frame for r in read_labels(store.path)] == [0]
        raise KeyboardInterrupt
    assert [r.frame for r in read_labels(store.path)] == [0, 1, 2]
    assert store.saves == 2
