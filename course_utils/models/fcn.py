"""FCN (Long et al., 2015) on a ResNet-18 backbone: FCN-32s, 16s and 8s (notebook 04)."""

from __future__ import annotations

import torch
from torch import nn

from .backbone import check_positive_ints, pad_to_multiple, take_resnet18_stages
from .upsampling import bilinear_upsampler

FCN_VARIANTS = ("32s", "16s", "8s")


def _zero_conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class FCN(nn.Module):
    """Fully convolutional network (Long et al., 2015) on a ResNet-18 backbone.

    A 1x1 convolution scores the stride-32 features of ``layer4``; transposed convolutions
    (initialised to bilinear) upsample them. "16s" and "8s" add the scores of ``layer3`` and
    ``layer2`` on the way up, starting at zero, so training begins from 32s.
    """

    stride = 32

    def __init__(self, num_classes: int = 21, variant: str = "8s", pretrained: bool = False):
        super().__init__()
        if variant not in FCN_VARIANTS:
            raise ValueError(f"variant must be one of {FCN_VARIANTS}, got {variant!r}")
        check_positive_ints(num_classes=num_classes)
        self.variant = variant
        take_resnet18_stages(self, pretrained)
        self.score4 = nn.Conv2d(512, num_classes, 1)
        if variant != "32s":
            self.score3 = _zero_conv1x1(256, num_classes)
            self.up4 = bilinear_upsampler(num_classes, 2)
        if variant == "8s":
            self.score2 = _zero_conv1x1(128, num_classes)
            self.up3 = bilinear_upsampler(num_classes, 2)
        self.upsample = bilinear_upsampler(num_classes, int(variant[:-1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        c2 = self.layer2(self.layer1(self.stem(pad_to_multiple(x, self.stride))))
        c3 = self.layer3(c2)
        scores = self.score4(self.layer4(c3))
        if self.variant != "32s":
            scores = self.up4(scores) + self.score3(c3)
        if self.variant == "8s":
            scores = self.up3(scores) + self.score2(c2)
        return self.upsample(scores)[..., :h, :w]
