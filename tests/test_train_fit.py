import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import handplay
from training import checkpoint, config, evaluate, fit
from training.evaluate import match, score
from training.labels import HandLabel
from training.synth import write_dataset

ROOT = Path(__file__).resolve().parent.parent


def _args(tmp_path, out="run", **over):
    val = tmp_path / "val"
    if not val.exists():
        write_dataset(val, 4, (64, 64), seed=9)
    cfg = {
        "data": "synth:12",
        "weights": "1",
        "crops": "",
        "val": str(val),
        "out": str(tmp_path / out),
        "input_w": 96,
        "input_h": 64,
        "crop_w": 64,
        "crop_h": 32,
        "width": 0.5,
        "batch": 4,
        "samples_per_epoch": 8,
        "epochs": 1,
        "threads": 1,
    }
    cfg.update(over)
    return [f"--{k}={v}" for k, v in cfg.items()]


def test_a_few_steps_make_a_model_the_detector_runs(tmp_path, capsys):
    figures = fit.main(_args(tmp_path))
    assert figures["step"] == 2 and figures["images"] == 4
    onnx = tmp_path / "run" / "model.onnx"
    det = handplay.Detector(onnx)
    assert det.input_size == (96, 64) and det.stride == 4
    assert det.format == "2" and det.open_threshold == 0.5
    # the exported outputs are the net's, in the contract's shapes and ranges
    heat = det.heatmap(np.zeros((48, 80, 3), np.uint8))
    assert heat.shape == (15, 24) and 0 <= heat.min() and heat.max() <= 1  # 80x48 at scale 1.2
    frame = np.random.default_rng(1).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    det.threshold = 1e-6  # an untrained net: any peak will do, to check each field
    dets = det.detect(frame)
    assert dets and all(0 <= d.x < 96 and 0 <= d.y < 64 and d.radius > 0 for d in dets)
    assert all(0 <= d.open <= 1 and 0 < d.score <= 1 for d in dets)
    assert json.loads(det.metadata["handplay.train_config"])["input_w"] == 96
    history = (tmp_path / "run" / "history.jsonl").read_text().splitlines()
    assert len(history) == 1
    capsys.readouterr()
    evaluate.main(["--data", str(tmp_path / "val"), "--model", str(onnx), "--save-dir",
                   str(tmp_path / "look")])  # fmt: skip
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["images"] == 4 and line["ms_median"] > 0
    assert {"recall", "precision", "recall_all", "centre_error_median", "infer_ms_p90"} <= set(line)
    assert {"precision_all", "open_recall", "open_precision", "open_accuracy"} <= set(line)
    assert len(list((tmp_path / "look").glob("*.jpg"))) == 4


def test_resume_continues_from_the_saved_step(tmp_path):
    fit.main(_args(tmp_path, epochs=1))
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step"] == 2 and state["config"]["epochs"] == 1
    figures = fit.main(_args(tmp_path, epochs=2, resume="true"))
    assert figures["epoch"] == 2 and figures["step"] == 4
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step"] == 4 and len(state["history"]) == 2


def test_init_starts_from_exported_weights_with_a_fresh_schedule(tmp_path, capsys):
    from training import export

    fit.main(_args(tmp_path, out="base", epochs=2))
    slim = tmp_path / "hand.pt"
    export.main([str(tmp_path / "base" / "last.pt"), "--out", str(tmp_path / "m.onnx"),
                 "--weights", str(slim)])  # fmt: skip
    base = torch.load(slim, weights_only=True)
    assert "optimizer" not in base and base["step"] == 4
    # the export also wrote the OpenCV deployment for C++ beside the model, for this very file
    sidecar = json.loads((tmp_path / "m_cpp" / "hand.json").read_text())
    digest = hashlib.sha256((tmp_path / "m.onnx").read_bytes()).hexdigest()
    assert sidecar["source_sha256"] == digest and sidecar["format"] == 2
    assert all((tmp_path / "m_cpp" / m["file"]).exists() for m in sidecar["models"])
    # lr=0: the weights must come out exactly as loaded (batch-norm statistics still move).
    figures = fit.main(_args(tmp_path, out="tuned", init=str(slim), lr=0, seed=5))
    assert figures["step"] == 2  # a fresh run, not a resume
    assert f"initialised from {slim}" in capsys.readouterr().out
    tuned = torch.load(tmp_path / "tuned" / "last.pt", weights_only=True)["model"]
    source = torch.load(tmp_path / "base" / "last.pt", weights_only=True)["model"]
    weights = [k for k in base["model"] if k.endswith(".weight") and base["model"][k].ndim == 4]
    assert weights and all(torch.equal(tuned[k], base["model"][k]) for k in weights)
    assert all(torch.equal(source[k], base["model"][k]) for k in weights)


