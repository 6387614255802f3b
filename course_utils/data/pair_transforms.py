"""Paired transforms with plain tensor ops: the fast path for cached data.

Each takes and returns ``(image, label)``: a ``(3, H, W)`` image (uint8, or float in [0, 1])
and an integer ``(H, W)`` label, moved by the *same* random draw. Labels are resized NEAREST
(never blended into invalid classes) and padded with 255 (void, never counted).

:mod:`.augment_v2` (the default) draws with the functions below from torch's generator, in the
same order, with the same arithmetic: one seed gives the same tensors bit for bit. These skip
v2's per-call wrapping and dispatching, most of an item's cost once images are cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

from .voc import VOID

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)
MEAN_255, INV_STD_255 = 255.0 * MEAN, 1.0 / (255.0 * STD)  # for uint8 images, in one pass


def pair_size(size) -> tuple[int, int]:
    """``(H, W)`` from an int (square) or a pair."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


@dataclass
class Compose:
    """Apply paired transforms in order."""

    transforms: list

    def __call__(self, image, label):
        for t in self.transforms:
            image, label = t(image, label)
        return image, label


def crop_window(image, label, top: int, left: int, size):
    """The ``size`` window at (``top``, ``left``) of the pair padded right and bottom (image 0,
    label 255): a view inside the image, else a new tensor holding the overlap, so the padded
    image is never built and the source (a cache) never written."""
    h, w = label.shape[-2:]
    rows, cols = slice(top, top + size[0]), slice(left, left + size[1])
    if top + size[0] <= h and left + size[1] <= w:
        return image[..., rows, cols], label[rows, cols]
    out_image = image.new_zeros((*image.shape[:-2], *size))
    out_label = label.new_full(size, VOID)
    hh, ww = min(h - top, size[0]), min(w - left, size[1])
    out_image[..., :hh, :ww] = image[..., top:top + hh, left:left + ww]
    out_label[:hh, :ww] = label[top:top + hh, left:left + ww]
    return out_image, out_label


def draw_crop_origin(size, crop) -> tuple[int, int]:
    """``(top, left)`` of a random ``crop`` in an image of ``size`` padded up to the crop:
    two draws, top then left, made even when a side has no room (then 0), so the random
    stream after them does not depend on the image's size."""
    top = int(torch.randint(0, max(size[0], crop[0]) - crop[0] + 1, ()))
    left = int(torch.randint(0, max(size[1], crop[1]) - crop[1] + 1, ()))
    return top, left


def center_origin(size, crop) -> tuple[int, int]:
    """``(top, left)`` of the central ``crop`` of an image of ``size`` padded up to the crop:
    an odd margin puts the extra pixel below and to the right."""
    return max(size[0] - crop[0], 0) // 2, max(size[1] - crop[1], 0) // 2


@dataclass
class RandomCrop:
    """A random ``size`` crop of image and label at the same place; smaller images are padded
    (image 0, label 255), never dropped as d2l's ``VOCSegDataset`` drops them."""

    size: tuple[int, int]

    def __post_init__(self):
        self.size = pair_size(self.size)

    def __call__(self, image, label):
        return crop_window(image, label, *draw_crop_origin(label.shape, self.size), self.size)


class CenterCrop(RandomCrop):
    """The central ``size`` crop (padded with 0 / 255 when the image is smaller)."""

    def __call__(self, image, label):
        return crop_window(image, label, *center_origin(label.shape, self.size), self.size)


@dataclass
class RandomHorizontalFlip:
    """Mirror image and label together with probability ``p``."""

    p: float = 0.5

    def __call__(self, image, label):
        if float(torch.rand(())) < self.p:  # one draw, as v2.RandomHorizontalFlip makes it
            return image.flip(-1), label.flip(-1)
        return image, label


def check_scale_range(low: float, high: float) -> tuple[float, float]:
    """``(low, high)`` of a scale jitter, or a ValueError unless ``0 < low <= high``."""
    if not 0 < low <= high:
        raise ValueError(f"RandomScale: need 0 < low <= high, got low={low}, high={high}")
    return low, high


def draw_scaled_size(size, low: float, high: float) -> tuple[int, int]:
    """``size`` (H, W) times one factor drawn uniformly from ``[low, high]``, rounded, at
    least 1 pixel a side."""
    s = low + (high - low) * float(torch.rand(()))
    return max(1, round(size[0] * s)), max(1, round(size[1] * s))


@dataclass
class RandomScale:
    """Scale jitter: rescale image and label by one factor drawn uniformly from ``[low, high]``.
    The image becomes float in [0, 1], resized bilinear (antialiased when shrinking)."""

    low: float = 0.75
    high: float = 1.5

    def __post_init__(self):
        check_scale_range(self.low, self.high)

    def __call__(self, image, label):
        size = draw_scaled_size(label.shape[-2:], self.low, self.high)
        shrink = size[0] < label.shape[-2] or size[1] < label.shape[-1]
        image = F.interpolate(to_unit_float(image)[None], size=size, mode="bilinear",
                              align_corners=False, antialias=shrink)[0]
        label = F.interpolate(label[None, None].float(), size=size,
                              mode="nearest")[0, 0].to(label.dtype)
        return image, label


def to_unit_float(image: torch.Tensor) -> torch.Tensor:
    """A uint8 image as float in [0, 1]; a float image unchanged."""
    return image.float().div_(255.0) if image.dtype == torch.uint8 else image


@dataclass
class Normalize:
    """Standardise the image channels with ImageNet statistics; the label is untouched.
    Takes a float image in [0, 1] or a uint8 image (0-255, converted in the same pass)."""

    def __call__(self, image, label):
        if image.dtype == torch.uint8:  # convert once, then subtract and scale in place
            return image.float().sub_(MEAN_255).mul_(INV_STD_255), label
        return (image - MEAN) / STD, label


def denormalize(image):
    """Undo :class:`Normalize` for display: back to [0, 1] floats."""
    return (image * STD.to(image.device) + MEAN.to(image.device)).clamp(0, 1)


def train_transform(crop, scale: tuple[float, float] | None = None,
                    normalize: bool = True) -> Compose:
    """The usual training pipeline: (scale jitter,) random crop (padded), random flip,
    normalise (``normalize=False`` leaves that to the batch: :class:`NormalizeBatch`)."""
    steps = [RandomScale(*scale)] if scale else []
    return Compose([*steps, RandomCrop(crop), RandomHorizontalFlip(),
                    *([Normalize()] if normalize else [])])


def eval_transform(crop, normalize: bool = True) -> Compose:
    """Deterministic evaluation pipeline: centre crop (padded), normalise (or not, as in
    :func:`train_transform`)."""
    return Compose([CenterCrop(crop), *([Normalize()] if normalize else [])])


@dataclass
class NormalizeBatch:
    """A DataLoader ``collate_fn``: stack the items, then normalise the whole batch at once.
    For raw uint8 items, one conversion per batch, bit-identical to normalising item by item."""

    def __call__(self, items):
        images, labels = Normalize()(*default_collate(items))
        return images, labels.long()
