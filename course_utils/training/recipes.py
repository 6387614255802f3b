"""Training recipes as plain data (:data:`RUNS`), and the model and loss each one names.

The recorded runs behind the reference models (:mod:`course_utils.reference`) see only the mini
set's training split. The first, ``encoder``, pretrains torchvision's ``resnet18`` on the course's
classification set (:mod:`.pretrain`); every segmentation run with ``"init": "encoder"`` starts
from its weights, as practice starts from ImageNet's. Each compared recipe has three seeds and
one run at twice the epochs (``-x2``), which shows whether the seeds had converged.
"""

from functools import partial

import torchvision
from torch import nn

from course_utils import losses, models
from course_utils.data import NUM_CLASSES, VOID, pixel_counts

from .pretrain import ENCODER_MODEL, PRETRAIN

SEGMENT = {"crop": 128, "resize": [96, 256], "batch_size": 8, "optimizer": "adamw",
           "schedule": "poly", "lr": 1e-3, "loss": {"name": "ce"},
           "amp": "bf16"}  # bfloat16 autocast: ~1.6x faster on a CPU with native bfloat16
ENCODER = "encoder"  # the run whose weights start every model with "init": "encoder"
FCN8S = {"name": "fcn", "variant": "8s", "init": "encoder"}
MODELS = {  # the architectures compared, each from the course's encoder
    "fcn32s": {**FCN8S, "variant": "32s"},
    "fcn16s": {**FCN8S, "variant": "16s"},
    "fcn8s": FCN8S,
    "unet-resnet18": {"name": "unet-resnet18", "init": "encoder"},
    "deeplab-os16": {"name": "deeplab", "output_stride": 16, "rates": [2, 4, 6], "width": 256,
                     "init": "encoder"},
    "deeplab-os8": {"name": "deeplab", "output_stride": 8, "rates": [4, 8, 12], "width": 256,
                    "init": "encoder"},
}
# DeepLabv3 trains at output stride 16 and evaluates that model at 8 too (section 4.3), as the
# reference runs do (``"eval_strides"``); a step at 8 costs ~2.2x one at 16 (128 x 128 crops,
# batch 8, bfloat16, one thread of this 2-core CPU: 0.56 s vs 0.26 s; FCN-8s 0.19 s).
UNET = {"name": "unet", "depth": 4, "width": 16, "init": "random"}  # the paper's, from scratch
LOSSES = {"wce": {"name": "wce", "weights": "median"},
          "wce-sqrt": {"name": "wce", "weights": "sqrt"},
          "focal": {"name": "focal", "gamma": 2.0}, "dice": {"name": "dice"},
          "cedice": {"name": "ce+dice", "dice_weight": 1.0}}
# Every compared run: 32 epochs (4,000 steps). Calibrated on FCN-8s from the encoder: 16 epochs
# 0.589 whole-image val mIoU, 32 epochs 0.645; each recipe's "-x2" run at 64 shows what is left.
EPOCHS = 32
SEEDS = (0, 1, 2)
# the notebooks draw predictions from these: each recipe's longest run, its best model
SHIPPED = ("fcn8s-x2", "unet-resnet18-x2")


def _run(model, epochs=EPOCHS, seed=0, **extra) -> dict:
    return {**SEGMENT, "model": model, "epochs": epochs, "seed": seed, "ship": False, **extra}


def _recipe(name: str, model: dict, **extra) -> dict[str, dict]:
    """The doubled-budget run ``<name>-x2`` (seed 0; first: the longest, and it shows early
    whether the recipe's epochs suffice), then seeds 0-2 of one recipe."""
    runs = {f"{name}-seed{s}": _run(model, seed=s, **extra) for s in SEEDS}
    return {f"{name}-x2": _run(model, 2 * EPOCHS, **extra), **runs}


