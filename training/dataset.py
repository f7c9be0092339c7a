"""The torch side of training data: :class:`MixedDataset` draws augmented items from several sources
with given weights; each item is a pure function of ``(seed, epoch, index)``, so runs are
reproducible and DDP ranks see different, non-overlapping items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from handplay.contract import to_input
from training.augment import Augment, augment
from training.data import Crop, Image
from training.targets import make_targets


def to_tensor(bgr: np.ndarray) -> torch.Tensor:
    """BGR uint8 H x W x 3 -> float32 3 x H x W RGB in 0..1 (the model's input).

    The runtime's own conversion (:func:`handplay.contract.to_input`): the same numbers, and
    numpy's, because torch's ``.float()`` on a small tensor waited on its thread pool for
    12 ms an item while another process held a core (0.26 ms this way).
    """
    return torch.from_numpy(to_input(bgr)[0])


class MixedDataset(Dataset):
    """Augmented training items drawn from several sources with given weights.

    Args:
        sources: lists of :class:`Image`, one per source.
        weights: relative sampling weight of each source.
        crops: hand crops for copy-paste (may be empty).
        length: items per epoch.
        out_size: ``(width, height)`` of the camera-like view, or several sizes: each item
            draws one, so hands are seen at the pixel sizes of every reach (issue 14).
        stride: model output stride (for the targets).
        aug: augmentation settings.
        seed: base seed; item ``i`` of epoch ``e`` depends only on ``(seed, e, i)``.
        others: ``"ignore"`` masks "other" hands (format 1); ``"target"`` trains every hand in
            the heatmap and the open head on them (format 2).
        radius_scale: Gaussian sigma / hand radius of the heatmap blobs.
        crop_size: render only this ``(width, height)`` window of each view.
    """

    def __init__(
        self,
        sources: Sequence[Sequence[Image]],
        weights: Sequence[float],
        crops: Sequence[Crop],
        length: int,
        out_size: tuple[int, int] | Sequence[tuple[int, int]],
        stride: int,
        aug: Augment,
        seed: int = 0,
        others: str = "ignore",
        radius_scale: float = 0.3,
        crop_size: tuple[int, int] | None = None,
    ) -> None:
        if len(sources) != len(weights) or not sources:
            raise ValueError(f"need one weight per source, not {len(weights)} for {len(sources)}")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be >= 0 and not all 0, not {list(weights)}")
        if others not in ("ignore", "target"):
            raise ValueError(f"others must be 'ignore' or 'target', not {others!r}")
        empty = [i for i, s in enumerate(sources) if not s]
        if empty:
            raise ValueError(f"sources {empty} are empty")
        self.sources, self.crops, self.length = sources, crops, length
        self.probs = np.asarray(weights, np.float64) / sum(weights)
        sizes = [out_size] if isinstance(out_size[0], int) else list(out_size)
        self.view_sizes: list[tuple[int, int]] = [tuple(v) for v in sizes]  # type: ignore[misc]
        if crop_size is None and len(self.view_sizes) > 1:
            raise ValueError("several view sizes need a crop_size (the items' common size)")
        self.stride, self.aug, self.seed = stride, aug, seed
        self.others, self.radius_scale = others, radius_scale
        self.crop_size = crop_size or self.view_sizes[0]
        if any(cw > vw or ch > vh for vw, vh in self.view_sizes for cw, ch in [self.crop_size]):
            raise ValueError(f"crop {self.crop_size} must fit in every view {self.view_sizes}")
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        """Returns ``(image 3xHxW, heatmap, ignore, size, open, open_mask)``, maps 1xhxw."""
        rng = np.random.default_rng([self.seed, self.epoch, i])
        src = self.sources[rng.choice(len(self.sources), p=self.probs)]
        img = src[rng.integers(len(src))]
        other = src[rng.integers(len(src))]  # decoy objects come from the same kind of scene
        view_size = self.view_sizes[rng.integers(len(self.view_sizes))]
        view, hands = augment(
            rng, img, view_size, self.aug, self.crops, self.crop_size, other=other
        )
        t = make_targets(
            hands, self.crop_size, self.stride, radius_scale=self.radius_scale, others=self.others
        )
        maps = (t.heatmap, t.ignore, t.size, t.open, t.open_mask)
        return (to_tensor(view), *(torch.from_numpy(m)[None] for m in maps))
