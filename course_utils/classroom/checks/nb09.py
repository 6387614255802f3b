"""Self-checks for notebook 09 (capstone): the answers are recomputed from the exercise's inputs
by the course's metrics, and each function is also tried on hand-made cases."""

import torch

from course_utils.data import VOID
from course_utils.metrics import boundary_iou, boundary_mask, fill_void
from course_utils.training.comparison import iou_of_matrices, resample_weights

from . import check_function, close, report


def _band_share(pred, truth, width: int = 3) -> float:
    """The share of ``pred``'s wrong (non-void) pixels that lie in ``truth``'s boundary band."""
    wrong = (pred != truth) & (truth != VOID)
    if not wrong.any():
        return float("nan")
    return float((wrong & boundary_mask(truth, width)).sum() / wrong.sum())


def _hand_made_cases() -> list:
    """(pred, truth) pairs with a known share: a missed thin stroke (all in the band), a wrong
    block far from any edge (none), a perfect prediction (NaN) and a wrong void pixel (not
    counted)."""
    stroke = torch.zeros(30, 30, dtype=torch.long)
    stroke[5:25, 10:13] = 2  # a 3-px bicycle frame, predicted as background
    plain = torch.zeros(40, 40, dtype=torch.long)
    block = plain.clone()
    block[15:20, 15:20] = 3  # a bird painted on plain background
    void = plain.clone()
    void[0, 0] = VOID
    return [((torch.zeros_like(stroke), stroke), 1.0), ((block, plain), 0.0),
            ((plain, plain), float("nan")), ((block.clone().fill_(0), void), float("nan"))]


def check_band_share(band_share, preds, truths, width: int = 3) -> None:
    """Exercise 1: ``band_share(pred, truth)``, the share of an image's wrong pixels that lie in
    the boundary band, on hand-made cases and on every validation image."""
    what = "band_share, the share of an image's errors in the boundary band"
    cases = [((p, t), expected) for (p, t), expected in _hand_made_cases()]
    if not check_function(lambda pt: band_share(*pt), cases, what,
                          "wrong pixels: pred differs from truth and truth is not void; "
                          "of those, the share where metrics.boundary_mask(truth, width) is "
                          "True; NaN when nothing is wrong"):
        return
    real = [((p, t), _band_share(p, t, width)) for p, t in zip(preds, truths, strict=True)]
    if check_function(lambda pt: band_share(*pt), real, what,
                      "it passes the hand-made cases but not every validation image: is the "
                      "band taken from the truth, with this width?"):
        report(True, what)


def _class_intervals(per_image: torch.Tensor, n_boot: int = 2000, seed: int = 0,
                    level: float = 0.95) -> torch.Tensor:
    """``(C - 1, 2)`` bootstrap intervals over images of each object class's IoU (resamples
    where a class is in neither truth nor prediction, so its IoU is NaN, are left out)."""
    weights = resample_weights(len(per_image), n_boot, seed)
    m = torch.einsum("bn,ncd->bcd", weights, per_image.double())
    iou = iou_of_matrices(m)[:, 1:]
    tail = (1 - level) / 2
    return torch.stack([iou.nanquantile(tail, 0), iou.nanquantile(1 - tail, 0)], 1)


def check_class_intervals(answer, per_image: torch.Tensor) -> None:
    """Exercise 2: the 95 % bootstrap interval of every object class's IoU, from the per-image
    matrices and ``resample_weights(N, 2000, seed=0)``."""
    expected = _class_intervals(per_image)
    report(close(answer, expected, atol=1e-6, rtol=0),
           "95 % intervals over images of the 20 object classes' IoU",
           f"a ({len(expected)}, 2) tensor, low then high; each resample's matrix is the "
           "weighted sum of the per-image matrices; IoU = diagonal / (row + column - "
           "diagonal), NaN where the union is 0; torch.nanquantile over the resamples")


def check_boundary_ratio(answer, preds, truths, width: int = 3) -> None:
    """Exercise 3: each class's boundary IoU as a share of the one the void-filled perfect
    prediction (:func:`course_utils.metrics.fill_void`) reaches: a reference, not a bound, so
    a share may exceed 1."""
    perfect = [fill_void(t) for t in truths]
    expected = boundary_iou(preds, truths, width=width) / boundary_iou(perfect, truths,
                                                                       width=width)
    report(close(answer, expected, atol=1e-6, rtol=0),
           "boundary IoU as a share of the fill_void prediction's, per class",
           "pool the counts over all the images, as biou does, rather than averaging "
           "per-image scores, for the reference as for the model")
