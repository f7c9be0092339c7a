"""Benchmark the input pipeline: ``python -m handplay.bench [--model PATH] [--source PATH]``.

Prints two tables on 640×480 and 800×600 frames (``--frame-sizes``):

1. the detector alone, at each reach (``near``, ``room``, ``hall``): the median milliseconds of
   its stages (preprocess, inference, peaks, second look) and of the whole ``Detector.detect``
   call, on one thread, as the input thread runs it; then the second look's cost for 1, 2 and 4
   candidates (it runs per hand found, so a frame's cost grows with the hands in view);
2. :class:`handplay.Input` (posting real pygame events to a dummy display) over a rendered clip
   of two moving red discs at each frame size, or over a video file (``--source``): the
   per-stage milliseconds, the capture → event latency (p50, p95) and the input thread's CPU
   time per frame.

Examples::

    python -m handplay.bench                                   # shipped model, synthetic clips
    python -m handplay.bench --test-model --size 320x180       # the tests' red-disc model
    python -m handplay.bench --model my.onnx --reach hall      # any model, any reach
    python -m handplay.bench --source clip.mp4 --fast          # a recording, unpaced
    python -m handplay.bench --peaks       # sub-cell refinement accuracy on synthetic blobs
    python -m handplay.bench --smoothing   # jitter and lag of the filters on synthetic paths
    python -m handplay.bench --tracking --source clip.mp4  # id churn at each keep threshold
    python -m handplay.bench --looks 0     # the frame pass alone, without the second look
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from handplay.detector import DEFAULT_LOOKS, Detector, check_looks
from handplay.sources import argument_type, parse_size


def _synthetic_clip(frames: int, size: tuple[int, int] = (640, 360)) -> Iterator[np.ndarray]:
    """Two discs crossing a ``size`` frame (the paths of a 640×360 frame, scaled), drawn on one
    pre-rendered background: a few MB whatever the length, and cheap to draw per frame."""
    from handplay.testing import DISC_BGR, linear_path, render_disc_frame

    k = size[0] / 640
    tracks = [
        linear_path((80 * k, 200 * k), (560 * k, 260 * k), frames, radius=28 * k),
        linear_path((600 * k, 100 * k), (100 * k, 300 * k), frames, radius=18 * k),
    ]
    background = render_disc_frame(size, [])
    for i in range(frames):
        frame = background.copy()
        for track in tracks:
            x, y, r = track(i)[:3]
            centre = (round(x * 16), round(y * 16))  # 1/16 px (shift=4), as render_disc_frame
            cv2.circle(frame, centre, round(r * 16), DISC_BGR, -1, cv2.LINE_AA, 4)
        yield frame


def _detector_table(
    model: str | os.PathLike[str] | None,
    reaches: list[str],
    frame_sizes: list[tuple[int, int]],
    calls: int,
    threads: int,
    looks: int = DEFAULT_LOOKS,
) -> None:
    """Print the detector-alone table: median ms per stage and per ``detect`` call."""
    import time

    # Load every reach's detector before the header, so a bad model is an error, not a table
    # with no rows.
    detectors = {
        reach: Detector(model, threads=threads, reach=reach, looks=looks) for reach in reaches
    }
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # as the input thread runs it
    print(f"detector alone, median of {calls} calls ({threads} onnxruntime thread(s)):")
    # CPU ms (time.thread_time) is what a call costs this thread: on a busy machine the wall
    # time also holds the time the thread waited for a core
    print(
        "| frame | reach | input | preprocess ms | inference ms | peaks ms | look ms | detect ms "
        "| CPU ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    try:
        for reach, det in detectors.items():
            for w, h in frame_sizes:
                frame = next(_synthetic_clip(1, (w, h)))
                stages: dict[str, list[float]] = {
                    "preprocess": [], "inference": [], "peaks": [], "look": []
                }  # fmt: skip
                total, cpu = [], []
                for i in range(calls + 10):
                    c0, t0 = time.thread_time(), time.perf_counter()
                    det.detect(frame)
                    t1, c1 = time.perf_counter(), time.thread_time()
                    if i >= 10:  # warm-up
                        total.append((t1 - t0) * 1e3)
                        cpu.append((c1 - c0) * 1e3)
                        for k in stages:
                            stages[k].append(det.timings[k])
                iw, ih = det.input_size
                cells = " | ".join(f"{np.median(stages[k]):.2f}" for k in stages)
                print(
                    f"| {w}x{h} | {reach} | {iw}x{ih} | {cells} | {np.median(total):.2f} "
                    f"| {np.median(cpu):.2f} |"
                )
        _look_table(next(iter(detectors.values())), frame_sizes[0], calls)
    finally:
        cv2.setNumThreads(cv_threads)


def _look_table(det: Detector, frame_size: tuple[int, int], calls: int) -> None:
    """Print the second look's median ms for 1, 2 and 4 candidates on one frame.

    The candidates are placed by hand (hand-sized, across the frame, small enough to be looked
    at) so the figure does not depend on what the model finds in a synthetic frame; it is the
    same batched call ``detect`` makes for that many hands.
    """
    import time

    from handplay.contract import letterbox_scale
    from handplay.peaks import Detection

    w, h = frame_size
    frame = next(_synthetic_clip(1, frame_size))
    print()
    print(f"second look ({w}x{h} frame, hands of radius {h // 10} px), median of {calls} calls:")
    print("| candidates | look ms | per candidate ms |")
    print("| --- | --- | --- |")
    scale = letterbox_scale(frame_size, det.input_size)
    looks = det.looks
    try:
        for n in (1, 2, 4):
            det.looks = n
            found = [Detection(w * (k + 1) / (n + 1), h / 2, h / 10, 0.9, 0.5) for k in range(n)]
            times = []
            for i in range(calls + 10):
                t0 = time.perf_counter()
                det._second_look(frame, found, scale)
                if i >= 10:
                    times.append((time.perf_counter() - t0) * 1e3)
            ms = float(np.median(times))
            print(f"| {n} | {ms:.2f} | {ms / n:.2f} |")
    finally:
        det.looks = looks


def _input_run(
    args: argparse.Namespace, source: object, frame_size: tuple[int, int] | None
) -> bool:
    """Run Input over one source and print its stage table; False if no frame was processed."""
    import pygame

    import handplay

    inp = handplay.Input(
        source,
        model=args.model,
        calibration=handplay.Calibration(),
        screen_size=(1280, 720),
        threads=args.threads,
        paced=not args.fast,
        input_size=args.size,
        reach=None if args.size else args.reach,
        looks=args.looks,
    )
    inp.start()
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
        return False
    det = inp.detector
    frames = f"{frame_size[0]}x{frame_size[1]} frames" if frame_size else "frames"
    print(
        f"model {det.path.name}, input {det.input_size[0]}x{det.input_size[1]}, "
        f"stride {det.stride}, {args.threads} thread(s), {len(timings)} {frames}, "
        f"{events} events, {'unpaced' if args.fast else 'paced at the source fps'}"
    )
    rows = [
        ("preprocess", "preprocess"),
        ("inference", "inference"),
        ("peaks", "peaks"),
        ("second look", "look"),
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
    print()
    return True


def _tracking_table(
    model: str | None, source: str, max_hands: int = 4, looks: int = DEFAULT_LOOKS
) -> None:
    """Print the tracker's churn on a video at several keep ratios (``--tracking``).

    A hand starts at the detector's threshold and, once entered, is kept by peaks down to
    ``ratio × threshold`` (:data:`handplay.tracking.KEEP_RATIO`). Every ratio sees the same
    detections (found once at the lowest floor; the peaks above a higher floor are a subset),
    each with a fresh tracker, so the rows differ only by the keep threshold: fewer enters
    (fewer new ids for the same people) is what it buys, hand-frames what it adds.
    """
    from handplay.sources import VideoFileSource
    from handplay.tracking import KEEP_RATIO, Tracker

    det = Detector(model, threads=1, max_hands=max_hands, looks=looks)
    ratios = sorted({1.0, 0.8, KEEP_RATIO, 0.45}, reverse=True)
    clip = VideoFileSource(source, paced=False)
    clip.open()  # its first frame comes again from read()
    found: list[tuple[float, list]] = []
    try:
        while (frame := clip.read()) is not None:
            dets = det.detect(frame.image, threshold=det.threshold * min(ratios))
            found.append((frame.timestamp, dets))
    finally:
        clip.close()
    print(f"model {det.path.name}, threshold {det.threshold:.2f}, {len(found)} frames of {source}")
    print("| keep ratio | keep threshold | enters | leaves | open/closed flips | hand-frames |")
    print("| --- | --- | --- | --- | --- | --- |")
    for ratio in ratios:
        tracker = Tracker(
            max_hands, open_threshold=det.open_threshold, enter_threshold=det.threshold
        )
        floor = det.threshold * ratio
        enters = leaves = flips = hand_frames = 0
        for t, dets in found:
            update = tracker.update([d for d in dets if d.score >= floor], t)
            enters += len(update.entered)
            leaves += len(update.left)
            flips += len(update.flipped)
            hand_frames += sum(track.entered for track in tracker.tracks)
        mark = " (default)" if ratio == KEEP_RATIO else ""
        print(
            f"| {ratio:.2f}{mark} | {floor:.3f} | {enters} | {leaves} | {flips} | {hand_frames} |"
        )


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
    parser.add_argument("--source", help="video file (default: synthetic clips)")
    parser.add_argument(
        "--size",
        type=argument_type(parse_size),
        help="model input size WxH for the Input runs (default: from --reach)",
    )
    parser.add_argument(
        "--reach", default="near", help="reach for the Input runs (near, room, hall, WxH)"
    )
    parser.add_argument(
        "--frame-sizes",
        type=argument_type(lambda v: [parse_size(x) for x in v.split(",")]),
        default=[(640, 480), (800, 600)],
        help="synthetic frame sizes, comma-separated (default: 640x480,800x600)",
    )
    parser.add_argument("--frames", type=int, default=300, help="synthetic clip length")
    parser.add_argument(
        "--calls", type=int, default=200, help="detect calls per row of the detector table"
    )
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
    parser.add_argument(
        "--tracking",
        action="store_true",
        help="print the tracker's enters/leaves/flips on --source at each keep ratio instead",
    )
    parser.add_argument("--trials", type=int, default=2000, help="trials for --peaks")
    parser.add_argument(
        "--looks",
        type=argument_type(lambda text: check_looks(int(text))),
        default=DEFAULT_LOOKS,
        help=f"second looks a frame (default {DEFAULT_LOOKS}; 0: the frame pass only)",
    )
    args = parser.parse_args(argv)
    if args.tracking and not args.source:
        parser.error("--tracking needs --source VIDEO (a clip with hands in it)")
    # Headless by default: the Input runs open a window only because pygame's event queue
    # needs a display; no one has to watch it.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import handplay

    try:
        return _run(args)
    except (handplay.ModelError, handplay.SourceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    """Print the table the arguments ask for; the exit status, 1 if an Input run failed."""
    if args.tracking:
        _tracking_table(args.model, args.source, looks=args.looks)
        return 0
    if args.peaks or args.smoothing:
        from handplay import accuracy

        if args.peaks:
            accuracy.print_peak_table(args.trials)
        if args.smoothing:
            accuracy.print_smoothing_table()
        return 0
    if args.test_model:
        import tempfile

        from handplay.testing import make_disc_model

        args.model = make_disc_model(Path(tempfile.mkdtemp()) / "disc.onnx")
    if args.calls > 0:
        _detector_table(
            args.model, ["near", "room", "hall"], args.frame_sizes, args.calls, args.threads,
            args.looks,
        )  # fmt: skip
        print()
    sources = (
        [(args.source, None)]
        if args.source
        else [(_synthetic_clip(args.frames, size), size) for size in args.frame_sizes]
    )
    import pygame

    pygame.init()
    pygame.display.set_mode((1280, 720))
    try:
        return 0 if all(_input_run(args, source, size) for source, size in sources) else 1
    finally:
        pygame.quit()


if __name__ == "__main__":
    sys.exit(main())
