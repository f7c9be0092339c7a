"""Batch propagation without a window: ``python -m training.annotate CLIP --propagate A:B``.

Carries the markers of frame A frame by frame with optical flow up to frame B (backward when
B < A), stops
at the first marker flow loses (a frame missing a visible hand must not be written), prints
progress, and writes the labels file once at the end (also on Ctrl+C).
"""

from __future__ import annotations

import os
import time

from training.annotate import flow
from training.annotate.store import LabelStore, StepReport
from training.annotate.video import ClipReader
from training.labels import clip_labels_path

PRINT_EVERY = 25  # frames between progress lines


def parse_range(text: str, count: int) -> tuple[int, int]:
    """``"START:END"`` -> ``(START, END)``, checked against a clip of ``count`` frames.

    ``END < START`` is allowed: the markers are then carried backward.

    Raises:
        SystemExit: not two integers, equal, or outside ``0 .. count - 1``.
    """
    try:
        a, b = (int(p) for p in text.split(":"))
    except ValueError:
        raise SystemExit(
            f"--propagate must look like START:END (frame numbers), not {text!r}"
        ) from None
    if a == b or not (0 <= a < count and 0 <= b < count):
        raise SystemExit(
            f"--propagate {text}: need two different frames between 0 and "
            f"{count - 1} (the clip has {count} frames, numbered from 0)"
        )
    return a, b


def propagate_batch(clip: str | os.PathLike[str], span: str) -> int:
    """Carry the markers of frame START through frame END (``span = "START:END"``) and save.

    Prints a line every :data:`PRINT_EVERY` frames and at every lost marker, then a summary
    with the speed in ms per frame (decoding included).

    Returns:
        The last frame that received markers.

    Raises:
        SystemExit: a bad span, or no markers on frame START.
        ClipError, LabelError: the clip or its labels file is unusable.
    """
    reader = ClipReader(clip)
    try:
        start, end = parse_range(span, reader.frame_count)
        store = LabelStore(clip_labels_path(clip), reader.width, reader.height)
        if not store.hands(start):
            raise SystemExit(
                f"frame {start} of {clip} has no markers to propagate; place "
                "them first (python -m training.annotate CLIP)"
            )
        t0 = time.perf_counter()

        def progress(report: StepReport) -> None:
            if report.lost or abs(report.source - start) % PRINT_EVERY == 0:
                print(
                    f"frame {report.source} -> {report.target}: {report.describe(window=False)}",
                    flush=True,
                )

        with store.deferred_saves():  # one write at the end, not one per frame
            last = store.propagate_range(
                start, end, lambda i: flow.to_gray(reader.frame(i)), progress
            )
        ms = (time.perf_counter() - t0) * 1000 / max(1, abs(last - start))
        print(
            f"markers carried from frame {start} to frame {last} (asked for {end}); "
            f"{ms:.1f} ms per frame; saved {store.path}"
        )
        return last
    finally:
        reader.close()
