"""Train the hand heatmap model, validate it every epoch, checkpoint, and export ONNX.

Run:
    python -m training.fit quick                      # a few minutes on 2 CPU cores
    python -m training.fit full --out=runs/full       # the shipped model's first stage
    python -m training.fit tune --data=clips,../shared/data/hagrid-train --weights=2,1
                                                      # fine-tune the shipped model on your clips
    python -m training.fit full --out=runs/full --resume   # continue from runs/full/last.pt
    python -m training.fit quick --lr=0.002 --loss=mse     # any config key as --key=value
    torchrun --nproc_per_node=4 -m training.fit full  # DistributedDataParallel (gloo on CPU)

Reads top to bottom: config -> data -> model -> loop (validation each epoch with the DESIGN.md
rule, through ``handplay.Detector`` on the exported ONNX) -> checkpoint -> export. ``OUT/last.pt``
holds the weights, optimiser, step and the config that made them; ``OUT/model.onnx`` is the
exported model and ``OUT/history.jsonl`` one line of figures per epoch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from handplay.sources import SourceError
from training import data as tdata
from training.export import export_onnx, save_checkpoint
from training.labels import LabelError
from training.losses import LOSSES, heatmap_loss, open_loss, size_loss
from training.model import SIZE_UNIT, build_model, count_macs

log = logging.getLogger(__name__)

DEBUG_FLAGS = ("--debug", "-v", "--verbose")

# The shipped model's weights and config, written by `training.export --weights` beside it.
# hand.pt (weights + config for fine-tuning) is a checkout asset, not runtime package data.
SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "models" / "hand.pt"


@dataclass
class Config:
    """Every training setting; each can be overridden with ``--key=value``."""

    data: str = (
        "../shared/data/hagrid-train,../shared/data/rf100-signers,../shared/data/closeups,"
        "synth:1000"
    )  # sources (,)
    weights: str = "1.0,0.3,0.25,0.05"  # sampling weight of each data source
    # hand crops for copy-paste, folders separated by "," ("" = none)
    crops: str = "../shared/data/hand-crops,../shared/data/hand-crops-more"
    # image path prefixes whose hands' openness is unknown: closeups' one-class "hands" set
    unknown_open: str = "images/hands/"
    # sources (substrings of their spec) whose labels are machine-made: their frames with no
    # labelled hand are dropped, and a model's extra finds there are masked ("" = none)
    machine_labelled: str = "hagrid-train,rf100-signers"
    complete_model: str = ""  # a model that proposes unlabelled hands to mask ("default" = shipped)
    complete_score: float = 0.6  # its peak threshold
    val: str = "../shared/data/hagrid-val"  # validation folder ("" = no validation)
    out: str = "runs/quick"  # checkpoints, history and model.onnx go here
    arch: str = "mobile"  # "mobile" (HandNet) or "vgg" (the baseline)
    width: float = 1.0  # HandNet channel multiplier
    stride: int = 4  # output stride, 4 or 8
    input_w: int = 320  # training / default inference width
    input_h: int = 192  # training / default inference height
    # camera-like view sizes the items are drawn from ("" = input_w x input_h alone); hand
    # sizes are relative to the view, so larger views give the pixel sizes of a longer reach
    views: str = "320x192,480x288,640x384"
    crop_w: int = 224  # training crop width inside the view (0 = whole view)
    crop_h: int = 160  # training crop height (crops make steps cheaper at the same hand sizes)
    loss: str = "focal"  # heatmap loss: focal, mse or bce
    size_weight: float = 0.2  # weight of the size (radius) loss
    open_weight: float = 1.0  # weight of the open head's loss (BCE on hand cells)
    open_threshold: float = 0.5  # open score threshold written into the model
    others: str = "target"  # "other" hands: "target" (find every hand) or "ignore" (mask them)
    radius_scale: float = 0.3  # heatmap Gaussian sigma / hand radius
    paste: float = 0.5  # probability of pasting hand crops onto a training image
    hand_blur: float = 0.3  # chance per hand of a motion smear along a random direction
    decoy: float = 0.5  # chance that a pasted oval is a labelless non-hand (objects, background)
    hand_max: float = 0.25  # largest hand radius drawn, as a fraction of the view height
    focus: float = 0.5  # chance that a training crop is placed around a hand (else anywhere)
    epochs: int = 8  # passes of samples_per_epoch items
    samples_per_epoch: int = 2048  # augmented items per epoch
    batch: int = 32  # global batch size (split across DDP ranks)
    lr: float = 4e-3  # peak learning rate (AdamW, warm-up then cosine decay)
    weight_decay: float = 1e-4  # AdamW weight decay
    warmup: float = 0.05  # fraction of the steps spent warming up
    threshold: float = 0.3  # peak threshold written into the model and used for validation
    seed: int = 0  # seeds data order, augmentation and initial weights
    threads: int = 2  # torch intra-op threads per process
    workers: int = 0  # DataLoader worker processes (0 = augment in the training process)
    cache_side: int = 640  # images are cached in memory with their long side at most this
    max_steps: int = 0  # stop after this many steps in total (0 = no limit; for tests)
    minutes: float = 0.0  # training time budget; the LR schedule follows it if it binds (0 = off)
    resume: bool = False  # continue from OUT/last.pt
    init: str = ""  # start from this checkpoint's weights (fresh optimiser and schedule)

    def to_dict(self) -> dict:
        """The config as a plain dict (stored in checkpoints and ONNX metadata)."""
        return dataclasses.asdict(self)


PRESETS: dict[str, dict] = {
    # At most 6 min of training on 2 cores + ~1 min loading and validation.
    "quick": {"epochs": 20, "samples_per_epoch": 2048, "minutes": 6.0, "out": "runs/quick"},
    # 5120 steps, about 25-30 min on 2 cores (at most 65 min of training on a busy machine); a
    # checkpoint every epoch, so --resume with more epochs (and more --minutes) goes further.
    "full": {"epochs": 40, "samples_per_epoch": 4096, "minutes": 65.0, "out": "runs/full"},
    # Fine-tune the shipped model (its weights, a fresh schedule at a quarter of the LR) on
    # your own clips in about 15 min; give --data (your clips mixed with the shared data).
    # The threshold is the shipped model's (chosen on hagrid-val; a test keeps them equal).
    "tune": {
        "init": str(SHIPPED_WEIGHTS),
        "lr": 1e-3,
        "warmup": 0.02,
        "epochs": 25,
        "samples_per_epoch": 4096,
        "minutes": 15.0,
        "threshold": 0.65,
        "out": "runs/tune",
    },  # fmt: skip
}


def parse_args(argv: Sequence[str]) -> Config:
    """``[PRESET] [--key=value ...]`` -> Config.

    Raises:
        SystemExit: unknown preset or key (listing the valid ones) or a badly typed value.
    """
    fields = {f.name: f for f in dataclasses.fields(Config)}
    values: dict = {}
    args = list(argv)
    if args and not args[0].startswith("--"):
        preset = args.pop(0)
        if preset not in PRESETS:
            raise SystemExit(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
    if "--help" in args or "-h" in args:
        print(__doc__)
        print("Config keys (defaults):")
        for name in fields:
            print(f"  --{name}={getattr(Config(), name)!r}")
        print("Presets: " + "; ".join(f"{k}: {v}" for k, v in PRESETS.items()))
        raise SystemExit(0)
    for arg in args:
        if not arg.startswith("--"):
            raise SystemExit(f"expected --key=value, not {arg!r}")
        key, eq, raw = arg[2:].partition("=")
        key = key.replace("-", "_")
        if key == "preset":
            if raw not in PRESETS:
                raise SystemExit(f"unknown preset {raw!r}; valid presets: {', '.join(PRESETS)}")
            values.update(PRESETS[raw])
            continue
        if key not in fields:
            raise SystemExit(f"unknown config key {key!r}; valid keys: {', '.join(fields)}")
        kind = type(getattr(Config(), key))
        if kind is bool:
            if eq and raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise SystemExit(f"--{key} must be true or false, not {raw!r}")
            values[key] = not eq or raw.lower() in ("1", "true", "yes")
            continue
        try:
            values[key] = kind(raw)
        except ValueError:
            raise SystemExit(f"--{key} must be a {kind.__name__}, not {raw!r}") from None
    if "data" in values and "weights" not in values:
        # --data alone: every source counts the same (the default weights fit the default data)
        values["weights"] = ",".join("1" for spec in values["data"].split(",") if spec)
    cfg = Config(**values)
    if cfg.loss not in LOSSES:
        raise SystemExit(f"--loss must be one of {', '.join(LOSSES)}, not {cfg.loss!r}")
    if cfg.input_w % 32 or cfg.input_h % 32 or cfg.crop_w % 32 or cfg.crop_h % 32:
        raise SystemExit(
            f"input and crop sizes must be multiples of 32 (the net's deepest stride), not "
            f"{cfg.input_w}x{cfg.input_h} and {cfg.crop_w}x{cfg.crop_h}"
        )
    for vw, vh in view_sizes(cfg):
        if vw % 32 or vh % 32:
            raise SystemExit(f"--views sizes must be multiples of 32, not {vw}x{vh}")
        if cfg.crop_w > vw or cfg.crop_h > vh:
            raise SystemExit(
                f"the crop {cfg.crop_w}x{cfg.crop_h} must fit in the view {vw}x{vh}; lower "
                "--crop_w/--crop_h (0 = whole input) or change --views"
            )
    return cfg


def view_sizes(cfg: Config) -> list[tuple[int, int]]:
    """The camera-like view sizes of ``cfg.views`` (``[(input_w, input_h)]`` when empty).

    Raises:
        SystemExit: a size that is not ``WxH``.
    """
    from handplay.sources import parse_size

    if not cfg.views:
        return [(cfg.input_w, cfg.input_h)]
    try:
        return [parse_size(v) for v in cfg.views.split(",") if v]
    except ValueError as e:
        raise SystemExit(f"--views: {e}") from None


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


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, Config, dict]:
    """Rebuild the net of a checkpoint (``weights_only=True``: no code runs on load).

    Returns:
        ``(net in eval mode, its Config, the whole checkpoint dict)``.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    cfg = Config(**state["config"])
    net = build_model(cfg.arch, cfg.width, cfg.stride)
    load_weights(net, state["model"])
    return net.eval(), cfg, state


