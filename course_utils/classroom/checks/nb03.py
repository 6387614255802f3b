"""Self-checks for notebook 03 (transposed convolution), against PyTorch's own layers."""

import torch
import torch.nn.functional as F
from torch import nn

from . import check_value, close, report

MAX_SIZE = 10_000  # an answer above this is not a sensible image size (and would not fit)


def check_output_size(answer, size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                      output_padding: int = 0, dilation: int = 1) -> None:
    """Exercise 1: the output height of a ``ConvTranspose2d`` on a ``size`` x ``size`` input."""
    layer = nn.ConvTranspose2d(1, 1, kernel_size, stride, padding, output_padding,
                               dilation=dilation)
    with torch.no_grad():
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
    check_value(answer, expected, f"output size for input {size}, k={kernel_size}, s={stride}, "
                f"p={padding}", "(H - 1) s - 2 p + d (k - 1) + output_padding + 1")


def _as_size(answer):
    """``answer`` as a positive whole number no larger than ``MAX_SIZE``, else ``None``."""
    try:
        value = float(torch.as_tensor(answer, dtype=torch.float64))
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None
    return int(value) if value.is_integer() and 1 <= value <= MAX_SIZE else None


def check_aligned_size(answer, size: int, step: int) -> None:
    """Exercise 2: an output size ``m`` at which ``align_corners=True`` upsampling of a ``size``
    x ``size`` map puts output sample ``step * k`` exactly on input centre ``k``: every
    ``step``-th sample of the output is then the input itself."""
    what = f"align_corners=True output size with a sample on every input centre (step 1/{step})"
    hint = ("with align_corners=True the first and last samples sit on the first and last "
            "input centres, and the samples between them are evenly spaced")
    m = _as_size(answer)
    if m is None:
        report(False, what, f"give the size as a positive whole number - {hint}")
        return
    x = torch.randn(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    y = F.interpolate(x, size=(m, m), mode="bilinear", align_corners=True)
    report(close(y[..., ::step, ::step], x, atol=1e-5), what, hint)


def check_transpose_matrix(answer, kernel, in_size: int, stride: int = 1,
                           padding: int = 0) -> None:
    """Exercise 3: the matrix ``M`` of a transposed conv (``M @ x.flatten()`` is its flattened
    output), built column by column from the outputs for unit inputs."""
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    units = torch.eye(in_size * in_size).reshape(-1, 1, in_size, in_size)
    expected = F.conv_transpose2d(units, kernel.reshape(1, 1, *kernel.shape[-2:]),
                                  stride=stride, padding=padding)
    expected = expected.flatten(1).T
    ok = close(answer, expected)  # the shape is part of the answer: named only once it is right
    report(ok, "matrix of the transposed conv" + (f" {tuple(expected.shape)}" if ok else ""),
           "column j is the output for an input that is 1 at position j and 0 elsewhere")


def check_subpixel(fn) -> None:
    """Exercise 4: ``fn(weight, r)`` turns the weight ``(C_in, C_out, k r, k r)`` of a stride-``r``
    transposed convolution into a ``Conv2d`` weight ``(C_out r^2, C_in, k, k)`` such that
    ``pixel_shuffle(conv2d(x, w, padding=k - 1), r)`` is ``conv_transpose2d(x, weight,
    stride=r)`` (Shi et al., 2016), for ``r`` = 2, 3 and ``k`` = 1, 2 with random weights."""
    what = "a stride-r transposed convolution as a convolution + PixelShuffle"
    hint = ("output channel o r^2 + a r + b of the convolution becomes the output pixels at "
            "row = a and column = b (mod r); F.conv2d weights input m + u by tap u, while in "
            "the phase formula tap t meets input m - t")
    if not callable(fn):
        report(False, what, "define a function as_subpixel(weight, r) that returns the weight")
        return
    gen = torch.Generator().manual_seed(0)
    for r in (2, 3):
        for k in (1, 2):
            weight = torch.randn(3, 2, k * r, k * r, generator=gen)
            x = torch.randn(1, 3, 4, 5, generator=gen)
            shape = (2 * r * r, 3, k, k)
            try:
                w = fn(weight.clone(), r)
            except Exception as exc:  # a learner's draft may fail in any way: report it
                report(False, what, f"it raised {type(exc).__name__}: {exc}")
                return
            if not isinstance(w, torch.Tensor) or tuple(w.shape) != shape:
                got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
                report(False, what, f"for r={r}, k={k} return a tensor of shape {shape}, "
                       f"not {got}")
                return
            out = F.pixel_shuffle(F.conv2d(x, w.float(), padding=k - 1), r)
            if not close(out, F.conv_transpose2d(x, weight, stride=r), atol=1e-5):
                report(False, what, f"wrong output for r={r}, k={k} - {hint}")
                return
    report(True, what)
