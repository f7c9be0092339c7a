"""The hand heatmap networks: a MobileNet-style FCN (default) and the VGG-style baseline.

Both map an ``N x 3 x H x W`` RGB image in 0..1 to a heatmap, a size map and an open map on the
stride-``s`` grid (``N x 1 x H/s x W/s`` each; model format 2: the heatmap finds every hand, the
open map says whether the hand centred at a cell is open and facing). Input normalisation and
the sigmoids live inside the graph, as the ONNX contract in DESIGN.md asks.

``HandNet`` (``arch="mobile"``): a stem conv, depthwise-separable blocks down to stride 32 for a
receptive field that covers a hand close to the camera, then a light top-down path (nearest
upsampling + 1x1 lateral convs, like a tiny FPN) back to the output stride, and two 3x3
depthwise-separable heads. ``width`` scales every channel count.

``VGGNet`` (``arch="vgg"``): the original baseline, two VGG16 blocks (2x conv64, pool, 2x conv128,
pool), one 512-channel block (3x conv512) and a 1x1 conv, output stride 4.

Example:
    >>> import torch
    >>> net = build_model("mobile", width=0.5).eval()
    >>> heat, size, open_ = net(torch.rand(1, 3, 64, 96))
    >>> tuple(heat.shape), bool((heat >= 0).all() and (heat <= 1).all())
    ((1, 1, 16, 24), True)
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("mobile", "vgg")
# ImageNet statistics: a conventional, harmless normalisation for an RGB 0..1 input.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
# The size head predicts log(radius / SIZE_UNIT) so its raw output starts near a plausible radius.
SIZE_UNIT = 16.0


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _dw_sep(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """Depthwise 3x3 (stride ``stride``) then pointwise 1x1, each with BN + ReLU."""
    return nn.Sequential(_conv_bn(cin, cin, 3, stride, groups=cin), _conv_bn(cin, cout, 1))


def _ch(c: int, width: float) -> int:
    # Multiples of 8 keep the pointwise convs friendly to SIMD kernels.
    return max(8, int(round(c * width / 8)) * 8)


class _Normalise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))
        # False once fold_input_scale has moved the division into the first conv's weights
        self.divide = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std if self.divide else x - self.mean


class _Heads(nn.Module):
    """Heatmap logits, log-size and open logits from one feature map, through one shared 3x3
    dw-sep block.

    Sharing the block keeps the heads cheap: they run at the output stride, where every MAC
    counts most. The open head is one more 1x1 conv (hidden MACs per cell), since "is this hand
    open" is read from the same features that say "this is a hand".
    """

    def __init__(self, cin: int, hidden: int) -> None:
        super().__init__()
        self.body = _dw_sep(cin, hidden)
        self.heat = nn.Conv2d(hidden, 1, 1)
        self.size = nn.Conv2d(hidden, 1, 1)
        self.open = nn.Conv2d(hidden, 1, 1)
        # CenterNet's prior: start with a heatmap of ~0.01 so early focal-loss steps are stable.
        nn.init.constant_(self.heat.bias, -4.6)

    def forward(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.body(f)
        return self.heat(f), self.size(f), self.open(f)


class _Base(nn.Module):
    stride: int

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(
        self, image: torch.Tensor, logits: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the net.

        Args:
            image: ``N x 3 x H x W`` float RGB in 0..1, H and W multiples of the stride.
            logits: if True return ``(heatmap logits, log(radius / SIZE_UNIT), open logits)``
                for the losses; else ``(heatmap 0..1, radius in input pixels, open 0..1)`` as
                the ONNX contract (format 2) says.

        Returns:
            Three ``N x 1 x H/s x W/s`` tensors.
        """
        heat, log_size, open_ = self.features(image)
        if logits:
            return heat, log_size, open_
        size = torch.exp(log_size.clamp(-6.0, 6.0)) * SIZE_UNIT
        return torch.sigmoid(heat), size, torch.sigmoid(open_)


