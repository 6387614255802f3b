"""A model's predictions over a VOC split, computed once and kept on disk for the next notebook.

Scoring whole validation images is the slowest step of the analysis notebooks on a CPU; a file
is named by a hash of the model (structure, device, weights) and data, never read for another.
"""

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, SequentialSampler

from course_utils.data import VOCSegDataset
from course_utils.runtime import checkpoint_dir

from . import loop
from .checkpoints import atomic_write


def cache_path(model: nn.Module, loader: DataLoader) -> Path | None:
    """Where the predictions of ``model`` over ``loader`` are kept, or ``None`` for a shuffled
    loader, a dataset other than :class:`VOCSegDataset` or a model without weights to hash."""
    data, state = loader.dataset, model.state_dict()
    if (not isinstance(data, VOCSegDataset) or not isinstance(loader.sampler, SequentialSampler)
            or not state):
        return None
    device = next(iter(state.values())).device.type  # a GPU's labels may differ from a CPU's
    key = hashlib.sha256(f"{model!r}|{device}|{Path(data.root).resolve()}|{data.split}|"
                         f"{data.ids}|{data.transform!r}|{data.raw}".encode())
    for name, value in state.items():  # the layer settings are in the repr, the weights here
        key.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
        key.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return checkpoint_dir() / "predictions" / f"{key.hexdigest()[:32]}.npz"


def _read(path: Path, n: int) -> list[torch.Tensor] | None:
    """The ``n`` label maps stored in ``path``, or ``None``."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return [torch.from_numpy(stored[f"p{i}"]).long() for i in range(n)]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # absent, cut short or written by something else: compute again


def _write(path: Path, maps: list[torch.Tensor]) -> None:
    """Save label maps compressed (as bytes when they fit), atomically."""
    small = all(m.numel() == 0 or 0 <= int(m.min()) <= int(m.max()) < 256 for m in maps)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f"p{i}": m.numpy().astype(np.uint8 if small else np.int64)
                                   for i, m in enumerate(maps)})
    atomic_write(buffer.getvalue(), path)


def predictions(model: nn.Module, loader: DataLoader, cache: bool = True,
                refresh: bool = False) -> list[torch.Tensor]:
    """``predict`` over ``loader``: one ``(H, W)`` int64 label map per image, on the CPU, kept
    in the checkpoint folder (``cache``) and read back, unless ``refresh`` (``--verify``)."""
    path = cache_path(model, loader) if cache else None
    maps = _read(path, len(loader.dataset)) if path is not None and not refresh else None
    if maps is None:
        maps = [p for images, _ in loader for p in loop.predict(model, images).cpu()]
        if path is not None:
            _write(path, maps)
    return maps
