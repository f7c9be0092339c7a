"""The measurement commands run and print their tables (figures are not asserted on speed)."""

from handplay import bench


def test_bench_prints_every_stage(disc_model, capsys):
    assert (
        bench.main(["--model", str(disc_model), "--frames", "30", "--fast", "--size", "320x180"])
        == 0
    )
    out = capsys.readouterr().out
    assert "input 320x180" in out
    for stage in (
        "preprocess",
        "inference",
        "peaks",
        "tracking + events",
        "capture -> event latency",
        "worker CPU per frame",
    ):
        assert stage in out


def test_bench_reports_a_bad_model(tmp_path, capsys):
    assert bench.main(["--model", str(tmp_path / "none.onnx"), "--frames", "3"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_peak_table(capsys):
    assert bench.main(["--peaks", "--trials", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| blob sigma") and len(lines) == 6


def test_smoothing_table(capsys):
    assert bench.main(["--smoothing"]) == 0
    out = capsys.readouterr().out
    assert "One Euro (default)" in out and "Kalman" in out
