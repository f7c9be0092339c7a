"""The measurement commands run and print tables whose figures hang together (no speed asserts:
the figures are checked for shape and consistency, not for how fast this machine is)."""

import re

import pytest

from handplay import bench

STAGES = (
    "preprocess",
    "inference",
    "peaks",
    "second look",
    "tracking + events",
    "capture -> event latency",
    "worker CPU per frame",
)


def _stage_tables(out: str) -> list[tuple[re.Match, dict[str, tuple[float, float, float]]]]:
    """Each Input run's header and its stage rows (p50, p95, mean)."""
    pattern = r"input (\d+)x(\d+), stride 4, 1 thread\(s\), (\d+) (\d+)x(\d+) frames, (\d+) events"
    tables = []
    for block in out.split("\n\n"):
        header = re.search(pattern, block)
        if header is None:
            continue
        rows = {}
        for stage in STAGES:
            [line] = [x for x in block.splitlines() if x.startswith(stage + " ")]
            p50, p95, mean = (float(v) for v in line[len(stage) :].split())
            rows[stage] = (p50, p95, mean)
        tables.append((header, rows))
    return tables


def _detector_rows(out: str) -> list[list[str]]:
    lines = out.split("detector alone")[1].split("\n\n")[0].splitlines()
    return [[c.strip() for c in x.strip("|").split("|")] for x in lines[3:]]


def test_bench_measures_every_stage_at_the_input_size_asked_for(disc_model, capsys):
    # 240x180 is not the disc model's own 320x180: the figures must be for the size asked for
    argv = ["--model", str(disc_model), "--frames", "30", "--fast", "--size", "240x180"]
    assert bench.main(argv + ["--calls", "3"]) == 0
    out = capsys.readouterr().out
    tables = _stage_tables(out)
    # one run per frame size the issue names
    assert [h.group(4, 5) for h, _ in tables] == [("640", "480"), ("800", "600")], out
    for header, rows in tables:
        assert header.group(1, 2) == ("240", "180")
        assert int(header.group(3)) == 30 - 5  # every frame of the clip but the 5 warm-up ones
        assert int(header.group(6)) > 2 * 25  # two discs: an enter, moves and a leave each
        for stage, (p50, p95, mean) in rows.items():
            assert 0 <= p50 <= p95, stage
            assert mean >= 0, stage
        assert rows["inference"][0] > 0 and rows["worker CPU per frame"][0] > 0
        # latency includes the stages before it: detection, tracking and posting events
        stages = ("preprocess", "inference", "peaks", "second look", "tracking + events")
        detect = sum(rows[s][2] for s in stages)
        assert rows["capture -> event latency"][2] >= 0.9 * detect
    # the detector table: each reach on each frame size, at the reach's input size (the disc
    # model's 320x180 scaled), and the whole call at least its stages
    detector = _detector_rows(out)
    assert [(r[0], r[1], r[2]) for r in detector] == [
        (frame, reach, size)
        for reach, size in (("near", "320x180"), ("room", "480x272"), ("hall", "640x360"))
        for frame in ("640x480", "800x600")
    ]
    for row in detector:
        pre, inference, peaks, look, total, cpu = (float(v) for v in row[3:])
        assert 0 < inference and total >= 0.9 * (pre + inference + peaks + look), row
        assert 0 < cpu <= 1.1 * total + 0.1, row  # one thread: its CPU time fits in the wall time
    # the second look's cost for 1, 2 and 4 placed candidates, and per candidate
    looks = out.split("second look (")[1].split("\n\n")[0].splitlines()[3:]
    rows = [[float(c) for c in x.strip("|").split("|")] for x in looks]
    assert [r[0] for r in rows] == [1, 2, 4]
    for n, ms, each in rows:
        assert ms > 0 and abs(each - ms / n) <= 0.006, rows


def test_bench_reports_a_bad_model(tmp_path, capsys):
    assert bench.main(["--model", str(tmp_path / "none.onnx"), "--frames", "3"]) == 2
    out = capsys.readouterr()
    assert "does not exist" in out.err
    assert "| frame |" not in out.out  # no empty table before the error


