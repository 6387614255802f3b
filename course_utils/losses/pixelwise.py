"""Pixel-wise losses of notebook 07: weighted BCE and cross-entropy, sigmoid and softmax focal loss.

All take raw logits and stay finite, values and gradients, at logits of magnitude 100 and more.
Where PyTorch has the loss it is called; where a form of the course's is kept, the docstring says
why. The input checks of the whole wing live here: each public loss runs them once.

Conventions that differ from PyTorch: ``mean`` is **0, not NaN, when every pixel is ignored**
(PyTorch divides 0 by 0), so one all-void crop cannot poison training; targets may be of any
integer dtype (a ``uint8`` VOC mask); a class index out of range raises a ValueError naming it
(on a GPU, PyTorch would stop with a device-side assert).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

REDUCTIONS = ("none", "mean", "sum")

# log(1 + e^x), overflow-free; notebook 07 writes BCE with it: -log sigmoid(x) = softplus(-x)
softplus = F.softplus


# --------------------------------------------------------------------------- shared checks
def _check_options(reduction: str, gamma: float = 0.0) -> None:
    """``reduction`` one of :data:`REDUCTIONS`, focusing parameter ``gamma >= 0``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}: expected one of {', '.join(REDUCTIONS)}")
    if not gamma >= 0:
        raise ValueError(f"gamma={gamma}: must be >= 0 (gamma=0 is plain cross-entropy)")


def _check_logits(logits) -> None:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        got = logits.dtype if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise TypeError(f"logits must be a floating-point tensor, got {got}")


def _binary_target(logits, target, ignore_index):
    """Check a binary ``target`` shaped like ``logits``; return ``(valid, y)``.

    ``valid`` marks the elements that count; ``y`` is the target in ``logits``' dtype, with the
    ignored elements set to 0 so that they cannot spoil the arithmetic.
    """
    _check_logits(logits)
    if not isinstance(target, torch.Tensor) or target.shape != logits.shape:
        got = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(f"target must be a tensor shaped like logits {tuple(logits.shape)}, "
                         f"got {got}")
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None \
        else target != ignore_index
    return valid, torch.where(valid, target, 0).to(logits.dtype)


def _class_target(logits, target, ignore_index):
    """Check ``(N, C, ...)`` logits against an ``(N, ...)`` integer ``target``.

    Returns ``(valid, safe)``: the non-ignored pixels, and the target as int64 with ignored
    pixels set to class 0, so that it can index (those pixels are masked out afterwards).
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
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None \
        else target != ignore_index
    bad = valid & ((target < 0) | (target >= num_classes))
    if bad.any():
        raise ValueError(f"target holds {torch.unique(target[bad])[:5].tolist()}: outside "
                         f"0..{num_classes - 1} and not ignore_index={ignore_index}")
    return valid, torch.where(valid, target, 0).long()


def _weights(values, logits, name: str, per_class: bool = True) -> torch.Tensor:
    """``values`` on ``logits``' dtype and device, finite and >= 0. With ``per_class`` a
    vector must hold one value per class (dim 1 of ``logits``); a scalar applies to all."""
    v = torch.as_tensor(values, dtype=logits.dtype, device=logits.device)
    if per_class and v.ndim > 0 and (logits.ndim < 2 or v.shape != logits.shape[1:2]):
        raise ValueError(f"{name} must have shape {tuple(logits.shape[1:2]) or '(C,)'}, one "
                         f"per class of logits {tuple(logits.shape)}; got {tuple(v.shape)}")
    if not torch.isfinite(v).all() or (v < 0).any():
        raise ValueError(f"{name} must be finite and >= 0, got {v.tolist()}")
    return v


def _safe_mean(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``total / count``, but 0 (gradient 0) where ``count`` is 0: nothing to average."""
    return total / torch.where(count > 0, count, 1)


def _reduce(loss: torch.Tensor, reduction: str, count: torch.Tensor) -> torch.Tensor:
    """Apply ``reduction`` to ``loss`` (0 where ignored); ``mean`` divides by ``count``."""
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else _safe_mean(loss.sum(), count)


