"""The hand detector: a frame in, hand centres and radii out, through an ONNX heatmap model.

Resizing keeps the aspect ratio: the frame is scaled by ``s = min(W_in / w, H_in / h)`` so it
fits inside the model's input size ``W_in × H_in``, placed at the top-left corner, and the rest
is padded with black. Input and output sizes are rounded up to a multiple of the model's stride.
A frame pixel ``x_f`` lands at input pixel ``x_in = (x_f + 0.5)·s − 0.5`` (pixel centres at
integer coordinates, as ``cv2.resize`` samples them), and heatmap cell ``j`` is centred at input
pixel ``(j + 0.5)·stride − 0.5`` (the model contract in DESIGN.md).

**Region of interest.** ``detect(frame, roi=(x0, y0, x1, y1))`` reads only that rectangle of
the frame (integer pixels, half-open): the crop is letterboxed in place of the frame, so a
frame pixel ``x_f`` lands at input pixel ``(x_f − x0 + 0.5)·s − 0.5`` with ``s`` the crop's
scale, and a detection at crop pixel ``x_c`` is at frame pixel ``x_c + x0``. :class:`handplay.Input`
passes the calibration's play area plus a margin (:meth:`handplay.Calibration.detection_roi`).

**Second look.** One pass sees a hand at the pixels the input gives it: at the default input a
hand 1.5 m away is 3–5 heatmap cells in radius, where the model is least sure of it and of its
openness, and most of its misses are there (``python -m training.evaluate --by-size``). So the
strongest candidates (peaks from :data:`LOOK_FLOOR` up, at most ``looks`` of them, and only
those under 8 cells in radius, which the look magnifies) are looked at again: a
:data:`LOOK_SIZE`-pixel square patch of the frame, :data:`LOOK_SPAN` hand radii wide and centred
on the candidate, shows its hand at 8 cells in radius, the size the model knows best, and all
patches go through the same network in one batched call. A looked-at candidate's score becomes
the mean of its two peak values (the frame's, and the patch's: the largest of the 4×4 cells
around its centre) and its ``open`` the patch's (heat-weighted over the 2×2 centre cells);
position and radius stay the frame pass's. The patch is a crop and a resize (:func:`look_patch`).
On hagrid-val at the default reach this took the hands found at precision 0.95 from 0.59 to 0.63
on sharp frames and from 0.35 to 0.53 on frames at half size, and the open hands the open head
finds from 0.46 to 0.79 at the same precision (0.93, 0.92; MODEL_CARD.md). It costs about 0.3 ms
per look on one thread (``python -m handplay.bench``); ``looks=0`` turns it off.
"""

from __future__ import annotations

import logging
import math
import os
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from handplay import contract as c
from handplay.peaks import Detection, Peaks, blob_radius, find_peaks
from handplay.reach import check_reach_or_size, reach_size
from handplay.sources import parse_size

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL", "Detection", "Detector", "ModelError", "parse_size"]

# The shipped model is package data (handplay/models/), so it is there in a wheel install too.
DEFAULT_MODEL = Path(str(resources.files("handplay").joinpath("models", "hand.onnx")))

#: Second look (module docstring): how many candidates a frame, by default. Four hands (two
#: players) at about 0.3 ms each; more players can ask for more.
DEFAULT_LOOKS = 4
#: Second look: peaks from this score up are candidates for a look. It is the tracker's keep
#: threshold at the shipped threshold (``KEEP_RATIO`` 0.6 × 0.5), so every peak the tracker can
#: use is looked at; on hagrid-val a floor of 0.25 made 2.2 looks a frame instead of 1.6 and
#: found no more hands.
LOOK_FLOOR = 0.3
#: The patch side in pixels: 24×24 heatmap cells, about 15 % of the default input's pixels.
LOOK_SIZE = 96
#: The patch side in hand radii: the hand at 96 / 3 = 32 px (8 cells) in radius, with a radius
#: of context on each side (on hagrid-val 80 px at 2.5 r found a few more hands but called
#: openness worse; 96 px at 5 r, a hand at 4.8 cells, called it worse than the frame pass).
LOOK_SPAN = 3.0


