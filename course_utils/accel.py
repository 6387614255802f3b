"""Device settings for training and inference: mixed precision, memory format, async copies.

One loop serves the CPU and the GPU. On CUDA it runs in mixed precision (bfloat16 where the GPU
supports it, else float16 with a gradient scaler) in the ``channels_last`` memory format, with
non-blocking copies from pinned memory; on the CPU it runs plain float32, which at a fixed thread
count gives bit-identical results run to run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Accel:
    """How to run on a device.

    ``amp_dtype`` is the autocast dtype (``None``: plain float32), ``grad_scaler`` whether
    float16 gradients need loss scaling, ``channels_last`` whether to use that memory format
    (faster convolutions on tensor cores).
    """

    device: torch.device
    amp_dtype: torch.dtype | None = None
    grad_scaler: bool = False
    channels_last: bool = False


def accel_for(device) -> Accel:
    """The settings for ``device``: AMP and channels_last on CUDA only.

    bfloat16 has float32's range, so it needs no gradient scaler; GPUs without bfloat16
    (before Ampere) get float16, whose small range makes a ``GradScaler`` necessary.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return Accel(device)
    if torch.cuda.is_bf16_supported():
        return Accel(device, torch.bfloat16, grad_scaler=False, channels_last=True)
    return Accel(device, torch.float16, grad_scaler=True, channels_last=True)


def autocast(accel: Accel):
    """An autocast context for ``accel`` (a no-op in float32)."""
    if accel.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(accel.device.type, dtype=accel.amp_dtype)


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters live (the CPU for a parameter-free model)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's parameters (float32 for a parameter-free model)."""
    param = next((p for p in model.parameters() if p.is_floating_point()), None)
    return param.dtype if param is not None else torch.float32


def prepare_model(model: nn.Module, accel: Accel) -> nn.Module:
    """Move ``model`` to the device (in place) and to channels_last when that is used."""
    model.to(accel.device)
    if accel.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def to_device(images, labels, accel: Accel, dtype: torch.dtype | None = None):
    """Copy a batch to the device without blocking the host (pinned memory makes it async);
    ``dtype`` converts the images too (to match a float64 model, say)."""
    fmt = torch.channels_last if accel.channels_last else torch.preserve_format
    images = images.to(accel.device, dtype=dtype, non_blocking=True, memory_format=fmt)
    labels = labels.to(accel.device, non_blocking=True) if labels is not None else None
    return images, labels
