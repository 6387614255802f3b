"""Training recipes as plain data (:data:`RUNS`), and the model and loss each one names.

The recorded runs behind the reference models (:mod:`course_utils.reference`) start from random
weights and see only the mini set's training split.
"""

from functools import partial

from torch import nn

from course_utils import losses, models
from course_utils.data import NUM_CLASSES, VOID, pixel_counts

SEGMENT = {"crop": 128, "scale": [0.75, 1.5], "batch_size": 8, "optimizer": "adamw",
           "schedule": "poly", "lr": 1e-3, "loss": {"name": "ce"}}
FCN8S = {"name": "fcn", "variant": "8s"}
UNET = {"name": "unet", "depth": 4, "width": 16}
DEEPLAB = {"name": "deeplab", "output_stride": 16, "rates": [2, 4, 6], "width": 128}
LONG, SHORT = 40, 10  # epochs: the shipped models; the extra seeds behind a mean and spread
SEEDS = (0, 1, 2)
LOSSES = {"wce": {"name": "wce", "weights": "median"}, "focal": {"name": "focal", "gamma": 2.0},
          "cedice": {"name": "ce+dice", "dice_weight": 1.0}}


def _run(model, epochs, seed=0, ship=False, **extra) -> dict:
    return {**SEGMENT, "model": model, "epochs": epochs, "seed": seed, "ship": ship, **extra}


RUNS: dict[str, dict] = {  # the long runs first: two workers then finish at about the same time
    "unet": _run(UNET, LONG, ship=True),  # notebook 05
    "fcn8s": _run(FCN8S, LONG, ship=True),  # notebooks 04, 05, 08
    # notebook 05: FCN-8s vs U-Net over seeds (fcn8s-short-* are also 07's cross-entropy runs)
    **{f"unet-short-seed{s}": _run(UNET, SHORT, s) for s in SEEDS},
    **{f"fcn8s-short-seed{s}": _run(FCN8S, SHORT, s) for s in SEEDS},
    # the DeepLab notebook: the same recipe and budget as the seed runs above
    **{f"deeplab-short-seed{s}": _run(DEEPLAB, SHORT, s) for s in SEEDS},
    # notebook 07: the same FCN-8s recipe with weighted cross-entropy, focal and CE + Dice
    **{f"fcn8s-{k}-seed{s}": _run(FCN8S, SHORT, s, loss=v) for k, v in LOSSES.items()
       for s in SEEDS},
}


def select(names=None, runs=None) -> list[str]:
    """``names`` (default: every run), checked against the recorded runs."""
    runs = RUNS if runs is None else runs
    names = list(dict.fromkeys(names or runs))
    if unknown := [n for n in names if n not in runs]:
        raise ValueError(f"unknown run(s) {unknown}; known: {', '.join(runs)}")
    return names


def build_model(spec: dict) -> nn.Module:
    """The network a run's ``model`` spec names (FCN, U-Net or DeepLab), randomly initialised."""
    if spec["name"] == "fcn":
        return models.FCN(NUM_CLASSES, variant=spec["variant"])
    if spec["name"] == "unet":
        return models.UNet(3, NUM_CLASSES, depth=spec["depth"], width=spec["width"])
    if spec["name"] == "deeplab":
        return models.DeepLab(NUM_CLASSES, spec["output_stride"], tuple(spec["rates"]),
                              spec["width"])
    raise ValueError(f"model spec {spec!r}: unknown name (expected fcn, unet or deeplab)")


def build_loss(spec: dict, root) -> nn.Module | partial:
    """Cross-entropy, median-frequency weighted cross-entropy, softmax focal loss or CE + Dice."""
    if spec["name"] == "ce":
        return nn.CrossEntropyLoss(ignore_index=VOID)
    if spec["name"] == "wce":
        weight = losses.class_weights(pixel_counts(root, "train"), spec["weights"])
        return partial(losses.weighted_cross_entropy, weight=weight)
    if spec["name"] == "focal":
        return partial(losses.softmax_focal_loss, gamma=spec["gamma"])
    if spec["name"] == "ce+dice":
        return partial(losses.ce_dice_loss, dice_weight=spec["dice_weight"])
    raise ValueError(f"loss spec {spec!r}: unknown name (expected ce, wce, focal or ce+dice)")
