"""Evaluating a trained model the VOC way: whole images, one confusion matrix for the split.

The VOC protocol scores every validation image at its own size (no crop), accumulating one
confusion matrix over the split. Beside it, the *boundary band* (pixels within a few pixels of
a label change, :func:`course_utils.metrics.boundary_mask`) and the *interior* (the rest) get
matrices of their own, which separates "where exactly is the edge" from "what is the object".
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from .metrics import ConfusionMatrix, boundary_mask
from .voc import NUM_CLASSES, VOID
from .voc_dataset import Compose, Normalize, VOCSegDataset

BAND_WIDTH = 3  # pixels on each side of a label change


def full_image_loader(root=None, split: str = "val", max_items: int | None = None,
                      label_map=None) -> DataLoader:
    """Whole images, one per batch (sizes differ), normalised as for training.

    ``label_map``: an optional paired transform applied after normalising (e.g. renumbering
    the classes of an experiment).
    """
    steps = [Normalize()] + ([label_map] if label_map is not None else [])
    dataset = VOCSegDataset(root, split, Compose(steps), max_items=max_items)
    return DataLoader(dataset, batch_size=1, shuffle=False)


def region_matrices(model, loader, num_classes: int = NUM_CLASSES,
                    width: int = BAND_WIDTH) -> dict[str, ConfusionMatrix]:
    """Confusion matrices of ``model`` over ``loader``: ``"all"`` pixels, the boundary
    ``"band"`` and the ``"interior"`` (void excluded everywhere)."""
    from .train import predict  # train imports metrics, which this module also needs

    cms = {k: ConfusionMatrix(num_classes) for k in ("all", "band", "interior")}
    for images, labels in loader:
        preds = predict(model, images).cpu()
        band = boundary_mask(labels, width)
        cms["all"].update(preds, labels)
        cms["band"].update(preds, labels.masked_fill(~band, VOID))
        cms["interior"].update(preds, labels.masked_fill(band, VOID))
    return cms


def _rounded(x, digits: int = 6):
    """Plain floats (NaN as None) for a JSON manifest."""
    values = torch.as_tensor(x, dtype=torch.float64).flatten().tolist()
    out = [None if v != v else round(v, digits) for v in values]
    return out if torch.as_tensor(x).ndim else out[0]


def summarize(cms: dict[str, ConfusionMatrix]) -> dict:
    """The scores a manifest records: overall, per class, band and interior accuracy."""
    s = cms["all"].compute()
    return {"miou": _rounded(s["miou"]), "pixel_acc": _rounded(s["pixel_acc"]),
            "mean_class_acc": _rounded(s["mean_class_acc"]), "iou": _rounded(s["iou"]),
            "class_acc": _rounded(s["class_acc"]),
            "band_acc": _rounded(cms["band"].compute()["pixel_acc"]),
            "interior_acc": _rounded(cms["interior"].compute()["pixel_acc"]),
            "pixels": int(cms["all"].matrix.sum())}
