"""Multiply-adds, parameters and onnxruntime speed of the network configs, as a Markdown table.

Run: ``python -m training.bench [--size 320x192] [--widths 0.75,1.0,1.25] [--no-vgg]``

Each config is exported untrained (speed does not depend on the weights) and timed on one
onnxruntime thread, as ``handplay.Detector(threads=1)`` runs it: median and p90 of the session
call alone, after a warm-up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from handplay.sources import argument_type, parse_size
from training.export import export_onnx
from training.model import build_model, count_macs


def time_onnx(path: str | Path, size: tuple[int, int], runs: int, threads: int = 1) -> list[float]:
    """Milliseconds per ``session.run`` on a random ``size=(w, h)`` image, after 3 warm-ups."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, size[1], size[0]), dtype=np.float32)
    for _ in range(3):
        sess.run(None, {"image": x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {"image": x})
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m training.bench", description=__doc__)
    parser.add_argument(
        "--size", default="320x192", type=argument_type(parse_size), help="WIDTHxHEIGHT"
    )
    parser.add_argument("--widths", default="0.75,1.0,1.25", help="HandNet width multipliers")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-vgg", action="store_true", help="skip the (slow) VGG baseline")
    args = parser.parse_args(argv)
    w, h = args.size
    configs = [("mobile", float(x)) for x in args.widths.split(",")]
    if not args.no_vgg:
        configs.append(("vgg", 1.0))
    print(f"| net ({w}x{h}) | MACs | params | ONNX size | ms p50 / p90 (1 thread) |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for arch, width in configs:
            net = build_model(arch, width).eval()
            macs, params = count_macs(net, (w, h))
            path = Path(tmp) / f"{arch}-{width}.onnx"
            export_onnx(net, path, (w, h), 0.3)
            runs = args.runs if arch == "mobile" else max(5, args.runs // 40)
            t = time_onnx(path, (w, h), runs)
            name = f"HandNet width {width}" if arch == "mobile" else "VGG baseline"
            print(f"| {name} | {macs / 1e6:.1f} M | {params / 1e3:.1f} k | "
                  f"{path.stat().st_size / 1e3:.0f} kB | "
                  f"{np.median(t):.2f} / {np.percentile(t, 90):.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
