"""Shared pieces of the losses: stable softplus, argument checks, reduction, targets.

Every loss of :mod:`course_utils.losses` and :mod:`course_utils.dice` validates its inputs and
reduces its result the same way; the helpers live here so that the rule is written once.
"""

from __future__ import annotations

import torch

REDUCTIONS = ("none", "mean", "sum")


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + e^x)`` in the stable log-sum-exp form ``log(e^0 + e^x)``.

    ``torch.logaddexp`` shifts by ``max(0, x)`` before exponentiating, so nothing overflows at
    ``x = +-100``, and its gradient is ``sigmoid(x)`` everywhere. (The textbook
    ``max(x, 0) + log1p(exp(-|x|))`` has the same value but a kink at 0 where autograd
    returns a wrong gradient.) ``-log sigmoid(x) = softplus(-x)``,
    ``-log(1 - sigmoid(x)) = softplus(x)``.
    """
    return torch.logaddexp(torch.zeros_like(x), x)


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}: expected one of {', '.join(REDUCTIONS)}")


def _check_logits(logits) -> None:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        got = logits.dtype if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise TypeError(f"logits must be a floating-point tensor, got {got}")


def _reduce(loss: torch.Tensor, reduction: str, denom: torch.Tensor) -> torch.Tensor:
    """Apply ``reduction`` to ``loss`` (already 0 where ignored); ``mean`` divides by ``denom``.

    A zero ``denom`` (nothing to average) gives 0 with a gradient of 0, never NaN.
    """
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / torch.where(denom > 0, denom, torch.ones_like(denom))


def _binary_valid(target: torch.Tensor, ignore_index) -> torch.Tensor:
    """Boolean mask of the elements that count (all of them when ``ignore_index`` is None)."""
    if ignore_index is None:
        return torch.ones_like(target, dtype=torch.bool)
    return target != ignore_index


def _multiclass_target(logits, target, ignore_index):
    """Validate ``(N, C, ...)`` logits against an ``(N, ...)`` integer target.

    Returns ``(valid, safe)``: the mask of non-ignored pixels and the target as int64 with
    ignored pixels replaced by class 0 (so it can index safely; those pixels are masked out
    later). Any integer dtype is accepted (uint8 masks straight from a PNG, int16, ...).
    """
    _check_logits(logits)
    if logits.ndim < 2:
        raise ValueError(f"logits must be (N, C, ...), got shape {tuple(logits.shape)}")
    if not isinstance(target, torch.Tensor) or target.is_floating_point() or \
            target.dtype == torch.bool:
        got = target.dtype if isinstance(target, torch.Tensor) else type(target).__name__
        raise TypeError(f"target must be an integer tensor of class indices, got {got}")
    expected = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"target has shape {tuple(target.shape)}; logits "
                         f"{tuple(logits.shape)} need target {expected}")
    num_classes = logits.shape[1]
    valid = _binary_valid(target, ignore_index)
    bad = valid & ((target < 0) | (target >= num_classes))
    if bad.any():
        values = torch.unique(target[bad])[:5].tolist()
        raise ValueError(f"target holds {values}: outside 0..{num_classes - 1} "
                         f"and not ignore_index={ignore_index}")
    return valid, torch.where(valid, target, torch.zeros_like(target)).long()


def _class_vector(values, num_classes: int, name: str, like: torch.Tensor) -> torch.Tensor:
    """A per-class ``(C,)`` vector of finite non-negative numbers, on ``like``'s device/dtype."""
    v = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    if v.shape != (num_classes,):
        raise ValueError(f"{name} must have shape ({num_classes},), one per class; "
                         f"got {tuple(v.shape)}")
    if not torch.isfinite(v).all() or (v < 0).any():
        raise ValueError(f"{name} must be finite and >= 0, got {v.tolist()}")
    return v


def _check_gamma(gamma: float) -> None:
    if not gamma >= 0:
        raise ValueError(f"gamma={gamma}: must be >= 0 (gamma=0 is plain cross-entropy)")
