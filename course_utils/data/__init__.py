"""Data (notebooks 01 and 02): VOC 2012 on disk, the Dataset, its transforms, instance masks.

:mod:`.voc` reads the VOC layout (the bundled mini set or real VOC, found by :func:`find_voc_root`);
:mod:`.dataset` is the ``Dataset`` and its ``DataLoader`` s (random training crops, whole
validation images); :mod:`.augment_v2` builds the stock ``torchvision.transforms.v2`` pipelines
and :mod:`.normalization` the ImageNet normalisation (per batch: ``NormalizeBatch``);
:mod:`.instances` turns masks into objects. :mod:`.synth` (the mini set) and :mod:`.download`
(real VOC) have command lines of their own.
"""

from . import augment_v2, dataset, download, instances, normalization, synth, voc
from .augment_v2 import eval_transform, train_transform
from .dataset import VOCSegDataset, apply_v2, crop_dataset, full_image_loader, loaders
from .normalization import IMAGENET_MEAN, IMAGENET_STD, NormalizeBatch, denormalize, normalize
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
    "VOID", "apply_v2", "crop_dataset", "full_image_loader", "loaders", "VOCSegDataset",
    "eval_transform", "train_transform", "denormalize", "normalize", "IMAGENET_MEAN",
    "IMAGENET_STD", "NormalizeBatch", "augment_v2", "dataset", "download", "instances",
    "normalization", "synth", "voc",
]
