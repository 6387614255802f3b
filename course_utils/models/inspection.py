"""Looking inside a network: its parameter count, its compute and the shapes its layers produce."""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` by default)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, size: tuple[int, int] = (320, 480)) -> int:
    """Forward FLOPs of ``model`` on one ``size`` image, in eval mode and without gradients,
    counted by ``torch.utils.flop_counter`` (a multiply-add is 2 FLOPs; convolutions, transposed
    convolutions and matrix products are counted, element-wise work such as BatchNorm and ReLU is
    not). Compute is reported beside every comparison of architectures, so one counter serves the
    notebooks and the benchmark. The model's training mode is restored afterwards."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, *size, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops()


def trace_shapes(model: nn.Module, x: torch.Tensor, names=None) -> list[tuple[str, tuple]]:
    """Run ``model(x)`` once and return ``(name, output shape)`` for the named submodules, in
    the order they ran. ``names`` defaults to the model's direct children (the items of a
    ``ModuleList``, which is never called itself)."""
    modules = dict(model.named_modules())
    if names is None:
        names = [f"{n}.{i}" if isinstance(m, nn.ModuleList) else n
                 for n, m in model.named_children()
                 for i in (range(len(m)) if isinstance(m, nn.ModuleList) else [None])]
    names = list(names)
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"names: no submodule called {missing} in {type(model).__name__}")
    shapes: list[tuple[str, tuple]] = []
    hooks = [modules[n].register_forward_hook(
        lambda _m, _i, out, n=n: shapes.append((n, tuple(out.shape)))) for n in names]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes
