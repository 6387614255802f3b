"""Training and evaluation: ``fit``, ``evaluate``, ``predict`` and checkpoints.

One loop serves the CPU and the GPU. On CUDA it trains in mixed precision (bfloat16 where the
GPU supports it, else float16 with a gradient scaler), in the ``channels_last`` memory format,
with non-blocking copies (from the pinned memory that ``voc_dataset.loaders`` asks for); on the
CPU it runs plain float32 and, at a fixed thread count, gives bit-identical results run to run.
The learning rate follows a poly or cosine schedule stepped every iteration.

``fit(..., checkpoint=path, config=cfg)`` writes a checkpoint after every epoch (atomically:
temporary file, then rename). Called again it resumes an unfinished run, or, when the run is
complete for the same config, skips training and returns the stored history. A checkpoint that
is unreadable or was made by another model or config is reported in one line and retrained.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import runtime
from .metrics import ConfusionMatrix
from .voc import VOID

CHECKPOINT_FORMAT = "course_utils.train/1"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
SCHEDULES = ("poly", "cosine", None)
OPTIMIZERS = ("adamw", "sgd")
POLY_POWER = 0.9  # DeepLab's poly schedule: lr * (1 - t) ** 0.9
WEIGHT_DECAY = 1e-4
SGD_MOMENTUM = 0.9
POSTFIX_EVERY = 10  # refresh the progress-bar numbers every N steps (each refresh syncs a GPU)
HISTORY_KEYS = ("epoch", "loss", "pixel_acc", "miou", "seconds")


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, not ours, or was saved from a different model."""


# --------------------------------------------------------------------------- device settings
@dataclass(frozen=True)
class Accel:
    """How to run on a device.

    ``amp_dtype`` is the autocast dtype (``None``: plain float32), ``grad_scaler`` whether
    float16 gradients need loss scaling, ``channels_last`` whether to use that memory format
    (faster convolutions on tensor cores).
    """

    device: torch.device
    amp_dtype: torch.dtype | None = None
    grad_scaler: bool = False
    channels_last: bool = False


def accel_for(device) -> Accel:
    """The settings for ``device``: AMP and channels_last on CUDA only.

    bfloat16 has float32's range, so it needs no gradient scaler; GPUs without bfloat16
    (before Ampere) get float16, whose small range makes a ``GradScaler`` necessary.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return Accel(device)
    if torch.cuda.is_bf16_supported():
        return Accel(device, torch.bfloat16, grad_scaler=False, channels_last=True)
    return Accel(device, torch.float16, grad_scaler=True, channels_last=True)


def _autocast(accel: Accel):
    """An autocast context for ``accel`` (a no-op in float32)."""
    if accel.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(accel.device.type, dtype=accel.amp_dtype)


def _model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters live (the CPU for a parameter-free model)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _prepare_model(model: nn.Module, accel: Accel) -> nn.Module:
    """Move ``model`` to the device (in place) and to channels_last when that is used."""
    model.to(accel.device)
    if accel.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def _to_device(images, labels, accel: Accel):
    """Copy a batch to the device without blocking the host (pinned memory makes it async)."""
    fmt = torch.channels_last if accel.channels_last else torch.preserve_format
    images = images.to(accel.device, non_blocking=True, memory_format=fmt)
    labels = labels.to(accel.device, non_blocking=True) if labels is not None else None
    return images, labels


# --------------------------------------------------------------------------- optimiser, schedule
def lr_factor(schedule: str | None, step: int, total: int, power: float = POLY_POWER) -> float:
    """Multiplier of the base learning rate at iteration ``step`` of ``total``.

    ``"poly"``: :math:`(1 - t)^{p}`, ``"cosine"``: :math:`(1 + \\cos \\pi t) / 2`, with
    :math:`t = \\text{step}/\\text{total}`; ``None``: constant 1.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}: expected one of {SCHEDULES}")
    if schedule is None:
        return 1.0
    t = min(step / max(total, 1), 1.0)
    if schedule == "poly":
        return (1.0 - t) ** power
    return 0.5 * (1.0 + math.cos(math.pi * t))


