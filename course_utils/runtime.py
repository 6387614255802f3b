"""Where the notebooks run: seed, device, and the ``fast`` / ``full`` profile.

One switch chooses how big the experiments are. ``fast`` (CPU, small crops, few epochs,
one thread) is what CI and the stored notebook outputs use; ``full`` (GPU, real crop
sizes, more epochs) is for a learner with a CUDA or MPS device. The default is ``full``
on such a device and ``fast`` otherwise; ``COURSE_PROFILE=fast|full`` overrides it.
"""

from __future__ import annotations

import importlib
import os
import platform
import random
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .requirements import PACKAGES

PROFILES = ("fast", "full")
CHECKPOINT_ENV = "COURSE_CHECKPOINT_DIR"  # where notebooks keep their checkpoints
FAST_THREADS = 1  # CPU results are bit-identical run to run only at a fixed thread count
FIGURE_DPI = 100  # legible labels when projected; PNGs stay small enough to commit
REPO_ROOT = Path(__file__).resolve().parent.parent


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a notebook re-runs identically."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device() -> torch.device:
    """The best device available: CUDA, then Apple MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("mps" if torch.backends.mps.is_available() else "cpu")


def profile() -> str:
    """The active profile: ``$COURSE_PROFILE`` if set, else ``full`` on a GPU, ``fast`` on a CPU."""
    name = os.environ.get("COURSE_PROFILE", "").strip().lower()
    if not name:
        return "full" if device().type != "cpu" else "fast"
    if name not in PROFILES:
        raise ValueError(f"COURSE_PROFILE={name!r}: expected one of {', '.join(PROFILES)}")
    return name


def choose(fast, full):
    """``fast`` or ``full`` according to the active profile, so a notebook writes each setting
    once, side by side: ``cfg = choose(fast=dict(epochs=3), full=dict(epochs=30))``."""
    return fast if profile() == "fast" else full


def setup(seed: int = 0, verbose: bool = True) -> torch.device:
    """Seed everything, set the figure resolution, print versions and return the device; the
    ``fast`` profile always uses the CPU, with ``FAST_THREADS`` threads, for reproducibility."""
    set_seed(seed)
    import matplotlib

    matplotlib.rcParams.update({"figure.dpi": FIGURE_DPI, "savefig.dpi": FIGURE_DPI})
    if profile() == "fast":
        torch.set_num_threads(FAST_THREADS)
        dev = torch.device("cpu")
    else:
        dev = device()
    if verbose:
        print(report(dev))
    return dev


# What the notebooks import, and the command that installs each (d2l pins ancient numpy and
# matplotlib exactly, so it goes in on its own, without its pins).
def require(name: str):
    """Import and return the module ``name``, or fail with one line saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        top = name.split(".")[0]
        how = PACKAGES.get(top, f"pip install {top}")
        raise ModuleNotFoundError(f"{top} is not installed; install it with: {how} "
                                  "(or run `make install`)", name=top) from None


def report(dev: torch.device | None = None) -> str:
    """A short text: Python and package versions, device, profile and thread count."""
    dev = dev or device()
    lines = [f"python       {platform.python_version()}"]
    for pkg in ("torch", "torchvision", "numpy", "matplotlib", "d2l"):
        try:
            version = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            version = "not installed"
        lines.append(f"{pkg:<12} {version}")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type
    lines += [f"device       {name}", f"profile      {profile()}",
              f"threads      {torch.get_num_threads()}"]
    return "\n".join(lines)


def relpath(path: str | os.PathLike) -> str:
    """``path`` relative to the repository root when inside it: stored notebook outputs must
    not carry absolute paths."""
    p = Path(path).resolve()
    try:
        return p.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(p)


def checkpoint_dir() -> Path:
    """Where notebooks keep checkpoints: ``$COURSE_CHECKPOINT_DIR``, else ``checkpoints/``."""
    return Path(os.environ.get(CHECKPOINT_ENV) or REPO_ROOT / "checkpoints")


def checkpoint_path(name: str, data: str | None = None) -> Path:
    """``<name>-<profile>[-<data>].pt`` in :func:`checkpoint_dir`; ``data``
    (:func:`course_utils.data.data_tag`) keeps mini-set models apart from real-VOC ones."""
    parts = [name, profile()] + ([data] if data else [])
    return checkpoint_dir() / ("-".join(parts) + ".pt")
