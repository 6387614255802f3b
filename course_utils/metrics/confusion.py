"""What may be counted in a confusion matrix: the one input check of ``ConfusionMatrix.update``.

The counting itself is notebook 08's ``bincount`` (``scores.ConfusionMatrix.update``): pixel
``(t, p)`` goes to bin ``n * t + p``. A label outside ``0..n-1`` would land in another cell
of the matrix without any error, so the labels are checked before they are counted.
"""

from __future__ import annotations

import torch


def _check_range(name: str, labels: torch.Tensor, n: int, void=None) -> None:
    """Raise ValueError naming ``name`` if a label is neither a class ``0..n-1`` nor ``void``
    (one min/max pass over the labels, void set to class 0 first)."""
    if void is not None:
        labels = labels.masked_fill(labels == void, 0)
    lo, hi = torch.aminmax(labels) if labels.numel() else (0, 0)
    if lo < 0 or hi >= n:
        also = f" nor ignore_index={void}" if void is not None else ""
        raise ValueError(f"{name} holds the value {int(lo if lo < 0 else hi)}, which is not a "
                         f"class index 0..{n - 1}{also}")


def checked_labels(pred: torch.Tensor, target: torch.Tensor, n: int, ignore_index) -> torch.Tensor:
    """``pred`` as labels of ``n`` classes, checked against ``target``; ValueError if wrong.

    Float ``pred`` is logits ``(N, C, H, W)`` (the label is their argmax over C), integer
    ``pred`` labels ``(N, H, W)``. ``target`` must be integer labels of the same shape, each
    a class or ``ignore_index``, and every label in ``pred`` a class.
    """
    if target.is_floating_point():  # .long() would truncate it silently
        raise ValueError(f"target has dtype {target.dtype}: expected integer labels")
    if pred.is_floating_point():
        if pred.ndim != target.ndim + 1 or pred.shape[1] != n:
            raise ValueError(f"pred is floating point with shape {tuple(pred.shape)}: expected "
                             f"logits (N, C={n}, H, W), or integer labels (N, H, W)")
        pred = pred.argmax(1)
    if pred.shape != target.shape:
        raise ValueError(f"pred (as labels {tuple(pred.shape)}) and target "
                         f"{tuple(target.shape)} must have the same shape")
    _check_range("pred", pred, n)
    _check_range("target", target, n, ignore_index)
    return pred
