"""Checkpoints: written atomically, read back without running code, checked once for fit.

A checkpoint is a dict saved with ``torch.save``: ``model`` (the state dict), ``config`` (the
:class:`~training.config.Config` that made it, as a dict), ``step``, ``epoch``, and for a whole
run's ``last.pt`` also ``optimizer``, ``history``, ``metrics`` and ``trained_s``. The slim file
that ``training.export --weights`` writes (``assets/models/hand.pt``) keeps only the first four.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from handplay.atomic import remove_stale_temporaries, write_atomic
from training.config import Config
from training.model import build_model

#: The keys that decide whether weights fit a net.
NET_KEYS = ("arch", "width", "stride")


def save_checkpoint(state: dict, path: str | os.PathLike[str]) -> None:
    """``torch.save`` atomically: a kill mid-save leaves the previous file whole (and its
    temporary file, which the next save of ``path``, e.g. the next epoch or run, removes)."""
    remove_stale_temporaries(path)
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def save_weights(state: dict, path: str | os.PathLike[str]) -> None:
    """Write a checkpoint's weights, config and step, without the optimiser (a third the size).

    ``training.fit --init=PATH`` starts from it; ``--resume`` needs a whole ``last.pt``.
    """
    slim = {key: state[key] for key in ("model", "config", "step", "epoch") if key in state}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(slim, path)


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict, Config]:
    """The checkpoint dict and its Config (``weights_only=True``: no code runs on load).

    Config keys this version no longer knows are dropped, so older checkpoints still load.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    known = {f.name for f in dataclasses.fields(Config)}
    return state, Config(**{k: v for k, v in state["config"].items() if k in known})


def check_compatible(old: Config, cfg: Config, path: str | os.PathLike[str], flag: str) -> None:
    """The one check that a checkpoint's weights fit the configured net.

    Raises:
        SystemExit: naming the flag (``--init``/``--resume``), the file and the key that differs.
    """
    for key in NET_KEYS:
        if getattr(old, key) != getattr(cfg, key):
            raise SystemExit(
                f"{flag}: {path} has {key}={getattr(old, key)!r}, the config says "
                f"{getattr(cfg, key)!r}; use the same value or another checkpoint / --out"
            )


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[torch.nn.Module, Config, dict]:
    """Rebuild the net of a checkpoint (``weights_only=True``: no code runs on load).

    Returns:
        ``(net in eval mode, its Config, the whole checkpoint dict)``.
    """
    state, cfg = read_checkpoint(path)
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
