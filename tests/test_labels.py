import json

import pytest

from training.labels import HandLabel, LabelError, Record, read_labels, write_labels


def _line(**over):
    obj = {
        "image": "a.jpg",
        "width": 64,
        "height": 48,
        "hands": [{"x": 10, "y": 12, "r": 5, "cls": "open", "label_source": "human"}],
    }
    obj.update(over)
    return json.dumps(obj)


def test_round_trip(tmp_path):
    recs = [Record(hands=(HandLabel(1.5, 2.5, 3.0, "other"),), width=10, height=20, image="x.png")]
    path = tmp_path / "labels.jsonl"
    write_labels(path, recs)
    assert read_labels(path) == recs


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{oops", "not valid JSON"),
        (_line(width=0), "'width' must be a positive integer"),
        (_line(hands=[{"x": 1, "y": 2, "r": -1}]), "'r' must be greater than 0"),
        (_line(hands=[{"x": 1, "y": 2, "r": 3, "cls": "fist"}]), "'cls' must be one of"),
        (_line(hands=[{"y": 2, "r": 3}]), "missing 'x'"),
        (json.dumps({"width": 3, "height": 3, "hands": []}), "missing key 'image'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad, message):
    path = tmp_path / "labels.jsonl"
    path.write_text(_line() + "\n\n" + bad + "\n")
    with pytest.raises(LabelError, match=rf"labels\.jsonl:3.*{message}"):
        read_labels(path)


def test_clip_labels_need_frame(tmp_path):
    path = tmp_path / "clip.labels.jsonl"
    path.write_text(json.dumps({"frame": 3, "width": 8, "height": 8, "hands": []}) + "\n")
    assert read_labels(path)[0].frame == 3
    path.write_text(_line() + "\n")
    with pytest.raises(LabelError, match="clip.labels.jsonl:1: missing key 'frame'"):
        read_labels(path)


def test_crash_mid_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "labels.jsonl"
    old = [Record(hands=(), width=4, height=4, image="a.png")]
    write_labels(path, old)

    class Boom(Exception):
        pass

    def exploding_dumps(*a, **k):
        raise Boom

    monkeypatch.setattr(json, "dumps", exploding_dumps)
    with pytest.raises(Boom):
        write_labels(path, old + [Record(hands=(), width=4, height=4, image="b.png")])
    monkeypatch.undo()
    assert read_labels(path) == old
    assert [p.name for p in tmp_path.iterdir()] == ["labels.jsonl"]
