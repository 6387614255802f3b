"""Training and evaluation: ``fit``, ``evaluate`` and ``predict``.

One loop serves the CPU and the GPU (the device settings live in :mod:`course_utils.accel`):
mixed precision and ``channels_last`` on CUDA, plain float32 on the CPU, which at a fixed thread
count gives bit-identical results run to run. The learning rate follows a poly or cosine
schedule stepped every iteration (:mod:`course_utils.schedules`).

``fit(..., checkpoint=path, config=cfg)`` writes a checkpoint after every epoch
(:mod:`course_utils.checkpoints`, atomic). Called again it resumes an unfinished run, or, when
the run is complete for the same config, skips training and returns the stored history. A
checkpoint that is unreadable or was made by another model or config is kept under a new name,
reported in one line, and the run trains from scratch.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import distributed, runtime
from .accel import Accel, accel_for, autocast, model_device, model_dtype, prepare_model, to_device
from .checkpoints import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    check_checkpoint_path,
    check_plain,
    load_checkpoint,
    mismatch,
    model_signature,
    rng_state,
    save_checkpoint,
    set_aside,
    set_rng_state,
)
from .metrics import ConfusionMatrix
from .schedules import lr_factor, make_optimizer, make_scheduler, optimizer_name
from .voc import VOID

__all__ = ["Accel", "CHECKPOINT_FORMAT", "CheckpointError", "HISTORY_KEYS", "accel_for",
           "evaluate", "fit", "load_checkpoint", "lr_factor", "make_optimizer",
           "make_scheduler", "model_signature", "predict", "save_checkpoint"]

POSTFIX_EVERY = 10  # refresh the progress-bar numbers every N steps (each refresh syncs a GPU)
HISTORY_KEYS = ("epoch", "loss", "pixel_acc", "miou", "seconds")


@dataclass
class _Run:
    """Everything one ``fit`` call trains with."""

    model: nn.Module
    loss: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    accel: Accel
    num_classes: int


def _train_step(run: _Run, images, labels):
    """One optimisation step; returns the detached logits and loss."""
    with autocast(run.accel):
        logits = run.model(images)
        loss = run.loss(logits, labels)
    if loss.ndim != 0:
        raise ValueError(f"loss returned shape {tuple(loss.shape)}; fit needs a scalar "
                         "(use reduction='mean')")
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    return logits.detach(), loss.detach()


def _postfix(loss_sum, steps: int, cm: ConfusionMatrix) -> dict:
    return {"loss": f"{float(loss_sum) / max(steps, 1):.4f}",
            "miou": f"{float(cm.compute()['miou']):.4f}"}


def _train_epoch(run: _Run, loader, bar) -> tuple[float, ConfusionMatrix]:
    """Train one epoch; returns the mean batch loss and the training-batch confusion matrix."""
    run.model.train()
    cm = ConfusionMatrix(run.num_classes, ignore_index=VOID, device=run.accel.device)
    loss_sum, steps = torch.zeros((), device=run.accel.device), 0
    for images, labels in loader:
        images, labels = to_device(images, labels, run.accel)
        logits, loss = _train_step(run, images, labels)
        cm.update(logits, labels)
        loss_sum += loss.float()
        steps += 1
        bar.update()
        if not bar.disable and (steps % POSTFIX_EVERY == 0 or steps == len(loader)):
            bar.set_postfix(_postfix(loss_sum, steps, cm))
    if steps == 0:
        raise ValueError("train_loader yielded no batches")
    count = torch.tensor(float(steps), dtype=torch.float64, device=loss_sum.device)
    totals = distributed.all_reduce_sum(torch.stack([loss_sum.double(), count]))
    return float(totals[0] / totals[1]), cm


def _run_epoch(run: _Run, train_loader, val_loader, epoch: int, epochs: int,
               progress: bool) -> dict:
    """Train one epoch (and validate); return its history entry."""
    start = time.perf_counter()
    sampler = getattr(train_loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):  # a DistributedSampler: another shuffle every epoch
        sampler.set_epoch(epoch)
    with tqdm(total=len(train_loader), desc=f"epoch {epoch}/{epochs}", disable=not progress,
              leave=True) as bar:
        loss, cm = _train_epoch(run, train_loader, bar)
        if val_loader is not None:
            cm = evaluate(run.model, val_loader, run.num_classes, run.accel.device)
        scores = cm.compute()
        entry = {"epoch": epoch, "loss": loss, "pixel_acc": float(scores["pixel_acc"]),
                 "miou": float(scores["miou"]), "seconds": time.perf_counter() - start}
        if progress:
            bar.set_postfix(loss=f"{loss:.4f}", miou=f"{entry['miou']:.4f}",
                            on="val" if val_loader is not None else "train")
    return entry


def fit(model: nn.Module, train_loader, val_loader=None, loss=None, epochs: int = 1,
        lr: float = 1e-3, optimizer="adamw", schedule: str | None = "poly",
        num_classes: int = 21, device=None, checkpoint=None, config=None,
        progress: bool = True, on_epoch=None) -> list[dict]:
    """Train ``model`` and return its history, one dict per epoch.

    Each entry has ``epoch`` (from 1), ``loss`` (mean training batch loss), ``pixel_acc`` and
    ``miou`` (on ``val_loader`` when given, else on the training batches as they were
    seen) and ``seconds``. ``loss`` defaults to ``CrossEntropyLoss(ignore_index=255)``;
    ``optimizer`` is ``"adamw"``, ``"sgd"`` or an optimizer instance; ``schedule`` is
    ``"poly"``, ``"cosine"`` or ``None``, stepped every iteration. ``device`` defaults to
    :func:`course_utils.runtime.device`; the model is moved there in place.

    With ``checkpoint`` (a ``.pt`` path) the state is saved after every epoch together with
    ``config`` (plain values describing the run: model, data, loss...) and the history; a
    later call with the same config resumes, or returns the stored history at once when all
    ``epochs`` are done. ``on_epoch(entry)``, if given, is called after each trained epoch
    (e.g. to report progress from another process). Seed first (``runtime.set_seed``) for
    repeatable results.
    """
    _check_fit_args(train_loader, epochs, config, checkpoint)
    accel = accel_for(runtime.device() if device is None else device)
    prepare_model(model, accel)
    opt = make_optimizer(model, optimizer, lr)
    run = _Run(model, loss if loss is not None else nn.CrossEntropyLoss(ignore_index=VOID), opt,
               make_scheduler(opt, schedule, epochs * len(train_loader)),
               torch.amp.GradScaler(accel.device.type, enabled=accel.grad_scaler),
               accel, num_classes)
    meta = {"config": config, "model_signature": model_signature(distributed.unwrap(model)),
            "fit_args": {"epochs": epochs, "lr": lr, "schedule": schedule,
                         "num_classes": num_classes, "optimizer": optimizer_name(optimizer)}}
    history = _resume(checkpoint, run, meta, train_loader, progress) if checkpoint else []
    for epoch in range(len(history) + 1, epochs + 1):
        history.append(_run_epoch(run, train_loader, val_loader, epoch, epochs, progress))
        if checkpoint and distributed.is_main():  # one writer; every process resumes from it
            _save_run(checkpoint, run, meta, history, train_loader)
        if on_epoch is not None:
            on_epoch(history[-1])
    return history


def _check_fit_args(train_loader, epochs, config, checkpoint) -> None:
    """Reject bad arguments before any work is done, naming the argument."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}: expected a positive integer")
    try:
        n = len(train_loader)
    except TypeError:
        raise TypeError("train_loader must have a length (a DataLoader over a Dataset)") from None
    if n == 0:
        raise ValueError("train_loader is empty (fewer items than one batch with drop_last?)")
    check_plain(config, "config")
    if checkpoint is not None:
        check_checkpoint_path(checkpoint)


