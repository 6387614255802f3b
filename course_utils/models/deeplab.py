"""Dilated convolution and DeepLab: a ResNet-18 that keeps its resolution, and ASPP (notebook 06).

DeepLab (Chen et al., 2017) replaces the last strides of a classification backbone by dilated
("atrous") convolutions, so the features stay at 1/16 (or 1/8) of the input instead of 1/32
while every filter still sees as far as before, then looks at several reaches at once with
atrous spatial pyramid pooling (ASPP) and upsamples the class scores bilinearly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .backbone import check_positive_ints, take_resnet18_stages


def receptive_field(layers) -> list[tuple[int, int]]:
    """``(receptive field, jump)`` in input pixels after each ``(kernel, stride, dilation)``.

    A layer's kernel spans ``d (k - 1) + 1`` input samples, ``jump`` pixels apart, so
    ``r_out = r_in + d (k - 1) jump_in``; the jump is the output stride so far.
    """
    r, jump, out = 1, 1, []
    for k, s, d in layers:
        check_positive_ints(kernel=k, stride=s, dilation=d)
        r, jump = r + d * (k - 1) * jump, jump * s
        out.append((r, jump))
    return out


def dilate_(stage: nn.Sequential, dilation: int) -> nn.Sequential:
    """Trade a ResNet stage's stride 2 for ``dilation``, in place: torchvision's
    ``replace_stride_with_dilation``, which its ResNet-18 does not offer. The first 3x3 conv
    keeps the previous dilation; every later one reaches as far as on the subsampled map."""
    for i, block in enumerate(stage):
        for j, conv in enumerate((block.conv1, block.conv2)):
            d = max(1, dilation // 2) if i == j == 0 else dilation
            conv.dilation, conv.padding = (d, d), (d, d)
        if i == 0:
            block.conv1.stride = (1, 1)
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)
    return stage


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 1,
                 dilation: int = 1) -> nn.Sequential:
    """Conv (no bias, "same" padding), BatchNorm, ReLU: the unit ASPP is built from."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=dilation * (kernel_size // 2),
                  dilation=dilation, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class ASPPPooling(nn.Sequential):
    """ASPP's image-level branch: global average, 1x1 conv, then spread back over the map."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.AdaptiveAvgPool2d(1), *conv_bn_relu(in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(super().forward(x), size=x.shape[-2:], mode="bilinear",
                             align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (DeepLabv3, Chen et al., 2017).

    Parallel branches (a 1x1 conv, a 3x3 conv per rate, the image-level average) see the same
    features at several reaches; their outputs are concatenated and projected by a 1x1 conv.
    Laid out like torchvision's ``ASPP``, so its state dict loads into ours.
    """

    def __init__(self, in_channels: int, rates=(12, 24, 36), out_channels: int = 256):
        super().__init__()
        check_positive_ints(in_channels=in_channels, out_channels=out_channels,
                             **{f"rate {r!r}": r for r in rates})
        self.convs = nn.ModuleList([conv_bn_relu(in_channels, out_channels)]
                                   + [conv_bn_relu(in_channels, out_channels, 3, r)
                                      for r in rates]
                                   + [ASPPPooling(in_channels, out_channels)])
        self.project = nn.Sequential(*conv_bn_relu(len(self.convs) * out_channels, out_channels),
                                     nn.Dropout(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))


def deeplab_head(in_channels: int, num_classes: int, rates=(12, 24, 36),
                 width: int = 256) -> nn.Sequential:
    """ASPP, a 3x3 conv, then 1x1 class scores: torchvision's ``DeepLabHead`` layout."""
    return nn.Sequential(ASPP(in_channels, rates, width), *conv_bn_relu(width, width, 3),
                         nn.Conv2d(width, num_classes, 1))


