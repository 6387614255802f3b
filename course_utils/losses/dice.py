"""Overlap losses: the soft Dice loss and cross-entropy + Dice.

The Dice score ``2 |G & P| / (|G| + |P|)`` (notebook 08) with the softmax probabilities ``p``
in place of the predicted mask is differentiable (Milletari et al., V-Net, 2016):

    dice_c = (2 sum_i p_ic y_ic + eps) / (sum_i p_ic + sum_i y_ic + eps),   loss = 1 - mean_c dice_c

summed over the pixels of the whole batch, void left out. Every class counts the same whatever
its size, hence its use against class imbalance; the mean runs over the classes in the batch's
targets or predictions (as in the metrics). ``jaccard=True`` gives the soft IoU instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .pixelwise import _class_target, _reduce, weighted_cross_entropy

EPS = 1.0  # smoothing: an empty class predicted empty scores 1, and gradients stay finite


def soft_dice_loss(logits, target, ignore_index: int | None = 255, eps: float = EPS,
                   reduction: str = "mean", jaccard: bool = False) -> torch.Tensor:
    """``1 - mean_c dice_c`` over the classes present (see the module docstring).

    ``reduction="none"`` returns the per-class losses ``1 - dice_c`` (NaN where a class is
    absent); ``jaccard`` uses the soft IoU instead of Dice."""
    valid, safe = _class_target(logits, target, ignore_index)
    probs = torch.softmax(logits, dim=1) * valid.unsqueeze(1)
    onehot = F.one_hot(safe, logits.shape[1]).movedim(-1, 1).to(probs.dtype) * valid.unsqueeze(1)
    dims = (0, *range(2, logits.ndim))  # sum over the batch and the pixels
    inter, p_sum, y_sum = (probs * onehot).sum(dims), probs.sum(dims), onehot.sum(dims)
    if jaccard:
        score = (inter + eps) / (p_sum + y_sum - inter + eps)
    else:
        score = (2 * inter + eps) / (p_sum + y_sum + eps)
    present = y_sum > 0  # ... or predicted somewhere
    present |= torch.zeros_like(present).scatter_(0, logits.argmax(1)[valid].unique(), True)
    per_class = 1 - score
    if reduction == "none":
        return torch.where(present, per_class, float("nan"))
    return _reduce(per_class[present], reduction, present.sum())


def ce_dice_loss(logits, target, ignore_index: int | None = 255, dice_weight: float = 1.0,
                 eps: float = EPS) -> torch.Tensor:
    """Cross-entropy (0 on an all-void batch) plus ``dice_weight`` times the soft Dice loss.

    CE gives every pixel a steady, calibrated gradient; Dice lets the small classes count as
    much as the big ones."""
    return (weighted_cross_entropy(logits, target, ignore_index=ignore_index)
            + dice_weight * soft_dice_loss(logits, target, ignore_index, eps))
