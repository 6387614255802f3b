"""Training and inference for the notebooks and the CLI: ``fit``, ``evaluate`` and ``predict``.

On CUDA the loop autocasts (bfloat16, else float16 with a gradient scaler) in channels_last; on
the CPU it runs plain float32, bit-identical run to run at a fixed thread count, unless asked for
bfloat16 (``amp="bf16"``: the reference runs, about 1.6x faster on a CPU with native bfloat16).
Evaluation and prediction on the CPU are always float32 (or the model's dtype).
"""

import time
from pathlib import Path
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from course_utils import runtime
from course_utils.data import VOID
from course_utils.metrics import ConfusionMatrix

from . import checkpoints

POSTFIX_EVERY = 10  # refresh the progress bar's numbers every N steps (each refresh syncs a GPU)
POLY_POWER = 0.9  # DeepLab's poly schedule: lr * (1 - step / total) ** 0.9
WEIGHT_DECAY = 1e-4
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


class Accel(NamedTuple):
    """How to run on ``device``: autocast to ``amp_dtype`` in channels_last (``None``: float32)."""
    device: torch.device
    amp_dtype: torch.dtype | None = None


CPU_AMP = (None, "bf16")  # what ``fit(amp=...)`` accepts


def accel_for(device, amp: str | None = None) -> Accel:
    """AMP on CUDA (bfloat16 where supported, else float16); on the CPU float32, or bfloat16
    autocast when ``amp == "bf16"``."""
    device = torch.device(device)
    if device.type == "cuda":
        return Accel(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return Accel(device, torch.bfloat16 if amp == "bf16" else None)


def prepare_model(model: nn.Module, accel: Accel) -> nn.Module:
    """Move ``model`` to the device in place (and to channels_last when AMP is on)."""
    model.to(accel.device)
    if accel.amp_dtype is not None:
        model.to(memory_format=torch.channels_last)
    return model


def _to_device(images, accel: Accel, dtype=None):
    """Images on the device in ``dtype``, non-blocking, channels_last with AMP."""
    fmt = torch.preserve_format if accel.amp_dtype is None else torch.channels_last
    return images.to(accel.device, dtype=dtype, non_blocking=True, memory_format=fmt)


def fit(model: nn.Module, train_loader, val_loader=None, loss=None, epochs: int = 1,
        lr: float = 1e-3, optimizer="adamw", schedule: str = "poly", num_classes: int = 21,
        device=None, checkpoint=None, config=None, progress: bool = True, on_epoch=None,
        save: bool = True, amp: str | None = None) -> list[dict]:
    """Train ``model`` (moved to ``device`` in place) with AdamW and the poly schedule; return
    one dict per epoch: ``epoch``, ``loss`` (mean batch loss), ``pixel_acc`` and ``miou`` (on
    ``val_loader``, else on the training batches as seen) and ``seconds``.

    With ``checkpoint`` (a ``.pt`` path) the run is saved after every epoch with ``config``
    (plain data): called again it resumes, or returns the stored history of a finished run;
    ``save=False`` only reads it (other torchrun ranks); ``on_epoch(entry)`` follows each epoch;
    ``amp="bf16"`` trains in bfloat16 autocast on the CPU too (CUDA always autocasts).
    """
    _check_fit_args(train_loader, epochs, optimizer, schedule, config, checkpoint)
    if amp not in CPU_AMP:
        raise ValueError(f"amp={amp!r}: expected one of {CPU_AMP}")
    accel = accel_for(runtime.device() if device is None else device, amp)
    prepare_model(model, accel)
    opt = optimizer if isinstance(optimizer, torch.optim.Optimizer) else torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=WEIGHT_DECAY)
    n = len(train_loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: (1.0 - min(step / (epochs * n), 1.0)) ** POLY_POWER)
    net = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    parts = {"optimizer": opt, "model": net, "scheduler": scheduler}  # resumed in this order
    if accel.amp_dtype == torch.float16:
        parts["scaler"] = torch.amp.GradScaler(accel.device.type)
    meta = {"config": config, "fit_args": {
        "epochs": epochs, "lr": lr, "schedule": schedule, "num_classes": num_classes,
        "optimizer": optimizer if isinstance(optimizer, str) else type(optimizer).__name__}}
    if amp is not None:  # (checkpoints saved before the option resume as they were)
        meta["fit_args"]["amp"] = amp
    history = checkpoints.resume(checkpoint, parts, meta, train_loader, save,
                                 progress) if checkpoint else []
    loss = loss if loss is not None else nn.CrossEntropyLoss(ignore_index=VOID)
    with tqdm(total=epochs * n, initial=len(history) * n, unit="batch",  # resumed: not from 0
              disable=not progress or len(history) == epochs) as bar:
        for epoch in range(len(history) + 1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            start = time.perf_counter()
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):  # a DistributedSampler: another shuffle each epoch
                sampler.set_epoch(epoch)
            cm = ConfusionMatrix(num_classes, ignore_index=VOID, device=accel.device)
            mean_loss = train_one_epoch(model, loss, parts, train_loader, accel, cm, bar)
            if val_loader is not None:
                cm = evaluate(model, val_loader, num_classes)
            scores = cm.compute()
            history.append({"epoch": epoch, "loss": mean_loss,
                            "pixel_acc": float(scores["pixel_acc"]),
                            "miou": float(scores["miou"]), "seconds": time.perf_counter() - start})
            bar.set_postfix(loss=f"{mean_loss:.4f}", miou=f"{history[-1]['miou']:.4f}",
                            on="val" if val_loader is not None else "train")
            if checkpoint and save:
                checkpoints.save(checkpoint, parts, history, meta, train_loader)
            if on_epoch is not None:
                on_epoch(history[-1])
    return history


