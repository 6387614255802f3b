"""Pretraining the course's encoder: torchvision's ``resnet18`` learns to classify the object
crops of :mod:`course_utils.data.synth.objects`, the course's stand-in for ImageNet (notebook 04).

The same architecture and code path as an ImageNet backbone: a segmentation network takes its
``conv1 ... layer4`` (:func:`course_utils.models.encoder_init`), exactly as it would take
torchvision's ImageNet weights.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from course_utils.data import NormalizeBatch
from course_utils.data.synth import objects

ENCODER_MODEL = {"name": "resnet18", "num_classes": objects.CLASSES}
PRETRAIN = {"task": "classify", "size": 64, "train_scenes": 6000, "heldout_scenes": 1000,
            "batch_size": 128, "optimizer": "adamw", "schedule": "poly", "lr": 2e-3,
            "zoom": [0.25, 1.0]}


class ObjectCrops(Dataset):
    """Object crops as uint8 ``(3, S, S)`` tensors with their labels; ``train`` adds v2's random
    resized crop (``zoom``: the share of the crop kept, so objects appear at several scales)
    and a horizontal flip, as ImageNet training does."""

    def __init__(self, images, labels, train: bool = False, zoom=(0.25, 1.0)):
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.from_numpy(labels)
        size = self.images.shape[-1]
        self.transform = v2.Compose([
            v2.RandomResizedCrop(size, scale=tuple(zoom), antialias=True),
            v2.RandomHorizontalFlip()]) if train else None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        return (self.transform(image) if self.transform else image), self.labels[i]


def crop_set(cfg: dict, split: str) -> ObjectCrops:
    """The ``train`` or ``heldout`` crops a pretraining config names (generated afresh)."""
    images, labels = objects.object_crops(objects.SEEDS[split], cfg[f"{split}_scenes"],
                                          cfg["size"])
    return ObjectCrops(images, labels, split == "train", cfg["zoom"])


def heldout_loader(cfg: dict) -> DataLoader:
    """The held-out crops in batches, normalised as for training."""
    return DataLoader(crop_set(cfg, "heldout"), 256, collate_fn=NormalizeBatch())


def crop_loaders(cfg: dict, seed: int) -> tuple[DataLoader, DataLoader]:
    """Shuffled training batches (the order from ``seed``) and the held-out batches."""
    train = DataLoader(crop_set(cfg, "train"), cfg["batch_size"], shuffle=True, drop_last=True,
                       generator=torch.Generator().manual_seed(seed), collate_fn=NormalizeBatch())
    return train, heldout_loader(cfg)