class HandNet(_Base):
    """MobileNet-style depthwise-separable FCN with a tiny top-down path; see the module doc.

    Args:
        width: channel multiplier (1.0 = 16/24/40/80/128 channels at strides 2..32).
        stride: output stride, 4 or 8.
    """

    def __init__(self, width: float = 1.0, stride: int = 4) -> None:
        super().__init__()
        if stride not in (4, 8):
            raise ValueError(f"stride must be 4 or 8, not {stride}")
        self.stride = stride
        c1, c2, c3, c4, c5 = (_ch(c, width) for c in (16, 24, 40, 80, 128))
        self.norm = _Normalise()
        self.s2 = _conv_bn(3, c1, 3, 2)
        self.s4 = nn.Sequential(_dw_sep(c1, c2, 2), _dw_sep(c2, c2))
        self.s8 = nn.Sequential(_dw_sep(c2, c3, 2), _dw_sep(c3, c3))
        self.s16 = nn.Sequential(_dw_sep(c3, c4, 2), _dw_sep(c4, c4), _dw_sep(c4, c4))
        self.s32 = nn.Sequential(_dw_sep(c4, c5, 2), _dw_sep(c5, c5))
        top = c3  # channels of the top-down path
        self.lat32 = _conv_bn(c5, top, 1)
        self.lat16 = _conv_bn(c4, top, 1)
        self.lat8 = _conv_bn(c3, top, 1)
        self.lat4 = _conv_bn(c2, top, 1) if stride == 4 else None
        self.smooth16 = _dw_sep(top, top)
        self.smooth8 = _dw_sep(top, top)
        self.heads = _Heads(top, top)

    @staticmethod
    def _up_add(small: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # size= (not scale_factor) so inputs that are not multiples of 32 still line up.
        return F.interpolate(small, size=skip.shape[-2:], mode="nearest") + skip

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f4 = self.s4(self.s2(self.norm(x)))  # N x c2 x H/4 x W/4
        f8 = self.s8(f4)  # N x c3 x H/8
        f16 = self.s16(f8)  # N x c4 x H/16
        f32 = self.s32(f16)  # N x c5 x H/32
        t = self.smooth16(self._up_add(self.lat32(f32), self.lat16(f16)))
        t = self.smooth8(self._up_add(t, self.lat8(f8)))
        if self.lat4 is not None:
            t = self._up_add(t, self.lat4(f4))
        return self.heads(t)


class VGGNet(_Base):
    """The VGG-style baseline: 2 VGG16 blocks, one 512-channel block, 1x1 conv; stride 4."""

    def __init__(self) -> None:
        super().__init__()
        self.stride = 4

        def block(cin: int, cout: int, n: int) -> list[nn.Module]:
            layers: list[nn.Module] = []
            for i in range(n):
                layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, 1, 1), nn.ReLU(True)]
            return layers

        self.norm = _Normalise()
        self.body = nn.Sequential(
            *block(3, 64, 2),
            nn.MaxPool2d(2),
            *block(64, 128, 2),
            nn.MaxPool2d(2),
            *block(128, 512, 3),
        )
        self.heat = nn.Conv2d(512, 1, 1)
        self.size = nn.Conv2d(512, 1, 1)
        self.open = nn.Conv2d(512, 1, 1)
        nn.init.constant_(self.heat.bias, -4.6)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f = self.body(self.norm(x))
        return self.heat(f), self.size(f), self.open(f)


def fold_input_scale(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose first conv absorbs the ``/ std`` of the input normalisation.

    Exact, not an approximation: the conv is linear in each input channel, and its zero padding
    is zero before and after the division. The mean subtraction stays in the graph, since
    folding it into the bias would change what the padded border sees. For export: it removes
    one full-resolution elementwise pass from every frame's inference.
    """
    net = copy.deepcopy(net)
    first = net.s2[0] if isinstance(net, HandNet) else net.body[0]
    if not isinstance(first, nn.Conv2d) or not net.norm.divide:
        raise ValueError("fold_input_scale needs a net from build_model that was not folded yet")
    with torch.no_grad():
        first.weight /= net.norm.std  # weight: out x 3 x k x k; std: 1 x 3 x 1 x 1
    net.norm.divide = False
    return net


def build_model(arch: str = "mobile", width: float = 1.0, stride: int = 4) -> nn.Module:
    """Make a network by name.

    Args:
        arch: ``"mobile"`` (HandNet) or ``"vgg"`` (the baseline; width and stride must be 1, 4).
        width: channel multiplier of HandNet.
        stride: output stride of HandNet, 4 or 8.

    Returns:
        The untrained network, whose ``forward(image, logits=False)`` gives heatmap, size and
        open.

    Raises:
        ValueError: unknown arch or a setting the arch does not support.
    """
    if arch == "mobile":
        if width <= 0:
            raise ValueError(f"width must be > 0, not {width}")
        return HandNet(width=width, stride=stride)
    if arch == "vgg":
        if stride != 4:
            raise ValueError(f"the vgg baseline has stride 4, not {stride}")
        return VGGNet()
    raise ValueError(f"arch must be one of {ARCHS}, not {arch!r}")


def count_macs(model: nn.Module, input_size: tuple[int, int]) -> tuple[int, int]:
    """Multiply-adds of the convolutions and the parameter count at ``input_size=(W, H)``.

    Returns:
        ``(macs, params)`` for one image.
    """
    macs = 0

    def hook(mod: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal macs
        assert isinstance(mod, nn.Conv2d)
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        macs += out.numel() * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, input_size[1], input_size[0]))
    model.train(was_training)
    for h in handles:
        h.remove()
    return macs, sum(p.numel() for p in model.parameters())
