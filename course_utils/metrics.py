"""Segmentation metrics: a confusion-matrix accumulator and the scores derived from it.

Every score in semantic segmentation is a function of one ``(C, C)`` confusion matrix
``M`` (rows: ground truth, columns: prediction; ``M[i, j]`` counts pixels of class ``i``
predicted as ``j``). With ``TP_c = M[c, c]``, ``GT_c = sum_j M[c, j]`` (row sum) and
``P_c = sum_i M[i, c]`` (column sum):

* pixel accuracy ``sum_c TP_c / sum M``;
* class accuracy (recall) ``TP_c / GT_c`` and its mean over classes;
* IoU ``TP_c / (GT_c + P_c - TP_c)`` (= TP / (TP + FP + FN)), mIoU its mean;
* frequency-weighted IoU ``sum_c (GT_c / sum M) * IoU_c``;
* Dice / F1 ``2 TP_c / (GT_c + P_c)`` (= 2 IoU / (1 + IoU)) and its mean.

**Absent classes.** A class with no pixels in the ground truth *and* none in the
prediction has nothing to score: its accuracy, IoU and Dice are reported as NaN and it is
left out of the means (never counted as 0 or as 1, which would drag the mean down or push
it up depending on how many classes happen to be absent). Every other class gets a number:
present in the ground truth but never predicted gives IoU 0; predicted but absent from the
ground truth gives IoU 0 and accuracy 0 (it only has false positives). This matches
torchmetrics' macro averages. With no pixels counted at all every score is NaN.

Pixels whose target equals ``ignore_index`` (VOC's 255 "void" border) are dropped before
counting: they are neither right nor wrong. The counting itself is in ``confusion``.
"""

from __future__ import annotations

import torch

from .boundary import _check_tensor, boundary_iou, boundary_mask  # noqa: F401 - this API
from .confusion import _check_classes, confusion_counts, to_labels  # noqa: F401 - this API

__all__ = ["ConfusionMatrix", "confusion_counts", "normalize_matrix", "per_image_miou",
           "scores_from_matrix", "to_labels", "boundary_mask", "boundary_iou"]


# --------------------------------------------------------------------------- scores
def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den``, 0 where ``den`` is 0 (the absent-class NaNs are set by the caller)."""
    return torch.where(den > 0, num / den, 0.0)


def _per_class(matrix: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-class accuracy, IoU and Dice of one or a batch of matrices ``(..., C, C)``, float64.

    Classes absent from both ground truth and prediction get NaN (see the module docstring).
    """
    m = matrix.double()
    tp = m.diagonal(dim1=-2, dim2=-1)
    gt, pr = m.sum(-1), m.sum(-2)
    absent = (gt + pr) == 0
    scores = {"class_acc": _ratio(tp, gt), "iou": _ratio(tp, gt + pr - tp),
              "dice": _ratio(2 * tp, gt + pr)}
    scores = {k: v.masked_fill(absent, float("nan")) for k, v in scores.items()}
    return scores | {"tp": tp, "gt": gt}


def _check_matrix(matrix) -> None:
    if not isinstance(matrix, torch.Tensor):
        raise TypeError(f"matrix must be a torch.Tensor, got {type(matrix).__name__}")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"matrix must be square (C, C) with C >= 1, got {tuple(matrix.shape)}")
    if matrix.dtype == torch.bool or matrix.is_complex():
        raise TypeError(f"matrix has dtype {matrix.dtype}; expected counts (int or float)")
    if bool((matrix < 0).any()):
        raise ValueError("matrix holds negative counts")


def scores_from_matrix(matrix: torch.Tensor) -> dict:
    """All scores of a ``(C, C)`` confusion matrix (rows ground truth, columns prediction).

    Returns ``pixel_acc``, ``mean_class_acc``, ``miou``, ``fwiou``, ``mean_dice`` (floats) and
    ``class_acc``, ``iou``, ``dice`` (float32 CPU tensors of length C, NaN for absent
    classes, see the module docstring). Works on any matrix, e.g. one from torchmetrics.
    """
    _check_matrix(matrix)
    s = _per_class(matrix.detach().cpu())
    total = s["gt"].sum()
    # classes without ground-truth pixels have weight 0; their IoU (0 or NaN) must not count
    fw = torch.where(s["gt"] > 0, s["gt"] / total * s["iou"], 0.0).sum()
    return {
        "pixel_acc": float(s["tp"].sum() / total),
        "class_acc": s["class_acc"].float(),
        "mean_class_acc": float(s["class_acc"].nanmean()),
        "iou": s["iou"].float(),
        "miou": float(s["iou"].nanmean()),
        "fwiou": float(fw) if total > 0 else float("nan"),
        "dice": s["dice"].float(),
        "mean_dice": float(s["dice"].nanmean()),
    }