# --------------------------------------------------------------------------- binary
def weighted_bce_with_logits(logits, target, pos_weight=None, ignore_index=None,
                             reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy ``-(w y log p + (1 - y) log(1 - p))`` on logits, ``p = sigmoid(x)``.

    ``target`` holds values in [0, 1] (soft labels allowed) or ``ignore_index``; ``pos_weight``
    ``w`` weighs the positives and broadcasts against it (``(C, 1, 1)``: one per channel of
    ``(N, C, H, W)``). ``mean`` is a plain mean over the non-ignored elements.

    This is ``F.binary_cross_entropy_with_logits`` plus ``ignore_index``, written out as
    notebook 07 derives it, ``(1 - y) x + (1 + (w - 1) y) softplus(-x)``: the two agree except
    in the float32 subnormal range (at ``x = 100, y = 1, w = 3`` PyTorch's kernel rounds
    ``3e^-100`` to 1.1771e-43, this form to 1.1351e-43, the value the notebook prints).
    """
    _check_options(reduction)
    valid, y = _binary_target(logits, target, ignore_index)
    if ((y < 0) | (y > 1)).any():
        raise ValueError(f"target values must lie in [0, 1] (or be ignore_index={ignore_index})")
    w = 1.0 if pos_weight is None else _weights(pos_weight, logits, "pos_weight", False)
    loss = (1 - y) * logits + (1 + (w - 1) * y) * F.softplus(-logits)
    return _reduce(torch.where(valid, loss, 0), reduction, valid.sum())


def pos_weight_from_mask(mask, ignore_index=None) -> torch.Tensor:
    """``pos_weight = #negatives / #positives`` of a binary mask (0/1, bool, or ignore_index).

    With it positives and negatives weigh the same in the summed loss. A mask without positive
    pixels (ratio undefined) or without negative ones (weight 0, every positive silenced)
    raises: compute the weight over a data set, not one crop. Returns a float32 scalar tensor.
    """
    m = torch.as_tensor(mask).flatten()
    if ignore_index is not None:
        m = m[m != ignore_index]
    if ((m != 0) & (m != 1)).any():
        raise ValueError(f"mask must hold only 0 and 1 (or ignore_index={ignore_index}), "
                         f"got values {torch.unique(m)[:5].tolist()}")
    pos = int((m == 1).sum())
    neg = m.numel() - pos
    if pos == 0:
        raise ValueError("mask has no positive pixels: pos_weight = neg / pos is undefined")
    if neg == 0:
        raise ValueError("mask has no negative pixels: pos_weight = neg / pos would be 0")
    return torch.tensor(neg / pos, dtype=torch.float32)


# --------------------------------------------------------------------------- multiclass
def weighted_cross_entropy(logits, target, weight=None, ignore_index: int | None = 255,
                           reduction: str = "mean") -> torch.Tensor:
    """Pixel-wise cross-entropy ``-w[y] log softmax(x)[y]``: ``F.cross_entropy(weight=...)``.

    ``logits`` ``(N, C, ...)``, ``target`` ``(N, ...)`` class indices; pixels equal to
    ``ignore_index`` (VOC's 255; ``None``: none) count for nothing. ``mean`` is PyTorch's
    weighted mean ``sum_i w[y_i] l_i / sum_i w[y_i]``, so scaling the weights changes nothing;
    unlike PyTorch's it is 0, not NaN, when no pixel counts (see the module docstring).
    """
    _check_options(reduction)
    valid, safe = _class_target(logits, target, ignore_index)
    if weight is not None:
        weight = _weights(weight, logits, "weight")
    torch_ignore = -100 if ignore_index is None else ignore_index  # PyTorch's default
    loss = F.cross_entropy(logits, target.long(), weight, ignore_index=torch_ignore,
                           reduction="sum" if reduction == "mean" else reduction)
    if reduction != "mean":
        return loss
    w = valid.to(logits.dtype) if weight is None else weight[safe] * valid
    return _safe_mean(loss, w.sum())


# --------------------------------------------------------------------------- focal loss
def sigmoid_focal_loss(logits, target, alpha=0.25, gamma: float = 2.0, ignore_index=None,
                       reduction: str = "mean") -> torch.Tensor:
    """Binary / multi-label focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` (Lin et al. 2017).

    ``p_t`` is ``p = sigmoid(x)`` where ``y = 1`` and ``1 - p`` where ``y = 0``; ``target`` is
    0/1 (or ``ignore_index``) shaped like ``logits``. ``alpha``: positives get ``alpha``,
    negatives ``1 - alpha``; a scalar in [0, 1], a ``(C,)`` vector (one per channel of
    ``(N, C, ...)`` logits) or ``None`` for no weighting. ``mean`` is over non-ignored elements.

    The values are ``torchvision.ops.sigmoid_focal_loss``'s, but computed in log space through
    the signed logit ``z = x if y = 1 else -x``: ``-log p_t = softplus(-z)`` and
    ``(1 - p_t)^gamma = exp(-gamma softplus(z))``. torchvision raises ``1 - p_t`` to the power
    gamma; at a saturated logit that is ``0^gamma``, whose derivative is infinite for
    ``gamma < 1``, so its gradient is NaN there (notebook 07 shows it); this one stays finite.
    """
    _check_options(reduction, gamma)
    valid, y = _binary_target(logits, target, ignore_index)
    if ((y != 0) & (y != 1)).any():
        raise ValueError(f"target must hold only 0 and 1 (or ignore_index={ignore_index})")
    z = torch.where(y == 1, logits, -logits)
    loss = torch.exp(-gamma * F.softplus(z)) * F.softplus(-z)
    if alpha is not None:
        a = _weights(alpha, logits, "alpha")
        if (a > 1).any():
            raise ValueError(f"alpha must lie in [0, 1], got {a.tolist()}")
        a = a.view(-1, *[1] * (logits.ndim - 2)) if a.ndim else a  # per channel of (N, C, ...)
        loss = torch.where(y == 1, a, 1 - a) * loss
    return _reduce(torch.where(valid, loss, 0), reduction, valid.sum())


def softmax_focal_loss(logits, target, alpha=None, gamma: float = 2.0,
                       ignore_index: int | None = 255, reduction: str = "mean") -> torch.Tensor:
    """Multiclass focal loss ``-alpha[y] (1 - p_t)^gamma log p_t``, ``p_t = softmax(x)[y]``.

    ``logits`` ``(N, C, ...)``, ``target`` ``(N, ...)`` indices, ``ignore_index`` for void.
    ``alpha``: ``None``, a scalar factor or a ``(C,)`` per-class vector. ``mean`` divides by
    the number of non-ignored pixels, not by the sum of ``alpha`` (the focal-loss convention,
    unlike weighted cross-entropy). ``gamma = 0`` without ``alpha`` is cross-entropy.

    As notebook 07 derives it: cross-entropy ``-log p_t`` times ``(1 - p_t)^gamma``, the
    latter as ``exp(gamma log(1 - p_t))`` with ``log(1 - p_t) = logsumexp_{c != y} log p_c``.
    Computing ``1 - p_t`` by subtraction rounds it to 0 for a confident pixel (logit margin
    about 17 in float32), where ``0^gamma`` has an infinite derivative for ``gamma < 1``.
    """
    _check_options(reduction, gamma)
    valid, safe = _class_target(logits, target, ignore_index)
    if logits.shape[1] < 2:
        raise ValueError("softmax focal loss needs C >= 2 classes; use sigmoid_focal_loss")
    log_p = F.log_softmax(logits, dim=1)
    is_target = F.one_hot(safe, logits.shape[1]).movedim(-1, 1).bool()
    log_rest = log_p.masked_fill(is_target, float("-inf")).logsumexp(dim=1)  # log(1 - p_t)
    loss = torch.exp(gamma * log_rest) * F.nll_loss(log_p, safe, reduction="none")
    if alpha is not None:
        a = _weights(alpha, logits, "alpha")
        loss = (a[safe] if a.ndim else a) * loss
    return _reduce(torch.where(valid, loss, 0), reduction, valid.sum())
