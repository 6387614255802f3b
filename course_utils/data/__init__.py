"""Data (notebooks 01 and 02): VOC 2012 on disk, the Dataset, its transforms, instance masks.

:mod:`.voc` reads the VOC layout (the bundled mini set or real VOC, found by :func:`find_voc_root`);
:mod:`.dataset` is the ``Dataset`` and ``DataLoader`` pair; :mod:`.augment_v2` builds the
``torchvision.transforms.v2`` pipelines (the default) and :mod:`.pair_transforms` the same in
plain tensor ops (a fast path for cached data); :mod:`.instances` turns masks into objects.
:mod:`.synth` (the mini set) and :mod:`.download` (real VOC) have command lines of their own.
"""

from . import augment_v2, dataset, download, instances, pair_transforms, synth, voc
from .augment_v2 import eval_transform, train_transform
from .dataset import VOCSegDataset, apply_v2, crop_dataset, loaders
from .pair_transforms import IMAGENET_MEAN, IMAGENET_STD, NormalizeBatch, denormalize
from .voc import (
    MINI_VOC_DIR,
    NUM_CLASSES,
    PALETTE,
    VOC_CLASSES,
    VOID,
    VOCDataError,
    data_tag,
    find_voc_root,
    pixel_counts,
    read_example,
    read_image,
    read_mask,
    read_split,
)

__all__ = [
    "data_tag", "find_voc_root", "MINI_VOC_DIR", "NUM_CLASSES", "PALETTE", "pixel_counts",
    "read_example", "read_image", "read_mask", "read_split", "VOC_CLASSES", "VOCDataError",
    "VOID", "apply_v2", "crop_dataset", "loaders", "VOCSegDataset", "eval_transform",
    "train_transform", "denormalize", "IMAGENET_MEAN", "IMAGENET_STD", "NormalizeBatch",
    "augment_v2", "dataset", "download", "instances", "pair_transforms", "synth", "voc",
]
