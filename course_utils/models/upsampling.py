"""Upsampling with a transposed convolution initialised to bilinear interpolation (notebook 03)."""

from __future__ import annotations

import torch
from torch import nn

from .backbone import check_positive_ints


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> torch.Tensor:
    """A ``ConvTranspose2d`` weight ``(in, out, k, k)`` that upsamples each channel on its own
    with the "tent" filter ``(1 - |i - c| / f) (1 - |j - c| / f)``, ``f = ceil(k / 2)``; in
    :func:`bilinear_upsampler` it matches ``F.interpolate(mode="bilinear")`` off the border."""
    check_positive_ints(in_channels=in_channels, out_channels=out_channels,
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
    """Set ``conv``'s weight to :func:`bilinear_kernel` (and its bias to 0), in place: it
    starts as plain bilinear upsampling and training may refine it (FCN)."""
    if not isinstance(conv, nn.ConvTranspose2d):
        raise TypeError(f"conv must be an nn.ConvTranspose2d, got {type(conv).__name__}")
    with torch.no_grad():
        conv.weight.copy_(bilinear_kernel(conv.in_channels, conv.out_channels,
                                          conv.kernel_size[0]))
        if conv.bias is not None:
            conv.bias.zero_()
    return conv


def bilinear_upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    """A learnable ``ConvTranspose2d`` (no bias) that upsamples by ``factor``, initialised to
    bilinear. Kernel ``2 f - f % 2``, stride ``f``, padding ``f // 2`` (the FCN recipe), so an
    ``H`` x ``W`` input gives exactly ``f H`` x ``f W``."""
    check_positive_ints(factor=factor)
    conv = nn.ConvTranspose2d(channels, channels, kernel_size=2 * factor - factor % 2,
                              stride=factor, padding=factor // 2, bias=False)
    return init_bilinear_(conv)
