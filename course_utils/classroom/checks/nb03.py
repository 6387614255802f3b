"""Self-checks for notebook 03 (transposed convolution), against PyTorch's own layers."""

import torch
import torch.nn.functional as F
from torch import nn

from . import check_value, close, matches, report


def check_output_size(answer, size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                      output_padding: int = 0, dilation: int = 1) -> None:
    """Exercise 1: the output height of a ``ConvTranspose2d`` on a ``size`` x ``size`` input."""
    layer = nn.ConvTranspose2d(1, 1, kernel_size, stride, padding, output_padding,
                               dilation=dilation)
    with torch.no_grad():
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
    check_value(answer, expected, f"output size for input {size}, k={kernel_size}, s={stride}, "
                f"p={padding}", "(H - 1) s - 2 p + d (k - 1) + output_padding + 1")


def check_bilinear_kernel(answer, factor: int) -> None:
    """Exercise 2: a ``(2f, 2f)`` kernel whose transposed conv (stride ``f``, padding ``f // 2``)
    upsamples like ``F.interpolate(mode="bilinear")`` away from the border."""
    what, hint = f"bilinear kernel for factor {factor}", "use the tent 1 - |i - c| / f per axis"
    k = 2 * factor
    try:
        kernel = torch.as_tensor(answer, dtype=torch.float32).reshape(1, 1, k, k)
    except (TypeError, ValueError, RuntimeError):
        report(False, what, f"expected {k * k} numbers ({k} x {k})")
        return
    x = torch.randn(1, 1, 6, 7, generator=torch.Generator().manual_seed(0))
    got = F.conv_transpose2d(x, kernel, stride=factor, padding=factor // 2)
    want = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    inner = (..., slice(factor, -factor), slice(factor, -factor))
    report(got.shape == want.shape and close(got[inner], want[inner], atol=1e-5), what, hint)


def check_transpose_matrix(answer, kernel, in_size: int, stride: int = 1) -> None:
    """Exercise 3: the matrix ``M`` of a transposed conv (``M @ x.flatten()`` is its flattened
    output), built column by column from the outputs for unit inputs."""
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    units = torch.eye(in_size * in_size).reshape(-1, 1, in_size, in_size)
    expected = F.conv_transpose2d(units, kernel.reshape(1, 1, *kernel.shape[-2:]), stride=stride)
    expected = expected.flatten(1).T
    report(close(answer, expected), f"matrix of the transposed conv ({tuple(expected.shape)})",
           "column j is the output for an input that is 1 at position j and 0 elsewhere")


def uniform_overlap(kernel_size: int, stride: int, size: int = 8) -> bool:
    """Whether a transposed conv of ones maps ones to a constant (away from the border)."""
    ones = torch.ones(1, 1, size, size)
    out = F.conv_transpose2d(ones, torch.ones(1, 1, kernel_size, kernel_size), stride=stride)
    inner = out[..., kernel_size:-kernel_size, kernel_size:-kernel_size]
    return bool((inner == inner.flatten()[0]).all())


def check_uniform_overlap(answer, candidates) -> None:
    """Exercise 4: the ``(kernel_size, stride)`` pairs of ``candidates`` without checkerboard."""
    expected = {(k, s) for k, s in candidates if uniform_overlap(k, s)}
    report(matches(answer, expected, lambda pairs: {(int(k), int(s)) for k, s in pairs}),
           "the pairs without checkerboard artefacts",
           "apply each transposed conv with an all-ones kernel to an all-ones image")
