"""Segmentation networks built by hand: bilinear upsampling kernels, FCN and U-Net.

Both networks map a batch of images ``(N, 3, H, W)`` to class *logits* ``(N, C, H, W)`` of the
same height and width, for any ``H`` and ``W``: the input is padded on the right/bottom to a
multiple of the network's total stride and the logits are cropped back, so every stage halves
or doubles sizes exactly and the skip connections line up without resizing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from .pretrained import PROBE_TIMEOUT, WeightsUnavailable, fetch_state_dict

FCN_VARIANTS = ("32s", "16s", "8s")


def _check_positive_ints(**values) -> None:
    """Raise ValueError naming the first argument that is not a positive int."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> torch.Tensor:
    """A ``ConvTranspose2d`` weight ``(in, out, k, k)`` that performs bilinear upsampling.

    Each channel is upsampled on its own (the weight is zero off the channel diagonal, so
    ``in_channels`` must equal ``out_channels``) with the separable "tent" filter
    ``(1 - |i - c| / f) (1 - |j - c| / f)``, ``f = ceil(k / 2)``, centred at ``c``. With
    ``k = 2 f``, stride ``f`` and padding ``f // 2`` (see :func:`bilinear_upsampler`) it
    reproduces ``F.interpolate(mode="bilinear", align_corners=False)`` away from the border.
    """
    _check_positive_ints(in_channels=in_channels, out_channels=out_channels,
                         kernel_size=kernel_size)
    if in_channels != out_channels:
        raise ValueError(f"in_channels ({in_channels}) must equal out_channels ({out_channels}):"
                         " bilinear upsampling maps each channel to itself")
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    tent = 1 - (og - center).abs() / factor
    weight = torch.zeros(in_channels, out_channels, kernel_size, kernel_size)
    idx = torch.arange(in_channels)
    weight[idx, idx] = tent[:, None] * tent[None, :]
    return weight


def init_bilinear_(conv: nn.ConvTranspose2d) -> nn.ConvTranspose2d:
    """Set ``conv``'s weight to :func:`bilinear_kernel` (and its bias to 0), in place.

    The layer then starts as plain bilinear upsampling and training may refine it (FCN).
    """
    if not isinstance(conv, nn.ConvTranspose2d):
        raise TypeError(f"conv must be an nn.ConvTranspose2d, got {type(conv).__name__}")
    kh, kw = conv.kernel_size
    if kh != kw or conv.groups != 1:
        raise ValueError(f"conv must have a square kernel and groups=1, got kernel_size="
                         f"{conv.kernel_size}, groups={conv.groups}")
    with torch.no_grad():
        conv.weight.copy_(bilinear_kernel(conv.in_channels, conv.out_channels, kh))
        if conv.bias is not None:
            conv.bias.zero_()
    return conv


