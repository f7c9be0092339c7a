"""training.evaluate takes annotated clips (X.mp4 beside X.labels.jsonl), as training.fit does."""

import json

import pytest

import handplay.testing as ht
from training import evaluate
from training.labels import HandLabel, Record, clip_labels_path, write_labels


def test_evaluate_an_annotated_clip(disc_model, tmp_path, capsys):
    track = ht.linear_path((80, 120), (400, 200), 12, radius=24)
    clip = ht.write_clip(tmp_path / "take.mp4", ht.disc_clip([track], (480, 320), 12))
    # label every other frame; frame 3 gets a wrong position (a miss and a false positive)
    records = []
    for i in [*range(0, 12, 2), 3]:
        x, y, r = track(i)
        if i == 3:
            x += 200
        records.append(Record(hands=(HandLabel(x, y, r),), width=480, height=320, frame=i))
    write_labels(clip_labels_path(clip), sorted(records, key=lambda r: r.frame))
    # one pass (--looks 0): the scores below are the frame pass's peaks
    evaluate.main(["--data", str(clip), "--model", str(disc_model), "--sweep", "--looks", "0"])
    *curve, figures = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert figures["images"] == 7 and figures["hands"] == 7
    assert figures["recall"] == pytest.approx(6 / 7, abs=1e-3)
    assert figures["precision"] == pytest.approx(6 / 7, abs=1e-3)
    # the sweep: one row per threshold with F1. The disc model's blobs on this blurred, moving
    # disc peak at 0.85-0.9, so thresholds up to 0.8 keep the 6 hits and the misplaced label's
    # false positive; at 0.9 most hits are gone and F1 falls with the recall.
    assert [row["threshold"] for row in curve][:2] == [0.1, 0.15] and len(curve) == 17
    low = [row for row in curve if row["threshold"] <= 0.8]
    assert all(row["sweep"] and row["f1"] == pytest.approx(6 / 7, abs=1e-3) for row in low)
    top = curve[-1]
    assert top["recall"] < 0.5 and top["f1"] == pytest.approx(
        2 * top["recall"] * top["precision"] / (top["recall"] + top["precision"]), abs=1e-3
    )


def test_best_recall_at_a_precision_floor_picks_the_threshold_that_reaches_it():
    def row(t: float, r: float, p: float | None) -> dict:
        return {"threshold": t, "recall_all": r, "precision_all": p, "recall": 0.0}

    curve = [row(0.3, 0.9, 0.80), row(0.4, 0.8, 0.92), row(0.5, 0.8, 0.96), row(0.6, 0.5, 1.0)]
    # 0.4 and 0.5 tie on recall at the 0.9 floor: the higher threshold, fewer predictions
    assert evaluate.best_at_precision(curve, 0.9) == {
        "threshold": 0.5, "recall_all": 0.8, "precision_all": 0.96
    }  # fmt: skip
    assert evaluate.best_at_precision(curve, 0.97)["threshold"] == 0.6
    assert evaluate.best_at_precision(curve, 0.5)["recall_all"] == 0.9
    # no predictions at all (precision undefined) never counts as reaching the floor
    assert evaluate.best_at_precision([row(0.9, 0.0, None)], 0.5) is None


def test_evaluate_reports_recall_at_a_precision_floor(disc_model, tmp_path, capsys):
    track = ht.linear_path((80, 120), (400, 200), 8, radius=24)
    clip = ht.write_clip(tmp_path / "take.mp4", ht.disc_clip([track], (480, 320), 8))
    # every frame labelled where the disc is, plus one hand the disc model cannot see
    records = [
        Record(hands=(HandLabel(*track(i)), HandLabel(440, 280, 20)), width=480, height=320,
               frame=i)
        for i in range(8)
    ]  # fmt: skip
    write_labels(clip_labels_path(clip), records)
    argv = ["--data", str(clip), "--model", str(disc_model), "--at-precision", "0.95"]
    evaluate.main(argv)
    [line] = capsys.readouterr().out.strip().splitlines()  # no sweep rows unless --sweep
    best = json.loads(line)["at_precision"]["0.95"]
    # every prediction is the disc: precision 1, half of the hands found
    assert best["precision_all"] == 1.0 and best["recall_all"] == pytest.approx(0.5)
    with pytest.raises(SystemExit):
        evaluate.main(argv[:-1] + ["95"])


def test_evaluate_reports_recall_by_hand_size(disc_model, tmp_path, capsys):
    from handplay.detector import Detector
    from handplay.reach import radius_cells

    det = Detector(disc_model)
    track = ht.linear_path((80, 120), (400, 200), 6, radius=24)
    clip = ht.write_clip(tmp_path / "take.mp4", ht.disc_clip([track], (480, 320), 6))
    # the disc (found) and a small hand the disc model cannot see, in every frame
    records = [
        Record(hands=(HandLabel(*track(i)), HandLabel(440, 280, 6, "other")), width=480,
               height=320, frame=i)
        for i in range(6)
    ]  # fmt: skip
    write_labels(clip_labels_path(clip), records)
    evaluate.main(["--data", str(clip), "--model", str(disc_model), "--by-size"])
    rows = json.loads(capsys.readouterr().out)["by_size"]
    assert [r["cells"] for r in rows] == ["0-2", "2-3", "3-4", "4-6", "6-inf"]
    assert sum(r["hands"] for r in rows) == 12 and sum(r["found"] for r in rows) == 6

    def row_of(radius: float) -> dict:
        cells = radius_cells(radius, (480, 320), det.input_size, det.stride)
        edges = [0, 2, 3, 4, 6, float("inf")]
        return rows[next(k for k in range(5) if edges[k] <= cells < edges[k + 1])]

    small, disc = row_of(6), row_of(24)
    assert small is not disc
    assert small["hands"] == 6 and small["found"] == 0 and small["recall_all"] == 0.0
    assert disc["hands"] == disc["found"] == disc["open_hands"] == disc["open_found"] == 6
    assert all(r["recall_all"] is None for r in rows if r["hands"] == 0)