def test_tracking_bench_reports_a_bad_model(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    argv = ["--tracking", "--source", str(clip), "--model", str(tmp_path / "none.onnx")]
    assert bench.main(argv) == 2
    assert "does not exist" in capsys.readouterr().err


def test_peak_table_shows_refinement_beats_the_integer_peak(capsys):
    assert bench.main(["--peaks", "--trials", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| blob sigma") and len(lines) == 6
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        sigma = float(cells[0])
        integer, mean, mean_min = ([float(v) for v in c.split(" / ")] for c in cells[1:])
        assert all(p50 <= p90 for p50, p90 in (integer, mean, mean_min)), line
        assert 0.5 <= sigma <= 2.0
        # the point of the refinement: well under the integer peak's error (~0.38 cells)
        assert mean_min[0] < 0.5 * integer[0], line


def test_smoothing_table_shows_one_euro_cuts_jitter(capsys):
    assert bench.main(["--smoothing"]) == 0
    out = capsys.readouterr().out
    figures = {}
    for line in out.splitlines():
        if line.startswith("| ") and not line.startswith(("| filter", "| ---")):
            name, *values = (c.strip() for c in line.strip("|").split("|"))
            figures[name] = [float(v) for v in values]
    assert set(figures) == {"raw peaks", "One Euro (default)", "Kalman, constant velocity"}
    raw, one_euro = figures["raw peaks"], figures["One Euro (default)"]
    kalman = figures["Kalman, constant velocity"]
    assert one_euro[0] < 0.5 * raw[0]  # jitter of a still hand
    assert abs(raw[2]) < 1.0 < one_euro[2]  # raw peaks have no lag; smoothing costs a little
    assert one_euro[3] < kalman[3]  # Kalman overshoots a swipe that stops (why One Euro)


def test_tracking_table_shows_the_keep_threshold_holding_a_weakening_hand(
    disc_model, tmp_path, capsys
):
    import cv2

    from handplay import testing as ht

    # one disc, still; three times strong (score ~1) for 12 frames, then faded for 10 (score
    # ~0.4: under the disc model's threshold 0.5, above the keep threshold 0.3)
    frames = []
    for i in range(66):
        frame = ht.render_disc_frame((320, 180), [], seed=i)
        faded = i % 22 >= 12
        cv2.circle(frame, (160, 90), 25, (40, 125 if faded else 0, 230), -1, cv2.LINE_AA)
        frames.append(frame)
    clip = ht.write_clip(tmp_path / "fading.mp4", frames)
    assert bench.main(["--tracking", "--source", str(clip), "--model", str(disc_model)]) == 0
    out = capsys.readouterr().out
    assert "66 frames" in out
    rows = {}
    for line in out.splitlines():
        if line.startswith("| ") and not line.startswith(("| keep", "| ---")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[float(cells[0].split()[0])] = [float(v) for v in cells[1:]]
    assert set(rows) == {1.0, 0.8, 0.6, 0.45}
    one, default = rows[1.0], rows[0.6]
    assert default[0] == 0.3 and one[0] == 0.5  # the keep thresholds
    assert one[1] == 3 and default[1] == 1  # one threshold: a new hand each time it is strong
    assert one[2] == 3 and default[2] == 0  # one threshold loses it in every fade; kept here
    assert default[4] > one[4]  # and is in play for more frames


def test_tracking_table_needs_a_source(capsys):
    import pytest

    with pytest.raises(SystemExit):
        bench.main(["--tracking"])
    assert "--tracking needs --source" in capsys.readouterr().err


def test_bench_looks_zero_times_the_frame_pass_alone(disc_model, capsys):
    argv = ["--model", str(disc_model), "--frames", "12", "--fast", "--calls", "3"]
    assert bench.main(argv) == 0
    looked = _detector_rows(capsys.readouterr().out)
    assert bench.main(argv + ["--looks", "0"]) == 0
    out = capsys.readouterr().out
    plain = _detector_rows(out)
    # the synthetic frames hold two discs: the disc model finds them, so the default detector
    # looks at them again (at the near reach, where they are small enough), and --looks 0 not
    near = [r for r in looked if r[1] == "near"]
    assert near and all(float(r[6]) > 0 for r in near)
    assert all(float(r[6]) == 0 for r in plain)
    assert all(float(rows["second look"][2]) == 0 for _, rows in _stage_tables(out))
    with pytest.raises(SystemExit):
        bench.main(argv + ["--looks", "-1"])
