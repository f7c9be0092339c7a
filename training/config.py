"""Every training setting in one dataclass, the named presets and schedules, and the parser.

``python -m training.fit [PRESET|SCHEDULE] [--key=value ...]``: a preset sets several keys at
once, then each ``--key=value`` overrides one; ``--help`` lists every key with its default.

    python -m training.fit quick                      # a few minutes on 2 CPU cores
    python -m training.fit full --out=runs/full       # the shipped model's recipe (5 stages)
    python -m training.fit long --out=runs/long       # one long stage from random weights
    python -m training.fit tune --data=clips,../shared/data/hagrid-train --weights=2,1
                                                      # fine-tune the shipped model on your clips
    python -m training.fit long --out=runs/long --resume   # continue from runs/long/last.pt
    python -m training.fit quick --lr=0.002 --loss=mse     # any config key as --key=value
    torchrun --nproc_per_node=4 -m training.fit long  # DistributedDataParallel (gloo on CPU)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from training.losses import LOSSES

DEBUG_FLAGS = ("--debug", "-v", "--verbose")  # show a data error's traceback

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
    # hands from a later labelling pass (training.relabel), "SOURCE=FILE,...": FILE's hands are
    # added to the --data folder whose spec contains SOURCE ("" = none)
    add_labels: str = ""
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
    open_weight: float = 3.0  # the open head's loss weight (BCE on hand cells; 1 left it untrained)
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
    max_steps: int = 0  # stop after this many steps (0 = no limit; tests, A/B runs by steps)
    minutes: float = 0.0  # training time budget; the LR schedule follows it if it binds (0 = off)
    resume: bool = False  # continue from OUT/last.pt
    init: str = ""  # start from this checkpoint's weights (fresh optimiser and schedule)

    def to_dict(self) -> dict:
        """The config as a plain dict (stored in checkpoints and ONNX metadata)."""
        return dataclasses.asdict(self)


PRESETS: dict[str, dict] = {
    # At most 6 min of training on 2 cores + ~1 min loading and validation.
    "quick": {"epochs": 20, "samples_per_epoch": 2048, "minutes": 6.0, "out": "runs/quick"},
    # One stage of up to 65 min on 2 cores from random weights; a checkpoint every epoch, so
    # --resume with more epochs (and more --minutes) goes further. `full` is the whole recipe.
    "long": {"epochs": 40, "samples_per_epoch": 4096, "minutes": 65.0, "out": "runs/long"},
    # Fine-tune the shipped model (its weights, a fresh schedule at half the LR) on your own
    # clips in about 15 min; give --data (your clips mixed with the shared data). The
    # thresholds are the shipped model's (chosen on hagrid-val; a test keeps them equal).
    "tune": {
        "init": str(SHIPPED_WEIGHTS),
        "lr": 1e-3,
        "warmup": 0.02,
        "epochs": 25,
        "samples_per_epoch": 4096,
        "minutes": 15.0,
        "threshold": 0.5,
        "open_threshold": 0.5,
        "out": "runs/tune",
    },  # fmt: skip
}

# The data and views of the format-1 stages (before issue 13): three sources, one crop folder,
# one view size, no hand smears.
_FORMAT1_DATA = {"data": "../shared/data/hagrid-train,../shared/data/closeups,synth:1000",
                 "weights": "1.0,0.25,0.1", "crops": "../shared/data/hand-crops",
                 "unknown_open": "", "views": "", "crop_w": 192, "crop_h": 128,
                 "hand_blur": 0.0}  # fmt: skip
_LATER = {"decoy": 0.5, "focus": 0.5, "warmup": 0.02, "samples_per_epoch": 8192}

#: ``python -m training.fit full``: the shipped model's recipe as one command. Each stage starts
#: from the previous stage's weights (``--init``: a fresh optimiser, warm-up and cosine decay)
#: and writes ``OUT/stageN/``; a stage whose ``model.onnx`` exists is done and skipped, so
#: rerunning the command (with ``--resume``) continues where it stopped. Stages 1-4 made the
#: format-1 model (model card); stage 5 adds the open head and every hand, all data, hand
#: smears and the views of every reach. 254 min of training on 2 cores (stages 1, 3 and 4
#: end at their epoch caps before their minutes).
SCHEDULES: dict[str, list[dict]] = {
    "full": [
        {
            **_FORMAT1_DATA,
            "epochs": 80,
            "samples_per_epoch": 4096,
            "minutes": 62.7,
            "decoy": 0.25,
            "focus": 0.75,
            "hand_max": 0.25,
        },
        {
            **_FORMAT1_DATA,
            **_LATER,
            "lr": 0.002,
            "warmup": 0.03,
            "epochs": 70,
            "minutes": 16.0,
            "hand_max": 0.25,
        },
        {**_FORMAT1_DATA, **_LATER, "lr": 0.002, "epochs": 80, "minutes": 70.0, "hand_max": 0.35},
        {
            **_FORMAT1_DATA,
            **_LATER,
            "lr": 0.001,
            "epochs": 85,
            "minutes": 80.0,
            "hand_max": 0.45,
            "threshold": 0.65,
        },
        {
            **_LATER,
            "lr": 0.002,
            "warmup": 0.03,
            "epochs": 80,
            "minutes": 58.0,
            "hand_max": 0.45,
            "threshold": 0.5,
        },
    ],  # fmt: skip
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
            names = ", ".join([*PRESETS, *SCHEDULES])
            raise SystemExit(f"unknown preset {preset!r}; valid presets: {names}")
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


def parse_schedule(argv: Sequence[str]) -> list[Config] | None:
    """``SCHEDULE [--key=value ...]`` -> one Config per stage (``None`` if ``argv`` names no
    schedule). The overrides apply to every stage; ``--out`` is the schedule's folder.

    Raises:
        SystemExit: as :func:`parse_args`.
    """
    args = list(argv)
    if not args or args[0] not in SCHEDULES:
        return None
    stages = SCHEDULES[args.pop(0)]
    base = parse_args(args)  # checks the overrides once, and gives --out
    given = {a[2:].partition("=")[0].replace("-", "_") for a in args if a.startswith("--")}
    out = Path(base.out if "out" in given else "runs/full")
    configs = []
    for k, stage in enumerate(stages, start=1):
        values = {**stage, "out": str(out / f"stage{k}")}
        if k > 1:
            values["init"] = str(out / f"stage{k - 1}" / "last.pt")
        values.update({key: getattr(base, key) for key in given if key != "out"})
        configs.append(Config(**values))
    return configs
