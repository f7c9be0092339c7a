"""Training targets: heatmap, ignore mask and size map for one image, on the model's output grid.

Grid convention (DESIGN.md): output cell ``(i, j)`` covers input pixels ``x`` in
``[j*s, (j+1)*s)`` and ``y`` in ``[i*s, (i+1)*s)``; its centre is at input pixel
``((j + 0.5)*s - 0.5, (i + 0.5)*s - 0.5)``. So an input position ``x`` sits at grid coordinate
``(x + 0.5)/s - 0.5``.

- ``heatmap``: a Gaussian blob per target hand (``others="ignore"``, model format 1: the open
  hands; ``others="target"``, format 2: every hand, open, other or of unknown openness),
  centred at the hand's exact (sub-cell) grid position with ``sigma = radius_scale * r / s``
  cells, combined by max; the cell nearest the centre is set to exactly 1.0 (the focal loss's
  positive). The off-centre Gaussian keeps sub-cell information in the neighbours, which the
  runtime's 3x3 weighted average reads back.
- ``ignore``: 1 where the loss must be masked: discs of radius ``ignore_scale * r`` around
  "other" hands, around open hands too small to learn (``r < min_radius``) and around open hands
  whose centre falls outside the image (partly visible hands). The core of every open blob
  (heatmap >= 0.5) is never ignored.
- ``size``: the hand radius in input pixels on the core of each blob (heatmap >= 0.5, the hand
  that owns the max there), 0 elsewhere. The peak cell is always in the core.
- ``open`` and ``open_mask`` (format 2): on the cells of each target hand's blob at or above
  :data:`OPEN_CORE` that the hand owns, ``open`` is 1 for an ``"open"`` hand and 0 for an
  ``"other"`` one, and ``open_mask`` is 1; everywhere else (background, hands of unknown
  openness, ignored hands) ``open_mask`` is 0, so the open head is trained only on hands.

Hand classes: ``"open"`` and ``"other"`` (the label file's), and two that training makes:
``"hand"`` (a hand whose openness is unknown, e.g. a dataset's one-class boxes: a heatmap target,
no open target) and ``"maybe"`` (a region that may hold an unlabelled hand: ignored by every loss).

Example:
    >>> from training.labels import HandLabel
    >>> t = make_targets([HandLabel(x=21.5, y=9.5, r=8.0)], image_size=(64, 32), stride=4)
    >>> t.heatmap.shape, float(t.heatmap[2, 5]), float(t.size[2, 5])
    ((8, 16), 1.0, 8.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from handplay.contract import from_grid, to_grid
from training.labels import HandLabel

__all__ = ["CORE", "OPEN_CORE", "Targets", "check_targets", "from_grid", "make_targets", "to_grid"]

CORE = 0.5  # heatmap value above which a cell belongs to a hand's core (size target, no ignore)
# The open head is trained on a wider region than the core (for small hands the core is one
# cell), so the score read at a peak that lands a cell off is still trained.
OPEN_CORE = 0.25
TARGET_CLASSES = {"ignore": ("open",), "target": ("open", "other", "hand")}


class Targets(NamedTuple):
    """Per-image targets on the output grid, all float32 arrays of shape ``(H//s, W//s)``.

    Attributes:
        heatmap: 0..1, Gaussian blob per open hand, exactly 1.0 at each open hand's centre cell.
        ignore: 1.0 where the loss is masked (around "other" hands and unlearnable hands), else 0.
        size: hand radius in input pixels on each blob's core, 0 elsewhere.
        open: 1.0 on the cells of open hands, 0 elsewhere (meaningful where ``open_mask`` is 1).
        open_mask: 1.0 on the cells of hands whose openness is known, else 0.
    """

    heatmap: np.ndarray
    ignore: np.ndarray
    size: np.ndarray
    open: np.ndarray | None = None
    open_mask: np.ndarray | None = None


def make_targets(
    hands: Sequence[HandLabel],
    image_size: tuple[int, int],
    stride: int,
    radius_scale: float = 0.3,
    ignore_scale: float = 1.0,
    min_radius: float = 2.0,
    min_sigma: float = 0.6,
    others: str = "ignore",
) -> Targets:
    """Build the targets for one image whose hands are given in input-image pixels.

    Args:
        hands: labelled hands, in the pixel coordinates of the (already resized) input image.
        image_size: ``(width, height)`` of the input image in pixels (the DESIGN.md "WxH" order).
        stride: output stride ``s`` of the model; the grid is ``(height//s, width//s)``.
        radius_scale: Gaussian sigma as a fraction of the hand radius ``r``.
        ignore_scale: radius of the ignore disc around masked hands, as a fraction of ``r``.
        min_radius: open hands with ``r`` below this (input pixels) are ignored, not targets.
        min_sigma: smallest Gaussian sigma in cells, so tiny hands still give a learnable blob.
        others: ``"ignore"`` (format 1: only open hands are targets, "other" hands are masked)
            or ``"target"`` (format 2: every hand is a heatmap target, and the open maps are
            filled).

    Returns:
        The :class:`Targets` (heatmap, ignore, size), float32, values checked.

    Raises:
        ValueError: a bad stride, image size or scale, or (a bug) targets outside their range.
    """
    width, height = image_size
    if stride < 1:
        raise ValueError(f"stride must be >= 1, not {stride}")
    if width < stride or height < stride:
        raise ValueError(f"image_size must be at least {stride}x{stride} px, not {width}x{height}")
    if others not in TARGET_CLASSES:
        raise ValueError(f"others must be one of {sorted(TARGET_CLASSES)}, not {others!r}")
    targets = TARGET_CLASSES[others]
    if radius_scale <= 0 or ignore_scale <= 0:
        raise ValueError(
            f"radius_scale and ignore_scale must be > 0, not {radius_scale}, {ignore_scale}"
        )
    gh, gw = height // stride, width // stride
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    heatmap = np.zeros((gh, gw), np.float32)
    size = np.zeros((gh, gw), np.float32)
    ignore = np.zeros((gh, gw), bool)
    open_t = np.zeros((gh, gw), np.float32)
    open_mask = np.zeros((gh, gw), np.float32)

    def disc(h: HandLabel) -> np.ndarray:
        cx, cy = to_grid(h.x, stride), to_grid(h.y, stride)
        rad = max(ignore_scale * h.r / stride, 1.0)
        return (gx - cx) ** 2 + (gy - cy) ** 2 <= rad * rad

    for h in hands:
        cx, cy = to_grid(h.x, stride), to_grid(h.y, stride)
        ci, cj = int(round(cy)), int(round(cx))
        inside = 0 <= ci < gh and 0 <= cj < gw
        if h.cls not in targets or h.r < min_radius or not inside:
            ignore |= disc(h)
            continue
        sigma = max(radius_scale * h.r / stride, min_sigma)
        blob = np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * sigma * sigma))
        blob[ci, cj] = 1.0
        # The size and open maps belong to whichever hand dominates a cell.
        owns = (blob >= CORE) & (blob > heatmap)
        size[owns] = h.r
        if others == "target":
            region = (blob >= OPEN_CORE) & (blob > heatmap)
            known = h.cls in ("open", "other")
            open_mask[region] = 1.0 if known else 0.0
            open_t[region] = 1.0 if h.cls == "open" else 0.0
        np.maximum(heatmap, blob, out=heatmap)
    ignore[heatmap >= CORE] = False
    open_mask[ignore] = 0.0
    out = Targets(heatmap, ignore.astype(np.float32), size, open_t, open_mask)
    check_targets(out)
    return out


def check_targets(t: Targets) -> None:
    """Raise ValueError unless heatmap and ignore lie in 0..1 and size is >= 0 and finite.

    A heatmap stored as 0..255 (an easy slip with image code) stalls learning, hence the check.
    """
    maps = [("heatmap", t.heatmap), ("ignore", t.ignore), ("open", t.open)]
    for name, arr in maps + [("open_mask", t.open_mask)]:
        if arr is None or not arr.size:
            continue
        if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
            raise ValueError(
                f"{name} target must lie in 0..1, not {arr.min()}..{arr.max()}; "
                "scale it to 0..1 (is it 0..255?)"
            )
    if t.size.size and (not np.isfinite(t.size).all() or t.size.min() < 0):
        raise ValueError(f"size target must be finite and >= 0, not min {t.size.min()}")
