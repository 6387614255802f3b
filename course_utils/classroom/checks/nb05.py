"""Self-checks for notebook 05 (U-Net), from running the networks the exercises ask about."""

import torch
from torch import nn

from course_utils import models

from . import check_value


def check_bottleneck_shape(answer, depth: int = 4, width: int = 16, size=(96, 128)) -> None:
    """Exercise 1: the shape ``(1, C, H, W)`` of ``UNet(depth, width)``'s deepest features."""
    net = models.UNet(depth=depth, width=width)
    (_, expected), = models.trace_shapes(net, torch.zeros(1, 3, *size),
                                         names=[f"down.{depth - 1}"])
    check_value(answer, expected, f"bottleneck shape of UNet(depth={depth}, width={width})",
                "each level halves H and W and doubles the channels, starting from width",
                rtol=0, atol=0)


def check_parameter_count(answer, depth: int = 2, width: int = 8, num_classes: int = 21) -> None:
    """Exercise 2: the number of parameters of ``UNet(3, num_classes, depth, width)``."""
    expected = models.count_parameters(models.UNet(3, num_classes, depth, width))
    check_value(answer, expected, f"parameters of UNet(depth={depth}, width={width})",
                "3x3 convs have no bias (BatchNorm follows: 2 per channel); the 2x2 "
                "transposed convs and the 1x1 head have biases",
                rtol=0, atol=0)


def check_unpadded_output_size(answer, size: int = 572, depth: int = 4) -> None:
    """Exercise 3: the output size of the original, unpadded U-Net (Ronneberger et al., 2015) for
    a ``size`` input, from its path built with one channel (the skips' crops keep the size)."""
    def two_convs():
        return nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))

    x = torch.zeros(1, 1, size, size)
    with torch.no_grad():
        for _ in range(depth):
            x = nn.MaxPool2d(2)(two_convs()(x))
        x = two_convs()(x)
        for _ in range(depth):
            x = two_convs()(nn.ConvTranspose2d(1, 1, 2, stride=2)(x))
    check_value(answer, x.shape[-1],
                f"output size of the unpadded U-Net for {size} x {size}",
                "every 3x3 conv without padding loses 2 pixels; pooling halves; up-conv doubles",
                rtol=0, atol=0)
