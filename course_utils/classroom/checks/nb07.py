"""Self-checks for notebook 07 (losses), against PyTorch and torchvision rather than
:mod:`course_utils.losses`, whose formulas the exercises rebuild."""

import math

import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from . import check_value


def check_pos_weight(answer, mask, ignore_index: int = 255) -> None:
    """``answer`` should be ``#negatives / #positives`` of ``mask``, void pixels not counted."""
    m = mask[mask != ignore_index]
    pos = int((m == 1).sum())
    expected = (m.numel() - pos) / pos
    check_value(answer, expected, "pos_weight",
                "count negatives and positives, leaving out the 255 (void) pixels")


def check_focal_value(answer, p: float, y: int, alpha: float, gamma: float) -> None:
    """``answer`` should be the sigmoid focal loss of one pixel with probability ``p``."""
    logit = torch.tensor([math.log(p / (1 - p))], dtype=torch.float64)
    target = torch.tensor([float(y)], dtype=torch.float64)
    expected = float(sigmoid_focal_loss(logit, target, alpha, gamma, reduction="sum"))
    hint = ("loss = -alpha_t (1 - p_t)^gamma log p_t; work out p_t and alpha_t for this "
            "pixel's label from their definitions in the focal-loss section")
    check_value(answer, expected, "focal loss of the pixel", hint, rtol=1e-3)


def check_weighted_ce(answer, logits, target, weight, ignore_index: int = 255) -> None:
    """``answer`` should be PyTorch's weighted mean cross-entropy of the example."""
    expected = F.cross_entropy(logits.double(), target, weight.double(), ignore_index=ignore_index)
    hint = ("sum of w[y] * (-log softmax) over the non-void pixels, divided by the sum of "
            "their weights w[y] (not by the number of pixels)")
    check_value(answer, expected, "weighted cross-entropy", hint, rtol=1e-3)


def check_median_weights(answer, counts) -> None:
    """``answer`` should be the median-frequency weights ``median(f) / f_c`` of ``counts``."""
    c = torch.as_tensor(counts, dtype=torch.float64)
    f = c / c.sum()
    expected = f.median() / f
    check_value(answer, expected, "median-frequency weights",
                "turn the counts into class frequencies first, then weight each class as the "
                "median-frequency section defines it", rtol=1e-3)
