"""Losses for segmentation: weighted binary / multiclass cross-entropy, class weights, focal loss.

Every loss takes raw **logits** (never probabilities) and works in log space, so nothing
overflows or turns into ``log(0)``: values and gradients stay finite for logits of
magnitude 100 and beyond.

* :func:`weighted_bce_with_logits` -
  ``-(w * y * log p + (1 - y) * log(1 - p))`` with ``p = sigmoid(x)``; note the negative term
  is ``log(1 - p)``, not the ``log p`` printed in some tutorials. :func:`pos_weight_from_mask`
  gives ``w = #negatives / #positives``.
* :func:`weighted_cross_entropy` - ``-w[y] * log softmax(x)[y]``; its mean divides by the sum
  of the weights of the non-ignored pixels, exactly as ``F.cross_entropy(weight=...)`` does.
* :func:`pixel_histogram`, :func:`class_weights` - class weights from pixel frequencies
  (inverse frequency, median-frequency balancing, effective number of samples).
* :func:`sigmoid_focal_loss`, :func:`softmax_focal_loss` - ``-alpha_t (1 - p_t)^gamma log p_t``.

Shared conventions: ``reduction`` is ``"none"`` (per-element loss, 0 where ignored),
``"sum"`` or ``"mean"`` (over the non-ignored elements). When every element is ignored the
mean is 0, not NaN (PyTorch returns NaN there), so one all-void crop cannot poison training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .class_weights import WEIGHT_METHODS, class_weights, pixel_histogram  # noqa: F401
from .dice import ce_dice_loss, soft_dice_loss  # noqa: F401
from .loss_core import (
    _binary_valid,
    _check_gamma,
    _check_logits,
    _check_reduction,
    _class_vector,
    _multiclass_target,
    _reduce,
    softplus,
)

__all__ = ["weighted_bce_with_logits", "pos_weight_from_mask", "weighted_cross_entropy",
           "pixel_histogram", "class_weights", "sigmoid_focal_loss", "softmax_focal_loss",
           "softplus", "soft_dice_loss", "ce_dice_loss"]



# --------------------------------------------------------------------------- binary
def weighted_bce_with_logits(logits, target, pos_weight=None, ignore_index=None,
                             reduction: str = "mean") -> torch.Tensor:
    """Binary cross-entropy on logits with positives weighted by ``pos_weight``.

    ``loss = -(w y log p + (1 - y) log(1 - p))``, ``p = sigmoid(x)``. With
    ``log p = -softplus(-x)`` and ``log(1 - p) = -softplus(x) = -x - softplus(-x)`` this is
    ``(1 - y) x + (1 + (w - 1) y) softplus(-x)``, the overflow-free form
    ``F.binary_cross_entropy_with_logits`` uses. ``target`` holds values in [0, 1] (soft
    labels allowed) and may hold ``ignore_index``; ``pos_weight`` broadcasts against it
    (e.g. ``(C, 1, 1)`` per channel for ``(N, C, H, W)``). ``mean`` is a plain mean over the
    non-ignored elements: unlike the multiclass ``weight``, ``pos_weight`` is not normalised.
    """
    _check_logits(logits)
    _check_reduction(reduction)
    if not isinstance(target, torch.Tensor) or target.shape != logits.shape:
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(f"target must be a tensor shaped like logits {tuple(logits.shape)}, "
                         f"got {shape}")
    valid = _binary_valid(target, ignore_index)
    y = torch.where(valid, target, torch.zeros_like(target)).to(logits.dtype)
    if ((y < 0) | (y > 1)).any():
        raise ValueError(f"target values must lie in [0, 1] (or be ignore_index={ignore_index})")
    w = 1.0 if pos_weight is None else torch.as_tensor(pos_weight, dtype=logits.dtype,
                                                       device=logits.device)
    if pos_weight is not None and (not torch.isfinite(w).all() or (w < 0).any()):
        raise ValueError(f"pos_weight must be finite and >= 0, got {w.tolist()}")
    loss = (1 - y) * logits + (1 + (w - 1) * y) * softplus(-logits)
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    return _reduce(loss, reduction, valid.sum())


def pos_weight_from_mask(mask, ignore_index=None) -> torch.Tensor:
    """``pos_weight = #negatives / #positives`` of a binary mask (0/1, bool, or ignore_index).

    With it the positives and negatives contribute equally to the summed loss. A mask with
    no positive pixel (the ratio is undefined) or no negative pixel (the weight would be 0
    and silence every positive) raises a ValueError: compute the weight over a whole
    data set, not one crop. Returns a float32 scalar tensor.
    """
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(mask)
    valid = _binary_valid(mask, ignore_index)
    m = mask[valid]
    if ((m != 0) & (m != 1)).any():
        raise ValueError(f"mask must hold only 0 and 1 (or ignore_index={ignore_index}), "
                         f"got values {torch.unique(m)[:5].tolist()}")
    pos = int((m == 1).sum())
    neg = int(m.numel() - pos)
    if pos == 0:
        raise ValueError("mask has no positive pixels: pos_weight = neg / pos is undefined")
    if neg == 0:
        raise ValueError("mask has no negative pixels: pos_weight = neg / pos would be 0")
    return torch.tensor(neg / pos, dtype=torch.float32)


# --------------------------------------------------------------------------- multiclass
def weighted_cross_entropy(logits, target, weight=None, ignore_index: int | None = 255,
                           reduction: str = "mean") -> torch.Tensor:
    """Pixel-wise cross-entropy ``-w[y] log softmax(x)[y]`` with class weights and void.

    ``logits`` ``(N, C, ...)``, ``target`` ``(N, ...)`` class indices; pixels equal to
    ``ignore_index`` (VOC's 255) contribute nothing. ``mean`` is the *weighted* mean
    ``sum_i w[y_i] l_i / sum_i w[y_i]`` over non-ignored pixels, PyTorch's normalisation, so
    scaling all weights by a constant changes nothing; ``sum`` is ``sum_i w[y_i] l_i``.
    """
    _check_reduction(reduction)
    valid, safe = _multiclass_target(logits, target, ignore_index)
    nll = -torch.log_softmax(logits, dim=1).gather(1, safe.unsqueeze(1)).squeeze(1)
    w = torch.ones_like(nll) if weight is None else \
        _class_vector(weight, logits.shape[1], "weight", logits)[safe]
    w = torch.where(valid, w, torch.zeros_like(w))
    return _reduce(w * nll, reduction, w.sum())


# --------------------------------------------------------------------------- focal loss
def sigmoid_focal_loss(logits, target, alpha=0.25, gamma: float = 2.0, ignore_index=None,
                       reduction: str = "mean") -> torch.Tensor:
    """Binary / multi-label focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` (Lin et al. 2017).

    ``p_t`` is ``p = sigmoid(x)`` where ``y = 1`` and ``1 - p`` where ``y = 0``; written out
    the negative term is ``-(1 - alpha) p^gamma log(1 - p)``. ``target`` is 0/1 (or
    ``ignore_index``) shaped like ``logits``. ``alpha`` is a scalar in [0, 1] (positives get
    ``alpha``, negatives ``1 - alpha``; ``None`` for no weighting) or a ``(C,)`` vector, one
    per channel of ``(N, C, ...)`` logits. Computed in log space through the signed logit
    ``z = x if y = 1 else -x``: ``p_t = sigmoid(z)``, ``-log p_t = softplus(-z)``,
    ``(1 - p_t)^gamma = exp(-gamma softplus(z))``, finite for any logit.
    Matches ``torchvision.ops.sigmoid_focal_loss``; ``mean`` is over non-ignored elements.
    """
    _check_logits(logits)
    _check_reduction(reduction)
    _check_gamma(gamma)
    if not isinstance(target, torch.Tensor) or target.shape != logits.shape:
        raise ValueError(f"target must be a tensor shaped like logits {tuple(logits.shape)}")
    valid = _binary_valid(target, ignore_index)
    if ((target != 0) & (target != 1) & valid).any():
        raise ValueError(f"target must hold only 0 and 1 (or ignore_index={ignore_index})")
    pos = (target == 1) & valid
    z = torch.where(pos, logits, -logits)
    loss = torch.exp(-gamma * softplus(z)) * softplus(-z)
    if alpha is not None:
        if isinstance(alpha, (int, float)):
            if not 0 <= alpha <= 1:
                raise ValueError(f"alpha={alpha}: a scalar alpha must lie in [0, 1]")
            a = torch.full_like(logits, float(alpha))
        else:
            if logits.ndim < 2:
                raise ValueError("a per-class alpha needs logits shaped (N, C, ...)")
            a = _class_vector(alpha, logits.shape[1], "alpha", logits)
            if (a > 1).any():
                raise ValueError(f"alpha must lie in [0, 1], got {a.tolist()}")
            a = a.view(1, -1, *([1] * (logits.ndim - 2))).expand_as(logits)
        loss = torch.where(pos, a, 1 - a) * loss
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    return _reduce(loss, reduction, valid.sum())


def softmax_focal_loss(logits, target, alpha=None, gamma: float = 2.0,
                       ignore_index: int | None = 255, reduction: str = "mean") -> torch.Tensor:
    """Multiclass focal loss ``-alpha[y] (1 - p_t)^gamma log p_t`` with ``p_t = softmax(x)[y]``.

    ``logits`` ``(N, C, ...)``, ``target`` ``(N, ...)`` indices with ``ignore_index`` for void.
    ``alpha``: ``None``, a scalar (a plain factor) or a ``(C,)`` per-class vector. ``mean``
    divides by the number of non-ignored pixels (not by the sum of ``alpha``, the focal-loss
    convention, unlike weighted cross-entropy). ``gamma = 0`` without ``alpha`` is exactly
    cross-entropy. Stable: ``log(1 - p_t) = logsumexp_{c != y} x_c - logsumexp_c x_c``
    never takes the log of 0, so a confident logit margin of 100 stays finite.
    """
    _check_reduction(reduction)
    _check_gamma(gamma)
    valid, safe = _multiclass_target(logits, target, ignore_index)
    if logits.shape[1] < 2:
        raise ValueError("softmax focal loss needs C >= 2 classes; use sigmoid_focal_loss")
    onehot = F.one_hot(safe, logits.shape[1]).movedim(-1, 1).bool()
    lse = torch.logsumexp(logits, dim=1)
    lse_others = torch.logsumexp(logits.masked_fill(onehot, float("-inf")), dim=1)
    nll = lse - logits.gather(1, safe.unsqueeze(1)).squeeze(1)
    loss = torch.exp(gamma * (lse_others - lse)) * nll
    if alpha is not None:
        if isinstance(alpha, (int, float)):
            if not alpha >= 0:
                raise ValueError(f"alpha={alpha}: must be >= 0")
            loss = float(alpha) * loss
        else:
            loss = _class_vector(alpha, logits.shape[1], "alpha", logits)[safe] * loss
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    return _reduce(loss, reduction, valid.sum())
