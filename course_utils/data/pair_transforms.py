"""Paired transforms with plain tensor ops: the fast path for cached data.

Every transform takes and returns a pair ``(image, label)``: ``image`` a ``(3, H, W)`` tensor
(uint8 as decoded, or float in [0, 1]), ``label`` an integer ``(H, W)`` tensor. Geometry (crop,
flip, resize) is applied to both with the *same* random draw; labels are resized with NEAREST
(never blended into invalid classes) and padded with 255 (void), so padding never counts in the
loss or the metrics. Randomness comes from ``torch``'s generator, so ``set_seed`` makes it
repeatable. Crops are cut from uint8 images before any pixel is converted to float.

The course's default pipelines are written with ``torchvision.transforms.v2``
(:mod:`course_utils.data.augment_v2`); they draw with the functions below, in the same order, and do
the same arithmetic, so with the same seed both give the same tensors bit for bit (tested).
What differs is the cost: a v2 transform spends tens of microseconds per call wrapping and
dispatching, which is nothing next to decoding a file, but is most of an item's cost once the
images are cached in memory. ``loaders(..., cache=True, use_v2=False)`` uses this module for
that reason (``make bench`` times both). The Dataset is :mod:`course_utils.voc_dataset`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .voc import VOID

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pair_size(size) -> tuple[int, int]:
    """``(H, W)`` from an int (square) or a pair."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


class Compose:
    """Apply paired transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, label):
        for t in self.transforms:
            image, label = t(image, label)
        return image, label

    def __repr__(self):
        return f"Compose({self.transforms})"


def pad_to(image, label, size):
    """Pad on the right/bottom up to ``size`` (H, W): image with 0, label with 255 (void)."""
    h, w = label.shape[-2:]
    ph, pw = max(size[0] - h, 0), max(size[1] - w, 0)
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph), value=0.0)
        label = F.pad(label, (0, pw, 0, ph), value=VOID)
    return image, label


def crop_window(image, label, top: int, left: int, size):
    """The ``size`` window at (``top``, ``left``) of the pair padded as :func:`pad_to` pads it.

    The same result as ``pad_to`` followed by slicing, without building the padded image:
    a window inside the image is a view; one that runs past the bottom or right edge is a new
    tensor of zeros (image) or 255 (label) with the overlap copied in.
    """
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
    """``(top, left)`` of a random ``crop`` (H, W) in an image of ``size`` (H, W) padded up to
    the crop: two torch draws, top then left, made even when a side has no room (then 0), so
    the random stream after them does not depend on the image's size."""
    top = int(torch.randint(0, max(size[0], crop[0]) - crop[0] + 1, ()))
    left = int(torch.randint(0, max(size[1], crop[1]) - crop[1] + 1, ()))
    return top, left


def center_origin(size, crop) -> tuple[int, int]:
    """``(top, left)`` of the central ``crop`` (H, W) of an image of ``size`` (H, W) padded up
    to the crop: an odd margin puts the extra pixel below and to the right."""
    return max(size[0] - crop[0], 0) // 2, max(size[1] - crop[1], 0) // 2


class RandomCrop:
    """A random ``size`` crop of image and label at the same place.

    Images smaller than the crop are padded first (image 0, label 255), so no image is ever
    dropped, unlike d2l's ``VOCSegDataset``, which filters them out.
    """

    def __init__(self, size):
        self.size = pair_size(size)

    def __call__(self, image, label):
        return crop_window(image, label, *draw_crop_origin(label.shape, self.size), self.size)

    def __repr__(self):
        return f"RandomCrop({self.size})"


class CenterCrop(RandomCrop):
    """The central ``size`` crop (padded with 0 / 255 when the image is smaller)."""

    def __call__(self, image, label):
        return crop_window(image, label, *center_origin(label.shape, self.size), self.size)

    def __repr__(self):
        return f"CenterCrop({self.size})"