NORMALIZE = ("true", "pred", "all", None)


def normalize_matrix(matrix: torch.Tensor, normalize: str | None = "true") -> torch.Tensor:
    """The matrix as float64 fractions: ``"true"`` rows sum to 1 (the diagonal is each class's
    accuracy), ``"pred"`` columns sum to 1 (the diagonal is precision), ``"all"`` everything
    sums to 1, ``None`` raw counts. Empty rows/columns become NaN (nothing to divide).
    """
    _check_matrix(matrix)
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
    m = matrix.detach().cpu().double()
    if normalize is None:
        return m
    total = {"true": m.sum(1, keepdim=True), "pred": m.sum(0, keepdim=True), "all": m.sum()}
    den = total[normalize]
    return torch.where(den > 0, m / den, float("nan"))


def per_image_miou(pred, target, num_classes: int = 21, ignore_index: int | None = 255) -> float:
    """Mean over images of each image's own mIoU (not the dataset-level mIoU).

    Within an image, classes absent from both its ground truth and its prediction are left
    out; images with no counted pixels are left out of the average. This is the averaging
    some papers report; it weighs a small image as much as a large one and usually differs
    from ``ConfusionMatrix(...).update(pred, target).compute()["miou"]``. A single ``(H, W)``
    mask (with ``(H, W)`` labels or ``(C, H, W)`` logits) counts as one image.
    """
    _check_tensor(target, "target")
    if target.ndim == 2:  # one (H, W) mask is one image, not H images of one row each
        target = target[None]
        _check_tensor(pred, "pred")
        pred = pred[None] if pred.ndim in (2, 3) else pred
    if target.ndim != 3:
        raise ValueError(f"target must be (N, H, W) masks or one (H, W) mask, got shape "
                         f"{tuple(target.shape)}")
    counts = confusion_counts(pred, target, num_classes, ignore_index, per_image=True)
    image_miou = _per_class(counts.cpu())["iou"].nanmean(-1)
    return float(image_miou.nanmean())


# --------------------------------------------------------------------------- accumulator
class ConfusionMatrix:
    """Accumulates a confusion matrix over batches; ``compute()`` derives every score.

    ``matrix`` is a ``(C, C)`` int64 tensor, rows ground truth, columns prediction. With
    ``device=None`` it moves to the device of the first batch; each update counts with one
    ``bincount`` on the batch's device. Example::

        cm = ConfusionMatrix(num_classes=21)
        for images, masks in loader:
            cm.update(model(images), masks)
        cm.compute()["miou"]
    """

    def __init__(self, num_classes: int = 21, ignore_index: int | None = 255, device=None):
        _check_classes(num_classes)
        if ignore_index is not None and not isinstance(ignore_index, int):
            raise TypeError(f"ignore_index must be an int or None, got {ignore_index!r}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self._follow_data = device is None
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64,
                                  device=torch.device("cpu") if device is None else device)

    @property
    def device(self) -> torch.device:
        return self.matrix.device

    def update(self, pred, target) -> ConfusionMatrix:
        """Add one batch: ``pred`` logits ``(N, C, H, W)`` or labels ``(N, H, W)``, ``target``
        labels ``(N, H, W)``. Returns ``self`` so calls can be chained."""
        counts = confusion_counts(pred, target, self.num_classes, self.ignore_index)
        if self._follow_data:
            self.matrix = self.matrix.to(counts.device)
            self._follow_data = False
        self.matrix += counts.to(self.matrix.device)
        return self

    def reset(self) -> ConfusionMatrix:
        """Zero the counts (e.g. at the start of each evaluation)."""
        self.matrix.zero_()
        return self

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """A new accumulator holding both counts (e.g. from two data-parallel workers)."""
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"other must be a ConfusionMatrix, got {type(other).__name__}")
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError(
                f"cannot merge ConfusionMatrix(num_classes={other.num_classes}, ignore_index="
                f"{other.ignore_index}) into one with num_classes={self.num_classes}, "
                f"ignore_index={self.ignore_index}")
        merged = ConfusionMatrix(self.num_classes, self.ignore_index, device=self.device)
        merged.matrix = self.matrix + other.matrix.to(self.device)
        return merged

    def compute(self) -> dict:
        """The scores of the counts so far (see :func:`scores_from_matrix`)."""
        return scores_from_matrix(self.matrix)

    def __repr__(self) -> str:
        return (f"ConfusionMatrix(num_classes={self.num_classes}, ignore_index="
                f"{self.ignore_index}, pixels={int(self.matrix.sum())})")
