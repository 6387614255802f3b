"""Evaluating a trained model the VOC way: whole images, one confusion matrix for the split.

The boundary *band* and the *interior* get matrices of their own ("where exactly is the edge"
vs "what is the object"); then the uncertainty: bootstrap intervals, spreads over seeds.
"""

import torch

# The one whole-image loader (the data wing's, also the val side of data.loaders), kept
# importable here and as training.full_image_loader: the notebooks score with it.
from course_utils.data import NUM_CLASSES, VOID
from course_utils.data import full_image_loader as full_image_loader
from course_utils.metrics import ConfusionMatrix, boundary_counts, boundary_mask, ring_counts

from .cache import predictions

BAND_WIDTH = 3  # pixels on each side of a label change


def region_matrices(model, loader, cache: bool = True, refresh: bool = False,
                    maps=None, label_batches=None) -> dict[str, ConfusionMatrix]:
    """Confusion matrices of ``model`` over ``loader``: ``"all"`` pixels, the boundary
    ``"band"`` and the ``"interior"``. ``cache``, ``refresh``: see :func:`.cache.predictions`;
    ``maps``: the predictions, when already made; ``label_batches``: the loader's label
    batches, when already read (the loader is then not read again)."""
    cms = {k: ConfusionMatrix(NUM_CLASSES) for k in ("all", "band", "interior")}
    maps = iter(maps if maps is not None else predictions(model, loader, cache, refresh))
    if label_batches is None:
        label_batches = (labels for _, labels in loader)
    for labels in label_batches:
        preds = torch.stack([next(maps) for _ in labels])
        band = boundary_mask(labels, BAND_WIDTH)
        cms["all"].update(preds, labels)
        cms["band"].update(preds, labels.masked_fill(~band, VOID))
        cms["interior"].update(preds, labels.masked_fill(band, VOID))
    return cms


def image_counts(maps, labels) -> dict[str, torch.Tensor]:
    """Per-image counts that every score of a run adds up from, kept so that a score can be
    resampled over images (a bootstrap interval) and two runs compared image by image (paired):
    ``confusion`` ``(N, C, C)``, boundary IoU's ``boundary_inter`` and ``boundary_union``
    ``(N, C)``, and ``rings`` ``(N, R + 1, 2)`` (correct, labelled) by distance to an edge."""
    counts = {"confusion": [], "boundary_inter": [], "boundary_union": [], "rings": []}
    for pred, label in zip(maps, labels, strict=True):
        counts["confusion"].append(ConfusionMatrix(NUM_CLASSES).update(pred[None],
                                                                       label[None]).matrix)
        inter, union = boundary_counts(pred, label)
        counts["boundary_inter"].append(inter.long())
        counts["boundary_union"].append(union.long())
        counts["rings"].append(ring_counts(pred, label))
    return {k: torch.stack(v) for k, v in counts.items()}


def _rounded(x, digits: int = 6):
    """Plain floats (NaN as None) for a JSON manifest."""
    values = torch.as_tensor(x, dtype=torch.float64).flatten().tolist()
    out = [None if v != v else round(v, digits) for v in values]
    return out if torch.as_tensor(x).ndim else out[0]


def summarize_classifier(cm: ConfusionMatrix) -> dict:
    """Plain-data scores of a classifier's confusion matrix: top-1 accuracy and each class's
    recall (``None`` for a class with no examples)."""
    s = cm.compute()
    return {"top1": _rounded(s["pixel_acc"]), "class_acc": _rounded(s["class_acc"])}


def summarize_matrix(cm: ConfusionMatrix) -> dict:
    """Plain-data scores of one confusion matrix, with per-class precision (NaN as ``None``)."""
    s, m = cm.compute(), cm.matrix.double()
    keys = ("miou", "pixel_acc", "mean_class_acc", "iou", "class_acc")
    return {**{k: _rounded(s[k]) for k in keys},
            "precision": _rounded(m.diag() / m.sum(0)),  # NaN for a class never predicted
            "pixels": int(cm.matrix.sum())}


def summarize(cms: dict[str, ConfusionMatrix]) -> dict:
    """The scores a manifest records: all pixels', and the band's and interior's accuracy."""
    return {**summarize_matrix(cms["all"]),
            "band_acc": _rounded(cms["band"].compute()["pixel_acc"]),
            "interior_acc": _rounded(cms["interior"].compute()["pixel_acc"])}


def iou_of_matrices(m: torch.Tensor) -> torch.Tensor:
    """``(B, C)`` IoU of each class in each ``(C, C)`` matrix of a ``(B, C, C)`` stack (rows:
    truth), NaN where a class is in neither truth nor prediction (its IoU is undefined)."""
    m = m.double()
    tp, gt, pr = m.diagonal(dim1=1, dim2=2), m.sum(2), m.sum(1)
    union = gt + pr - tp
    return torch.where(union > 0, tp / union.clamp(min=1), float("nan"))


def miou_of_matrices(m: torch.Tensor) -> torch.Tensor:
    """mIoU of each ``(C, C)`` matrix in a ``(B, C, C)`` stack (absent classes left out)."""
    return iou_of_matrices(m).nanmean(1)


def resample_weights(n: int, n_boot: int = 2000, seed: int = 0) -> torch.Tensor:
    """``(n_boot, n)`` counts of how often each of ``n`` images is drawn in each resample (the
    bootstrap: ``n`` draws with replacement); two runs scored with the same weights are paired."""
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, n, (n_boot, n), generator=g)
    return torch.zeros(n_boot, n, dtype=torch.float64).scatter_add_(
        1, picks, torch.ones(n_boot, n, dtype=torch.float64))


def bootstrap_miou(matrices: torch.Tensor, n_boot: int = 2000, level: float = 0.95,
                   seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval for the data-set mIoU from per-image matrices
    ``(N, C, C)``: how much the score would move on another validation set of the same size."""
    if matrices.ndim != 3 or len(matrices) < 2:
        raise ValueError(f"matrices: expected (N, C, C) with N >= 2, got {tuple(matrices.shape)}")
    weights = resample_weights(len(matrices), n_boot, seed)
    resampled = torch.einsum("bn,ncd->bcd", weights, matrices.double())
    mious = miou_of_matrices(resampled)
    tail = (1 - level) / 2
    return float(mious.quantile(tail)), float(mious.quantile(1 - tail))
