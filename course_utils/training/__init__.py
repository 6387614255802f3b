"""Training and evaluation (notebooks 04-09): ``fit``, ``evaluate``, ``predict`` and scoring.

:mod:`.loop` trains (resuming from :mod:`.checkpoints`); :mod:`.evaluation` scores whole images
from predictions kept on disk (:mod:`.cache`); :mod:`.comparison` compares two recipes paired by
seed and resampled over images; :mod:`.pretrain` pretrains the course's encoder on object crops;
:mod:`.recipes` holds the recorded recipes and :mod:`.cli` the command line
(``python -m course_utils.training``, also under ``torchrun``).
"""

from . import checkpoints, comparison, pretrain, recipes
from .cache import predictions
from .evaluation import (
    bootstrap_miou,
    full_image_loader,
    image_counts,
    iou_of_matrices,
    miou_of_matrices,
    region_matrices,
    summarize,
    summarize_classifier,
)
from .loop import evaluate, fit, predict

__all__ = [
    "evaluate", "fit", "predict", "bootstrap_miou", "full_image_loader",
    "image_counts", "iou_of_matrices",
    "miou_of_matrices", "region_matrices", "summarize",
    "summarize_classifier", "predictions",
    "checkpoints", "comparison", "pretrain", "recipes",
]
