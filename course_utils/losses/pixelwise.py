"""Pixel-wise losses of notebook 07: weighted BCE and cross-entropy, sigmoid and softmax focal loss.

All take raw logits and stay finite, values and gradients, at logits of magnitude 100 and more.
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


def _not_ignored(target: torch.Tensor, ignore_index) -> torch.Tensor:
    return torch.ones_like(target, dtype=torch.bool) if ignore_index is None \
        else target != ignore_index


def _binary_target(logits, target, ignore_index, soft: bool):
    """Check a binary ``target`` shaped like ``logits`` (values in [0, 1] if ``soft``, else 0 or
    1). Returns ``(valid, y)``, ``y`` in ``logits``' dtype with the ignored elements set to 0."""
    if target.shape != logits.shape:
        raise ValueError(f"target must be shaped like logits {tuple(logits.shape)}, "
                         f"got {tuple(target.shape)}")
    valid = _not_ignored(target, ignore_index)
    y = torch.where(valid, target, 0).to(logits.dtype)
    if (((y < 0) | (y > 1)) if soft else ((y != 0) & (y != 1))).any():
        raise ValueError(f"target must hold {'values in [0, 1]' if soft else 'only 0 and 1'} "
                         f"(or ignore_index={ignore_index})")
    return valid, y


def _class_target(logits, target, ignore_index):
    """Check an ``(N, ...)`` integer ``target`` of class indices against ``(N, C, ...)`` logits.
    Returns ``(valid, safe)``: the pixels that count, and the target as int64 with the ignored
    ones set to class 0, so that it can index (they are masked out afterwards)."""
    if target.is_floating_point() or target.dtype == torch.bool:
        raise TypeError(f"target must be an integer tensor of class indices, got {target.dtype}")
    expected = (logits.shape[0], *logits.shape[2:])
    if target.shape != expected:
        raise ValueError(f"target has shape {tuple(target.shape)}; logits "
                         f"{tuple(logits.shape)} need target {expected}")
    num_classes = logits.shape[1]
    if num_classes < 2:  # softmax over one class is 1 everywhere: a silent 0 or NaN loss
        raise ValueError(f"logits {tuple(logits.shape)} have {num_classes} class; a softmax "
                         "loss needs C >= 2 (for one class use the binary losses)")
    valid = _not_ignored(target, ignore_index)
    bad = valid & ((target < 0) | (target >= num_classes))
    if bad.any():
        raise ValueError(f"target holds {torch.unique(target[bad])[:5].tolist()}: outside "
                         f"0..{num_classes - 1} and not ignore_index={ignore_index}")
    return valid, torch.where(valid, target, 0).long()


def _safe_mean(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``total / count``, but 0 (gradient 0) where ``count`` is 0: nothing to average."""
    return total / torch.where(count > 0, count, 1)


def _reduce(loss: torch.Tensor, reduction: str, count: torch.Tensor) -> torch.Tensor:
    """Apply ``reduction`` to ``loss`` (0 where ignored); ``mean`` divides by ``count``."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return _safe_mean(loss.sum(), count)
    raise ValueError(f"reduction={reduction!r}: expected one of {', '.join(REDUCTIONS)}")


def _on(values, logits: torch.Tensor) -> torch.Tensor:
    """``values`` (a number or a tensor) as a tensor of ``logits``' dtype and device."""
    return torch.as_tensor(values, dtype=logits.dtype, device=logits.device)


# --------------------------------------------------------------------------- binary
def weighted_bce_with_logits(logits, target, pos_weight=None, ignore_index=None,
                             reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy ``-(w y log p + (1 - y) log(1 - p))`` on logits, ``p = sigmoid(x)``.

    ``F.binary_cross_entropy_with_logits`` plus ``ignore_index`` (soft labels allowed;
    ``pos_weight`` ``(C, 1, 1)`` is one per channel), written out as notebook 07 derives it,
    ``(1 - y) x + (1 + (w - 1) y) softplus(-x)``; the two differ only in the float32 subnormal
    range (``x = 100, y = 1, w = 3``: 1.1351e-43 here, PyTorch 1.1771e-43).
    """
    valid, y = _binary_target(logits, target, ignore_index, soft=True)
    w = 1.0 if pos_weight is None else _on(pos_weight, logits)
    loss = (1 - y) * logits + (1 + (w - 1) * y) * F.softplus(-logits)
    return _reduce(torch.where(valid, loss, 0), reduction, valid.sum())


def pos_weight_from_mask(mask, ignore_index=None) -> torch.Tensor:
    """``pos_weight = #negatives / #positives`` of a binary mask, so positives and negatives
    weigh the same in the summed loss. A mask without positives or negatives raises: compute
    the weight over a data set, not one crop."""
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

    ``mean`` is PyTorch's weighted mean ``sum w[y] l / sum w[y]``, so scaling the weights
    changes nothing (0, not NaN, when no pixel counts).
    """
    valid, safe = _class_target(logits, target, ignore_index)
    if weight is not None:
        weight = _on(weight, logits)
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

    ``p_t`` is ``p = sigmoid(x)`` where ``y = 1``, else ``1 - p``. Positives get ``alpha``,
    negatives ``1 - alpha``: a scalar, a ``(C,)`` vector (one per channel) or ``None``.
    ``torchvision.ops.sigmoid_focal_loss``'s values, in log space through the signed logit
    ``z`` (``x`` where ``y = 1``, else ``-x``): ``-log p_t = softplus(-z)`` and
    ``(1 - p_t)^gamma = exp(-gamma softplus(z))``. torchvision's ``0^gamma`` at a saturated
    logit has a NaN gradient for ``gamma < 1`` (notebook 07 shows it); this one stays finite.
    """
    valid, y = _binary_target(logits, target, ignore_index, soft=False)
    z = torch.where(y == 1, logits, -logits)
    loss = torch.exp(-gamma * F.softplus(z)) * F.softplus(-z)
    if alpha is not None:
        a = _on(alpha, logits)
        a = a.view(-1, *[1] * (logits.ndim - 2)) if a.ndim else a  # per channel of (N, C, ...)
        loss = torch.where(y == 1, a, 1 - a) * loss
    return _reduce(torch.where(valid, loss, 0), reduction, valid.sum())


def softmax_focal_loss(logits, target, alpha=None, gamma: float = 2.0,
                       ignore_index: int | None = 255, reduction: str = "mean") -> torch.Tensor:
    """Multiclass focal loss ``-alpha[y] (1 - p_t)^gamma log p_t``, ``p_t = softmax(x)[y]``.

    ``alpha``: ``None``, a scalar or a ``(C,)`` vector; ``mean`` divides by the non-ignored
    pixels, not by the sum of ``alpha``. ``log(1 - p_t) = logsumexp_{c != y} log p_c``
    (notebook 07): by subtraction ``1 - p_t`` rounds to 0 at a float32 logit margin of about
    17, where ``0^gamma`` has an infinite derivative for ``gamma < 1``.
    """
    valid, safe = _class_target(logits, target, ignore_index)
    log_p = F.log_softmax(logits, dim=1)
    is_target = F.one_hot(safe, logits.shape[1]).movedim(-1, 1).bool()
    log_rest = log_p.masked_fill(is_target, float("-inf")).logsumexp(dim=1)  # log(1 - p_t)
    loss = torch.exp(gamma * log_rest) * F.nll_loss(log_p, safe, reduction="none")
    if alpha is not None:
        a = _on(alpha, logits)
        loss = (a[safe] if a.ndim else a) * loss
    return _reduce(torch.where(valid, loss, 0), reduction, valid.sum())
