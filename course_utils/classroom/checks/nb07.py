"""Self-checks for notebook 07 (losses), against PyTorch and torchvision rather than
:mod:`course_utils.losses`, whose formulas the exercises rebuild."""

import math

import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from . import check_function, check_value, report


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
    hint = ("leave the void pixel out, then reread section 3's 'How PyTorch averages a "
            "weighted loss': what does the weighted sum get divided by?")
    check_value(answer, expected, "weighted cross-entropy", hint, rtol=1e-3)


def check_median_weights(answer, counts) -> None:
    """``answer`` should be the median-frequency weights ``median(f) / f_c`` of ``counts``."""
    c = torch.as_tensor(counts, dtype=torch.float64)
    f = c / c.sum()
    expected = f.median() / f
    check_value(answer, expected, "median-frequency weights (all-pixel frequencies)",
                "turn the counts into class frequencies first, then weight each class as the "
                "median-frequency section defines it", rtol=1e-3)


def check_logit_adjusted(fn, prior, ignore_index: int = 255) -> None:
    """Exercise 5: ``fn(logits, target, prior, tau)`` is the logit-adjusted cross-entropy
    (Menon et al., 2021): cross-entropy of ``logits + tau * log(prior)``, one offset per class,
    void pixels left out of the mean; checked against ``F.cross_entropy`` on batches of its own,
    including ``tau = 0`` (plain cross-entropy)."""
    prior = torch.as_tensor(prior, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    cases = []
    for tau, (n, h, w) in ((1.0, (2, 3, 4)), (0.0, (1, 5, 2)), (2.0, (3, 2, 3))):
        logits = 3 * torch.randn(n, len(prior), h, w, generator=gen, dtype=torch.float64)
        target = torch.randint(0, len(prior), (n, h, w), generator=gen)
        target[..., 0] = ignore_index  # a column of void pixels
        shifted = logits + tau * prior.log().view(1, -1, 1, 1)
        expected = F.cross_entropy(shifted, target, ignore_index=ignore_index)
        cases.append(((logits, target, prior, tau), expected))
    what = "logit-adjusted cross-entropy"
    if check_function(lambda args: fn(*args), cases, what,
                      "try tau = 0 first (plain cross-entropy, void left out); the offset is one "
                      "number per class, the same at every pixel of every image"):
        report(True, what)
