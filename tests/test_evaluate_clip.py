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
    evaluate.main(["--data", str(clip), "--model", str(disc_model)])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["images"] == 7 and figures["hands"] == 7
    assert figures["recall"] == pytest.approx(6 / 7, abs=1e-3)
    assert figures["precision"] == pytest.approx(6 / 7, abs=1e-3)
