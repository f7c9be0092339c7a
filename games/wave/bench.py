"""Frame-time benchmark of Wave! while ``handplay.Input`` runs on a video.

Run::

    SDL_VIDEODRIVER=dummy python -m games.wave.bench            # 1200 frames, ~20 s
    python -m games.wave.bench --debug --frames 600             # with the debug overlay

It renders a 640×480, 30 fps clip of three red discs waving about (stand-in hands) and the disc
model from :mod:`handplay.testing` (needs the ``onnx`` package, in the ``dev`` extra) into a
temporary folder, then plays the game on them on its real loop (paced by the 60 fps clock, the
world advanced by the elapsed time, as ``python -m games.wave`` does) and prints the frame-time
p50/p95:
"work" is events + physics + drawing + flip, "interval" is the time between frames.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from games.wave.app import Options, percentiles, run

CLIP_SIZE = (640, 480)
CLIP_FPS = 30
CLIP_SECONDS = 25


def _waving(
    cx: float, cy: float, ax: float, ay: float, fx: float, fy: float, r: float, phase: float
) -> Callable[[int], tuple[float, float, float]]:
    """A disc on a Lissajous path (a hand waving about), as a handplay.testing track."""

    def track(i: int) -> tuple[float, float, float]:
        t = i / CLIP_FPS
        return cx + ax * math.sin(fx * t + phase), cy + ay * math.sin(fy * t + 2 * phase), r

    return track


def make_clip(folder: Path, seconds: int = CLIP_SECONDS) -> tuple[Path, Path]:
    """Write the benchmark clip and the disc model into ``folder``; returns their paths."""
    from handplay.testing import iter_disc_clip, make_disc_model, write_clip

    tracks = [
        _waving(200, 240, 150, 120, 2.1, 1.3, 30, 0.0),
        _waving(450, 250, 140, 150, 1.7, 2.3, 26, 1.0),
        _waving(320, 200, 250, 90, 3.1, 1.1, 22, 2.0),
    ]
    frames = list(iter_disc_clip(tracks, CLIP_SIZE, CLIP_FPS * seconds))
    clip = write_clip(folder / "bench.mp4", frames, CLIP_FPS)
    return clip, make_disc_model(folder / "disc.onnx")


def main(argv: Sequence[str] | None = None) -> int:
    """Render the clip, play it, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m games.wave.bench", description=__doc__)
    parser.add_argument("--frames", type=int, default=1200, help="game frames (default 1200)")
    parser.add_argument("--debug", action="store_true", help="with the debug overlay")
    parser.add_argument(
        "--model",
        help="run this model instead of the disc model (its cost is measured; it may find no "
        "hands in the clip of red discs, so the game may stay on the attract screen)",
    )
    args = parser.parse_args(argv)
    seconds = max(2, math.ceil(args.frames / 60) + 3)  # the clip outlasts the run
    with tempfile.TemporaryDirectory() as tmp:
        print(f"rendering a {seconds} s clip of 3 waving discs ...")
        clip, model = make_clip(Path(tmp), seconds)
        model = Path(args.model) if args.model else model
        options = Options(
            source=str(clip), model=str(model), max_frames=args.frames, mute=True, debug=args.debug
        )
        result = run(options)
    if result.mouse_mode:
        print("the video or the model did not open: the figures below are for mouse mode")
    w50, w95 = percentiles(result.work_ms)
    i50, i95 = percentiles(result.interval_ms)
    print(
        f"frames {result.frames}  work p50 {w50:.2f} ms p95 {w95:.2f} ms  "
        f"interval p50 {i50:.2f} ms p95 {i95:.2f} ms  hands entered {result.hands_entered}"
    )
    # the real loop's check: game time must keep up with the wall clock (a frozen world: ~0)
    print(f"game time {result.game_seconds:.2f} s in {result.wall_seconds:.2f} s of wall time")
    if result.input_stats is not None:
        st = result.input_stats
        print(
            f"input: {st.fps:.1f} fps, model {st.inference_ms:.1f} ms, "
            f"capture-to-event latency {st.latency_ms:.0f} ms (p95 {st.latency_p95_ms:.0f} ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
