"""Train the hand heatmap model, validate it every epoch, checkpoint, and export ONNX.

Run:
    python -m training.fit quick                      # a few minutes on 2 CPU cores
    python -m training.fit full --out=runs/full       # the shipped model's whole recipe (5 stages)
    python -m training.fit long --out=runs/long       # one long stage from random weights
    python -m training.fit tune --data=clips,../shared/data/hagrid-train --weights=2,1
                                                      # fine-tune the shipped model on your clips
    python -m training.fit long --out=runs/long --resume   # continue from runs/long/last.pt
    python -m training.fit quick --lr=0.002 --loss=mse     # any config key as --key=value
    torchrun --nproc_per_node=4 -m training.fit full  # DistributedDataParallel (gloo on CPU)

Reads top to bottom: config (:mod:`training.config`) -> data (:mod:`training.data` loaders,
:mod:`training.augment`, :mod:`training.dataset`) -> model -> loop (validation each epoch with the
DESIGN.md rule, through ``handplay.Detector`` on the exported ONNX) -> checkpoint
(:mod:`training.checkpoint`) -> export. ``OUT/last.pt``
holds the weights, optimiser, step and the config that made them; ``OUT/model.onnx`` is the
exported model and ``OUT/history.jsonl`` one line of figures per epoch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from handplay.sources import SourceError
from training import data as tdata
from training.augment import Augment
from training.checkpoint import check_compatible, load_weights, read_checkpoint, save_checkpoint
from training.config import DEBUG_FLAGS, Config, parse_args, parse_schedule, view_sizes
from training.dataset import MixedDataset
from training.export import export_onnx
from training.labels import LabelError
from training.losses import heatmap_loss, open_loss, size_loss
from training.model import SIZE_UNIT, build_model, count_macs

log = logging.getLogger(__name__)


def lr_at(progress: float, cfg: Config) -> float:
    """Linear warm-up to ``cfg.lr`` over ``cfg.warmup``, then cosine decay to 2% of it.

    Args:
        progress: fraction of the training done, 0..1 (by steps, or by time with --minutes).
        cfg: the config (lr, warmup).
    """
    if progress < cfg.warmup:
        return cfg.lr * max(progress / cfg.warmup, 0.01)
    t = min(1.0, (progress - cfg.warmup) / max(1e-9, 1.0 - cfg.warmup))
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


class _Progress:
    """A one-line progress bar on a terminal, a line every 10% in a log file."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.t0 = total, label, time.time()
        self.tty = sys.stderr.isatty()
        self.last_pct = -1

    def update(self, done: int, note: str) -> None:
        pct = int(100 * done / self.total)
        if not self.tty and (pct // 10 == self.last_pct // 10) and done < self.total:
            return
        self.last_pct = pct
        rate = (time.time() - self.t0) / max(done, 1)
        bar = "#" * (pct // 5) + "." * (20 - pct // 5)
        line = (f"{self.label} [{bar}] {done}/{self.total} {note} "
                f"{rate:.2f}s/it eta {rate * (self.total - done):.0f}s")  # fmt: skip
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)  # fmt: skip
        if self.tty and done >= self.total:
            print(file=sys.stderr)


def validate(net: torch.nn.Module, cfg: Config, frames: list, truths: list) -> dict:
    """Export ``net`` to a temporary ONNX file and score it with ``handplay.Detector``."""
    from handplay.detector import Detector
    from training.evaluate import run

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "val.onnx"
        export_onnx(net, path, (cfg.input_w, cfg.input_h), cfg.threshold, cfg.to_dict(),
                    open_threshold=cfg.open_threshold)  # fmt: skip
        det = Detector(path, threads=cfg.threads, max_hands=16)
        figures, _ = run(det, frames, truths)
    net.train()
    return figures


def main(argv: Sequence[str] | None = None) -> dict:
    """Train per the command line (see the module docstring); returns the final figures.

    A data error (a bad ``labels.jsonl`` line, a missing folder or video) ends the run with its
    one-line message; ``--debug`` (or ``-v``) shows the traceback instead.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = any(a in DEBUG_FLAGS for a in args)
    args = [a for a in args if a not in DEBUG_FLAGS]
    stages = parse_schedule(args)
    try:
        return run_schedule(stages) if stages else train(parse_args(args))
    except (LabelError, SourceError, FileNotFoundError) as e:
        if debug:
            raise
        raise SystemExit(f"training.fit: {e} (--debug shows the traceback)") from None


def run_schedule(stages: Sequence[Config]) -> dict:
    """Train the stages of a schedule in turn (:data:`training.config.SCHEDULES`): a stage with
    a ``model.onnx`` is done and skipped, one with only a ``last.pt`` is resumed. The last
    stage's model is copied to the schedule's folder. Returns the last stage's figures."""
    figures: dict = {}
    for k, cfg in enumerate(stages, start=1):
        out = Path(cfg.out)
        if (out / "model.onnx").exists():
            print(f"stage {k}/{len(stages)}: done ({out / 'model.onnx'})")
            continue
        print(f"stage {k}/{len(stages)}: {out}", flush=True)
        figures = train(dataclasses.replace(cfg, resume=(out / "last.pt").exists()))
    final = Path(stages[-1].out)
    shutil.copyfile(final / "model.onnx", final.parent / "model.onnx")
    shutil.copyfile(final / "last.pt", final.parent / "last.pt")
    print(f"schedule done: {final.parent / 'model.onnx'}")
    return figures


def added_labels(spec: str, sources: Sequence[str]) -> dict[str, str]:
    """``--add_labels`` (``"SOURCE=FILE,..."``) as ``{data spec: FILE}``; each SOURCE must be in
    exactly one of the ``--data`` specs ``sources``."""
    out: dict[str, str] = {}
    for item in (s for s in spec.split(",") if s):
        key, eq, path = item.partition("=")
        if not eq or not key or not path:
            raise SystemExit(f"--add_labels item {item!r} is not SOURCE=FILE")
        hits = [s for s in sources if key in s]
        if len(hits) != 1:
            raise SystemExit(
                f"--add_labels source {key!r} is in {len(hits)} --data specs, not 1: {sources}"
            )
        if hits[0] in out:  # a second file for one folder would silently replace the first
            raise SystemExit(f"--add_labels gives {hits[0]} two files: {out[hits[0]]}, {path}")
        out[hits[0]] = path
    return out


def train(cfg: Config) -> dict:
    """Train with ``cfg``: data, model, loop, checkpoints, export; returns the final figures."""
    # ---- distributed set-up: torchrun sets RANK/WORLD_SIZE; alone we are rank 0 of 1 ----
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    lead = rank == 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    say = print if lead else (lambda *a, **k: None)

    # ---- data ----
    t0 = time.time()
    specs = [s for s in cfg.data.split(",") if s]
    weights = [float(w) for w in cfg.weights.split(",") if w]
    if len(weights) != len(specs):
        raise SystemExit(f"--weights has {len(weights)} values for {len(specs)} --data sources")
    synth_size = (cfg.input_w, cfg.input_h)
    unknown = [p for p in cfg.unknown_open.split(",") if p]
    later = added_labels(cfg.add_labels, specs)
    sources = [
        tdata.load_source(s, cfg.cache_side, synth_size, unknown, later.get(s)) for s in specs
    ]
    for spec, path in later.items():
        say(f"{spec}: hands added from {path}")
    machine = [m for m in cfg.machine_labelled.split(",") if m]
    for k, spec in enumerate(specs):
        if not any(m in spec for m in machine):
            continue
        # An empty machine-labelled frame is no proof of no hand (the data README): drop it.
        kept = [im for im in sources[k] if im.hands]
        dropped, sources[k] = len(sources[k]) - len(kept), kept
        added = 0
        if cfg.complete_model and cfg.others == "target":
            model = None if cfg.complete_model == "default" else cfg.complete_model
            added = tdata.mark_unlabelled(sources[k], model, cfg.complete_score)
        say(f"{spec}: dropped {dropped} frames with no label, masked {added} unlabelled finds")
    crops = [c for root in cfg.crops.split(",") if root for c in tdata.load_crops(root)]
    aug = Augment(
        hand_r=(0.025, cfg.hand_max), p_paste=cfg.paste if crops else 0.0, p_decoy=cfg.decoy,
        p_focus=cfg.focus, p_hand_blur=cfg.hand_blur,
    )  # fmt: skip
    per_rank = max(1, cfg.batch // world)
    if cfg.samples_per_epoch < per_rank * world:
        raise SystemExit(
            f"--samples_per_epoch ({cfg.samples_per_epoch}) must be at least --batch ({cfg.batch})"
        )
    dataset = MixedDataset(
        sources, weights, crops, cfg.samples_per_epoch, view_sizes(cfg), cfg.stride,
        aug, seed=cfg.seed, others=cfg.others, radius_scale=cfg.radius_scale,
        crop_size=(cfg.crop_w, cfg.crop_h) if cfg.crop_w and cfg.crop_h else None,
    )  # fmt: skip
    sampler = DistributedSampler(dataset, world, rank, seed=cfg.seed) if world > 1 else None
    loader = DataLoader(
        dataset, batch_size=per_rank, shuffle=sampler is None, sampler=sampler,
        num_workers=cfg.workers, drop_last=True, persistent_workers=cfg.workers > 0,
        generator=torch.Generator().manual_seed(cfg.seed),
    )  # fmt: skip
    frames, truths = ([], [])
    if cfg.val and lead:
        from training.evaluate import load_truth

        frames, truths = load_truth(cfg.val)
    say(f"data: {[len(s) for s in sources]} images from {specs}, {len(crops)} crops, "
        f"{len(frames)} val images, loaded in {time.time() - t0:.0f}s")  # fmt: skip

    # ---- model, optimiser, resume ----
    net = build_model(cfg.arch, cfg.width, cfg.stride)
    macs, params = count_macs(net, (cfg.input_w, cfg.input_h))
    say(f"model: {cfg.arch} width {cfg.width} stride {cfg.stride}: {macs / 1e6:.1f}M MACs, "
        f"{params / 1e3:.1f}k params at {cfg.input_w}x{cfg.input_h}")  # fmt: skip
    if cfg.init and not cfg.resume:
        if not Path(cfg.init).is_file():
            raise SystemExit(
                f"--init: no checkpoint at {cfg.init}; give a last.pt from a run or a .pt "
                "written by training.export --weights"
            )
        state, old = read_checkpoint(cfg.init)
        check_compatible(old, cfg, cfg.init, "--init")
        fresh = load_weights(net, state["model"])
        say(f"initialised from {cfg.init} (step {state['step']} of that run)"
            + (f"; new: {', '.join(fresh)}" if fresh else ""))  # fmt: skip
    # channels_last runs the depthwise convs ~1.7x faster on CPU than NCHW (measured).
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, epoch, history, trained_s = 0, 0, [], 0.0
    ckpt_path = out / "last.pt"
    if cfg.resume:
        if not ckpt_path.exists():
            raise SystemExit(f"--resume: no checkpoint at {ckpt_path}; train without --resume")
        state, old = read_checkpoint(ckpt_path)
        check_compatible(old, cfg, ckpt_path, "--resume")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, epoch, history = state["step"], state["epoch"], list(state["history"])
        trained_s = float(state.get("trained_s", 0.0))
        say(f"resumed from {ckpt_path} at epoch {epoch}, step {step}")
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    steps_per_epoch = len(loader)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps:
        total = min(total, cfg.max_steps)

    # ---- loop ----
    figures: dict = history[-1] if history else {}
    budget_s = cfg.minutes * 60

    def progress() -> float:
        # With a time budget the schedule ends when time runs out, even on a busy machine.
        # DDP ranks must agree, so they follow rank 0's clock.
        p = step / total
        if budget_s > 0:
            clock = torch.tensor([trained_s + time.time() - t_epoch], dtype=torch.float64)
            if world > 1:
                dist.broadcast(clock, 0)
            p = max(p, float(clock) / budget_s)
        return p

    t_epoch = time.time()
    while epoch < cfg.epochs and progress() < 1.0:
        t_epoch = time.time()
        dataset.epoch = epoch
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        bar = _Progress(steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}") if lead else None
        sums = {"heat": 0.0, "size": 0.0, "open": 0.0}
        for i, (image, heat_t, ignore, size_t, open_t, open_m) in enumerate(loader):
            done = progress()
            if done >= 1.0:
                break
            for group in opt.param_groups:
                group["lr"] = lr_at(done, cfg)
            image = image.contiguous(memory_format=torch.channels_last)
            logits, log_size, open_logits = model(image, logits=True)
            l_heat = heatmap_loss(cfg.loss, logits, heat_t, ignore)
            l_size = size_loss(log_size, size_t, SIZE_UNIT)
            l_open = open_loss(open_logits, open_t, open_m)
            loss = l_heat + cfg.size_weight * l_size + cfg.open_weight * l_open
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            step += 1
            sums["heat"] += l_heat.item()
            sums["size"] += l_size.item()
            sums["open"] += l_open.item()
            if bar is not None:
                n = i + 1
                bar.update(n, f"loss {sums['heat'] / n:.3f} size {sums['size'] / n:.3f} "
                              f"open {sums['open'] / n:.3f}")  # fmt: skip
        epoch_s = time.time() - t_epoch
        trained_s += epoch_s
        t_epoch = time.time()  # validation and checkpointing do not count against --minutes
        epoch += 1
        n = i + 1
        figures = {"epoch": epoch, "step": step, "lr": round(lr_at(progress(), cfg), 6),
                   "loss": round(sums["heat"] / n, 4),
                   "size_loss": round(sums["size"] / n, 4),
                   "open_loss": round(sums["open"] / n, 4),
                   "train_s": round(epoch_s, 1)}  # fmt: skip
        if lead:
            if frames:
                figures.update(validate(net, cfg, frames, truths))
            history.append(figures)
            say(json.dumps(figures), flush=True)
            with (out / "history.jsonl").open("a") as f:
                f.write(json.dumps(figures) + "\n")
            state = {"model": net.state_dict(), "optimizer": opt.state_dict(),
                     "config": cfg.to_dict(), "step": step, "epoch": epoch,
                     "history": history, "metrics": figures,
                     "trained_s": trained_s}  # fmt: skip
            save_checkpoint(state, ckpt_path)  # atomic: a kill mid-save keeps the previous one
        if world > 1:
            dist.barrier()

    # ---- export ----
    if lead:
        onnx_path = out / "model.onnx"
        metrics = {k: v for k, v in figures.items() if k not in ("threshold",)}
        metrics["val"] = cfg.val
        diff = export_onnx(net.eval(), onnx_path, (cfg.input_w, cfg.input_h), cfg.threshold,
                           cfg.to_dict(), metrics, cfg.open_threshold)  # fmt: skip
        say(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e3:.0f} kB, parity {diff:.1e})")
    if world > 1:
        dist.destroy_process_group()
    return figures


if __name__ == "__main__":
    main()
