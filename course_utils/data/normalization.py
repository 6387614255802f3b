"""ImageNet normalisation: per image, per collated batch (the loaders' ``collate_fn``), undone.

The course's datasets hand out uint8 items (a quarter of the bytes of float ones); converting
to float and normalising happens once per batch, after collation, in :class:`NormalizeBatch`.
Every pretrained backbone the course uses expects these statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import default_collate

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)
MEAN_255, INV_STD_255 = 255.0 * MEAN, 1.0 / (255.0 * STD)  # for uint8 images, in one pass


def to_unit_float(image: torch.Tensor) -> torch.Tensor:
    """A uint8 image as float in [0, 1]; a float image unchanged."""
    return image.float().div_(255.0) if image.dtype == torch.uint8 else image


def normalize(image: torch.Tensor) -> torch.Tensor:
    """Standardise the channels of ``(..., 3, H, W)`` images with the ImageNet statistics.
    Takes float images in [0, 1], or uint8 ones (0-255), converted and scaled in one pass
    instead of three (divide, subtract, divide): the cheap step of a cached epoch."""
    if image.dtype == torch.uint8:
        return image.float().sub_(MEAN_255).mul_(INV_STD_255)
    return (image - MEAN.to(image.device)) / STD.to(image.device)


def denormalize(image: torch.Tensor) -> torch.Tensor:
    """Undo :func:`normalize` for display: back to floats in [0, 1]."""
    return (image * STD.to(image.device) + MEAN.to(image.device)).clamp(0, 1)


@dataclass
class NormalizeBatch:
    """A DataLoader ``collate_fn``: stack the items, then :func:`normalize` the whole batch at
    once (one float conversion per batch, not per item); labels become int64."""

    def __call__(self, items):
        images, labels = default_collate(items)
        return normalize(images), labels.long()
