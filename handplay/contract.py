"""The model contract, in one place for the runtime and for training (numpy and OpenCV only).

A handplay model is one ONNX file:

- input ``image``: float32 ``N×3×H×W``, RGB in 0..1 (H and W multiples of the stride);
- output ``heatmap``: ``N×1×H/s×W/s``, 0..1 (sigmoid inside). Format 1: open, facing hands.
  Format 2: every hand;
- output ``size`` (optional in format 1): the hand radius in input pixels at each cell;
- output ``open`` (format 2): ``N×1×H/s×W/s``, 0..1, the probability that the hand centred at
  that cell is open and facing the camera;
- metadata (``metadata_props``): :data:`FORMAT`, :data:`STRIDE`, :data:`INPUT_SIZE`,
  :data:`THRESHOLD`, and in format 2 :data:`OPEN_THRESHOLD`; training also writes
  :data:`TRAIN_CONFIG` and :data:`METRICS` (JSON).

**Grid.** Output cell ``(i, j)`` covers input pixels ``x`` in ``[j·s, (j+1)·s)``; its centre is
input pixel ``(j + 0.5)·s − 0.5`` (pixel centres at integer coordinates), so input pixel ``x``
sits at grid coordinate ``(x + 0.5)/s − 0.5`` (:func:`to_grid`, :func:`from_grid`).

**Letterbox.** A frame is scaled by ``scale = min(W_in / w, H_in / h)`` with
``cv2.INTER_LINEAR``, placed at the top-left corner of the input and the rest filled with black
(:func:`letterbox`). A frame pixel ``x_f`` lands at input pixel ``(x_f + 0.5)·scale − 0.5``. A
portrait frame goes into the portrait-turned input (:func:`oriented_size`). Training renders its
views with the same bilinear sampling (``cv2.warpAffine`` with ``INTER_LINEAR``), so the net
sees the resampling it will meet at run time; a test checks the two agree.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# ---- metadata keys ----------------------------------------------------------------------------
FORMAT = "handplay.format"
STRIDE = "handplay.stride"
INPUT_SIZE = "handplay.input_size"
THRESHOLD = "handplay.threshold"
OPEN_THRESHOLD = "handplay.open_threshold"
TRAIN_CONFIG = "handplay.train_config"
METRICS = "handplay.metrics"

#: Keys every model must carry, by format.
REQUIRED_METADATA: dict[str, tuple[str, ...]] = {
    "1": (FORMAT, STRIDE, INPUT_SIZE, THRESHOLD),
    "2": (FORMAT, STRIDE, INPUT_SIZE, THRESHOLD, OPEN_THRESHOLD),
}
SUPPORTED_FORMATS = tuple(REQUIRED_METADATA)
#: The format training writes today.
CURRENT_FORMAT = "2"

# ---- tensor names ------------------------------------------------------------------------------
INPUT = "image"
HEATMAP = "heatmap"
SIZE = "size"
OPEN = "open"


# ---- grid --------------------------------------------------------------------------------------
def to_grid(v: float, stride: int) -> float:
    """Input-pixel coordinate -> continuous output-grid coordinate (cell centres are integers)."""
    return (v + 0.5) / stride - 0.5


def from_grid(g: float, stride: int) -> float:
    """Continuous output-grid coordinate -> input-pixel coordinate (inverse of :func:`to_grid`)."""
    return (g + 0.5) * stride - 0.5


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple`` (input sizes to the stride)."""
    return int(math.ceil(value / multiple) * multiple)


# ---- letterbox ---------------------------------------------------------------------------------
def oriented_size(
    frame_wh: tuple[int, int], input_size: tuple[int, int], match_orientation: bool = True
) -> tuple[int, int]:
    """The input size a frame is fed at: ``input_size`` turned portrait for a portrait frame.

    The same pixel count (and speed), but a portrait frame fills the input instead of a third
    of it. Landscape frames (every webcam) keep ``input_size``.
    """
    (w, h), (in_w, in_h) = frame_wh, input_size
    if match_orientation and (h > w) != (in_h > in_w):
        return in_h, in_w
    return in_w, in_h


def letterbox_scale(frame_wh: tuple[int, int], input_size: tuple[int, int]) -> float:
    """The scale that fits a ``frame_wh`` frame inside ``input_size``, aspect kept."""
    (w, h), (in_w, in_h) = frame_wh, input_size
    return min(in_w / w, in_h / h)


def letterbox(
    frame: np.ndarray, input_size: tuple[int, int], out: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Resize ``frame`` into an ``input_size = (W_in, H_in)`` canvas, top-left, black padding.

    Args:
        frame: ``H×W×C`` uint8 image (any channel order; it is not touched).
        input_size: the canvas ``(width, height)``.
        out: a canvas of that size to reuse (avoids an allocation per frame).

    Returns:
        ``(canvas, scale)``; a frame pixel ``x_f`` is at canvas pixel ``(x_f + 0.5)·scale − 0.5``.
    """
    h, w = frame.shape[:2]
    in_w, in_h = input_size
    if out is None:
        out = np.zeros((in_h, in_w) + frame.shape[2:], frame.dtype)
    s = letterbox_scale((w, h), input_size)
    # INTER_LINEAR: 0.1 ms where INTER_AREA at a non-integer scale took 2.9 ms (issue 14), and
    # training samples its views bilinearly too. fx = fy = s, not a destination size: then
    # cv2.resize samples at exactly the scale s on both axes (given a size it uses rw / w and
    # rh / h, off s by up to 0.5 / w: 0.4 px across a 333 px wide frame or play-area crop).
    # The size it makes is round(w·s).
    rw, rh = round(w * s), round(h * s)
    resized = cv2.resize(frame, None, dst=out[:rh, :rw], fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
    if resized.ctypes.data != out.ctypes.data or resized.shape[:2] != (rh, rw):
        rh, rw = resized.shape[:2]  # OpenCV rounded otherwise: copy it in rather than lose it
        out[:rh, :rw] = resized
    if rh < in_h:
        out[rh:] = 0
    if rw < in_w:
        out[:rh, rw:] = 0
    return out, s


def letterbox_matrix(scale: float) -> np.ndarray:
    """The 2×3 affine map of :func:`letterbox` (frame pixel -> input pixel, centres at integers),
    for ``cv2.warpAffine`` in training."""
    off = 0.5 * scale - 0.5
    return np.array([[scale, 0.0, off], [0.0, scale, off]], np.float64)


def to_input(canvas_bgr: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """BGR uint8 ``H×W×3`` canvas -> the model input, float32 ``1×3×H×W`` RGB in 0..1."""
    h, w = canvas_bgr.shape[:2]
    if out is None:
        out = np.empty((1, 3, h, w), np.float32)
    # One strided multiply per channel: no transposed temporary, and the BGR->RGB swap is free.
    for c in range(3):
        np.multiply(canvas_bgr[:, :, 2 - c], np.float32(1 / 255), out=out[0, c], casting="unsafe")
    return out
