"""U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections (notebook 05).

:class:`UNet` is the paper's network, trained from scratch, with padded 3x3 convolutions (so the
output has the input's height and width; the paper's are unpadded). :class:`ResNetUNet` is the
form practice uses: the same decoder idea on a pretrained ResNet-18 encoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .backbone import check_positive_ints, pad_to_multiple, take_resnet18_stages


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions (padding 1, so sizes are kept), each with BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015) with BatchNorm and padded convolutions: ``depth`` times
    "max-pool, double conv" down (``width`` ... ``2**depth width`` channels), then as many
    2x2 transposed convs up, each concatenated with the encoder features of its size."""

    def __init__(self, in_channels: int = 3, num_classes: int = 21, depth: int = 4,
                 width: int = 64):
        super().__init__()
        check_positive_ints(in_channels=in_channels, num_classes=num_classes, depth=depth,
                             width=width)
        self.stride = 2 ** depth
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.inc = double_conv(in_channels, width)
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), double_conv(c, 2 * c)) for c in chans[:-1])
        self.up = nn.ModuleList(nn.ConvTranspose2d(2 * c, c, 2, stride=2) for c in chans[:-1])
        self.dec = nn.ModuleList(double_conv(2 * c, c) for c in chans[:-1])
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        feats = [self.inc(pad_to_multiple(x, self.stride))]
        for down in self.down:
            feats.append(down(feats[-1]))
        y = feats.pop()
        for i in reversed(range(len(self.up))):
            y = self.dec[i](torch.cat([feats.pop(), self.up[i](y)], dim=1))
        return self.head(y)[..., :h, :w]


class ResNetUNet(nn.Module):
    """U-Net on a ResNet-18 encoder, laid out like segmentation_models_pytorch's
    ``Unet("resnet18")``: the encoder's features at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input;
    each decoder block doubles the size (nearest), concatenates the encoder features of that
    size (none at full size) and applies :func:`double_conv`; a 3x3 conv gives the scores."""

    stride = 32
    SKIPS = (256, 128, 64, 64, 0)  # channels of layer3, layer2, layer1, the stem's conv, none

    def __init__(self, num_classes: int = 21, decoder_channels=(256, 128, 64, 32, 16)):
        super().__init__()
        check_positive_ints(num_classes=num_classes,
                            **{f"decoder channel {c!r}": c for c in decoder_channels})
        if len(decoder_channels) != len(self.SKIPS):
            raise ValueError(f"decoder_channels: expected {len(self.SKIPS)} values, got "
                             f"{len(decoder_channels)}")
        take_resnet18_stages(self)
        ins = (512, *decoder_channels[:-1])
        self.decoder = nn.ModuleList(double_conv(i + s, o) for i, s, o in
                                     zip(ins, self.SKIPS, decoder_channels, strict=True))
        self.head = nn.Conv2d(decoder_channels[-1], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        half = self.stem[:3](pad_to_multiple(x, self.stride))  # conv1, bn1, relu: 1/2
        f4 = self.layer1(self.stem[3](half))
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        y = self.layer4(f16)
        for block, skip in zip(self.decoder, (f16, f8, f4, half, None), strict=True):
            y = F.interpolate(y, scale_factor=2, mode="nearest")
            y = block(y if skip is None else torch.cat([y, skip], dim=1))
        return self.head(y)[..., :h, :w]
