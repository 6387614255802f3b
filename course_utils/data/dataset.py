"""A lazy (or cached) VOC segmentation Dataset, and the DataLoaders the notebooks train with.

The Dataset hands its ``torchvision.transforms.v2`` pipeline (:mod:`.augment_v2`) the decoded
uint8 image and label, so crops are cut before any pixel is converted to float. Training
reads random crops (:func:`crop_dataset`); validation reads whole images, one at a time
(:func:`full_image_loader`), as the VOC protocol scores them.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors

from .augment_v2 import train_transform
from .normalization import NormalizeBatch, to_unit_float
from .voc import find_voc_root, read_example, read_split


def apply_v2(transform, image, label):
    """Run a ``torchvision.transforms.v2`` pipeline on a pair wrapped as ``tv_tensors.Image`` and
    ``tv_tensors.Mask`` (so v2 moves both with one draw, resizes the mask NEAREST and leaves it
    out of photometric steps), returning plain tensors."""
    image, label = transform(tv_tensors.Image(image), tv_tensors.Mask(label))
    return image.as_subclass(torch.Tensor), label.as_subclass(torch.Tensor)


class VOCSegDataset(Dataset):
    """VOC segmentation pairs, read lazily from disk on each access, or cached in memory.

    ``root`` as :func:`~.voc.find_voc_root` takes it (``None``: real VOC or the mini set).
    Items are a float ``(3, H, W)`` image in [0, 1] (then whatever ``transform`` does) and an
    int64 ``(H, W)`` label, 0-20 and 255 for void. ``transform`` is a v2 pipeline, run by
    :func:`apply_v2`. ``cache=True`` decodes every pair once and keeps it as uint8 (4 bytes a
    pixel, a quarter of float images). ``raw=True`` returns items as the transform leaves
    them (uint8 image and label from the decoded bytes), for :class:`NormalizeBatch`.
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
        if self.transform is not None:
            image, label = apply_v2(self.transform, image, label)
        return (image, label) if self.raw else (to_unit_float(image), label.long())

    def __repr__(self):
        cached = ", cached" if self._cache is not None else ""
        cached += ", raw" if self.raw else ""
        return (f"VOCSegDataset(split={self.split!r}, n={len(self)}{cached}, "
                f"transform={self.transform!r})")


def crop_dataset(root, split: str, crop, resize: tuple[int, int] | None = None,
                 max_items: int | None = None, cache: bool = False) -> VOCSegDataset:
    """Random training crops of ``split`` (:func:`~.augment_v2.train_transform`: ``resize``
    scale jitter, crop, flip) as ``raw`` uint8 items, for ``collate_fn=NormalizeBatch()``."""
    return VOCSegDataset(root, split, train_transform(crop, resize, normalize=False),
                         max_items=max_items, cache=cache, raw=True)


def full_image_loader(root=None, split: str = "val", max_items: int | None = None,
                      cache: bool = False) -> DataLoader:
    """Whole images in split order, one per batch (their sizes differ), normalised as for
    training (by :class:`NormalizeBatch`): how the course validates and scores, the VOC way,
    so a model's score never depends on a crop size."""
    dataset = VOCSegDataset(root, split, max_items=max_items, cache=cache, raw=True)
    return DataLoader(dataset, batch_size=1, shuffle=False, pin_memory=torch.cuda.is_available(),
                      collate_fn=NormalizeBatch())


def loaders(crop, batch_size: int, root=None, max_train: int | None = None,
            max_val: int | None = None, seed: int = 0, resize: tuple[int, int] | None = None,
            cache: bool = False) -> tuple[DataLoader, DataLoader]:
    """Shuffled training batches of :func:`crop_dataset` crops (``resize``: scale jitter) and
    the whole validation images of :func:`full_image_loader`. The order comes from a generator
    seeded with ``seed`` and the crops from torch's (``set_seed``), so a run trains identically
    every time. Memory is pinned under CUDA."""
    train = crop_dataset(root, "train", crop, resize, max_train, cache)
    return (DataLoader(train, batch_size, shuffle=True, drop_last=True,
                       generator=torch.Generator().manual_seed(seed),
                       pin_memory=torch.cuda.is_available(), collate_fn=NormalizeBatch()),
            full_image_loader(root, "val", max_val, cache))
