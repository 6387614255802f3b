"""A lazy (or cached) VOC segmentation Dataset, and the DataLoaders the notebooks train with.

The Dataset hands its transform the decoded uint8 image and uint8 label, so crops are cut
before any pixel is converted to float, and returns float images in [0, 1] (normalised when
the pipeline says so) with int64 labels; with ``raw=True`` it leaves that conversion to a
collate function that does it per batch (:class:`NormalizeBatch`). The pipelines are
``torchvision.transforms.v2`` ones (:mod:`course_utils.data.augment_v2`: ``train_transform`` and
``eval_transform`` here are those); the same pipelines with plain tensor ops, the fast path
for cached data, are in :mod:`course_utils.data.pair_transforms` (its classes importable from here).
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from . import augment_v2, pair_transforms
from .pair_transforms import NormalizeBatch, to_unit_float
from .voc import find_voc_root, read_example, read_split


def apply_v2(transform, image, label):
    """Run a ``torchvision.transforms.v2`` pipeline on a pair: the image wrapped as
    ``tv_tensors.Image`` and the label as ``tv_tensors.Mask``, so that v2 moves both with the
    same parameters, uses NEAREST for the mask and leaves it out of photometric steps. Returns
    plain tensors."""
    image, label = transform(tv_tensors.Image(image), tv_tensors.Mask(label))
    return image.as_subclass(torch.Tensor), label.as_subclass(torch.Tensor)


class VOCSegDataset(Dataset):
    """VOC segmentation pairs, read lazily from disk on each access, or cached in memory.

    ``root`` follows :func:`~course_utils.voc.find_voc_root` (``None`` finds real VOC or
    the mini set). Items are ``(image, label)``: a float ``(3, H, W)`` image in [0, 1]
    (then whatever ``transform`` does, e.g. normalise) and an int64 ``(H, W)`` label with
    values 0-20 and 255 for void. By default nothing is preloaded, so construction is
    instant and memory stays flat however large the split. ``transform`` is a
    ``torchvision.transforms.v2`` pipeline (see :func:`apply_v2`), such as
    :func:`train_transform`, or a paired transform of :mod:`~course_utils.pair_transforms`.
    ``cache=True`` decodes every
    image and mask once, at construction, and keeps them as uint8 (4 bytes a pixel): epochs
    then decode nothing, for a quarter of the memory that float images would take.
    ``raw=True`` returns the items as the transform leaves them (uint8 image and label unless
    a step made the image float), for :class:`NormalizeBatch` to convert batch by batch.
    """

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train",
                 transform=None, max_items: int | None = None, cache: bool = False,
                 raw: bool = False):
        self.root = find_voc_root(root)
        self.split = split
        self.ids = read_split(self.root, split)[:max_items]
        self.transform = transform
        self.raw = raw
        self._cache = [self._read(i) for i in self.ids] if cache else None

    def _read(self, image_id: str):
        image, label = read_example(self.root, image_id)
        return image, label.to(torch.uint8)  # 0-20 and 255 fit a byte

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        image, label = self._cache[i] if self._cache is not None else self._read(self.ids[i])
        if isinstance(self.transform, v2.Transform):
            image, label = apply_v2(self.transform, image, label)
        elif self.transform is not None:
            image, label = self.transform(image, label)
        return (image, label) if self.raw else (to_unit_float(image), label.long())

    def __repr__(self):
        cached = ", cached" if self._cache is not None else ""
        cached += ", raw" if self.raw else ""
        return (f"VOCSegDataset(split={self.split!r}, n={len(self)}{cached}, "
                f"transform={self.transform!r})")


def crop_dataset(root, split: str, crop, scale: tuple[float, float] | None = None,
                 max_items: int | None = None, cache: bool = False,
                 use_v2: bool = True) -> VOCSegDataset:
    """Random training crops (``split="train"``) or centre crops (any other split) of VOC.

    The items are ``raw``: they stay uint8 and the DataLoader normalises whole batches
    (``collate_fn=NormalizeBatch()``), bit-identical to normalising each item and faster.
    The pipelines are ``torchvision.transforms.v2`` ones (:mod:`course_utils.data.augment_v2`);
    ``use_v2=False`` runs the same draws and arithmetic with plain tensor ops
    (:mod:`course_utils.data.pair_transforms`): the same items bit for bit, several times cheaper
    per item, which only shows once ``cache=True`` has taken the decoding away.
    """
    pipelines = augment_v2 if use_v2 else pair_transforms
    if split == "train":
        transform = pipelines.train_transform(crop, scale, normalize=False)
    else:
        transform = pipelines.eval_transform(crop, normalize=False)
    return VOCSegDataset(root, split, transform, max_items=max_items, cache=cache, raw=True)


def loaders(crop, batch_size: int, root=None, val_crop=None, num_workers: int = 0,
            max_train: int | None = None, max_val: int | None = None, seed: int = 0,
            scale: tuple[float, float] | None = None, cache: bool = False, use_v2: bool = True):
    """Train and val DataLoaders over VOC (or the mini set) with the standard transforms
    (:func:`crop_dataset`).

    ``scale`` adds scale jitter to the training crops; ``cache`` keeps the decoded images in
    memory (see :class:`VOCSegDataset`); ``use_v2=False`` swaps the v2 pipelines for the
    tensor fast path (see :func:`crop_dataset`). The training order and
    crops come from a generator seeded with ``seed``, so the fast profile trains identically
    every run. Memory is pinned when CUDA is available.
    """
    from torch.utils.data import DataLoader

    train = crop_dataset(root, "train", crop, scale, max_train, cache, use_v2)
    val = crop_dataset(root, "val", val_crop or crop, None, max_val, cache, use_v2)
    pin = torch.cuda.is_available()
    gen = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size, shuffle=True, drop_last=True, generator=gen,
                       num_workers=num_workers, pin_memory=pin, collate_fn=NormalizeBatch()),
            DataLoader(val, batch_size, shuffle=False, num_workers=num_workers, pin_memory=pin,
                       collate_fn=NormalizeBatch()))
