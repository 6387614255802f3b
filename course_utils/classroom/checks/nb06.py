"""Self-checks for notebook 06 (dilated convolution and DeepLab)."""

import torch

from course_utils import models

from . import check_value


def check_receptive_field(answer, layers=((3, 1, 1), (3, 1, 2), (3, 1, 4))) -> None:
    """Exercise 1: the receptive field (px) of ``layers``, each ``(kernel, stride, dilation)``."""
    expected = models.receptive_field(layers)[-1][0]
    check_value(answer, expected, f"receptive field of {len(layers)} layers {list(layers)}",
                "each layer adds dilation x (kernel - 1) x (the stride so far)", rtol=0, atol=0)


def check_feature_size(answer, size: int = 500, output_stride: int = 16) -> None:
    """Exercise 2: ``(H, W)`` of the DeepLab backbone's features for a ``size``-px square image."""
    net = models.DeepLab(output_stride=output_stride).eval()
    with torch.no_grad():
        feats = net.features(torch.zeros(1, 3, size, size))
    check_value(answer, tuple(feats.shape[-2:]),
                f"feature map of a {size} x {size} image at output stride {output_stride}",
                "each stride-2 layer maps n pixels to ceil(n / 2); dilated stages keep the size",
                rtol=0, atol=0)


def check_aspp_parameters(answer, in_channels: int = 2048, rates=(12, 24, 36),
                          width: int = 256) -> None:
    """Exercise 3: the parameters of ``models.ASPP(in_channels, rates, width)``."""
    expected = models.count_parameters(models.ASPP(in_channels, rates, width))
    check_value(answer, expected, f"parameters of ASPP({in_channels}, {tuple(rates)}, {width})",
                "no conv has a bias (BatchNorm follows: 2 per channel); five branches, then a "
                "1x1 projection of their concatenation", rtol=0, atol=0)


def check_valid_taps(answer, size: int = 6, rate: int = 5) -> None:
    """Exercise 4: the mean share of a 3x3 filter's taps at ``rate`` inside a ``size``-px map."""
    check_value(answer, models.valid_tap_fraction(size, rate),
                f"valid taps of a 3x3 filter at rate {rate} on a {size} x {size} map",
                "per axis, the centre tap is always inside, each side tap for size - rate of "
                "the size positions; the 2-D share is the product", atol=1e-6)
