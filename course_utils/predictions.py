"""A model's predictions over a data set, computed once and kept on disk.

Scoring a trained model on every whole validation image is the slowest step of the analysis
notebooks on a CPU, and several of them score the same reference model on the same images.
The predictions depend only on the weights (and the device and dtype they run in) and on the
images, so :func:`predictions` keeps them in the checkpoint folder
(:func:`course_utils.runtime.checkpoint_dir`, under ``predictions/``), named by a hash of
both: the next notebook that scores the same model on the same images reads them back; any
changed weight, image file, transform or split gives another name, so a stale file is never
read. Label maps compress well: the 200 mini-set val images take well under a megabyte.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, SequentialSampler

from .runtime import checkpoint_dir
from .voc import image_path, mask_path
from .voc_dataset import VOCSegDataset

FOLDER = "predictions"


def model_digest(model: nn.Module) -> str:
    """SHA-256 of a model's class, its printed structure (layer settings such as dilation
    rates, which no weight shows) and every parameter's and buffer's name, dtype, shape,
    device type and values."""
    digest = hashlib.sha256(f"{type(model).__qualname__}|{model!r}".encode())
    for name, value in model.state_dict().items():
        flat = value.detach().cpu().reshape(-1).contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}:{value.device.type}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def data_digest(dataset: VOCSegDataset) -> str:
    """SHA-256 of what a dataset's items are made from: its folder, split, ids, transform and
    the size and modification time of every image and mask file it reads."""
    digest = hashlib.sha256(f"{Path(dataset.root).resolve()}|{dataset.split}|"
                            f"{dataset.transform!r}|{dataset.raw}".encode())
    for image_id in dataset.ids:
        digest.update(image_id.encode())
        for path in (image_path(dataset.root, image_id), mask_path(dataset.root, image_id)):
            stat = os.stat(path)
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def cache_path(model: nn.Module, loader: DataLoader) -> Path | None:
    """Where the predictions of ``model`` over ``loader`` are kept, or ``None`` when they
    cannot be: a shuffled loader, a dataset other than :class:`VOCSegDataset`, or a model
    without weights (whatever decides its output is not in a state dict to hash)."""
    dataset = loader.dataset
    if (not isinstance(dataset, VOCSegDataset) or not isinstance(loader.sampler,
                                                                 SequentialSampler)
            or next(model.parameters(), None) is None):
        return None
    key = hashlib.sha256(f"{model_digest(model)}|{data_digest(dataset)}".encode())
    return checkpoint_dir() / FOLDER / f"{key.hexdigest()[:32]}.npz"


def _read(path: Path, n: int) -> list[torch.Tensor] | None:
    """The ``n`` cached label maps in ``path``, or ``None`` if missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            maps = [torch.from_numpy(stored[f"p{i}"]).long() for i in range(n)]
        return maps if len(maps) == n else None
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # a file cut short or written by something else: compute again


def _write(path: Path, maps: list[torch.Tensor]) -> None:
    """Save label maps compressed, through a temporary file, so a reader never sees half."""
    small = all(m.numel() == 0 or 0 <= int(m.min()) <= int(m.max()) < 256 for m in maps)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f"p{i}": m.numpy().astype(np.uint8 if small else np.int64)
                                   for i, m in enumerate(maps)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path):
    """Hold a lock beside ``path`` (where the OS has ``fcntl``), so that two notebooks run at
    once compute a model's predictions once: the second waits, then reads the file."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the worst case is computing twice
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def predictions(model: nn.Module, loader: DataLoader, cache: bool = True,
                refresh: bool = False) -> list[torch.Tensor]:
    """``train.predict`` over every batch of ``loader``: one ``(H, W)`` int64 label map per
    image, in the loader's order (on the CPU).

    With ``cache`` (the default), read them from the checkpoint folder when this model has
    already been run on these images, else compute and store them there (see the module
    docstring); ``refresh`` computes them even then and stores the result (what
    ``reference --verify`` does: it checks the model, and leaves the notebooks its work);
    ``cache=False`` always computes and stores nothing.
    """
    from .train import predict  # train imports metrics, which evaluation also needs

    def compute():
        return [p for images, _ in loader for p in predict(model, images).cpu()]

    path = cache_path(model, loader) if cache else None
    if path is None:
        return compute()
    with _locked(path):
        maps = _read(path, len(loader.dataset)) if path.is_file() and not refresh else None
        if maps is None:
            maps = compute()
            _write(path, maps)
    return maps
