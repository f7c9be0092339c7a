"""Export a trained network to one self-contained ONNX file that follows DESIGN.md's contract.

Run: ``python -m training.export CHECKPOINT.pt --out model.onnx [--threshold 0.3] [--val DIR]
[--weights model.pt] [--deploy DIR | --no-deploy]`` (``--weights`` also writes the slim
checkpoint that ``training.fit --init`` fine-tunes from; the OpenCV deployment files for C++,
:mod:`training.deploy`, go to ``model_cpp/`` beside the model unless ``--deploy`` says where).

The file (model format 2, :mod:`handplay.contract`) has input ``image`` (N x 3 x H x W, RGB
0..1, dynamic N/H/W), outputs ``heatmap`` (every hand, 0..1, sigmoid inside), ``size`` (radius in
input pixels) and ``open`` (0..1, sigmoid inside), and the metadata keys ``handplay.format``,
``handplay.stride``, ``handplay.input_size``, ``handplay.threshold``, ``handplay.open_threshold``,
``handplay.train_config`` and ``handplay.metrics``. The input normalisation's division is folded
into the first conv (:func:`training.model.fold_input_scale`). Every export ends with a parity
check: the torch net as trained and onnxruntime must agree to within 1e-4 at the trained size
and at one other size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from handplay import contract as c
from training.checkpoint import load_checkpoint, save_weights
from training.model import fold_input_scale

log = logging.getLogger(__name__)

FORMAT = c.CURRENT_FORMAT
OUTPUTS = (c.HEATMAP, c.SIZE, c.OPEN)
PARITY_TOLERANCE = 1e-4


class _Contract(nn.Module):
    """Wraps a net so ``forward(image)`` returns ``(heatmap 0..1, size px, open 0..1)``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.net(image, logits=False)


def export_onnx(
    net: nn.Module,
    path: str | os.PathLike[str],
    input_size: tuple[int, int],
    threshold: float,
    train_config: dict | None = None,
    metrics: dict | None = None,
    open_threshold: float = 0.5,
) -> float:
    """Write ``net`` as a contract-following ONNX file and check it against torch.

    Args:
        net: a network from :func:`training.model.build_model` (its ``stride`` attribute is used).
        path: where to write the ``.onnx`` file (one file, weights inside).
        input_size: ``(width, height)`` the net was trained for; multiples of the stride.
        threshold: the recommended peak threshold, stored as ``handplay.threshold``.
        open_threshold: the open score above which a hand is open, ``handplay.open_threshold``.
        train_config: stored as JSON in ``handplay.train_config``.
        metrics: validation figures, stored as JSON in ``handplay.metrics``.

    Returns:
        The largest absolute difference between torch and onnxruntime outputs.

    Raises:
        ValueError: input size not a multiple of the stride, or threshold outside 0..1.
        RuntimeError: the parity check failed (difference above 1e-4).
    """
    stride = int(net.stride)
    w, h = input_size
    if w % stride or h % stride:
        raise ValueError(f"input_size must be multiples of stride {stride}, not {w}x{h}")
    if not (0.0 < threshold < 1.0 and 0.0 < open_threshold < 1.0):
        raise ValueError(
            f"threshold and open_threshold must be between 0 and 1, not {threshold}, "
            f"{open_threshold}"
        )
    path = Path(path)
    # The file holds the folded net (one elementwise pass less per frame); the parity check
    # compares it with the net as trained, so it checks the fold too.
    reference = _Contract(net).eval()
    wrapped = _Contract(fold_input_scale(net)).eval()
    example = torch.rand(1, 3, h, w)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        # The TorchScript exporter gives a plain, small graph with symbolic N/H/W via
        # dynamic_axes; it warns that it is deprecated, which is not the user's business.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                wrapped,
                (example,),
                str(raw),
                input_names=[c.INPUT],
                output_names=list(OUTPUTS),
                dynamic_axes={
                    c.INPUT: {0: "N", 2: "H", 3: "W"},
                    **{name: {0: "N", 2: "h", 3: "w"} for name in OUTPUTS},
                },
                opset_version=17,
                dynamo=False,
            )
        model = onnx.load(str(raw))
    meta = {
        c.FORMAT: FORMAT,
        c.STRIDE: str(stride),
        c.INPUT_SIZE: f"{w}x{h}",
        c.THRESHOLD: f"{threshold:.3g}",
        c.OPEN_THRESHOLD: f"{open_threshold:.3g}",
        c.TRAIN_CONFIG: json.dumps(train_config or {}, sort_keys=True),
        c.METRICS: json.dumps(metrics or {}, sort_keys=True),
    }
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path), save_as_external_data=False)
    diff = parity_check(reference, path, [(w, h), (w + 2 * stride * 4, h + stride * 4)])
    log.info(
        "exported %s (%.1f kB), parity max abs diff %.2e", path, path.stat().st_size / 1e3, diff
    )
    return diff


