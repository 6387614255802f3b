"""Checkpoints: safe saving and loading of weights, history and the state to resume a run.

A checkpoint is a plain dict saved with ``torch.save`` and read back with
``weights_only=True`` (no pickled code runs on loading). Writes are atomic: a temporary file
beside the target, then a rename, so a crash never leaves half a file. A checkpoint that cannot
continue a run (another model, another config) is never overwritten: it is kept under a new name.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import runtime

CHECKPOINT_FORMAT = "course_utils.train/1"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, not ours, or was saved from a different model."""


def model_signature(model: nn.Module) -> list:
    """``[name, shape]`` of every entry of the state dict: tells apart different models."""
    return [[name, list(t.shape)] for name, t in model.state_dict().items()]


def check_plain(value, name: str) -> None:
    """``value`` must be plain data (saved and loaded safely with ``weights_only=True``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_plain(k, name)
            check_plain(v, f"{name}[{k!r}]")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_plain(v, f"{name}[{i}]")
    elif type(value) not in (str, int, float, bool, type(None)):  # not subclasses: np.float64
        raise TypeError(f"{name}: {type(value).__name__} is not plain data; use str, int, "
                        "float, bool, None, lists, tuples and dicts of them")


def check_checkpoint_path(path) -> Path:
    """A checkpoint path must end in .pt/.pth/.ckpt, so fit never overwrites other files."""
    path = Path(path)
    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise ValueError(f"checkpoint={runtime.relpath(path)}: expected a file name ending "
                         f"in {', '.join(CHECKPOINT_SUFFIXES)}")
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint={runtime.relpath(path)} is a folder")
    return path


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``.

    A crash mid-write leaves the old file intact; nothing but ``path`` is ever replaced. The
    bytes go through memory first, so they do not depend on the temporary file's name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a saved file is not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(path, model: nn.Module, history=(), config=None, **extra) -> Path:
    """Save ``model``'s weights with its ``history`` and ``config`` (plus ``extra`` state).

    The write is atomic. ``config`` must be plain data (it is compared on loading).
    """
    path = check_checkpoint_path(path)
    check_plain(config, "config")
    state = {"format": CHECKPOINT_FORMAT, "config": config, "history": list(history),
             "model": model.state_dict(), "model_signature": model_signature(model), **extra}
    atomic_save(state, path)
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


def set_aside(path) -> Path:
    """Rename the file at ``path`` to a free ``<stem>.old<N><suffix>`` beside it; return it.

    Used instead of overwriting a checkpoint that belongs to another run.
    """
    path = Path(path)
    n = 1
    while (kept := path.with_name(f"{path.stem}.old{n}{path.suffix}")).exists():
        n += 1
    os.replace(path, kept)
    return kept


def mismatch(state: dict, meta: dict) -> str | None:
    """Why a readable checkpoint cannot continue the run ``meta`` describes, or ``None``."""
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


def rng_state(loader) -> dict:
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


def set_rng_state(state: dict, loader) -> None:
    """Undo :func:`rng_state`, so a resumed run draws the same numbers."""
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator = getattr(loader, "generator", None)
    if "loader" in state and generator is not None:
        generator.set_state(state["loader"])
