"""Evaluating a trained model the VOC way: whole images, one confusion matrix for the split.

The VOC protocol scores every validation image at its own size (no crop), accumulating one
confusion matrix over the split. Beside it, the *boundary band* (pixels within a few pixels of
a label change, :func:`course_utils.metrics.boundary_mask`) and the *interior* (the rest) get
matrices of their own, which separates "where exactly is the edge" from "what is the object".
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from course_utils.data import NUM_CLASSES, VOID, VOCSegDataset
from course_utils.data.pair_transforms import Compose, Normalize
from course_utils.metrics import ConfusionMatrix, boundary_mask

from .cache import predictions

BAND_WIDTH = 3  # pixels on each side of a label change


def full_image_loader(root=None, split: str = "val", max_items: int | None = None) -> DataLoader:
    """Whole images, one per batch (sizes differ), normalised as for training."""
    dataset = VOCSegDataset(root, split, Compose([Normalize()]), max_items=max_items)
    return DataLoader(dataset, batch_size=1, shuffle=False)


def region_matrices(model, loader, cache: bool = True,
                    refresh: bool = False) -> dict[str, ConfusionMatrix]:
    """Confusion matrices of ``model`` over ``loader``: ``"all"`` pixels, the boundary
    ``"band"`` and the ``"interior"`` (void excluded everywhere). ``cache``, ``refresh``:
    see :func:`.cache.predictions`."""
    cms = {k: ConfusionMatrix(NUM_CLASSES) for k in ("all", "band", "interior")}
    maps = iter(predictions(model, loader, cache, refresh))  # read from disk where kept
    for _, labels in loader:
        preds = torch.stack([next(maps) for _ in labels])
        band = boundary_mask(labels, BAND_WIDTH)
        cms["all"].update(preds, labels)
        cms["band"].update(preds, labels.masked_fill(~band, VOID))
        cms["interior"].update(preds, labels.masked_fill(band, VOID))
    return cms


def _rounded(x, digits: int = 6):
    """Plain floats (NaN as None) for a JSON manifest."""
    values = torch.as_tensor(x, dtype=torch.float64).flatten().tolist()
    out = [None if v != v else round(v, digits) for v in values]
    return out if torch.as_tensor(x).ndim else out[0]


def summarize_matrix(cm: ConfusionMatrix) -> dict:
    """Plain-data scores of one confusion matrix: overall, and per class IoU, recall
    (``class_acc``) and precision (NaN as ``None``)."""
    s = cm.compute()
    m = cm.matrix.double()
    precision = m.diag() / m.sum(0)  # NaN for a class never predicted
    return {"miou": _rounded(s["miou"]), "pixel_acc": _rounded(s["pixel_acc"]),
            "mean_class_acc": _rounded(s["mean_class_acc"]), "iou": _rounded(s["iou"]),
            "class_acc": _rounded(s["class_acc"]), "precision": _rounded(precision),
            "pixels": int(cm.matrix.sum())}


def summarize(cms: dict[str, ConfusionMatrix]) -> dict:
    """The scores a manifest records: :func:`summarize_matrix` of all pixels, and the
    accuracy in the boundary band and in the interior."""
    return {**summarize_matrix(cms["all"]),
            "band_acc": _rounded(cms["band"].compute()["pixel_acc"]),
            "interior_acc": _rounded(cms["interior"].compute()["pixel_acc"])}


# --------------------------------------------------------------------------- bootstrap
def miou_of_matrices(m: torch.Tensor) -> torch.Tensor:
    """mIoU of each ``(C, C)`` matrix in a ``(B, C, C)`` stack (absent classes left out)."""
    m = m.double()
    tp, gt, pr = m.diagonal(dim1=1, dim2=2), m.sum(2), m.sum(1)
    union = gt + pr - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), float("nan"))
    return iou.nanmean(1)


def bootstrap_miou(matrices: torch.Tensor, n_boot: int = 2000, level: float = 0.95,
                   seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval for the data-set mIoU from per-image matrices
    ``(N, C, C)``: each of ``n_boot`` resamples sums ``N`` images drawn with replacement. It says
    how much the score would move on another validation set of the same size."""
    if matrices.ndim != 3 or len(matrices) < 2:
        raise ValueError(f"matrices: expected (N, C, C) with N >= 2, got {tuple(matrices.shape)}")
    n = len(matrices)
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, n, (n_boot, n), generator=g)
    weights = torch.zeros(n_boot, n, dtype=torch.float64).scatter_add_(
        1, picks, torch.ones(n_boot, n, dtype=torch.float64))
    resampled = torch.einsum("bn,ncd->bcd", weights, matrices.double())
    mious = miou_of_matrices(resampled)
    tail = (1 - level) / 2
    return float(mious.quantile(tail)), float(mious.quantile(1 - tail))


# --------------------------------------------------------------------------- over seeds
def mean_and_spread(values) -> tuple[float, float]:
    """Mean and spread of one score over seeds; the spread is the sample standard deviation
    (``ddof=1``), 0 for a single value."""
    v = torch.as_tensor([float(x) for x in values], dtype=torch.float64)
    if v.numel() == 0:
        raise ValueError("mean_and_spread: no values")
    return float(v.mean()), float(v.std()) if v.numel() > 1 else 0.0


def compare_over_seeds(a, b) -> dict:
    """How ``b`` differs from ``a`` (one score, one value per seed, paired by seed).

    ``clear``: the means differ by more than twice the larger spread (the course's bar for
    stating a difference); ``every_seed``: ``b > a`` (or ``b < a``) holds seed by seed.
    """
    if len(a) != len(b):
        raise ValueError(f"compare_over_seeds: {len(a)} values against {len(b)}")
    (ma, sa), (mb, sb) = mean_and_spread(a), mean_and_spread(b)
    spread = max(sa, sb)
    diff = mb - ma
    signs = {(y > x) - (y < x) for x, y in zip(a, b, strict=True)}
    return {"diff": diff, "spread": spread, "clear": abs(diff) > 2 * spread,
            "every_seed": signs in ({1}, {-1})}
