"""Resumable checkpoints for ``fit``: save after each epoch, resume, never overwrite a stranger.

A checkpoint is a plain dict, as torchvision's reference scripts keep: state dicts, history,
``config``, ``fit`` arguments and random states (a resumed run draws the same crops).
"""

import io
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from course_utils import runtime

FORMAT = "course_utils.train/2"
# Format 1 also kept a layer signature and an unused GradScaler state; the rest means the same.
READABLE = ("course_utils.train/1", FORMAT)


def atomic_write(data: bytes, path: Path) -> None:
    """Write ``data`` beside ``path``, then rename it over ``path``: a crash mid-write leaves
    the old file intact, and a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; a saved file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save(obj, path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(buffer.getvalue(), Path(path))


def load(path) -> dict:
    """A checkpoint's contents, read with ``weights_only=True`` (no pickled code runs)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict's floating tensors in float32 (weights shipped or saved in half precision),
    the others (BatchNorm's batch counts) as they are."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def check_plain(value, name: str) -> None:
    """Raise unless ``value`` is plain data, which ``weights_only=True`` loads back."""
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


def save(path, parts: dict, history: list, meta: dict, loader) -> None:
    """Checkpoint the state dicts of ``parts`` with ``history``, ``meta`` and the random states."""
    state = {"format": FORMAT, **meta, "history": list(history), "rng": rng_state(loader),
             **{name: part.state_dict() for name, part in parts.items()}}
    atomic_save(state, path)


def resume(path, parts: dict, meta: dict, loader, rename: bool = True,
           verbose: bool = True) -> list[dict]:
    """Restore ``parts`` and the random states from ``path``; return the finished epochs'
    history, or ``[]`` (train from scratch) after renaming aside a file that cannot continue."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        state = load(path)
    except Exception as err:  # pickle, zip and torch errors alike mean "unreadable"
        problem = f"unreadable ({type(err).__name__})"
    else:
        problem = _problem(state, parts, meta)
    if problem is None:
        try:  # the optimiser first: loading its state checks it against the model's parameters
            for name, part in parts.items():
                if name == "scaler" and name not in state:
                    continue  # saved without float16 (CPU, bfloat16): a fresh scaler is right
                part.load_state_dict(state[name])
            set_rng_state(state["rng"], loader)
            history = list(state["history"])
        except (KeyError, ValueError, RuntimeError) as err:
            problem = f"cannot be restored ({type(err).__name__}: {str(err).splitlines()[0]})"
        else:
            done, epochs = len(history), meta["fit_args"]["epochs"]
            if verbose and done:
                print(f"checkpoint {runtime.relpath(path)}: {done}/{epochs} epochs done; "
                      f"{'complete, training skipped' if done == epochs else 'resuming'}")
            return history
    if rename:  # to a free <stem>.old<N><suffix> beside it
        n = 1
        while (kept := path.with_name(f"{path.stem}.old{n}{path.suffix}")).exists():
            n += 1
        os.replace(path, kept)
        print(f"checkpoint {runtime.relpath(path)}: {problem}; kept it as "
              f"{runtime.relpath(kept)}, training from scratch")
    return []


def _problem(state, parts: dict, meta: dict) -> str | None:
    """Why a loaded checkpoint cannot continue the run ``meta`` describes, or ``None``."""
    if not isinstance(state, dict) or "format" not in state:
        return "not a course_utils.training checkpoint"
    if state["format"] not in READABLE:
        return f"written in format {state['format']!r}; this version reads {READABLE}"
    missing = [name for name in (*parts, "rng", "history")
               if name not in state and name != "scaler"]
    if missing:
        return f"saved without the {', '.join(missing)} state"
    saved = state.get("model")
    shapes = [(k, tuple(v.shape)) for k, v in parts["model"].state_dict().items()]
    if not isinstance(saved, dict) or [(k, tuple(v.shape)) for k, v in saved.items()] != shapes:
        return "saved from a different model (layer names or shapes differ)"
    for key, what in (("config", "config"), ("fit_args", "fit arguments")):
        if state.get(key) != meta[key]:
            return f"saved with a different {what} ({_diff(state.get(key), meta[key])})"
    return None


def _diff(old, new) -> str:
    """``key: old -> new`` for up to three keys that differ."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return f"{old!r:.40} -> {new!r:.40}"
    keys = [k for k in {**old, **new} if old.get(k, "<missing>") != new.get(k, "<missing>")]
    return ", ".join(f"{k}: {old.get(k)!r:.30} -> {new.get(k)!r:.30}" for k in keys[:3])


def rng_state(loader) -> dict:
    """Every random state the next epoch draws from: torch, the loader's, Python's, NumPy's."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                       *np_state[2:]]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if getattr(loader, "generator", None) is not None:
        state["loader"] = loader.generator.get_state()
    return state


def set_rng_state(state: dict, loader) -> None:
    """Undo :func:`rng_state`, so a resumed run draws the same numbers."""
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "loader" in state and getattr(loader, "generator", None) is not None:
        loader.generator.set_state(state["loader"])
