"""The tile labelling pass (training.relabel) and the added labels it feeds to training."""

import importlib.util
import json

import cv2
import numpy as np
import pytest

from training import data, relabel
from training.fit import added_labels
from training.labels import HandLabel, LabelError, Record, write_labels, write_lines

# 21 landmarks of an open right hand, palm to the camera (x right, y down; wrist at the bottom).
OPEN = np.array([
    (0, 1), (-0.3, 0.7), (-0.5, 0.5), (-0.7, 0.3), (-1.0, 0.0),  # wrist, thumb
    (-0.25, 0.2), (-0.3, -0.2), (-0.32, -0.5), (-0.35, -0.8),  # index
    (0, 0.15), (0, -0.3), (0, -0.6), (0, -0.95),  # middle
    (0.22, 0.2), (0.25, -0.2), (0.27, -0.5), (0.3, -0.8),  # ring
    (0.42, 0.3), (0.5, 0.0), (0.55, -0.2), (0.6, -0.4),  # pinky
], dtype=float)  # fmt: skip


def _fist() -> np.ndarray:
    p = OPEN.copy()
    for mcp in (5, 9, 13, 17):  # each fingertip curled back onto its knuckle
        p[mcp + 3] = p[mcp] + (0, 0.2)
    return p


def test_landmarks_give_centre_radius_and_class():
    x, y, r, cls = relabel.hand_from_landmarks(OPEN * 50 + (200, 100))
    lo, hi = OPEN.min(0) * 50 + (200, 100), OPEN.max(0) * 50 + (200, 100)
    assert (x, y) == pytest.approx(tuple((lo + hi) / 2))
    assert r == pytest.approx(max(hi - lo) / 2 * 1.15)
    assert cls == "open"
    assert relabel.hand_from_landmarks(_fist() * 50)[3] == "other"
    side = OPEN * (0.2, 1.0)  # fingers out, but the palm edge-on: not facing
    assert relabel.hand_from_landmarks(side * 50)[3] == "other"


def test_tiles_lie_in_the_frame_and_cover_it():
    tiles = relabel.tile_windows(600, 400)
    assert len(tiles) == 4 + 9
    cover = np.zeros((400, 600), bool)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= 600 and 0 <= y0 < y1 <= 400
        cover[y0:y1, x0:x1] = True
    assert cover.all()


def _disc_detector(min_frac: float):
    """A MediaPipe stand-in: finds green discs whose radius is at least ``min_frac`` of the
    image's long side (a detector with a fixed input misses small hands in a large image)."""

    def detect(bgr):
        mask = (bgr[:, :, 1] > 200).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        out = []
        for x0, y0, w, h, _area in stats[1:n]:
            if max(w, h) / 2 < min_frac * max(bgr.shape[:2]):
                continue
            lo, hi = OPEN.min(0), OPEN.max(0)
            box = np.array([w - 1, h - 1], float)
            out.append(((OPEN - lo) / (hi - lo) * box + (x0, y0), 0.9))
        return out

    return detect


def _scene(tmp_path):
    """A 600x400 frame: a labelled big hand, a small one only tiles find (in several tiles) and
    a small one in a corner that only one tile finds whole."""
    frame = np.zeros((400, 600, 3), np.uint8)
    for centre, r in (((150, 200), 40), ((300, 200), 14), ((450, 120), 10)):
        cv2.circle(frame, centre, r, (0, 255, 0), -1)
    cv2.imwrite(str(tmp_path / "a.png"), frame)
    known = Record(hands=(HandLabel(150, 200, 46, "other", "mediapipe"),), width=600, height=400,
                   image="a.png")  # fmt: skip
    write_labels(tmp_path / "labels.jsonl", [known])
    return frame


def test_tiles_add_the_small_hand_once_with_votes(tmp_path):
    frame = _scene(tmp_path)
    detect = _disc_detector(0.035)
    assert len(detect(frame)) == 1  # the whole frame finds only the big hand
    found = relabel.tile_pass(frame, [(150, 200, 46)], detect)
    by_x = sorted(found, key=lambda h: h["x"])
    assert len(by_x) == 2  # the big hand is known, so never added
    small, corner = by_x
    assert (small["x"], small["y"]) == pytest.approx((300, 200), abs=1)
    assert small["r"] == pytest.approx(14 * 1.15, abs=1.5)
    assert small["cls"] == "open" and small["pass"] == "tiles"
    assert small["votes"] >= relabel.MIN_VOTES > corner["votes"]


def test_relabel_writes_only_voted_hands_and_training_adds_them(tmp_path):
    _scene(tmp_path)
    records = relabel.relabel(tmp_path, _disc_detector(0.035))
    assert [(r["image"], r["width"], r["height"], len(r["hands"])) for r in records] == [
        ("a.png", 600, 400, 1)
    ]
    added = tmp_path / "added.jsonl"
    write_lines(added, (json.dumps(r) + "\n" for r in records))
    images = data.load_source(str(tmp_path), cache_side=10_000, added=added)
    hands = sorted(images[0].hands, key=lambda h: h.x)
    assert [(round(h.x), round(h.y), h.cls) for h in hands] == [(150, 200, "other"),
                                                                 (300, 200, "open")]  # fmt: skip
    # without the added file the folder is as labelled
    assert len(data.load_source(str(tmp_path), cache_side=10_000)[0].hands) == 1