def test_tune_preset_starts_from_the_shipped_weights_which_match_the_shipped_model():
    cfg = config.parse_args(["tune", "--data=clips"])
    assert cfg.init == str(config.SHIPPED_WEIGHTS) and cfg.lr < config.Config().lr
    net, shipped, state = checkpoint.load_checkpoint(cfg.init)
    assert "optimizer" not in state  # the slim file written by training.export --weights
    assert cfg.open_weight == shipped.open_weight  # tuning weighs the losses as training did
    image = np.random.default_rng(0).random((1, 3, 192, 320), dtype=np.float32)
    with torch.no_grad():
        outs = net(torch.from_numpy(image), logits=False)
    ours = dict(zip(("heatmap", "size", "open"), outs, strict=True))
    det = handplay.Detector()
    assert cfg.threshold == det.threshold  # a tuned model reports hands as the shipped one does
    if det.format != "1":
        assert cfg.open_threshold == det.open_threshold
    names = [o.name for o in det.session.get_outputs()]
    for name, got in zip(names, det.session.run(names, {"image": image}), strict=True):
        tolerance = 1e-3 if name == "size" else 1e-4  # size is in pixels
        assert np.abs(ours[name].numpy() - got).max() < tolerance, name


def test_init_with_another_architecture_says_so(tmp_path):
    fit.main(_args(tmp_path, out="base"))
    with pytest.raises(SystemExit, match="--init: .* has width=0.5, the config says 0.75"):
        fit.main(_args(tmp_path, out="wide", width=0.75,
                       init=str(tmp_path / "base" / "last.pt")))  # fmt: skip


def test_resume_without_checkpoint_says_so(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        fit.main(_args(tmp_path, out="empty", resume="true"))


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(SystemExit, match="unknown config key 'lr_max'.*valid keys: data, weights"):
        config.parse_args(["quick", "--lr_max=3"])
    with pytest.raises(SystemExit, match="--epochs must be a int, not 'many'"):
        config.parse_args(["--epochs=many"])
    with pytest.raises(SystemExit, match="valid presets: quick, long, tune, full"):
        config.parse_args(["huge"])
    cfg = config.parse_args(["long", "--lr=0.01", "--resume"])
    assert cfg.lr == 0.01 and cfg.resume and cfg.epochs == config.PRESETS["long"]["epochs"]


def test_two_process_ddp_run_completes(tmp_path):
    args = _args(tmp_path, out="ddp", samples_per_epoch=8, batch=4)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "training.fit", *args]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    assert state["step"] == 2  # 8 items, global batch 4 split over 2 ranks
    assert (tmp_path / "ddp" / "model.onnx").exists()
    assert '"recall_all"' in proc.stdout


def test_matching_is_greedy_nearest_first_and_others_are_neutral():
    truth = [HandLabel(0, 0, 10, "open"), HandLabel(12, 0, 10, "open")]
    # Pred 0 is nearest to hand 0 (2 px) but pred 1 is nearer still to it (1 px): pred 1 takes
    # hand 0, and pred 0 falls to hand 1 (10 px away, within its r).
    pairs = match([(2.0, 0.0), (1.0, 0.0)], truth)
    assert sorted(pairs) == [(0, 1, 1.0), (1, 0, 0.1)]
    Det = handplay.Detection
    figures = score(
        [[Det(0, 0, 5, 0.9), Det(50, 50, 5, 0.9), Det(100, 0, 5, 0.9)]],
        [[HandLabel(0, 0, 10, "open"), HandLabel(50, 52, 10, "other"), HandLabel(200, 0, 9)]],
    )
    # 1 of 2 open found; the "other" match is neutral, so precision = 1 / (3 - 1).
    assert figures["recall"] == 0.5 and figures["precision"] == 0.5
    assert figures["recall_all"] == round(2 / 3, 4) and figures["centre_error_median"] == 0.0


def test_a_schedule_runs_its_stages_in_turn_each_from_the_last(tmp_path, monkeypatch):
    tiny = dict(arg.lstrip("-").split("=", 1) for arg in _args(tmp_path))
    tiny = {k: type(getattr(config.Config(), k))(v) for k, v in tiny.items()}
    monkeypatch.setitem(config.SCHEDULES, "tiny", [{**tiny, "seed": 1}, {**tiny, "lr": 0.0}])
    out = tmp_path / "sched"
    fit.main(["tiny", f"--out={out}"])
    first = torch.load(out / "stage1" / "last.pt", weights_only=True)["model"]
    second = torch.load(out / "stage2" / "last.pt", weights_only=True)
    assert second["config"]["init"] == str(out / "stage1" / "last.pt")
    # lr 0 in stage 2: its weights are stage 1's (BatchNorm statistics aside)
    assert torch.equal(second["model"]["heads.heat.weight"], first["heads.heat.weight"])
    assert (out / "model.onnx").exists() and (out / "last.pt").exists()
    stamp = (out / "stage2" / "model.onnx").stat().st_mtime_ns
    fit.main(["tiny", f"--out={out}"])  # every stage is done: nothing retrains
    assert (out / "stage2" / "model.onnx").stat().st_mtime_ns == stamp


def test_the_full_schedule_ends_with_the_settings_the_shipped_weights_were_trained_with():
    # The shipped checkpoint records its config; `fit full` must repeat its last stage exactly,
    # or the one-command recipe does not make the shipped model (stage 5 once lacked its open
    # loss weight of 3).
    last = config.parse_schedule(["full"])[-1]
    _, shipped, _ = checkpoint.load_checkpoint(config.SHIPPED_WEIGHTS)
    differ = {
        f.name: (getattr(last, f.name), getattr(shipped, f.name))
        for f in dataclasses.fields(config.Config)
        if getattr(last, f.name) != getattr(shipped, f.name)
    }
    assert set(differ) <= {"out", "init"}, differ