def load_weights(net: torch.nn.Module, weights: dict) -> list[str]:
    """Load ``weights`` into ``net``; a format-1 checkpoint (no open head) leaves the open head
    as initialised. Returns the names left as initialised.

    Raises:
        RuntimeError: any other missing or unexpected key (a different architecture).
    """
    missing, unexpected = net.load_state_dict(weights, strict=False)
    bad = [k for k in missing if ".open." not in f".{k}"] + list(unexpected)
    if bad:
        raise RuntimeError(f"the checkpoint does not fit this net: keys {bad[:6]}")
    return list(missing)


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
    cfg = parse_args([a for a in args if a not in DEBUG_FLAGS])
    try:
        return train(cfg)
    except (LabelError, SourceError, FileNotFoundError) as e:
        if debug:
            raise
        raise SystemExit(f"training.fit: {e} (--debug shows the traceback)") from None


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
    sources = [tdata.load_source(s, cfg.cache_side, synth_size, unknown) for s in specs]
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
    aug = tdata.Augment(
        hand_r=(0.025, cfg.hand_max), p_paste=cfg.paste if crops else 0.0, p_decoy=cfg.decoy,
        p_focus=cfg.focus, p_hand_blur=cfg.hand_blur,
    )  # fmt: skip
    per_rank = max(1, cfg.batch // world)
    if cfg.samples_per_epoch < per_rank * world:
        raise SystemExit(
            f"--samples_per_epoch ({cfg.samples_per_epoch}) must be at least --batch ({cfg.batch})"
        )
    dataset = tdata.MixedDataset(
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
        state = torch.load(cfg.init, map_location="cpu", weights_only=True)
        old = Config(**state["config"])
        if (old.arch, old.width, old.stride) != (cfg.arch, cfg.width, cfg.stride):
            raise SystemExit(
                f"--init: {cfg.init} is arch={old.arch} width={old.width} stride={old.stride}; "
                f"the config says arch={cfg.arch} width={cfg.width} stride={cfg.stride}"
            )
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
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        old = Config(**state["config"])
        for key in ("arch", "width", "stride"):
            if getattr(old, key) != getattr(cfg, key):
                raise SystemExit(
                    f"--resume: checkpoint has {key}={getattr(old, key)!r}, config says "
                    f"{getattr(cfg, key)!r}; use the same value or a new --out"
                )
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
