"""Comparing two recipes the honest way (notebooks 04-07): paired by seed, resampled over images.

Two recipes trained from the same seeds share their initial head weights and batch order, so
their runs pair up seed by seed; and every run is scored on the same validation images, so a
resample of the images (a bootstrap, notebook 08) moves both scores together. A difference is
**stated** only when every seed shows it with the same sign and the bootstrap interval of the
mean paired difference excludes zero: the seeds say training noise does not explain it, the
interval says another validation set of the same size would very likely show it too.

Runs are given by their per-image counts (:func:`course_utils.training.image_counts`, kept for
every reference run), so no model needs to be loaded.
"""

from __future__ import annotations

import torch

from .evaluation import iou_of_matrices, miou_of_matrices, resample_weights

METRICS = ("miou", "pixel_acc", "boundary_iou")  # and "ring<k>", "recall:<c,...>", "iou:<c,...>"


def _classes(metric: str) -> tuple[str, list[int]] | None:
    """``"recall:9,10"`` -> ``("recall", [9, 10])``: a per-class score averaged over classes."""
    kind, _, listed = metric.partition(":")
    if kind in ("recall", "iou") and listed and all(c.isdigit() for c in listed.split(",")):
        return kind, [int(c) for c in listed.split(",")]
    return None


def score(counts: dict[str, torch.Tensor], metric: str = "miou",
          weights: torch.Tensor | None = None) -> torch.Tensor:
    """A run's data-set ``metric`` from its per-image counts: one value, or one per row of
    ``weights`` ``(B, N)`` (how often each of the N images is drawn in each resample).
    ``"ring<k>"``: pixel accuracy in ring ``k`` by distance to an edge (``metrics.RINGS``);
    ``"recall:<c,...>"`` and ``"iou:<c,...>"``: the mean recall (share of a class's pixels
    found) or IoU of the listed classes, e.g. the rare ones (notebook 07)."""
    ring = metric.startswith("ring") and metric[4:].isdigit()
    per_class = _classes(metric)
    if metric not in METRICS and not ring and per_class is None:
        raise ValueError(f"metric={metric!r}: expected one of {', '.join(METRICS)}, ring<k> "
                         "(pixel accuracy in ring k by distance to an edge), recall:<c,...> or "
                         "iou:<c,...> (the mean over classes c)")
    n = len(counts["confusion"])
    w = torch.ones(1, n, dtype=torch.float64) if weights is None else weights.double()
    if ring:
        k = int(metric[4:])
        if k >= counts["rings"].shape[1]:
            raise ValueError(f"metric={metric!r}: the counts have rings 0-"
                             f"{counts['rings'].shape[1] - 1}")
        right, labelled = (w @ counts["rings"][:, k].double()).unbind(-1)
        values = right / labelled
    elif metric == "boundary_iou":
        inter = w @ counts["boundary_inter"].double()
        union = w @ counts["boundary_union"].double()
        iou = torch.where(union > 0, inter / union.clamp(min=1), float("nan"))
        values = iou.nanmean(1)
    else:
        matrices = torch.einsum("bn,ncd->bcd", w, counts["confusion"].double())
        if per_class is not None:
            values = _class_mean(matrices, *per_class)
        elif metric == "miou":
            values = miou_of_matrices(matrices)
        else:
            values = matrices.diagonal(dim1=1, dim2=2).sum(1) / matrices.sum((1, 2))
    return values[0] if weights is None else values


def _class_mean(matrices: torch.Tensor, kind: str, classes: list[int]) -> torch.Tensor:
    """Mean recall or IoU of ``classes`` in each ``(C, C)`` matrix of a ``(B, C, C)`` stack
    (rows: truth); a class with no pixel (recall) or empty union (IoU) is left out."""
    if max(classes) >= matrices.shape[1]:
        raise ValueError(f"classes {classes}: the matrices have {matrices.shape[1]} classes")
    if kind == "iou":
        return iou_of_matrices(matrices)[:, classes].nanmean(1)
    tp = matrices.diagonal(dim1=1, dim2=2)[:, classes]
    truth = matrices.sum(2)[:, classes]
    return torch.where(truth > 0, tp / truth.clamp(min=1), float("nan")).nanmean(1)


def paired_comparison(runs_a: list[dict], runs_b: list[dict], metric: str = "miou",
                      n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """How recipe ``b`` differs from recipe ``a``: ``runs_a[i]`` and ``runs_b[i]`` are the
    per-image counts of the two recipes' runs from seed ``i``. Returns ``per_seed`` (b - a),
    their ``mean``, the bootstrap ``interval`` of that mean over images, ``every_seed`` (all of
    one sign), ``excludes_zero`` and ``stated`` (both)."""
    if len(runs_a) != len(runs_b) or not runs_a:
        raise ValueError(f"need the same number of seeds on both sides, got {len(runs_a)} and "
                         f"{len(runs_b)}")
    n = len(runs_a[0]["confusion"])
    if any(len(r["confusion"]) != n for r in (*runs_a, *runs_b)):
        raise ValueError("every run must be scored on the same validation images")
    pairs = list(zip(runs_a, runs_b, strict=True))
    per_seed = [float(score(b, metric) - score(a, metric)) for a, b in pairs]
    w = resample_weights(n, n_boot, seed)
    diffs = torch.stack([score(b, metric, w) - score(a, metric, w)
                         for a, b in pairs]).mean(0)
    tail = (1 - level) / 2
    interval = (float(diffs.quantile(tail)), float(diffs.quantile(1 - tail)))
    every_seed = all(d > 0 for d in per_seed) or all(d < 0 for d in per_seed)
    excludes_zero = interval[0] > 0 or interval[1] < 0
    return {"metric": metric, "per_seed": per_seed, "mean": sum(per_seed) / len(per_seed),
            "interval": interval, "level": level, "every_seed": every_seed,
            "excludes_zero": excludes_zero, "stated": every_seed and excludes_zero}