def make_optimizer(model: nn.Module, optimizer="adamw", lr: float = 1e-3):
    """``"adamw"`` or ``"sgd"`` (momentum 0.9) over the trainable parameters, or pass an
    optimizer instance through unchanged (its own learning rate is then used)."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=WEIGHT_DECAY)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, weight_decay=WEIGHT_DECAY)
    raise ValueError(f"optimizer={optimizer!r}: expected {OPTIMIZERS} or a torch.optim.Optimizer")


def make_scheduler(optimizer, schedule: str | None, total_steps: int):
    """A ``LambdaLR`` following :func:`lr_factor`; call ``.step()`` once per iteration."""
    lr_factor(schedule, 0, 1)  # validates the name
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(_scheduled_factor, schedule, total_steps))


def _scheduled_factor(schedule, total, step):
    return lr_factor(schedule, step, total)


# --------------------------------------------------------------------------- one training run
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
    with _autocast(run.accel):
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
        images, labels = _to_device(images, labels, run.accel)
        logits, loss = _train_step(run, images, labels)
        cm.update(logits, labels)
        loss_sum += loss.float()
        steps += 1
        bar.update()
        if not bar.disable and (steps % POSTFIX_EVERY == 0 or steps == len(loader)):
            bar.set_postfix(_postfix(loss_sum, steps, cm))
    if steps == 0:
        raise ValueError("train_loader yielded no batches")
    return float(loss_sum) / steps, cm


def _run_epoch(run: _Run, train_loader, val_loader, epoch: int, epochs: int,
               progress: bool) -> dict:
    """Train one epoch (and validate); return its history entry."""
    start = time.perf_counter()
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
        progress: bool = True) -> list[dict]:
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
    ``epochs`` are done. Seed first (``runtime.set_seed``) for repeatable results.
    """
    _check_fit_args(train_loader, epochs, config, checkpoint)
    accel = accel_for(runtime.device() if device is None else device)
    _prepare_model(model, accel)
    opt = make_optimizer(model, optimizer, lr)
    run = _Run(model, loss if loss is not None else nn.CrossEntropyLoss(ignore_index=VOID), opt,
               make_scheduler(opt, schedule, epochs * len(train_loader)),
               torch.amp.GradScaler(accel.device.type, enabled=accel.grad_scaler),
               accel, num_classes)
    meta = {"config": config, "model_signature": model_signature(model),
            "fit_args": {"epochs": epochs, "lr": lr, "schedule": schedule,
                         "num_classes": num_classes, "optimizer": _optimizer_name(optimizer)}}
    history = _resume(checkpoint, run, meta, train_loader, progress) if checkpoint else []
    for epoch in range(len(history) + 1, epochs + 1):
        history.append(_run_epoch(run, train_loader, val_loader, epoch, epochs, progress))
        if checkpoint:
            _save_run(checkpoint, run, meta, history, train_loader)
    return history


def _optimizer_name(optimizer) -> str:
    return optimizer if isinstance(optimizer, str) else type(optimizer).__name__


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
    _check_plain(config, "config")
    if checkpoint is not None:
        _check_checkpoint_path(checkpoint)


def _check_plain(value, name: str) -> None:
    """``value`` must be plain data (saved and loaded safely with ``weights_only=True``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(k, name)
            _check_plain(v, f"{name}[{k!r}]")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_plain(v, f"{name}[{i}]")
    elif type(value) not in (str, int, float, bool, type(None)):  # not subclasses: np.float64
        raise TypeError(f"{name}: {type(value).__name__} is not plain data; use str, int, "
                        "float, bool, None, lists, tuples and dicts of them")


def _check_checkpoint_path(path) -> Path:
    """A checkpoint path must end in .pt/.pth/.ckpt, so fit never overwrites other files."""
    path = Path(path)
    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise ValueError(f"checkpoint={runtime.relpath(path)}: expected a file name ending "
                         f"in {', '.join(CHECKPOINT_SUFFIXES)}")
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint={runtime.relpath(path)} is a folder")
    return path


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

    Runs where the model is unless ``device`` is given (then the model moves there). Read
    the scores with ``.compute()``.
    """
    accel = accel_for(_model_device(model) if device is None else device)
    _prepare_model(model, accel)
    cm = ConfusionMatrix(num_classes, ignore_index=VOID, device=accel.device)
    with _eval_mode(model):
        for images, labels in loader:
            images, labels = _to_device(images, labels, accel)
            with _autocast(accel):
                cm.update(model(images), labels)
    return cm