class RandomHorizontalFlip:
    """Mirror image and label together with probability ``p``."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, image, label):
        if float(torch.rand(())) < self.p:  # one draw, as v2.RandomHorizontalFlip makes it
            return image.flip(-1), label.flip(-1)
        return image, label

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def resize_pair(image, label, size):
    """``image`` bilinear (antialiased when shrinking) to float [0, 1], ``label`` NEAREST."""
    shrink = size[0] < label.shape[-2] or size[1] < label.shape[-1]
    image = F.interpolate(to_unit_float(image)[None], size=size, mode="bilinear",
                          align_corners=False, antialias=shrink)[0]
    label = F.interpolate(label[None, None].float(), size=size,
                          mode="nearest")[0, 0].to(label.dtype)
    return image, label


class Resize:
    """Resize to ``size`` (H, W): bilinear for the image, NEAREST for the label."""

    def __init__(self, size):
        self.size = pair_size(size)

    def __call__(self, image, label):
        return resize_pair(image, label, self.size)

    def __repr__(self):
        return f"Resize({self.size})"


def check_scale_range(low: float, high: float) -> tuple[float, float]:
    """``(low, high)`` of a scale jitter, or a ValueError unless ``0 < low <= high``."""
    if not 0 < low <= high:
        raise ValueError(f"RandomScale: need 0 < low <= high, got low={low}, high={high}")
    return low, high


def draw_scaled_size(size, low: float, high: float) -> tuple[int, int]:
    """``size`` (H, W) times one factor drawn uniformly from ``[low, high]`` (one torch draw,
    so ``set_seed`` repeats it), rounded, at least 1 pixel a side."""
    s = low + (high - low) * float(torch.rand(()))
    return max(1, round(size[0] * s)), max(1, round(size[1] * s))


class RandomScale:
    """Rescale image and label together by a factor drawn uniformly from ``[low, high]``.

    Scale jitter, as torchvision's segmentation reference does with ``RandomResize``: objects
    are seen at many sizes, so the network does not learn one size per class.
    """

    def __init__(self, low: float = 0.75, high: float = 1.5):
        self.low, self.high = check_scale_range(low, high)

    def __call__(self, image, label):
        return resize_pair(image, label, draw_scaled_size(label.shape[-2:], self.low, self.high))

    def __repr__(self):
        return f"RandomScale({self.low}, {self.high})"


def to_unit_float(image: torch.Tensor) -> torch.Tensor:
    """A uint8 image as float in [0, 1]; a float image unchanged."""
    return image.float().div_(255.0) if image.dtype == torch.uint8 else image


class Normalize:
    """Standardise the image channels (ImageNet statistics by default); the label is untouched.

    Takes a float image in [0, 1] or a uint8 image (0-255, converted in the same pass).
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)
        self._mean255, self._inv_std255 = 255.0 * self.mean, 1.0 / (255.0 * self.std)

    def __call__(self, image, label):
        if image.dtype == torch.uint8:  # convert once, then subtract and scale in place
            return image.float().sub_(self._mean255).mul_(self._inv_std255), label
        return (image - self.mean) / self.std, label

    def __repr__(self):
        return "Normalize()"


def denormalize(image, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Undo :class:`Normalize` for display: back to [0, 1] floats."""
    m = torch.tensor(mean, device=image.device).view(-1, 1, 1)
    s = torch.tensor(std, device=image.device).view(-1, 1, 1)
    return (image * s + m).clamp(0, 1)


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


class NormalizeBatch:
    """A DataLoader ``collate_fn``: stack the items, then normalise the whole batch at once.

    For items that stop before :class:`Normalize` (``normalize=False`` above, and a
    ``VOCSegDataset(raw=True)`` that leaves them uint8): one conversion over the batch
    instead of one per item, and the bytes are copied while still 1 byte a channel. The
    batch is bit-identical to collating items normalised one by one (the same operations on
    every pixel), so a training run gives the same numbers either way.
    """

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.normalize = Normalize(mean, std)

    def __call__(self, items):
        from torch.utils.data import default_collate

        images, labels = default_collate(items)
        images, labels = self.normalize(images, labels)
        return images, labels.long()

    def __repr__(self):
        return "NormalizeBatch()"