def parity_check(
    wrapped: nn.Module, path: str | os.PathLike[str], sizes: Sequence[tuple[int, int]]
) -> float:
    """Compare torch and onnxruntime on random images of each ``(w, h)``; raise above 1e-4."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    rng = np.random.default_rng(0)
    for w, h in sizes:
        x = rng.random((2, 3, h, w), dtype=np.float32)
        with torch.no_grad():
            ref = [t.numpy() for t in wrapped(torch.from_numpy(x))]
        got = sess.run(list(OUTPUTS), {c.INPUT: x})
        # Size is in pixels (tens): compare it relative to its scale; heatmap and open absolutely.
        worst = max(
            worst,
            float(np.abs(ref[0] - got[0]).max()),
            float((np.abs(ref[1] - got[1]) / np.maximum(np.abs(ref[1]), 1.0)).max()),
            float(np.abs(ref[2] - got[2]).max()),
        )
    if worst > PARITY_TOLERANCE:
        raise RuntimeError(
            f"ONNX parity check failed for {path}: max difference {worst:.2e} > "
            f"{PARITY_TOLERANCE:g}; the exported graph does not match the torch model"
        )
    return worst


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``handplay.*`` metadata of an ONNX file, as onnxruntime reports it."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(sess.get_modelmeta().custom_metadata_map)


def main(argv: Sequence[str] | None = None) -> None:
    """Export a checkpoint written by ``training.fit`` to ONNX."""
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__)
    parser.add_argument("checkpoint", help="a .pt checkpoint written by training.fit")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--threshold", type=float, default=None, help="default: the config's")
    parser.add_argument("--open-threshold", type=float, default=None, help="default: the config's")
    parser.add_argument(
        "--val", default=None, help="a labelled folder: store its figures at the threshold"
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="also write the weights and config (no optimiser state) to this .pt file, "
        "the starting point for `training.fit --init=PATH`",
    )
    parser.add_argument(
        "--deploy",
        default=None,
        help="also write the OpenCV (C++) deployment files here (training.deploy); default: "
        "OUT's name with _cpp, e.g. model_cpp/ beside model.onnx",
    )
    parser.add_argument(
        "--no-deploy", action="store_true", help="do not write the deployment files"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    net, cfg, state = load_checkpoint(args.checkpoint)
    thr = cfg.threshold if args.threshold is None else args.threshold
    open_thr = cfg.open_threshold if args.open_threshold is None else args.open_threshold
    metrics = dict(state.get("metrics", {}))
    diff = export_onnx(
        net, args.out, (cfg.input_w, cfg.input_h), thr, cfg.to_dict(), metrics, open_thr
    )
    if args.val:
        from handplay.detector import Detector
        from training.evaluate import load_truth, run

        frames, truths = load_truth(args.val)
        metrics, _ = run(Detector(args.out, threads=1, max_hands=16), frames, truths)
        metrics.update(val=args.val, epoch=state.get("epoch"), step=state.get("step"))
        set_metadata(args.out, {"handplay.metrics": json.dumps(metrics, sort_keys=True)})
        print(json.dumps(metrics))
    print(f"wrote {args.out} (parity {diff:.2e})")
    if not args.no_deploy:
        # after the metrics are stored: the sidecar records the final file's sha256
        from training.deploy import write_deployment

        out = Path(args.out)
        folder = Path(args.deploy) if args.deploy else out.with_name(out.stem + "_cpp")
        print(f"wrote {write_deployment(out, folder)} (the OpenCV deployment for C++)")
    if args.weights:
        save_weights(state, args.weights)
        print(f"wrote {args.weights} (for training.fit --init)")


def set_metadata(path: str | os.PathLike[str], values: dict[str, str]) -> None:
    """Replace or add ``metadata_props`` entries of an ONNX file in place (weights untouched)."""
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props.update(values)
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(model, str(path), save_as_external_data=False)


if __name__ == "__main__":
    main()