class DeepLab(nn.Module):
    """A small DeepLabv3: a dilated ResNet-18 and an ASPP head, upsampled bilinearly.

    ``output_stride`` 8 dilates ``layer3`` too, at about four times the compute. ``rates``
    should suit the feature map: at stride 16 a 128-pixel crop gives an 8 x 8 map, on which
    the paper's 12/24/36 reach only padding. :func:`at_output_stride` gives a trained model
    another stride (the same weights), as the paper evaluates its stride-16 model at 8.
    """

    def __init__(self, num_classes: int = 21, output_stride: int = 16, rates=(2, 4, 6),
                 width: int = 128, pretrained: bool = False):
        super().__init__()
        if output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {output_stride!r}")
        check_positive_ints(num_classes=num_classes, width=width)
        self.num_classes, self.output_stride = num_classes, output_stride
        self.trained_stride = output_stride  # where its scores' places were learned
        self.rates, self.width = tuple(rates), width
        take_resnet18_stages(self, pretrained)
        if output_stride == 8:
            dilate_(self.layer3, 2)
        dilate_(self.layer4, 2 if output_stride == 16 else 4)
        self.head = deeplab_head(512, num_classes, rates, width)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The dilated backbone's output: ``(N, 512, ceil(H / s), ceil(W / s))``, s the stride."""
        return self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample_scores(self.head(self.features(x)), x.shape[-2:],
                               self.trained_stride // self.output_stride)


def upsample_scores(scores: torch.Tensor, size, finer: int = 1) -> torch.Tensor:
    """Bilinear upsampling of ``scores`` ``(N, C, h, w)`` to ``size``, each cell put where the
    network learned to put it. ``finer`` is the trained stride over the current one. At 1 it is
    ``F.interpolate(align_corners=False)``: cell i lands at (i + 1/2) s - 1/2, s = H / h. A model
    trained at stride 16 and run at 8 (``finer`` 2) learned its cells' places on the coarse grid,
    and fine cell j *is* coarse cell j / 2 (for even j exactly, by the a-trous argument), so it
    belongs at (j / 2 + 1/2) s16 - 1/2; plain interpolation of the fine map would put every score
    a quarter of a coarse cell (4 px) up and to the left of it."""
    if finer == 1:
        return F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
    return _resample(scores, size, finer)


def _resample(scores: torch.Tensor, size, finer: int) -> torch.Tensor:
    """:func:`upsample_scores` for any ``finer`` with ``grid_sample`` (border values held, as
    ``F.interpolate`` holds them)."""
    axes = []
    for n_out, n_fine in zip(size, scores.shape[-2:], strict=True):
        step = n_out / -(-n_fine // finer)  # input pixels per cell of the trained (coarse) grid
        pixel = torch.arange(n_out, dtype=scores.dtype, device=scores.device)
        fine = finer * ((pixel + 0.5) / step - 0.5)  # each output pixel in fine-cell units
        axes.append(2 * fine / max(n_fine - 1, 1) - 1)  # grid_sample's -1..1 (align_corners)
    rows, cols = torch.meshgrid(*axes, indexing="ij")
    grid = torch.stack((cols, rows), dim=-1).expand(scores.shape[0], -1, -1, -1)
    return F.grid_sample(scores, grid, mode="bilinear", padding_mode="border",
                         align_corners=True)


def at_output_stride(net: DeepLab, output_stride: int) -> DeepLab:
    """A copy of ``net`` that runs at ``output_stride`` with the same weights, every 3 x 3
    convolution of the head dilated with the map so that it still reaches as far in pixels (the
    ASPP rates, stride 16 -> 8 doubles them, and the convolution after ASPP), and its scores
    upsampled to the places it learned (:func:`upsample_scores`). DeepLabv3 (section 4.3)
    trains at stride 16 and evaluates at 8: the finer map costs about four times the compute.
    Only a stride at or finer than the trained one can keep the weights' reach."""
    if output_stride not in (8, 16) or output_stride > net.trained_stride:
        raise ValueError(f"at_output_stride: a model trained at stride {net.trained_stride} "
                         f"runs at that stride or at 8, not at {output_stride!r} (a coarser "
                         f"grid would need dilations below 1)")
    rates = tuple(r * net.output_stride // output_stride for r in net.rates)
    other = DeepLab(net.num_classes, output_stride, rates, net.width)
    other.load_state_dict(net.state_dict())
    other.trained_stride = net.trained_stride
    d = net.trained_stride // output_stride
    other.head[1].dilation = other.head[1].padding = (d, d)  # the 3 x 3 conv after ASPP
    return other.to(next(net.parameters()).device, next(net.parameters()).dtype).train(
        net.training)


def valid_tap_fraction(size: int, rate: int, kernel: int = 3) -> float:
    """Share of a dilated ``kernel`` x ``kernel`` filter's taps that land inside a ``size`` x
    ``size`` map (not on the zero padding), averaged over the output positions: as ``rate``
    nears ``size`` only the centre tap is left, a 1 x 1 convolution (DeepLabv3, figure 4)."""
    check_positive_ints(size=size, rate=rate, kernel=kernel)
    ones = torch.ones(1, 1, size, size, dtype=torch.float64)
    weight = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
    counts = F.conv2d(ones, weight, padding=rate * (kernel // 2), dilation=rate)
    return float(counts.mean()) / kernel ** 2
