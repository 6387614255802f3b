"""The recorded configs of the reference models, and how one run is trained and scored.

Each run in :data:`RUNS` is plain data: what model, loss, data pipeline, budget and seed. Every
run starts from random weights and sees only the mini set's training split. A run ``ship``ped
with the course has its half-precision weights in ``reference/``; the others (the extra seeds
behind a mean and spread) leave only their scores in the manifest. Runs are independent
single-thread jobs, so on a CPU two run side by side (one per core) and each gives the same
result whichever process runs it; on a GPU they run one after the other.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import losses, models, runtime, train
from .deeplab import DeepLab
from .dice import ce_dice_loss
from .evaluation import full_image_loader, region_matrices, summarize
from .voc import NUM_CLASSES, VOID, pixel_counts
from .voc_dataset import NormalizeBatch, crop_dataset

WORK_DIR = runtime.REPO_ROOT / "checkpoints" / "reference"  # resumable state, git-ignored
SEEDS = (0, 1, 2)

# --------------------------------------------------------------------------- the recipes
SEGMENT = {"crop": 128, "scale": [0.75, 1.5], "batch_size": 8, "optimizer": "adamw",
           "schedule": "poly", "lr": 1e-3, "loss": {"name": "ce"}}
FCN8S = {"name": "fcn", "variant": "8s"}
UNET = {"name": "unet", "depth": 4, "width": 16}
DEEPLAB = {"name": "deeplab", "output_stride": 16, "rates": [2, 4, 6], "width": 128}
LONG, SHORT = 40, 10  # epochs: the shipped models; the extra seeds behind a mean and spread
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
    names = list(runs) if not names else list(dict.fromkeys(names))
    unknown = [n for n in names if n not in runs]
    if unknown:
        raise ValueError(f"unknown run(s) {unknown}; known: {', '.join(runs)}")
    return names


# --------------------------------------------------------------------------- building blocks
def build_model(spec: dict) -> nn.Module:
    """The network a run's ``model`` spec names (FCN, U-Net or DeepLab), randomly initialised."""
    if spec["name"] == "fcn":
        return models.FCN(NUM_CLASSES, variant=spec["variant"])
    if spec["name"] == "unet":
        return models.UNet(3, NUM_CLASSES, depth=spec["depth"], width=spec["width"])
    if spec["name"] == "deeplab":
        return DeepLab(NUM_CLASSES, spec["output_stride"], tuple(spec["rates"]),
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
        return partial(ce_dice_loss, dice_weight=spec["dice_weight"])
    raise ValueError(f"loss spec {spec!r}: unknown name (expected ce, wce, focal or ce+dice)")


def half_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with floating tensors in float16 (half the bytes; integers kept)."""
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in model.state_dict().items()}


def round_to_half_(model: nn.Module) -> nn.Module:
    """Round the weights through float16 in place, so the model scored is the model shipped."""
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in half_state(model).items()})
    return model


def evaluate_run(model: nn.Module, root=None, store: bool = False) -> dict:
    """Full-image validation scores of a trained run (see :mod:`course_utils.evaluation`),
    computed in float64 on the CPU as :func:`course_utils.reference.load` gives the model.

    Always computed, never read from a cache; ``store`` leaves the predictions in the
    checkpoint folder for the notebooks (:mod:`course_utils.predictions`)."""
    model = copy.deepcopy(model).to(device="cpu", dtype=torch.float64)
    return summarize(region_matrices(model, full_image_loader(root, "val"), cache=store,
                                     refresh=True))


# --------------------------------------------------------------------------- one run
def _train_run(name: str, cfg: dict, device, report, root, ship_dir, work_dir) -> dict:
    dataset = crop_dataset(root, "train", cfg["crop"], cfg["scale"], cache=True)
    train_dl = DataLoader(dataset, cfg["batch_size"], shuffle=True, drop_last=True,
                          generator=torch.Generator().manual_seed(cfg["seed"]),
                          collate_fn=NormalizeBatch())
    net = build_model(cfg["model"])
    history = train.fit(net, train_dl, loss=build_loss(cfg["loss"], root),
                        epochs=cfg["epochs"], lr=cfg["lr"], optimizer=cfg["optimizer"],
                        schedule=cfg["schedule"], device=device,
                        checkpoint=Path(work_dir) / f"{name}.pt", config=cfg, progress=False,
                        on_epoch=report)
    result = {"history": history, "val": evaluate_run(round_to_half_(net.cpu()), root)}
    if cfg["ship"]:
        from .reference import save_weights  # reference imports this module

        result.update(save_weights(name, net, cfg, ship_dir))
    return result


def run_one(name: str, cfg: dict, device=None, root=None, ship_dir=None, work_dir=WORK_DIR,
            queue=None) -> dict:
    """Train and score the run ``name`` with config ``cfg``; returns its manifest entry
    (without the file fields when it is not shipped). Progress goes to ``queue`` as
    ``(name, epoch)`` messages."""
    cfg = copy.deepcopy(cfg)
    device = torch.device(device or runtime.device())
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    if device.type == "cpu":
        torch.set_num_threads(1)  # bit-reproducible, and two runs share two cores
    runtime.set_seed(cfg["seed"])
    report = (lambda entry: queue.put((name, entry["epoch"]))) if queue is not None else None
    start = time.perf_counter()
    result = _train_run(name, cfg, device, report, root, ship_dir, work_dir)
    return {"config": cfg, **result, "seconds": round(time.perf_counter() - start, 1),
            "device": device.type, "threads": torch.get_num_threads()}


def run_all(names: list[str], record, workers=None, device=None, root=None, ship_dir=None,
            runs=None, work_dir=WORK_DIR) -> None:
    """Train ``names`` (dependencies first), calling ``record(name, entry)`` as each ends.

    On a CPU, ``workers`` single-thread processes run side by side (default: up to 2, one per
    core); on a GPU one process runs them in turn. One progress bar counts epochs over all runs.
    """
    runs = RUNS if runs is None else runs
    device = torch.device(device or runtime.device())
    workers = workers or (min(2, mp.cpu_count()) if device.type == "cpu" else 1)
    job = partial(run_one, device=str(device), root=root, ship_dir=ship_dir, work_dir=work_dir)
    with tqdm(total=sum(runs[n]["epochs"] for n in names), desc="reference models",
              unit="epoch") as bar:
        if workers == 1:
            for name in names:
                record(name, job(name, runs[name], queue=_BarQueue(bar)))
            return
        ctx = mp.get_context("spawn")
        with mp.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            _schedule(names, runs, pool, manager.Queue(), bar, record, job)


class _BarQueue:
    """A queue look-alike that advances the progress bar (the single-process case)."""

    def __init__(self, bar):
        self.bar = bar

    def put(self, message):
        self.bar.set_postfix_str(f"{message[0]} epoch {message[1]}")
        self.bar.update()


def _schedule(names, runs, pool, queue, bar, record, job) -> None:
    """Submit every run (in order: the pool starts them as workers free up), record each as
    it ends, and drain progress messages while waiting."""
    running = {pool.submit(job, name, runs[name], queue=queue): name for name in names}
    while running:
        finished, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
        while not queue.empty():
            _BarQueue(bar).put(queue.get())
        for future in finished:
            record(running.pop(future), future.result())  # a failed run raises: stop