# --------------------------------------------------------------------------- evaluation
@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """Eval mode and no gradients inside; the model's previous mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, loader, num_classes: int = 21, device=None) -> ConfusionMatrix:
    """The confusion matrix of ``model`` over ``loader`` (void pixels, 255, ignored).

    Runs where the model is unless ``device`` is given (then the model moves there), in the
    model's dtype (a float64 model on a CPU gives the same predictions on every CPU). Under
    torchrun each process counts its own share of ``loader`` and the matrices are added up, so
    every process returns the matrix of the whole split, scored with rank 0's BatchNorm
    statistics. Read the scores with ``.compute()``.
    """
    accel = accel_for(model_device(model) if device is None else device)
    prepare_model(model, accel)
    distributed.sync_buffers(model)
    cm = ConfusionMatrix(num_classes, ignore_index=VOID, device=accel.device)
    with _eval_mode(model):
        for images, labels in loader:
            images, labels = to_device(images, labels, accel, model_dtype(model))
            with autocast(accel):
                cm.update(model(images), labels)
    distributed.all_reduce_sum(cm.matrix)
    return cm


def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Class labels ``(N, H, W)`` int64 for a batch of images ``(N, 3, H, W)``.

    Runs in eval mode without gradients on the model's device, in the model's dtype; the
    labels come back on the device the images came from.
    """
    if images.ndim != 4:
        raise ValueError(f"images: expected a batch (N, C, H, W), got shape "
                         f"{tuple(images.shape)} (use images[None] for one image)")
    accel = accel_for(model_device(model))
    with _eval_mode(model), autocast(accel):
        x, _ = to_device(images, None, accel, model_dtype(model))
        labels = model(x).argmax(dim=1)
    return labels.to(images.device)