class ModelError(ValueError):
    """The model file is missing or does not follow handplay's ONNX model contract."""


class Detector:
    """Finds hands in BGR frames with an ONNX heatmap model on the CPU.

    Args:
        model: path to an ``.onnx`` file following the model contract; ``None`` for the model
            shipped inside the package (``handplay/models/hand.onnx``).
        threads: onnxruntime intra-op threads. The default 1 leaves the other cores to the game.
        input_size: ``(width, height)`` the frames are resized into; ``None`` for the size the
            model was trained for (its ``handplay.input_size`` metadata).
        threshold: peak threshold; ``None`` for the model's recommended one.
        open_threshold: format-2 models: the ``open`` score above which a hand counts as open;
            ``None`` for the model's ``handplay.open_threshold``. Ignored for format 1.
        max_hands: at most this many detections per frame (the strongest).
        match_orientation: feed a portrait frame (taller than wide) to the input turned
            portrait too (width and height swapped): the same pixel count and speed, but the
            frame fills the input instead of a third of it, so its hands get 1.8x the pixels.
            Landscape frames (every webcam) are unaffected.
        reach: the input size as a reach (:mod:`handplay.reach`): ``"near"`` (the model's own
            size), ``"room"`` (×1.5), ``"hall"`` (×2) or ``"WxH"`` (multiples of the stride);
            give ``reach`` or ``input_size``, not both.
        looks: at most this many candidates per frame (the strongest) get a second look at
            magnified patches (module docstring), about 0.3 ms each; 0 turns it off.

    Raises:
        ModelError: the file is missing, not ONNX, or breaks the contract (the message says what
            is wrong and how to fix it).

    Example:
        >>> import tempfile, pathlib
        >>> from handplay.testing import make_disc_model, render_disc_frame
        >>> det = Detector(make_disc_model(pathlib.Path(tempfile.mkdtemp()) / "disc.onnx"))
        >>> [d] = det.detect(render_disc_frame((640, 360), [(100.0, 90.0, 20.0)]))
        >>> round(d.x), round(d.y), round(d.radius)
        (100, 90, 20)
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        threads: int = 1,
        input_size: tuple[int, int] | None = None,
        threshold: float | None = None,
        max_hands: int = 8,
        match_orientation: bool = True,
        open_threshold: float | None = None,
        reach: str | None = None,
        looks: int = DEFAULT_LOOKS,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
        if open_threshold is not None and not 0.0 < open_threshold < 1.0:
            raise ValueError(f"open_threshold must be between 0 and 1, not {open_threshold}")
        if input_size is not None and not (
            len(input_size) == 2 and all(isinstance(v, int) and v > 0 for v in input_size)
        ):
            raise ValueError(f"input_size must be (width, height) above 0, not {input_size!r}")
        check_reach_or_size(reach, input_size)
        check_looks(looks)
        self.path = Path(model) if model is not None else DEFAULT_MODEL
        self.session = _open_session(self.path, threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, str] = dict(meta)
        #: The model's contract format: "1" (open hands only) or "2" (every hand + ``open``).
        self.format = meta[c.FORMAT]
        self.stride = int(meta[c.STRIDE])
        #: The input size the model was trained for (its ``handplay.input_size``).
        self.model_size = parse_size(meta[c.INPUT_SIZE])
        if reach is not None:
            size = reach_size(reach, self.model_size, self.stride)
        else:
            size = input_size or self.model_size
        self.input_size = (c.round_up(size[0], self.stride), c.round_up(size[1], self.stride))
        self.threshold = float(threshold if threshold is not None else meta[c.THRESHOLD])
        #: Format 2: the open score above which a hand is open; None for format 1.
        self.open_threshold: float | None = None
        if self.format != "1":
            self.open_threshold = float(
                open_threshold if open_threshold is not None else meta[c.OPEN_THRESHOLD]
            )
        self.max_hands = max_hands
        #: At most this many candidates per frame get a second look (0: one pass only).
        self.looks = looks
        names = {o.name for o in self.session.get_outputs()}
        self._has_size = c.SIZE in names
        self._has_open = self.format != "1"
        self._outputs = [c.HEATMAP] + [c.SIZE] * self._has_size + [c.OPEN] * self._has_open
        fixed = _check_shapes(self.session, self.path, self.input_size, self.stride, self._outputs)
        # a model with a fixed input size cannot take the turned (portrait) input, nor the
        # second look's patches
        self.match_orientation = match_orientation and not fixed
        if fixed and looks:
            log.info("%s has a fixed input size: no second look", self.path)
            self.looks = 0
        batch = next(i.shape for i in self.session.get_inputs() if i.name == c.INPUT)[0]
        self._patch_batches = not isinstance(batch, int)  # False: N is fixed, one patch a run
        self._canvases: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._canvas = self._canvas_for(self.input_size)[0]
        self._patches = np.empty((max(looks, 1), 3, LOOK_SIZE, LOOK_SIZE), np.float32)
        #: Milliseconds of the last call's stages: preprocess, inference, peaks, look.
        self.timings: dict[str, float] = {}

    def __repr__(self) -> str:
        return (
            f"Detector({str(self.path)!r}, input_size={self.input_size}, "
            f"stride={self.stride}, threshold={self.threshold})"
        )

    # ---- stages ---------------------------------------------------------------------------

    def _canvas_for(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The reused BGR canvas and float input tensor for an input size (no per-frame alloc)."""
        if size not in self._canvases:
            w, h = size
            canvas, tensor = np.zeros((h, w, 3), np.uint8), np.empty((1, 3, h, w), np.float32)
            self._canvases[size] = (canvas, tensor)
        return self._canvases[size]

    def _preprocess(
        self, frame: np.ndarray, roi: tuple[int, int, int, int] | None = None
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """BGR uint8 H×W×3 -> (1×3×H_in×W_in float32 RGB 0..1, scale s, the part read)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be an H×W×3 uint8 BGR image, not shape {frame.shape} {frame.dtype}"
            )
        h, w = frame.shape[:2]
        if h == 0 or w == 0:
            raise ValueError(f"frame is empty ({w}x{h} pixels); a frame needs at least one pixel")
        if roi is not None:
            x0, y0, x1, y1 = check_roi(roi, (w, h))
            frame = frame[y0:y1, x0:x1]  # a view: cv2.resize reads it in place
            h, w = y1 - y0, x1 - x0
        size = c.oriented_size((w, h), self.input_size, self.match_orientation)
        self._canvas, tensor = self._canvas_for(size)
        _, s = c.letterbox(frame, size, out=self._canvas)
        return c.to_input(self._canvas, out=tensor), s, frame

    def _infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(heatmap, size or None, open or None), each one ``h×w`` grid."""
        outs = iter(o[0, 0] for o in self.session.run(self._outputs, {c.INPUT: tensor}))
        heat = next(outs)
        size = next(outs) if self._has_size else None
        return heat, size, (next(outs) if self._has_open else None)

    def _valid_cells(self, frame_shape: tuple[int, ...], s: float) -> tuple[int, int]:
        """How many output rows and columns cover the frame (the rest is padding)."""
        h, w = frame_shape[:2]
        return (
            min(self._canvas.shape[0] // self.stride, math.ceil(h * s / self.stride)),
            min(self._canvas.shape[1] // self.stride, math.ceil(w * s / self.stride)),
        )

    # ---- public ---------------------------------------------------------------------------

    def heatmap(
        self, frame: np.ndarray, roi: tuple[int, int, int, int] | None = None
    ) -> np.ndarray:
        """The model's confidence grid for ``frame`` (or its ``roi``), cropped to the part that
        covers it.

        Args:
            frame: H×W×3 uint8 BGR image.
            roi: ``(x0, y0, x1, y1)``, see :meth:`detect`; the grid then covers the roi only.

        Returns:
            float32 array (rows × cols), values 0..1; cell ``(i, j)`` covers frame pixels around
            ``(x0 + (j + 0.5)·stride / s, y0 + (i + 0.5)·stride / s)`` (module docstring).
        """
        tensor, s, part = self._preprocess(frame, roi)
        heat = self._infer(tensor)[0]
        rows, cols = self._valid_cells(part.shape, s)
        return heat[:rows, :cols]

    def detect(
        self,
        frame: np.ndarray,
        roi: tuple[int, int, int, int] | None = None,
        threshold: float | None = None,
    ) -> list[Detection]:
        """Hands in ``frame``, strongest first, in frame pixels.

        Args:
            frame: H×W×3 uint8 BGR image (as ``cv2.VideoCapture`` gives).
            roi: ``(x0, y0, x1, y1)`` integer frame pixels, ``0 <= x0 < x1 <= W`` and
                ``0 <= y0 < y1 <= H``: read only the columns ``x0..x1-1`` and rows
                ``y0..y1-1`` (e.g. the play area: :meth:`Calibration.detection_roi
                <handplay.Calibration.detection_roi>`). The crop is what gets resized into the
                input, so its hands get more pixels; positions are still frame pixels. ``None``
                reads the whole frame.
            threshold: report peaks down to this score for this call (the tracker asks for
                weaker ones near hands it already follows); ``None``: :attr:`threshold`.

        Returns:
            Up to ``max_hands`` :class:`Detection` values.

        Raises:
            ValueError: a frame that is not H×W×3 uint8, or a ``roi`` outside it.
        """
        return self.detect_with_heatmap(frame, roi, threshold)[0]

    def detect_with_heatmap(
        self,
        frame: np.ndarray,
        roi: tuple[int, int, int, int] | None = None,
        threshold: float | None = None,
    ) -> tuple[list[Detection], np.ndarray]:
        """:meth:`detect` and :meth:`heatmap` from one inference (for previews)."""
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1 (or None), not {threshold}")
        t0 = time.perf_counter()
        tensor, s, part = self._preprocess(frame, roi)
        t1 = time.perf_counter()
        heat, size, openness = self._infer(tensor)
        t2 = time.perf_counter()
        rows, cols = self._valid_cells(part.shape, s)
        heat = heat[:rows, :cols]
        floor = self.threshold if threshold is None else threshold
        # a look can raise a candidate's score as well as lower it: find them below the floor
        peaks = find_peaks(heat, min(floor, LOOK_FLOOR) if self.looks else floor, self.max_hands)
        detections = self._detections(peaks, heat, size, openness, s, roi) if len(peaks.x) else []
        t3 = time.perf_counter()
        if self.looks and detections:
            detections = self._second_look(frame, detections, s)
        detections = [d for d in detections if d.score >= floor]
        t4 = time.perf_counter()
        self.timings = {
            "preprocess": (t1 - t0) * 1e3,
            "inference": (t2 - t1) * 1e3,
            "peaks": (t3 - t2) * 1e3,
            "look": (t4 - t3) * 1e3,
        }
        return detections, heat

    def _second_look(self, frame: np.ndarray, found: list[Detection], s: float) -> list[Detection]:
        """Rescore the strongest candidates on magnified patches (module docstring); strongest
        first again. ``s`` is the frame pass's scale (frame px -> input px)."""
        # only where the patch magnifies: a hand already 8 cells in radius in the frame pass
        # would be shrunk, and on hagrid-val at the room and hall reaches such looks lost hands
        small = LOOK_SIZE / LOOK_SPAN / s
        chosen = [k for k, d in enumerate(found) if d.score >= LOOK_FLOOR and d.radius < small]
        chosen = chosen[: self.looks]  # found is strongest first
        n = len(chosen)
        if n == 0:
            return found
        if len(self._patches) < n:  # looks was raised after construction
            self._patches = np.empty((n, 3, LOOK_SIZE, LOOK_SIZE), np.float32)
        patches = self._patches[:n]
        for k, d in enumerate(found[i] for i in chosen):
            # centre to 1/64 px and radius to 1/16 px: another runtime's outputs (1e-6 off) then
            # give the same patch, where the exact values could round a resized pixel otherwise
            x, y = (math.floor(v * 64 + 0.5) / 64 for v in (d.x, d.y))
            radius = math.floor(d.radius * 16 + 0.5) / 16
            look_patch(frame, x, y, LOOK_SIZE / (LOOK_SPAN * radius), out=patches[k])
        if self._patch_batches:
            outs = self.session.run(self._outputs, {c.INPUT: patches})
        else:  # a model exported with a fixed batch of 1
            runs = [
                self.session.run(self._outputs, {c.INPUT: patches[k : k + 1]}) for k in range(n)
            ]
            outs = [np.concatenate(o) for o in zip(*runs, strict=True)]
        heat = outs[0][:, 0]
        openness = outs[-1][:, 0] if self._has_open else None
        # the hand centre is the patch's middle, the corner of cells r, r + 1 (rows and columns)
        r = q = LOOK_SIZE // self.stride // 2 - 1
        looked = list(found)
        for k, i in enumerate(chosen):
            d = found[i]
            # the largest of the 4×4 cells around the centre: the frame pass's centre can be a
            # cell or so off at this scale
            second = float(heat[k, r - 1 : r + 3, q - 1 : q + 3].max())
            op = d.open
            if openness is not None:
                w = heat[k, r : r + 2, q : q + 2]
                o = openness[k, r : r + 2, q : q + 2]
                op = float((o * w).sum() / w.sum()) if w.sum() > 1e-6 else float(o.mean())
            looked[i] = d._replace(score=(d.score + second) / 2, open=op)
        return sorted(looked, key=lambda d: -d.score)

    def _detections(
        self,
        peaks: Peaks,
        heat: np.ndarray,
        size: np.ndarray | None,
        openness: np.ndarray | None,
        s: float,
        roi: tuple[int, int, int, int] | None,
    ) -> list[Detection]:
        """Peaks (grid cells) -> :class:`Detection` values in frame pixels."""
        if size is not None:
            radius_in = size[peaks.row, peaks.col]  # input pixels, read at the peak cell
        else:
            radius_in = blob_radius(heat, peaks) * self.stride
        # cell -> input pixel -> crop pixel -> frame pixel (module docstring)
        x0, y0 = (roi[0], roi[1]) if roi is not None else (0, 0)
        # in float64: float32 would round a position near x = 300 to 3e-5 px
        xs = ((peaks.x.astype(np.float64) + 0.5) * self.stride) / s - 0.5 + x0
        ys = ((peaks.y.astype(np.float64) + 0.5) * self.stride) / s - 0.5 + y0
        opens = (
            openness[peaks.row, peaks.col].tolist() if openness is not None
            else [None] * len(peaks.score)
        )  # fmt: skip
        return [
            Detection(float(x), float(y), float(max(r, 1.0) / s), float(sc), op)
            for x, y, r, sc, op in zip(xs, ys, radius_in, peaks.score, opens, strict=True)
        ]


def check_looks(looks: object) -> int:
    """``looks`` (candidates a frame given the second look) if it is a whole number from 0.

    Raises:
        ValueError: anything else, with the value.
    """
    if not isinstance(looks, int) or isinstance(looks, bool) or looks < 0:
        raise ValueError(f"looks must be a whole number from 0 (no second look), not {looks!r}")
    return looks


def look_origin(x: float, y: float, scale: float, side: int) -> tuple[int, int]:
    """The frame pixel at the top-left of :func:`look_patch`'s crop: ``floor(x − side /
    (2·scale) + 1)`` (and so for ``y``)."""
    return math.floor(x - side / (2 * scale) + 1.0), math.floor(y - side / (2 * scale) + 1.0)


def look_patch(
    frame: np.ndarray, x: float, y: float, scale: float, out: np.ndarray | None = None
) -> np.ndarray:
    """The second look's input: a square patch of ``frame`` centred on ``(x, y)``, magnified
    about ``scale`` times (patch px per frame px), as the model's ``3×S×S`` RGB 0..1 float32.

    The patch is ``cv2.resize`` (``INTER_LINEAR``, as the letterbox) of the frame pixels from
    :func:`look_origin` ``(x0, y0)``, at ``fx = (S / 2) / (x − x0 + 0.5)`` (and so ``fy``): then
    patch pixel ``j`` samples the frame at ``x0 + (j + 0.5) / fx − 0.5``, so ``(x, y)`` is
    exactly the patch's middle, and ``fx``, ``fy`` differ from ``scale`` by a fraction of about
    ``scale / S`` at most (3 % for a hand magnified 3 times).
    Frame pixels outside the frame are black, as the letterbox pads. A crop and a resize rather
    than one ``cv2.warpAffine``: OpenCV's resize gives the same pixels in every version, its
    warps do not (a grey level here and there between 4.6 and 5.x), and the C++ example makes the
    same patch.

    Args:
        frame: H×W×3 uint8 BGR.
        out: a ``3×S×S`` float32 array to fill (its ``S`` is the patch side); ``None``: a new
            :data:`LOOK_SIZE` one.
    """
    if out is None:
        out = np.empty((3, LOOK_SIZE, LOOK_SIZE), np.float32)
    side = out.shape[-1]
    h, w = frame.shape[:2]
    x0, y0 = look_origin(x, y, scale, side)
    fx, fy = side / 2 / (x - x0 + 0.5), side / 2 / (y - y0 + 0.5)
    # frame px in the crop: the resize then makes at least side px
    span_x, span_y = math.ceil(side / fx) + 1, math.ceil(side / fy) + 1
    if x0 >= 0 and y0 >= 0 and x0 + span_x <= w and y0 + span_y <= h:
        region = frame[y0 : y0 + span_y, x0 : x0 + span_x]  # a view
    else:  # near an edge: the part inside the frame on black
        region = np.zeros((span_y, span_x, 3), np.uint8)
        ix0, ix1, iy0, iy1 = max(x0, 0), min(x0 + span_x, w), max(y0, 0), min(y0 + span_y, h)
        if ix0 < ix1 and iy0 < iy1:
            region[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = frame[iy0:iy1, ix0:ix1]
    patch = cv2.resize(region, None, fx=fx, fy=fy, interpolation=cv2.INTER_LINEAR)
    for ch in range(3):  # BGR -> RGB planes, 0..1, as contract.to_input
        np.multiply(patch[:side, :side, 2 - ch], np.float32(1 / 255), out=out[ch], casting="unsafe")
    return out


def check_roi(roi: tuple[int, int, int, int], frame_wh: tuple[int, int]) -> tuple[int, ...]:
    """``roi`` as four ints, checked against a ``frame_wh`` frame.

    Raises:
        ValueError: not four integers with ``0 <= x0 < x1 <= W`` and ``0 <= y0 < y1 <= H``.
    """
    w, h = frame_wh
    if not (
        len(roi) == 4
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in roi)
        and 0 <= roi[0] < roi[2] <= w
        and 0 <= roi[1] < roi[3] <= h
    ):
        raise ValueError(
            f"roi must be (x0, y0, x1, y1) integer pixels with 0 <= x0 < x1 <= {w} and "
            f"0 <= y0 < y1 <= {h} for this {w}x{h} frame, not {roi!r}"
        )
    return tuple(int(v) for v in roi)


def _open_session(path: Path, threads: int) -> ort.InferenceSession:
    """Open and validate an ONNX model against the contract."""
    fix = "pass model=None for the shipped model, or train one with python -m training.fit"
    if not path.exists():
        if path == DEFAULT_MODEL:
            raise ModelError(
                f"the shipped model {path} is missing: restore it from the handplay "
                "package (pip install --force-reinstall handplay) or train one with "
                "python -m training.fit and pass model=PATH"
            )
        raise ModelError(f"model file {path} does not exist; {fix}")
    if path.is_dir():
        raise ModelError(f"model path {path} is a folder, not an .onnx file; {fix}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # No busy-waiting between inferences: with threads > 1 the spinning pool burns the game's
    # core (measured: twice the CPU per inference at 2 threads); at 1 thread there is no pool.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # onnxruntime's warnings are not the user's business
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises several private exception types
        raise ModelError(f"{path} is not a loadable ONNX model ({e}); {fix}") from e
    meta = session.get_modelmeta().custom_metadata_map
    if c.FORMAT in meta and meta[c.FORMAT] not in c.SUPPORTED_FORMATS:
        raise ModelError(
            f"{path} has handplay.format {meta[c.FORMAT]!r}; this handplay reads formats "
            f"{', '.join(c.SUPPORTED_FORMATS)}: upgrade handplay or re-export"
        )
    required = c.REQUIRED_METADATA[meta.get(c.FORMAT, "1")]
    missing = [k for k in required if k not in meta]
    if missing:
        raise ModelError(
            f"{path} lacks the handplay metadata keys {missing}; export it with "
            "python -m training.export (or add them to metadata_props)"
        )
    try:
        stride = int(meta[c.STRIDE])
        parse_size(meta[c.INPUT_SIZE])
        thresholds = [float(meta[k]) for k in (c.THRESHOLD, c.OPEN_THRESHOLD) if k in required]
    except ValueError as e:
        raise ModelError(f"{path} has malformed handplay metadata: {e}") from e
    if stride < 1 or not all(0 < t < 1 for t in thresholds):
        raise ModelError(
            f"{path}: handplay.stride must be >= 1 and the thresholds in (0, 1), "
            f"not {stride} and {thresholds}"
        )
    inputs = {i.name: i for i in session.get_inputs()}
    if "image" not in inputs:
        raise ModelError(
            f"{path} has no input named 'image' (inputs: {sorted(inputs)}); "
            "the contract wants image: float32 N×3×H×W"
        )
    shape = inputs["image"].shape
    if len(shape) != 4:
        raise ModelError(f"{path}: input 'image' must have rank 4 (N×3×H×W), not shape {shape}")
    if shape[1] != 3:
        raise ModelError(f"{path}: input 'image' must have 3 channels (RGB), not {shape[1]}")
    outputs = [o.name for o in session.get_outputs()]
    wanted = [c.HEATMAP] + ([c.OPEN] if meta[c.FORMAT] != "1" else [])
    for name in wanted:
        if name not in outputs:
            raise ModelError(
                f"{path} has no output named {name!r} (outputs: {outputs}); a format "
                f"{meta[c.FORMAT]} model needs {wanted}"
            )
    return session


def _check_shapes(
    session: ort.InferenceSession,
    path: Path,
    input_size: tuple[int, int],
    stride: int,
    outputs: list[str],
) -> bool:
    """Check the model takes ``input_size`` and gives the contract's output shapes, by one
    trial inference on a black image (a broken model fails here, at load, and not with a raw
    onnxruntime error on the first frame). Outputs other than ``outputs`` are not checked.

    Returns:
        True if the model's input height and width are fixed (not dynamic).

    Raises:
        ModelError: a fixed input size other than ``input_size``, a failed inference, or an
            output that is not N×1×(H/stride)×(W/stride).
    """
    w, h = input_size
    shape = next(i.shape for i in session.get_inputs() if i.name == "image")
    fixed_h, fixed_w = (d if isinstance(d, int) and d > 0 else None for d in shape[2:])
    if (fixed_h is not None and fixed_h != h) or (fixed_w is not None and fixed_w != w):
        raise ModelError(
            f"{path}: input 'image' has the fixed shape {shape}, but the detector feeds it "
            f"{w}x{h} (handplay.input_size, or the input_size asked for); export the model with "
            "dynamic H and W, or with handplay.input_size matching its input"
        )
    trial = np.zeros((1, 3, h, w), np.float32)
    try:
        results = session.run(outputs, {"image": trial})
    except Exception as e:  # onnxruntime raises several private exception types
        raise ModelError(
            f"{path}: a trial inference on a 1×3×{h}×{w} image failed ({e}); the model must "
            "accept image: float32 N×3×H×W at its handplay.input_size"
        ) from e
    want = (1, 1, h // stride, w // stride)
    for name, result in zip(outputs, results, strict=True):
        if tuple(result.shape) != want:
            raise ModelError(
                f"{path}: output {name!r} has shape {tuple(result.shape)} for a {w}x{h} input; "
                f"the contract wants N×1×(H/stride)×(W/stride) = {want} with handplay.stride "
                f"{stride} (one channel, rank 4)"
            )
    return fixed_h is not None or fixed_w is not None
