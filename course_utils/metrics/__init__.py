"""Segmentation metrics (notebook 08): the confusion matrix and every score derived from it.

:class:`ConfusionMatrix` accumulates a ``(C, C)`` count matrix (rows: ground truth, columns:
prediction) with one ``bincount``; pixel accuracy, class accuracy, IoU and mIoU, frequency-weighted
IoU and Dice all come from it (:func:`scores_from_matrix`). Boundary metrics score the band
along label changes. :func:`panoptic_quality` scores a panoptic label (notebook 02): PQ = SQ x
RQ per class. :mod:`.baselines` scores colour-only classifiers of the mini set.
"""

from .boundary import (
    RINGS,
    boundary_counts,
    boundary_iou,
    boundary_mask,
    fill_void,
    ring_counts,
)
from .panoptic import ClassPQ, PanopticScores, panoptic_quality, panoptic_segments
from .scores import ConfusionMatrix, normalize_matrix, per_image_miou, scores_from_matrix

__all__ = [
    "ConfusionMatrix", "per_image_miou", "scores_from_matrix", "normalize_matrix",
    "boundary_mask", "boundary_iou", "boundary_counts", "ring_counts", "RINGS", "fill_void",
    "panoptic_quality", "panoptic_segments", "PanopticScores", "ClassPQ",
]
