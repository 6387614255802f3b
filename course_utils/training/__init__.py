"""Training and evaluation (notebooks 04-09): ``fit``, ``evaluate``, ``predict`` and scoring.

:mod:`.loop` trains and predicts (its resumable checkpoints are :mod:`.checkpoints`);
:mod:`.evaluation` scores whole images the VOC way, with boundary bands, bootstrap intervals and
seed comparisons, reading a model's predictions through :mod:`.predictions` (computed once, kept
on disk); :mod:`.recipes` holds the recorded training recipes. The command line
(``python -m course_utils.training``, also under ``torchrun``) is :mod:`.cli`.
"""

from . import checkpoints, recipes
from .cache import predictions
from .evaluation import (
    BAND_WIDTH,
    bootstrap_miou,
    compare_over_seeds,
    full_image_loader,
    mean_and_spread,
    miou_of_matrices,
    per_image_matrices,
    region_matrices,
    summarize,
    summarize_matrix,
)
from .loop import evaluate, fit, predict

__all__ = [
    "evaluate", "fit", "predict", "BAND_WIDTH", "bootstrap_miou", "compare_over_seeds",
    "full_image_loader", "mean_and_spread", "miou_of_matrices", "per_image_matrices",
    "region_matrices", "summarize", "summarize_matrix", "predictions", "checkpoints", "recipes",
]
