"""Optimisers and learning-rate schedules for ``train.fit``.

The learning rate follows a poly (DeepLab) or cosine schedule, stepped every iteration, so the
same recipe behaves the same whatever the number of batches per epoch.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

SCHEDULES = ("poly", "cosine", None)
OPTIMIZERS = ("adamw", "sgd")
POLY_POWER = 0.9  # DeepLab's poly schedule: lr * (1 - t) ** 0.9
WEIGHT_DECAY = 1e-4
SGD_MOMENTUM = 0.9


def lr_factor(schedule: str | None, step: int, total: int, power: float = POLY_POWER) -> float:
    """Multiplier of the base learning rate at iteration ``step`` of ``total``.

    ``"poly"``: :math:`(1 - t)^{p}`, ``"cosine"``: :math:`(1 + \\cos \\pi t) / 2`, with
    :math:`t = \\text{step}/\\text{total}`; ``None``: constant 1.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}: expected one of {SCHEDULES}")
    if schedule is None:
        return 1.0
    t = min(step / max(total, 1), 1.0)
    if schedule == "poly":
        return (1.0 - t) ** power
    return 0.5 * (1.0 + math.cos(math.pi * t))


def make_optimizer(model: nn.Module, optimizer="adamw", lr: float = 1e-3,
                   weight_decay: float = WEIGHT_DECAY):
    """``"adamw"`` or ``"sgd"`` (momentum 0.9) over the trainable parameters, or pass an
    optimizer instance through unchanged (its own learning rate is then used)."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, weight_decay=weight_decay)
    raise ValueError(f"optimizer={optimizer!r}: expected {OPTIMIZERS} or a torch.optim.Optimizer")


def optimizer_name(optimizer) -> str:
    """The name recorded in a checkpoint for ``optimizer`` (a string or an instance)."""
    return optimizer if isinstance(optimizer, str) else type(optimizer).__name__


def make_scheduler(optimizer, schedule: str | None, total_steps: int):
    """A ``LambdaLR`` following :func:`lr_factor`; call ``.step()`` once per iteration."""
    lr_factor(schedule, 0, 1)  # validates the name
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(_scheduled_factor, schedule, total_steps))


def _scheduled_factor(schedule, total, step):
    return lr_factor(schedule, step, total)