RUNS: dict[str, dict] = {  # in the order they train: the encoder, then the most needed first
    ENCODER: {**PRETRAIN, "model": ENCODER_MODEL, "epochs": 12, "seed": 0, "ship": True},
    **_recipe("fcn8s", FCN8S),  # 04, 05, 06 and 07 (cross-entropy) compare against it
    # 04's transfer lesson: the same recipe and budget from random weights (no -x2: this
    # comparison is made at equal budget by design)
    **{f"fcn8s-random-seed{s}": _run({**FCN8S, "init": "random"}, seed=s) for s in SEEDS},
    **{k: v for name in ("fcn16s", "fcn32s", "unet-resnet18")  # 04's table first, then 05's
       for k, v in _recipe(name, MODELS[name]).items()},
    "unet-paper-seed0": _run(UNET),  # 05: the historical architecture, from scratch
    **_recipe("deeplab-os16", MODELS["deeplab-os16"], eval_strides=[8]),
    **_recipe("deeplab-os8", MODELS["deeplab-os8"]),  # 06: the same network trained at 8
    **{k: v for name, loss in LOSSES.items()
       for k, v in _recipe(f"fcn8s-{name}", FCN8S, loss=loss).items()},
}
for _name in SHIPPED:
    RUNS[_name]["ship"] = True
# How far the 32-epoch recipe is from converged, measured on seed 0 (each recipe's runs at 32 and
# 64 epochs are <recipe>-seed0 and <recipe>-x2). FCN-8s: four and eight times the epochs, a three
# times higher peak learning rate, and half the batch (twice the steps); U-Net-R18, the compared
# recipe whose doubled run gains most: four times the epochs. Trained by ``python -m
# course_utils.reference --calibrate`` into their own manifest; not part of ``make reference``.
CALIBRATED = ("fcn8s", "unet-resnet18")  # the recipes the calibration runs come from
CALIBRATION: dict[str, dict] = {
    "calib-fcn8s-x4": _run(FCN8S, 4 * EPOCHS),
    "calib-fcn8s-x8": _run(FCN8S, 8 * EPOCHS),
    "calib-fcn8s-lr3x": _run(FCN8S, lr=3 * SEGMENT["lr"]),
    "calib-fcn8s-lr3x-x2": _run(FCN8S, 2 * EPOCHS, lr=3 * SEGMENT["lr"]),
    "calib-fcn8s-batch4": _run(FCN8S, batch_size=SEGMENT["batch_size"] // 2),
    "calib-unet-resnet18-x4": _run(MODELS["unet-resnet18"], 4 * EPOCHS),
}


def select(names=None, runs=None) -> list[str]:
    """``names`` (default: every run), checked against the recorded runs."""
    runs = RUNS if runs is None else runs
    names = list(dict.fromkeys(names or runs))
    if unknown := [n for n in names if n not in runs]:
        raise ValueError(f"unknown run(s) {unknown}; known: {', '.join(runs)}")
    return names


def build_model(spec: dict) -> nn.Module:
    """The network a run's ``model`` spec names, randomly initialised (a spec's ``init`` says
    what the run then loads: the course's encoder or nothing)."""
    if spec["name"] == "resnet18":
        return torchvision.models.resnet18(num_classes=spec["num_classes"])
    if spec["name"] == "fcn":
        return models.FCN(NUM_CLASSES, variant=spec["variant"])
    if spec["name"] == "unet-resnet18":
        return models.ResNetUNet(NUM_CLASSES)
    if spec["name"] == "unet":
        return models.UNet(3, NUM_CLASSES, depth=spec["depth"], width=spec["width"])
    if spec["name"] == "deeplab":
        return models.DeepLab(NUM_CLASSES, spec["output_stride"], tuple(spec["rates"]),
                              spec["width"])
    raise ValueError(f"model spec {spec!r}: unknown name (expected resnet18, fcn, "
                     "unet-resnet18, unet or deeplab)")


def build_loss(spec: dict, root) -> nn.Module | partial:
    """Cross-entropy, weighted cross-entropy, softmax focal loss, soft Dice or CE + Dice."""
    if spec["name"] == "ce":
        return nn.CrossEntropyLoss(ignore_index=VOID)
    if spec["name"] == "wce":
        weight = losses.class_weights(pixel_counts(root, "train"), spec["weights"])
        return partial(losses.weighted_cross_entropy, weight=weight)
    if spec["name"] == "focal":
        return partial(losses.softmax_focal_loss, gamma=spec["gamma"])
    if spec["name"] == "dice":
        return losses.soft_dice_loss
    if spec["name"] == "ce+dice":
        return partial(losses.ce_dice_loss, dice_weight=spec["dice_weight"])
    raise ValueError(f"loss spec {spec!r}: unknown name (expected ce, wce, focal, dice or ce+dice)")