# --------------------------------------------------------------------------- resuming
def _save_run(path, run: _Run, meta: dict, history: list, loader) -> None:
    """Checkpoint everything needed to continue ``fit`` exactly where it stopped."""
    save_checkpoint(path, distributed.unwrap(run.model), history, meta["config"],
                    fit_args=meta["fit_args"],
                    optimizer=run.optimizer.state_dict(),
                    scheduler=run.scheduler.state_dict(), scaler=run.scaler.state_dict(),
                    rng=rng_state(loader))


def _resume(path, run: _Run, meta: dict, loader, progress: bool) -> list[dict]:
    """Restore ``run`` from the checkpoint at ``path``; return the epochs already done.

    A missing file means a fresh start; an unusable one is kept under a new name, reported,
    and training starts from scratch.
    """
    name, path = runtime.relpath(path), Path(path)
    if not path.exists():
        return []
    try:
        state = load_checkpoint(path)
        problem = mismatch(state, meta)
        if problem is None:
            _restore_state(run, state, loader)
    except (CheckpointError, KeyError, ValueError, RuntimeError, TypeError) as err:
        problem = str(err).removeprefix(f"{name}: ")
    if problem is not None:
        kept = runtime.relpath(set_aside(path))
        print(f"checkpoint {name}: {problem}; kept it as {kept}, training from scratch")
        return []
    history, epochs = list(state["history"]), meta["fit_args"]["epochs"]
    if progress:
        done = "complete, training skipped" if len(history) == epochs else "resuming"
        print(f"checkpoint {name}: {len(history)}/{epochs} epochs done; {done}")
    return history


def _restore_state(run: _Run, state: dict, loader) -> None:
    """Load optimiser (first: it validates before changing anything), weights, RNG."""
    run.optimizer.load_state_dict(state["optimizer"])
    distributed.unwrap(run.model).load_state_dict(state["model"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"], loader)


if __name__ == "__main__":  # python -m course_utils.train, alone or under torchrun
    import sys

    from .train_cli import main

    sys.exit(main())
