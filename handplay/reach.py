"""Reach: how far away players can stand, as the detector's input size.

A hand far from the camera covers few pixels; a larger model input gives it more, at more
milliseconds per frame. A reach is a name, which scales the input size the model was trained
for (its ``handplay.input_size``), or an explicit ``"WxH"``:

=========  =======  =================  =====================================================
reach      scale    shipped model      for
=========  =======  =================  =====================================================
``near``   1        320×192            a desk or a sofa, players within ~2 m (the default)
``room``   1.5      480×288            a living room, 2–3.5 m
``hall``   2        640×384            public spaces, 3–5 m
=========  =======  =================  =====================================================

Scaling the model's own size (rounded up to its stride) rather than fixing pixel sizes keeps
``near`` exactly what any model was trained for, and keeps models with a fixed input shape
working at the default reach.

The calibration file's ``reach`` and ``handplay.Input(reach=...)`` pick one; the calibration
screen shows each one's milliseconds per frame on the machine and suggests one from the hands
it sees (:func:`suggest_reach`): the cheapest reach at which the players' median hand radius is
at least :data:`MIN_RADIUS_CELLS` heatmap cells.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from handplay import contract as c

__all__ = [
    "DEFAULT_REACH",
    "MIN_RADIUS_CELLS",
    "REACH_SCALES",
    "check_reach",
    "check_reach_or_size",
    "reach_size",
    "reach_sizes",
    "suggest_reach",
]

#: Named reaches: the factor on the model's own input size, nearest first.
REACH_SCALES: dict[str, float] = {"near": 1.0, "room": 1.5, "hall": 2.0}
DEFAULT_REACH = "near"

#: The smallest hand radius, in heatmap cells, at which the model finds hands reliably. Measured
#: with the shipped model on hagrid-val, full and half size, at every reach (hand threshold 0.5;
#: 1,194 hand sightings): recall_all is 0.08 under 1.5 cells, 0.29-0.39 from 1.5 to 3 cells, then
#: jumps to 0.65 at 3-4 cells, 0.68 at 4-6 and 0.80 above 6. So 3 cells (12 input px at stride 4).
#: (``python -m training.evaluate --by-size`` gives these bins for one reach and frame set.)
MIN_RADIUS_CELLS = 3.0


def check_reach(reach: object) -> str:
    """``reach`` if it is a reach name or a ``"WxH"`` size of positive integers.

    Whether ``W`` and ``H`` are multiples of the model's stride is checked when the model is
    known (:func:`reach_size`).

    Raises:
        ValueError: anything else; the message lists the valid names.
    """
    want = f"reach must be one of {list(REACH_SCALES)} or a size like '800x480'"
    if not isinstance(reach, str):
        raise ValueError(f"{want}, not {reach!r}")
    if reach in REACH_SCALES:
        return reach
    parts = reach.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"{want}, not {reach!r}")
    return reach


def check_reach_or_size(reach: object, input_size: object) -> None:
    """Check a ``reach`` (if given) and that it does not come with an explicit ``input_size``.

    Raises:
        ValueError: a bad reach (:func:`check_reach`), or both given.
    """
    if reach is None:
        return
    check_reach(reach)
    if input_size is not None:
        raise ValueError(
            f"give reach or input_size, not both (reach {reach!r}, input_size {input_size!r})"
        )


def reach_size(reach: str, model_size: tuple[int, int], stride: int) -> tuple[int, int]:
    """The model input ``(width, height)`` of a reach.

    Args:
        reach: a name from :data:`REACH_SCALES` or ``"WxH"``.
        model_size: the input size the model was trained for (``handplay.input_size``).
        stride: the model's stride; an explicit size must be a multiple of it.

    Raises:
        ValueError: an unknown reach, or a size that is not a multiple of ``stride`` (the
            message gives the nearest valid size).
    """
    check_reach(reach)
    if reach in REACH_SCALES:
        f = REACH_SCALES[reach]
        return c.round_up(round(model_size[0] * f), stride), c.round_up(
            round(model_size[1] * f), stride
        )
    w, h = (int(v) for v in reach.lower().split("x"))
    if w % stride or h % stride:
        fix = f"{c.round_up(w, stride)}x{c.round_up(h, stride)}"
        raise ValueError(
            f"reach {reach!r}: width and height must be multiples of the model's stride "
            f"{stride}; use {fix!r}"
        )
    return w, h


def reach_sizes(model_size: tuple[int, int], stride: int) -> dict[str, tuple[int, int]]:
    """Every named reach's input size for a model, nearest first."""
    return {name: reach_size(name, model_size, stride) for name in REACH_SCALES}


def radius_cells(
    radius_px: float,
    crop_wh: tuple[int, int],
    input_size: tuple[int, int],
    stride: int,
) -> float:
    """A hand's radius in heatmap cells when a ``crop_wh`` crop is read at ``input_size``.

    Args:
        radius_px: the hand radius in frame pixels.
        crop_wh: the size of the part of the frame the detector reads (the play-area crop).
        input_size: the model input size (it is turned portrait for a portrait crop).
        stride: the model's stride (input pixels per heatmap cell).
    """
    size = c.oriented_size(crop_wh, input_size)
    return radius_px * c.letterbox_scale(crop_wh, size) / stride


def suggest_reach(
    radii_px: Iterable[float],
    crop_wh: tuple[int, int],
    stride: int,
    reaches: dict[str, tuple[int, int]],
    min_cells: float = MIN_RADIUS_CELLS,
) -> str | None:
    """The cheapest reach at which the median hand is at least ``min_cells`` in radius.

    Args:
        radii_px: radii of the hands seen, in frame pixels (a few seconds of them).
        crop_wh: the size of the play-area crop the detector will read.
        stride: the model's stride.
        reaches: the choices, as ``{name: (width, height)}`` (:func:`reach_sizes`).
        min_cells: the smallest reliable radius in heatmap cells.

    Returns:
        A name from ``reaches`` (the largest if even it falls short), or ``None`` when no hand
        was seen.
    """
    radii = list(radii_px)
    if not radii:
        return None
    median = statistics.median(radii)
    by_pixels = sorted(reaches, key=lambda name: reaches[name][0] * reaches[name][1])
    for name in by_pixels:
        if radius_cells(median, crop_wh, reaches[name], stride) >= min_cells:
            return name
    return by_pixels[-1]
