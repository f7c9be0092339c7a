"""Benchmark the input pipeline: ``python -m handplay.bench [--model PATH] [--source PATH]``.

Runs :class:`handplay.Input` (posting real pygame events to a dummy display) over a video file,
or over a rendered clip of moving red discs when no ``--source`` is given, and prints the
per-stage milliseconds (preprocess, inference, peaks, tracking+events), the capture → event
latency (p50, p95) and the worker thread's CPU time per frame.

Examples::

    python -m handplay.bench                                   # shipped model, synthetic clip
    python -m handplay.bench --test-model --size 320x180       # the tests' red-disc model
    python -m handplay.bench --model my.onnx --size 640x360    # any model, any input size
    python -m handplay.bench --source clip.mp4 --fast          # a recording, unpaced
    python -m handplay.bench --peaks       # sub-cell refinement accuracy on synthetic blobs
    python -m handplay.bench --smoothing   # jitter and lag of the filters on synthetic paths
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from handplay.sources import argument_type, parse_size


def _synthetic_clip(frames: int) -> list[np.ndarray]:
    from handplay.testing import disc_clip, linear_path

    tracks = [
        linear_path((80, 200), (560, 260), frames, radius=28),
        linear_path((600, 100), (100, 300), frames, radius=18),
    ]
    return disc_clip(tracks, (640, 360), frames)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        prog="python -m handplay.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", help="ONNX model (default: the shipped one)")
    parser.add_argument(
        "--test-model",
        action="store_true",
        help="use handplay.testing's red-disc model (needs the onnx package)",
    )
    parser.add_argument("--source", help="video file (default: a synthetic 640x360 clip)")
    parser.add_argument(
        "--size",
        type=argument_type(parse_size),
        help="model input size WxH (default: the model's own)",
    )
    parser.add_argument("--frames", type=int, default=300, help="synthetic clip length")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="process frames as fast as possible instead of at 30 fps",
    )
    parser.add_argument(
        "--peaks", action="store_true", help="print the peak refinement accuracy table instead"
    )
    parser.add_argument(
        "--smoothing", action="store_true", help="print the smoothing jitter/lag table instead"
    )
    parser.add_argument("--trials", type=int, default=2000, help="trials for --peaks")
    args = parser.parse_args(argv)
    if args.peaks or args.smoothing:
        from handplay import accuracy

        if args.peaks:
            accuracy.print_peak_table(args.trials)
        if args.smoothing:
            accuracy.print_smoothing_table()
        return 0

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import pygame

    import handplay

    pygame.init()
    pygame.display.set_mode((1280, 720))
    if args.test_model:
        import tempfile

        from handplay.testing import make_disc_model

        args.model = make_disc_model(Path(tempfile.mkdtemp()) / "disc.onnx")
    source = args.source or _synthetic_clip(args.frames)
    inp = handplay.Input(
        source,
        model=args.model,
        calibration=handplay.Calibration(),
        screen_size=(1280, 720),
        threads=args.threads,
        paced=not args.fast,
        input_size=args.size,
    )
    try:
        inp.start()
    except (handplay.ModelError, handplay.SourceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    events = 0
    while inp.running:
        events += len(pygame.event.get())
        pygame.time.wait(5)
    inp.wait()
    inp.stop()
    events += len(pygame.event.get())
    timings = inp.timings[5:]  # skip warm-up
    if not timings:
        print("error: no frames were processed", file=sys.stderr)
        return 1
    det = inp.detector
    print(
        f"model {det.path.name}, input {det.input_size[0]}x{det.input_size[1]}, "
        f"stride {det.stride}, {args.threads} thread(s), {len(timings)} frames, "
        f"{events} events, {'unpaced' if args.fast else 'paced at the source fps'}"
    )
    rows = [
        ("preprocess", "preprocess"),
        ("inference", "inference"),
        ("peaks", "peaks"),
        ("tracking + events", "tracking"),
        ("capture -> event latency", "latency"),
        ("worker CPU per frame", "cpu"),
    ]
    print(f"{'stage':<26}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for label, field in rows:
        values = np.array([getattr(t, field) for t in timings])
        print(
            f"{label:<26}{np.percentile(values, 50):9.2f}{np.percentile(values, 95):9.2f}"
            f"{values.mean():9.2f}"
        )
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