def bilinear_upsampler(channels: int, factor: int, bias: bool = False) -> nn.ConvTranspose2d:
    """A learnable ``ConvTranspose2d`` that upsamples by ``factor``, initialised to bilinear.

    Kernel ``2 f - f % 2``, stride ``f``, padding ``f // 2`` (the FCN recipe), so an
    ``H`` x ``W`` input gives exactly ``f H`` x ``f W``.
    """
    _check_positive_ints(factor=factor)
    conv = nn.ConvTranspose2d(channels, channels, kernel_size=2 * factor - factor % 2,
                              stride=factor, padding=factor // 2, bias=bias)
    return init_bilinear_(conv)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` by default)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def trace_shapes(model: nn.Module, x: torch.Tensor, names=None) -> list[tuple[str, tuple]]:
    """Run ``model(x)`` once and return ``(name, output shape)`` for the named submodules.

    ``names`` defaults to the model's direct children (the items of a ``ModuleList``, which
    is never called itself); any dotted name from ``model.named_modules()`` works. Entries
    appear in the order the modules ran.
    """
    modules = dict(model.named_modules())
    if names is None:
        names = [f"{n}.{i}" if isinstance(m, nn.ModuleList) else n
                 for n, m in model.named_children()
                 for i in (range(len(m)) if isinstance(m, nn.ModuleList) else [None])]
    names = list(names)
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"names: no submodule called {missing} in {type(model).__name__}")
    shapes: list[tuple[str, tuple]] = []
    hooks = [modules[n].register_forward_hook(
        lambda _m, _i, out, n=n: shapes.append((n, tuple(out.shape)))) for n in names]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def _check_images(x: torch.Tensor, channels: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a (N, {channels}, H, W) tensor, got {shape}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad ``x`` on the right and bottom so its height and width divide by ``multiple``."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple))


def resnet18_backbone(pretrained: bool = False, timeout: float = PROBE_TIMEOUT) -> nn.Module:
    """A torchvision ResNet-18, with ImageNet weights when ``pretrained`` and obtainable.

    Cached weights (under ``$TORCH_HOME``) load without a network. Otherwise the download is
    tried only if the server answers within ``timeout`` seconds; on any failure one line says
    so and the network keeps its random initialisation (training still works, just slower).
    """
    net = torchvision.models.resnet18(weights=None)
    if not pretrained:
        return net
    try:
        net.load_state_dict(fetch_state_dict(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url,
                                             timeout))
    except WeightsUnavailable as e:
        print(f"ImageNet weights for ResNet-18 not available ({e.reason}); using random init.")
    return net


def take_resnet18_stages(net: nn.Module, pretrained: bool = False) -> None:
    """Give ``net`` a ResNet-18's ``stem`` (stride 4) and ``layer1``-``layer4``, pooling and
    ``fc`` left out: the backbone FCN and DeepLab share, under the same names."""
    r = resnet18_backbone(pretrained)
    net.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
    net.layer1, net.layer2, net.layer3, net.layer4 = r.layer1, r.layer2, r.layer3, r.layer4


class FCN(nn.Module):
    """Fully convolutional network (Long et al., 2015) on a ResNet-18 backbone.

    A 1x1 convolution turns the stride-32 features of ``layer4`` into class scores, which
    learnable transposed convolutions (initialised to bilinear) upsample to the input size.
    ``variant`` "16s" and "8s" add the scores of ``layer3`` (stride 16) and ``layer2``
    (stride 8) on the way up; those skip scores start at zero, so training begins from 32s.
    """

    stride = 32

    def __init__(self, num_classes: int = 21, variant: str = "8s", pretrained: bool = False):
        super().__init__()
        if variant not in FCN_VARIANTS:
            raise ValueError(f"variant must be one of {FCN_VARIANTS}, got {variant!r}")
        _check_positive_ints(num_classes=num_classes)
        self.variant = variant
        take_resnet18_stages(self, pretrained)
        self.score4 = nn.Conv2d(512, num_classes, 1)
        skips = FCN_VARIANTS.index(variant)  # 0, 1 or 2 skip connections
        if skips >= 1:
            self.score3 = _zero_conv1x1(256, num_classes)
            self.up4 = bilinear_upsampler(num_classes, 2)
        if skips >= 2:
            self.score2 = _zero_conv1x1(128, num_classes)
            self.up3 = bilinear_upsampler(num_classes, 2)
        self.upsample = bilinear_upsampler(num_classes, int(variant[:-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, 3)
        h, w = x.shape[-2:]
        c2 = self.layer2(self.layer1(self.stem(pad_to_multiple(x, self.stride))))
        c3 = self.layer3(c2)
        scores = self.score4(self.layer4(c3))
        if self.variant != "32s":
            scores = self.up4(scores) + self.score3(c3)
        if self.variant == "8s":
            scores = self.up3(scores) + self.score2(c2)
        return self.upsample(scores)[..., :h, :w]


def _zero_conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions (padding 1, so sizes are kept), each with BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) with BatchNorm and padded convolutions.

    The encoder applies ``depth`` times "max-pool, then double conv" (channels ``width``,
    ``2 width``, ... ``2**depth width``); the decoder mirrors it, each step a 2x2 transposed
    convolution that halves the channels, concatenated with the encoder features of the
    same size (the skip connection), then a double conv. A 1x1 convolution gives the logits.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 21, depth: int = 4,
                 width: int = 64):
        super().__init__()
        _check_positive_ints(in_channels=in_channels, num_classes=num_classes, depth=depth,
                             width=width)
        self.in_channels, self.stride = in_channels, 2 ** depth
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.inc = double_conv(in_channels, width)
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), double_conv(c, 2 * c)) for c in chans[:-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(2 * c, c, 2, stride=2) for c in chans[:-1])
        self.dec = nn.ModuleList(double_conv(2 * c, c) for c in chans[:-1])
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self.in_channels)
        h, w = x.shape[-2:]
        feats = [self.inc(pad_to_multiple(x, self.stride))]
        for down in self.down:
            feats.append(down(feats[-1]))
        y = feats.pop()
        for i in reversed(range(len(self.up))):
            y = self.dec[i](torch.cat([feats.pop(), self.up[i](y)], dim=1))
        return self.head(y)[..., :h, :w]
