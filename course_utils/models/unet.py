"""U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections (notebook 05).

Padded 3x3 convolutions, so the output has the input's height and width (the paper's are unpadded).
"""

from __future__ import annotations

import torch
from torch import nn

from .backbone import check_positive_ints, pad_to_multiple


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
