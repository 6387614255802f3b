"""The confusion matrix of notebook 08, counted batch by batch, and every score it gives.

:class:`ConfusionMatrix` is torchvision's (``references/segmentation/utils.py``) with one input
check: each pixel whose target is not void goes to bin ``n * target + pred`` of a ``(C, C)``
count matrix ``M``, so ``M[i, j]`` counts pixels of true class ``i`` predicted as ``j``. With
``TP_c = M[c, c]``, ``GT_c`` the row sum and ``P_c`` the column sum: pixel accuracy
``sum TP / sum M``; class accuracy (recall) ``TP_c / GT_c``; IoU ``TP_c / (GT_c + P_c - TP_c)``;
frequency-weighted IoU ``sum_c GT_c / sum M * IoU_c``; Dice ``2 TP_c / (GT_c + P_c)``.

**Absent classes** (no pixel in the ground truth *and* none predicted) score NaN and are left
out of the means, as torchmetrics' macro averages do (counting them as 0 or 1 would move the
mean with the number of absent classes). A class predicted but not in the ground truth scores 0.
"""

from __future__ import annotations

import torch


def _check_range(name: str, labels: torch.Tensor, n: int, void=None) -> None:
    """Raise ValueError naming ``name`` if a label is neither a class ``0..n-1`` nor ``void``:
    in ``bincount`` it would land in another cell of the matrix without any error."""
    if void is not None:
        labels = labels.masked_fill(labels == void, 0)
    lo, hi = torch.aminmax(labels) if labels.numel() else (0, 0)
    if lo < 0 or hi >= n:
        also = f" nor ignore_index={void}" if void is not None else ""
        raise ValueError(f"{name} holds the value {int(lo if lo < 0 else hi)}, which is not a "
                         f"class index 0..{n - 1}{also}")


def _checked_labels(pred: torch.Tensor, target: torch.Tensor, n: int, ignore_index):
    """The input check of :meth:`ConfusionMatrix.update`: ``pred`` as labels, or ValueError."""
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


class ConfusionMatrix:
    """Accumulates a ``(C, C)`` confusion matrix over batches; ``compute()`` gives every score.

    ``matrix`` holds int64 counts (rows ground truth, columns prediction) on ``device``; pixels
    whose target is ``ignore_index`` (VOC's void) count for nothing.
    """

    def __init__(self, num_classes: int = 21, ignore_index: int | None = 255, device=None):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> ConfusionMatrix:
        """Add one batch: ``pred`` logits ``(N, C, H, W)`` or labels ``(N, H, W)``, ``target``
        labels ``(N, H, W)``. Counted on the batch's device; returns ``self`` to chain calls."""
        n = self.num_classes
        pred = _checked_labels(pred, target, n, self.ignore_index)
        inds = n * target.long() + pred  # each pixel's bin: row target, column pred
        if self.ignore_index is not None:  # notebook 08 drops void with target[keep]; here void
            inds.masked_fill_(target == self.ignore_index, n**2)  # goes to an extra bin, cut off
        counts = torch.bincount(inds.flatten(), minlength=n**2 + 1)[:n**2]
        self.matrix += counts.reshape(n, n).to(self.matrix.device)
        return self

    def reset(self) -> ConfusionMatrix:
        """Zero the counts."""
        self.matrix.zero_()
        return self

    def compute(self) -> dict:
        """The scores of the counts so far: :func:`scores_from_matrix`."""
        return scores_from_matrix(self.matrix)


def _float64(matrix: torch.Tensor) -> torch.Tensor:
    """A square ``matrix`` as float64 on the CPU, or ValueError."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (C, C), got shape {tuple(matrix.shape)}")
    return matrix.detach().cpu().double()


def scores_from_matrix(matrix: torch.Tensor) -> dict:
    """All scores of a ``(C, C)`` confusion matrix (rows ground truth), e.g. one from torchmetrics.

    ``pixel_acc``, ``mean_class_acc``, ``miou``, ``fwiou``, ``mean_dice`` are floats; ``class_acc``,
    ``iou``, ``dice`` float32 ``(C,)`` tensors, NaN for absent classes. No pixels: all NaN.
    """
    m = _float64(matrix)
    tp, gt, pr = m.diag(), m.sum(1), m.sum(0)
    absent = gt + pr == 0
    iou = tp / (gt + pr - tp)  # 0 / 0 = NaN exactly for the absent classes, as is Dice
    dice = 2 * tp / (gt + pr)
    class_acc = torch.where(gt > 0, tp / gt, 0.0).masked_fill(absent, float("nan"))
    total = m.sum()  # no pixels: 0 / 0 makes pixel_acc and fwiou NaN
    fwiou = (gt / total * iou.nan_to_num(0.0)).sum()  # classes without ground truth weigh 0
    return {"pixel_acc": float(tp.sum() / total),
            "class_acc": class_acc.float(), "mean_class_acc": float(class_acc.nanmean()),
            "iou": iou.float(), "miou": float(iou.nanmean()), "fwiou": float(fwiou),
            "dice": dice.float(), "mean_dice": float(dice.nanmean())}


def normalize_matrix(matrix: torch.Tensor, normalize: str | None = "true") -> torch.Tensor:
    """The matrix as float64 fractions: ``"true"`` rows sum to 1 (the diagonal is recall),
    ``"pred"`` columns sum to 1 (precision), ``"all"`` everything, ``None`` raw counts.
    Empty rows/columns become NaN."""
    m = _float64(matrix)
    totals = {"true": m.sum(1, keepdim=True), "pred": m.sum(0, keepdim=True), "all": m.sum(),
              None: 1.0}
    if normalize not in totals:
        raise ValueError(f"normalize must be 'true', 'pred', 'all' or None, got {normalize!r}")
    return m / totals[normalize]


def per_image_miou(pred, target, num_classes: int = 21, ignore_index: int | None = 255) -> float:
    """Mean over images of each image's own mIoU, the averaging some papers report: usually
    not the data-set mIoU of one :class:`ConfusionMatrix`. Images without scored pixels are
    left out; a single ``(H, W)`` mask is one image."""
    if target.ndim == 2:
        pred, target = pred[None], target[None]
    if target.ndim != 3:
        raise ValueError(f"target must be (N, H, W) masks or one (H, W) mask, got shape "
                         f"{tuple(target.shape)}")
    mious = [ConfusionMatrix(num_classes, ignore_index).update(p[None], t[None]).compute()["miou"]
             for p, t in zip(pred, target, strict=True)]
    return float(torch.tensor(mious, dtype=torch.float64).nanmean())