def test_check_scores_each_pass_against_the_folder_labels(tmp_path):
    _scene(tmp_path)
    every = [HandLabel(150, 200, 46), HandLabel(300, 200, 16), HandLabel(450, 120, 11.5)]
    write_labels(tmp_path / "labels.jsonl", [Record(every, 600, 400, "a.png")])
    got = relabel.check(tmp_path, _disc_detector(0.035))
    assert list(got) == ["whole frame", "+ mirrored", "+ tiles, every find", "+ tiles, 3+ votes"]
    # the whole frame and its mirror find the big hand alone (the mirror's find is not new)
    assert got["whole frame"] == got["+ mirrored"] == {"recall": 0.3333, "precision": 1.0,
                                                       "finds": 1}  # fmt: skip
    assert got["+ tiles, every find"] == {"recall": 1.0, "precision": 1.0, "finds": 3}
    assert got["+ tiles, 3+ votes"] == {"recall": 0.6667, "precision": 1.0, "finds": 2}


def test_added_labels_must_match_the_folder(tmp_path):
    _scene(tmp_path)
    added = tmp_path / "added.jsonl"
    line = {"image": "a.png", "width": 300, "height": 200, "hands": []}
    added.write_text(json.dumps(line) + "\n")
    with pytest.raises(LabelError, match=r"added\.jsonl:1: 'a.png' is 300x200 here but 600x400"):
        data.load_folder(tmp_path, added=added)
    added.write_text(json.dumps({**line, "image": "b.png", "width": 600, "height": 400}) + "\n")
    with pytest.raises(LabelError, match=r"image 'b.png' is not in .*labels\.jsonl"):
        data.load_folder(tmp_path, added=added)
    with pytest.raises(FileNotFoundError, match="synth:10 is not one"):
        data.load_source("synth:10", added=added)


def test_add_labels_option_names_one_data_source():
    specs = ["../shared/data/hagrid-train", "../shared/data/rf100-signers", "synth:1000"]
    got = added_labels("hagrid-train=a.jsonl,rf100=b.jsonl", specs)
    assert got == {specs[0]: "a.jsonl", specs[1]: "b.jsonl"}
    assert added_labels("", specs) == {}
    with pytest.raises(SystemExit, match="'data' is in 2 --data specs"):
        added_labels("data=a.jsonl", specs)
    with pytest.raises(SystemExit, match="two files: a.jsonl, b.jsonl"):
        added_labels("hagrid=a.jsonl,hagrid-train=b.jsonl", specs)
    with pytest.raises(SystemExit, match="is not SOURCE=FILE"):
        added_labels("hagrid-train", specs)


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="has mediapipe")
def test_without_mediapipe_relabel_says_to_use_its_own_venv(tmp_path):
    _scene(tmp_path)
    with pytest.raises(SystemExit, match="its own venv"):
        relabel.main(["--data", str(tmp_path), "--out", str(tmp_path / "o.jsonl")])
    assert not (tmp_path / "o.jsonl").exists()


def test_shipped_added_labels_are_valid_and_voted():
    from pathlib import Path

    from training.labels import read_labels

    files = sorted((Path(__file__).parents[1] / "assets" / "labels").glob("*.tiles.jsonl"))
    assert [f.name for f in files] == ["hagrid-train.tiles.jsonl", "rf100-signers.tiles.jsonl"]
    for path in files:
        records = read_labels(path, kind="image")
        assert records and all(rec.hands for rec in records)
        assert all(rec.extra == {} for rec in records)
        raw = [json.loads(s) for s in path.read_text().splitlines()]
        assert all(h["votes"] >= relabel.MIN_VOTES and h["pass"] == "tiles"
                   for r in raw for h in r["hands"])  # fmt: skip


def test_main_writes_the_added_hands_and_reports_a_bad_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(relabel, "mediapipe_detector", lambda: _disc_detector(0.035))
    _scene(tmp_path)
    out = tmp_path / "sub" / "added.jsonl"
    relabel.main(["--data", str(tmp_path), "--out", str(out)])
    assert "1 hands added in 1 frames" in capsys.readouterr().out
    assert len(data.load_folder(tmp_path, added=out)[0].hands) == 2
    relabel.main(["--data", str(tmp_path), "--check"])
    rows = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert [r["pass"] for r in rows][-1] == "+ tiles, 3+ votes"
    (tmp_path / "a.png").unlink()
    with pytest.raises(SystemExit) as stop:
        relabel.main(["--data", str(tmp_path), "--out", str(out)])
    assert stop.value.code == 1
    assert "image 'a.png' is missing or unreadable" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        relabel.main(["--data", str(tmp_path)])  # neither --out nor --check
    assert "give --out FILE" in capsys.readouterr().err
