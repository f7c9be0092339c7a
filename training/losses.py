"""Heatmap and size losses, all masked by the ignore map and computed from logits.

Shapes: ``logits``, ``target``, ``ignore``: ``N x 1 x h x w``; targets in 0..1, ``ignore`` 1 where
the loss must not look (around "other" hands). Every heatmap loss is normalised by the number of
positives (cells whose target is exactly 1, at least 1) so the three options are on a comparable
scale and an image with many hands does not dominate a batch.

- ``focal`` (default): CenterNet's penalty-reduced focal loss, alpha=2, beta=4.
- ``mse``: OpenPose-style squared error between the sigmoid and the Gaussian target.
- ``bce``: binary cross-entropy against the soft target, positives weighted up.

Masking multiplies by ``1 - ignore`` before the sum, so inside the mask the gradient is exactly 0.

:func:`open_loss` (model format 2) trains the open head with BCE on hand cells only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("focal", "mse", "bce")


def _num_pos(target: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return ((target == 1.0).float() * keep).sum().clamp(min=1.0)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 4.0,
) -> torch.Tensor:
    """Masked penalty-reduced focal loss (CenterNet), normalised by the number of positives.

    Args:
        logits: raw heatmap outputs, ``N x 1 x h x w``.
        target: Gaussian targets 0..1 with exactly 1.0 at hand centres.
        ignore: 1 where the loss is masked.
        alpha: focusing exponent on the prediction.
        beta: penalty reduction exponent ``(1 - y)^beta`` near the centres.

    Returns:
        A scalar tensor.
    """
    keep = 1.0 - ignore
    p = torch.sigmoid(logits)
    pos = (target == 1.0).float()
    # logsigmoid keeps log(p) and log(1 - p) finite where a clamp would zero their gradient.
    pos_term = (1 - p).pow(alpha) * F.logsigmoid(logits) * pos
    neg_term = (1 - target).pow(beta) * p.pow(alpha) * F.logsigmoid(-logits) * (1 - pos)
    return -((pos_term + neg_term) * keep).sum() / _num_pos(target, keep)


def mse_loss(logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
    """Masked squared error of the sigmoid against the target (OpenPose), per positive."""
    keep = 1.0 - ignore
    return ((torch.sigmoid(logits) - target).pow(2) * keep).sum() / _num_pos(target, keep)


def bce_loss(
    logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor, pos_weight: float = 20.0
) -> torch.Tensor:
    """Masked binary cross-entropy against the soft target; cells weighted ``1 + pos_weight*y``."""
    keep = 1.0 - ignore
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * (1 + pos_weight * target) * keep).sum() / _num_pos(target, keep)


def heatmap_loss(
    name: str, logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor
) -> torch.Tensor:
    """The heatmap loss called ``name`` (one of :data:`LOSSES`).

    Raises:
        ValueError: unknown name.
    """
    if name == "focal":
        return focal_loss(logits, target, ignore)
    if name == "mse":
        return mse_loss(logits, target, ignore)
    if name == "bce":
        return bce_loss(logits, target, ignore)
    raise ValueError(f"loss must be one of {LOSSES}, not {name!r}")


def size_loss(log_size: torch.Tensor, size: torch.Tensor, unit: float) -> torch.Tensor:
    """L1 on log-radius where the size target is set (blob cores), weighted equally per cell.

    Args:
        log_size: the net's raw size output, ``log(radius / unit)``.
        size: target radius in input pixels, 0 where unset.
        unit: the net's size unit (:data:`training.model.SIZE_UNIT`).

    Returns:
        A scalar tensor (0 when no cell has a size target).
    """
    mask = (size > 0).float()
    target = torch.log(size.clamp(min=1e-3) / unit)
    return ((log_size - target).abs() * mask).sum() / mask.sum().clamp(min=1.0)


def open_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BCE of the open head on hand cells only, averaged over those cells.

    Args:
        logits: raw open outputs, ``N x 1 x h x w``.
        target: 1 on open hands' cells, 0 on other hands' cells.
        mask: 1 on the cells of hands whose openness is known; 0 elsewhere, where the loss and
            its gradient are exactly 0 (background is not "closed": it is no hand at all).

    Returns:
        A scalar tensor (0 when no cell is masked in).
    """
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * mask).sum() / mask.sum().clamp(min=1.0)