def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Class labels ``(N, H, W)`` int64 for a batch of images ``(N, 3, H, W)``.

    Runs in eval mode without gradients on the model's device; the labels come back on the
    device the images came from.
    """
    if images.ndim != 4:
        raise ValueError(f"images: expected a batch (N, C, H, W), got shape "
                         f"{tuple(images.shape)} (use images[None] for one image)")
    accel = accel_for(_model_device(model))
    with _eval_mode(model), _autocast(accel):
        x, _ = _to_device(images, None, accel)
        labels = model(x).argmax(dim=1)
    return labels.to(images.device)


# --------------------------------------------------------------------------- checkpoints
def model_signature(model: nn.Module) -> list:
    """``[name, shape]`` of every entry of the state dict: tells apart different models."""
    return [[name, list(t.shape)] for name, t in model.state_dict().items()]


def _atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``.

    A crash mid-write leaves the old file intact; nothing but ``path`` is ever replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_checkpoint(path, model: nn.Module, history=(), config=None, **extra) -> Path:
    """Save ``model``'s weights with its ``history`` and ``config`` (plus ``extra`` state).

    The write is atomic. ``config`` must be plain data (it is compared on loading).
    """
    path = _check_checkpoint_path(path)
    _check_plain(config, "config")
    state = {"format": CHECKPOINT_FORMAT, "config": config, "history": list(history),
             "model": model.state_dict(), "model_signature": model_signature(model), **extra}
    _atomic_save(state, path)
    return path


def load_checkpoint(path, model: nn.Module | None = None) -> dict:
    """Read a checkpoint safely (``weights_only=True``), loading the weights into ``model``.

    Raises :class:`CheckpointError` (one line, naming the file) when the file is unreadable,
    is not a ``course_utils`` checkpoint, or holds a different model's weights.
    """
    name = runtime.relpath(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{name}: no such checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors alike mean "unreadable"
        raise CheckpointError(f"{name}: unreadable checkpoint ({type(err).__name__})") from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{name}: not a course_utils.train checkpoint")
    if model is not None:
        if state.get("model_signature") != model_signature(model):
            raise CheckpointError(f"{name}: saved from a different model (layer names or "
                                  "shapes differ)")
        model.load_state_dict(state["model"])
    return state


def _save_run(path, run: _Run, meta: dict, history: list, loader) -> None:
    """Checkpoint everything needed to continue ``fit`` exactly where it stopped."""
    save_checkpoint(path, run.model, history, meta["config"], fit_args=meta["fit_args"],
                    optimizer=run.optimizer.state_dict(),
                    scheduler=run.scheduler.state_dict(), scaler=run.scaler.state_dict(),
                    rng=_rng_state(loader))


def _mismatch(state: dict, meta: dict) -> str | None:
    """Why a readable checkpoint cannot continue this run, or ``None`` when it can."""
    if state.get("model_signature") != meta["model_signature"]:
        return "saved from a different model (layer names or shapes differ)"
    if state.get("config") != meta["config"]:
        return f"saved with a different config ({_diff(state.get('config'), meta['config'])})"
    if state.get("fit_args") != meta["fit_args"]:
        diff = _diff(state.get("fit_args"), meta["fit_args"])
        return f"saved with different fit arguments ({diff})"
    if len(state.get("history", ())) > meta["fit_args"]["epochs"]:
        return "holds more epochs than asked for"
    return None


def _diff(old, new, limit: int = 3) -> str:
    """A short ``key: old -> new`` description of how two configs differ."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return f"{old!r:.40} -> {new!r:.40}"
    keys = [k for k in {**old, **new} if old.get(k, "<missing>") != new.get(k, "<missing>")]
    parts = [f"{k}: {old.get(k, '<missing>')!r:.30} -> {new.get(k, '<missing>')!r:.30}"
             for k in keys[:limit]]
    return ", ".join(parts) + (", ..." if len(keys) > limit else "")


def _resume(path, run: _Run, meta: dict, loader, progress: bool) -> list[dict]:
    """Restore ``run`` from the checkpoint at ``path``; return the epochs already done.

    A missing file means a fresh start; an unusable one is reported and ignored.
    """
    name, path = runtime.relpath(path), Path(path)
    if not path.exists():
        return []
    try:
        state = load_checkpoint(path)
        problem = _mismatch(state, meta)
        if problem is None:
            _restore_state(run, state, loader)
    except (CheckpointError, KeyError, ValueError, RuntimeError, TypeError) as err:
        problem = str(err).removeprefix(f"{name}: ")
    if problem is not None:
        print(f"checkpoint {name}: {problem}; training from scratch")
        return []
    history, epochs = list(state["history"]), meta["fit_args"]["epochs"]
    if progress:
        done = "complete, training skipped" if len(history) == epochs else "resuming"
        print(f"checkpoint {name}: {len(history)}/{epochs} epochs done; {done}")
    return history


def _restore_state(run: _Run, state: dict, loader) -> None:
    """Load optimiser (first: it validates before changing anything), weights, RNG."""
    run.optimizer.load_state_dict(state["optimizer"])
    run.model.load_state_dict(state["model"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.scaler.load_state_dict(state["scaler"])
    _set_rng_state(state["rng"], loader)


def _rng_state(loader) -> dict:
    """Every random state the next epoch draws from: torch (CPU, CUDA), the loader's
    generator (shuffling), Python and NumPy (custom transforms)."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                       *np_state[2:]]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    generator = getattr(loader, "generator", None)
    if generator is not None:
        state["loader"] = generator.get_state()
    return state


def _set_rng_state(state: dict, loader) -> None:
    """Undo :func:`_rng_state`, so a resumed run draws the same numbers."""
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator = getattr(loader, "generator", None)
    if "loader" in state and generator is not None:
        generator.set_state(state["loader"])