def train_one_epoch(model, loss_fn, parts: dict, loader, accel: Accel, cm, bar) -> float:
    """One pass over ``loader``; returns the mean batch loss (over all torchrun ranks)."""
    model.train()
    optimizer, scheduler, scaler = parts["optimizer"], parts["scheduler"], parts.get("scaler")
    loss_sum = torch.zeros((), device=accel.device)
    for step, (images, labels) in enumerate(loader, 1):
        images, labels = _to_device(images, accel), labels.to(accel.device, non_blocking=True)
        with torch.autocast(accel.device.type, accel.amp_dtype, accel.amp_dtype is not None):
            logits = model(images)
            loss = loss_fn(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:  # float16: scale the loss so that small gradients do not underflow
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        scheduler.step()
        cm.update(logits.detach(), labels)
        loss_sum += loss.detach().float()
        bar.update()
        if not bar.disable and (step % POSTFIX_EVERY == 0 or step == len(loader)):
            bar.set_postfix(loss=f"{float(loss_sum) / step:.4f}",
                            miou=f"{float(cm.compute()['miou']):.4f}")
    totals = torch.tensor([float(loss_sum), step], dtype=torch.float64, device=accel.device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(totals)
    return float(totals[0] / totals[1])


def _check_fit_args(train_loader, epochs, optimizer, schedule, config, checkpoint) -> None:
    """Reject bad arguments before any work is done."""
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}: expected a positive integer")
    if len(train_loader) == 0:
        raise ValueError("train_loader is empty (fewer items than one batch with drop_last?)")
    if optimizer != "adamw" and not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer={optimizer!r}: expected 'adamw' or a torch.optim.Optimizer")
    if schedule != "poly":
        raise ValueError(f"schedule={schedule!r}: expected 'poly'")
    checkpoints.check_plain(config, "config")
    if checkpoint is not None and Path(checkpoint).suffix not in CHECKPOINT_SUFFIXES:
        raise ValueError(f"checkpoint={runtime.relpath(checkpoint)}: expected a file name "
                         f"ending in {', '.join(CHECKPOINT_SUFFIXES)}")


def _param(model: nn.Module) -> torch.Tensor:
    """The model's first floating parameter (where and in what dtype it runs)."""
    return next((p for p in model.parameters() if p.is_floating_point()), torch.zeros(()))


def evaluate(model: nn.Module, loader, num_classes: int = 21) -> ConfusionMatrix:
    """The confusion matrix of ``model``'s predictions over ``loader`` (void ignored)."""
    device = _param(model).device
    prepare_model(model, accel_for(device))
    cm = ConfusionMatrix(num_classes, ignore_index=VOID, device=device)
    for images, labels in loader:
        cm.update(predict(model, images.to(device, non_blocking=True)),
                  labels.to(device, non_blocking=True))
    return cm


def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Class labels ``(N, H, W)`` of images ``(N, 3, H, W)``, on the images' device: computed in
    eval mode, in the model's dtype (a float64 model on a CPU predicts the same on any CPU)."""
    if images.ndim != 4:
        raise ValueError(f"images: expected a batch (N, C, H, W), got shape "
                         f"{tuple(images.shape)} (use images[None] for one image)")
    param = _param(model)
    accel = accel_for(param.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.autocast(accel.device.type, accel.amp_dtype,
                                             accel.amp_dtype is not None):
            labels = model(_to_device(images, accel, param.dtype)).argmax(dim=1)
    finally:
        model.train(was_training)
    return labels.to(images.device)
