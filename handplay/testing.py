"""Test helpers: a tiny model that follows the ONNX contract, and clips of red discs.

Games and tools can be tested without a camera or a trained model: render a clip of saturated
red discs moving on known paths, and detect them with :func:`make_disc_model`, a hand-written
ONNX graph that lights up on red discs the way the real model lights up on hands (a round blob
at each centre, a size output with the radius). Building the model needs the ``onnx`` package
(the ``dev`` extra); running it needs only onnxruntime.

Example:
    >>> import tempfile, pathlib, handplay, handplay.testing as ht
    >>> model = ht.make_disc_model(pathlib.Path(tempfile.mkdtemp()) / "disc.onnx")
    >>> frames = ht.disc_clip([ht.linear_path((40, 90), (280, 90), 30, radius=16)], (320, 180), 30)
    >>> with handplay.Input(frames, model=model, post_events=False, paced=False) as inp:
    ...     finished = inp.wait(timeout=10)
    >>> finished, inp.stats.frames
    (True, 30)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from handplay import contract

#: A disc path: frame index -> (x, y, radius) or (x, y, radius, open) in frame pixels, or None
#: when the disc is absent.
Track = Callable[[int], "tuple[float, float, float] | tuple[float, float, float, bool] | None"]

DISC_BGR = (0, 0, 255)
#: A "closed hand" disc for models with an ``open`` output: as red, plus blue (magenta).
CLOSED_BGR = (255, 0, 255)


def make_disc_model(
    path: str | os.PathLike[str],
    stride: int = 4,
    input_size: tuple[int, int] = (320, 180),
    threshold: float = 0.5,
    open_output: bool = False,
    open_threshold: float = 0.5,
) -> Path:
    """Write a contract-following ONNX model that detects saturated red (and magenta) discs.

    The graph: redness ``relu(R − G − 0.25) / 0.75`` → ``stride``×``stride`` average pool
    (red mass per cell) → for every cell, the centroid of the red mass around it (Gaussian
    weights, σ = 2.5 cells, in a 15×15-cell window) as an offset ``(dx, dy)`` from the cell →
    ``heatmap = exp(−(dx² + dy²) / (2·0.6²)) · presence``. Each disc thus gives a Gaussian blob
    (σ = 0.6 cells) at its centre, like a trained model's target, and blank frames give zeros.
    ``presence = min(1, 2 · red mass of the 3×3 cells)`` keeps the point between two discs
    (where the centroid also falls) dark. ``size`` is the radius of a disc with the red area of
    the 15×15 window. Discs closer than about the sum of their radii merge, like real hands.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    import onnx  # test-time dependency only
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, array: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(array, np.float32), name)

    window, sigma = 15, 0.6
    offsets = np.arange(window, dtype=np.float32) - window // 2
    # Gaussian weights (σ = 2.5 cells) keep a neighbouring disc from pulling the centroid.
    weight = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 2.5**2))
    moments = np.stack(
        [
            np.ones((window, window), np.float32),  # red mass in the window (for the size)
            weight,  # weighted mass
            weight * offsets[None, :],  # weighted mass × dx
            weight * offsets[:, None],  # weighted mass × dy
        ]
    )[:, None]  # 4×1×15×15
    inits = [
        const("w_red", np.array([1.0, -1.0, 0.0], np.float32).reshape(1, 3, 1, 1) / 0.75),
        const("b_red", np.array([-0.25 / 0.75], np.float32)),
        const("w_moments", moments),
        const("eps", np.array(1e-6)),
        const("neg_inv_2s2", np.array(-1.0 / (2 * sigma**2))),
        const("presence_gain", np.array(2.0)),
        const("zero", np.array(0.0)),
        const("one", np.array(1.0)),
        const("px_area_over_pi", np.array(stride**2 / np.pi)),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w_red", "b_red"], ["red_raw"]),
        helper.make_node("Relu", ["red_raw"], ["red"]),
        helper.make_node(
            "AveragePool",
            ["red"],
            ["cells"],
            kernel_shape=[stride, stride],
            strides=[stride, stride],
        ),
        helper.make_node("Conv", ["cells", "w_moments"], ["m"], pads=[window // 2] * 4),
        helper.make_node("Split", ["m"], ["mass", "wmass", "sx", "sy"], axis=1, num_outputs=4),
        helper.make_node("Add", ["wmass", "eps"], ["mass_eps"]),
        helper.make_node("Div", ["sx", "mass_eps"], ["dx"]),
        helper.make_node("Div", ["sy", "mass_eps"], ["dy"]),
        helper.make_node("Mul", ["dx", "dx"], ["dx2"]),
        helper.make_node("Mul", ["dy", "dy"], ["dy2"]),
        helper.make_node("Add", ["dx2", "dy2"], ["d2"]),
        helper.make_node("Mul", ["d2", "neg_inv_2s2"], ["expo"]),
        helper.make_node("Exp", ["expo"], ["blob"]),
        helper.make_node(
            "AveragePool",
            ["cells"],
            ["local"],
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            count_include_pad=1,
            strides=[1, 1],
        ),
        helper.make_node("Mul", ["local", "presence_gain"], ["presence_raw"]),
        helper.make_node("Clip", ["presence_raw", "zero", "one"], ["presence"]),
        helper.make_node("Mul", ["blob", "presence"], ["heatmap"]),
        helper.make_node("Mul", ["mass", "px_area_over_pi"], ["r2"]),
        helper.make_node("Sqrt", ["r2"], ["size"]),
    ]
    outputs = ["heatmap", "size"]
    if open_output:
        # Per-cell means of B and R (3x3 cells), then open = clip(1 - B / R).
        inits += [
            const("w_br", np.array([[0, 0, 1], [1, 0, 0]], np.float32).reshape(2, 3, 1, 1)),
        ]
        nodes += [
            helper.make_node("Conv", ["image", "w_br"], ["br_px"]),
            helper.make_node(
                "AveragePool",
                ["br_px"],
                ["br_cells"],
                kernel_shape=[stride, stride],
                strides=[stride, stride],
            ),
            helper.make_node(
                "AveragePool",
                ["br_cells"],
                ["br_local"],
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
                strides=[1, 1],
            ),
            helper.make_node("Split", ["br_local"], ["blue", "red_ch"], axis=1, num_outputs=2),
            helper.make_node("Add", ["red_ch", "eps"], ["red_eps"]),
            helper.make_node("Div", ["blue", "red_eps"], ["ratio"]),
            helper.make_node("Sub", ["one", "ratio"], ["open_raw"]),
            helper.make_node("Clip", ["open_raw", "zero", "one"], ["open"]),
        ]
        outputs.append("open")

    dims = ["N", 3, "H", "W"]
    graph = helper.make_graph(
        nodes,
        "red_discs",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 1, "h", "w"])
            for name in outputs
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    meta = {
        contract.FORMAT: "2" if open_output else "1",
        contract.STRIDE: str(stride),
        contract.INPUT_SIZE: f"{input_size[0]}x{input_size[1]}",
        contract.THRESHOLD: str(threshold),
    }
    if open_output:
        meta[contract.OPEN_THRESHOLD] = str(open_threshold)
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def render_disc_frame(
    size: tuple[int, int],
    discs: Sequence[tuple[float, float, float] | tuple[float, float, float, bool]],
    seed: int = 0,
) -> np.ndarray:
    """A BGR frame of ``size = (width, height)`` with red discs at sub-pixel ``(x, y, r)``.

    A disc given as ``(x, y, r, open)`` with ``open`` False is drawn in :data:`CLOSED_BGR`
    (a "closed hand" for ``make_disc_model(open_output=True)``). The background is a dull,
    slightly noisy gradient (no red), deterministic by ``seed``.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(70, 150, w, dtype=np.float32)[None, :, None]
    frame = np.broadcast_to(ramp, (h, w, 3)) + rng.normal(0, 4, (h, w, 3))
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    shift = 4  # cv2 draws at 1/16 px precision with shift=4
    for disc in discs:
        x, y, r = disc[:3]
        colour = CLOSED_BGR if len(disc) > 3 and not disc[3] else DISC_BGR
        centre = (int(round(x * 16)), int(round(y * 16)))
        cv2.circle(frame, centre, int(round(r * 16)), colour, -1, cv2.LINE_AA, shift)
    return frame


def linear_path(
    start: tuple[float, float],
    end: tuple[float, float],
    frames: int,
    radius: float,
    first: int = 0,
) -> Track:
    """A disc moving from ``start`` to ``end`` over ``frames`` frames from frame ``first``,
    then staying at ``end``; absent before ``first``."""
    (x0, y0), (x1, y1) = start, end

    def track(i: int) -> tuple[float, float, float] | None:
        if i < first:
            return None
        t = min(1.0, (i - first) / max(1, frames - 1))
        return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, radius

    return track


def disc_clip(
    tracks: Sequence[Track], size: tuple[int, int], frames: int, seed: int = 0
) -> list[np.ndarray]:
    """Render ``frames`` frames with one disc per track (absent where the track gives None)."""
    return list(iter_disc_clip(tracks, size, frames, seed))


def iter_disc_clip(
    tracks: Sequence[Track], size: tuple[int, int], frames: int, seed: int = 0
) -> Iterator[np.ndarray]:
    """:func:`disc_clip` as a generator (for long clips)."""
    for i in range(frames):
        discs = [d for d in (t(i) for t in tracks) if d is not None]
        yield render_disc_frame(size, discs, seed=seed + i)


def write_clip(
    path: str | os.PathLike[str], frames: Sequence[np.ndarray], fps: float = 30.0
) -> Path:
    """Write frames to a video file (``mp4v``), e.g. for the ``--source PATH`` options."""
    path = Path(path)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"could not open a video writer for {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


class FakeCapture:
    """A stand-in for ``cv2.VideoCapture`` to test camera code without a camera.

    Pass ``lambda index: FakeCapture(...)`` as ``CameraSource(capture_factory=...)``.

    Args:
        frames: frames to return, cycled; ``None`` for plain grey frames.
        opened: what ``isOpened()`` answers (False: a camera that is not there).
        fail_after: ``read()`` fails (``(False, None)``) after this many reads, like an unplugged
            camera; ``None`` never fails.
        delay: seconds each ``read()`` takes (a camera at 30 fps takes ~0.033).
    """

    def __init__(
        self,
        frames: Sequence[np.ndarray] | None = None,
        opened: bool = True,
        fail_after: int | None = None,
        delay: float = 0.002,
    ) -> None:
        self.frames = list(frames) if frames is not None else [np.full((48, 64, 3), 90, np.uint8)]
        self.opened, self.fail_after, self.delay = opened, fail_after, delay
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened and not self.released

    def set(self, prop: int, value: float) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 30.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        import time

        time.sleep(self.delay)
        self.reads += 1
        if self.released or (self.fail_after is not None and self.reads > self.fail_after):
            return False, None
        return True, self.frames[(self.reads - 1) % len(self.frames)].copy()

    def release(self) -> None:
        self.released = True
