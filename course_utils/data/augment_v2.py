"""The course's pipelines: stock ``torchvision.transforms.v2``, as torchvision's segmentation
reference builds them (``references/segmentation/presets.py``).

v2 runs them on ``tv_tensors.Image`` / ``tv_tensors.Mask`` pairs: one random draw moves both,
a ``Mask`` is resized NEAREST (never blended into a class it does not hold) and is left out of
photometric steps, and :data:`FILL` pads the image with 0 and the mask with 255 (void, ignored
by the losses and the metrics; v2's default would pad masks with 0, background).

``v2.RandomCrop(size, pad_if_needed=True)`` pads a side shorter than the crop by the whole
shortfall on *both* ends, then draws the window in the padded image: the short side is always
kept whole, at a random place in the window (its padding split at random between the two
ends); a side at least as long as the crop is cropped at random as usual.
"""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from .normalization import IMAGENET_MEAN, IMAGENET_STD
from .voc import VOID

FILL = {tv_tensors.Mask: VOID, "others": 0}


def _size(crop) -> tuple[int, int]:
    """``(H, W)`` of a crop given as an int (square) or a pair."""
    return (crop, crop) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))


def check_resize(resize) -> tuple[int, int]:
    """``(min_size, max_size)`` of a scale jitter, or a ValueError unless they are whole pixels
    with ``0 < min_size < max_size`` (``v2.RandomResize`` draws the shorter side from
    ``[min_size, max_size)``; a factor range such as ``(0.75, 1.5)`` is not a size)."""
    lo, hi = resize
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo < hi):
        raise ValueError(f"resize: need whole pixels 0 < min_size < max_size (the shorter side "
                         f"is drawn from [min_size, max_size)), got {tuple(resize)}")
    return lo, hi


def _normalize_steps(normalize: bool) -> list[v2.Transform]:
    """Float in [0, 1], then ImageNet statistics (images only; masks pass through)."""
    if not normalize:
        return []
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


def train_transform(crop, resize: tuple[int, int] | None = None,
                    normalize: bool = True) -> v2.Compose:
    """Training: (``resize``: ``v2.RandomResize``, the shorter side drawn from
    ``[min_size, max_size)``,) a random ``crop`` padded where the image is smaller
    (:data:`FILL`), a random horizontal flip, then ``v2.ToDtype`` + ``v2.Normalize``
    (``normalize=False`` keeps uint8 items for :class:`~.normalization.NormalizeBatch`)."""
    steps = [v2.RandomResize(*check_resize(resize))] if resize is not None else []
    return v2.Compose([*steps, v2.RandomCrop(_size(crop), pad_if_needed=True, fill=FILL),
                       v2.RandomHorizontalFlip(), *_normalize_steps(normalize)])


def eval_transform(crop, normalize: bool = True) -> v2.Compose:
    """Centre crops, for the lessons that set them beside whole-image scoring (notebook 08,
    notebook 09's exercise 3): the course itself evaluates whole images
    (:func:`~.dataset.full_image_loader`). ``v2.CenterCrop`` alone would pad a small image's
    mask with 0 (background), so a ``v2.Pad`` by half the crop on every side (:data:`FILL`)
    comes first: every image then covers the crop, and its centre stays where it was."""
    h, w = _size(crop)
    return v2.Compose([v2.Pad([(w + 1) // 2, (h + 1) // 2], fill=FILL), v2.CenterCrop((h, w)),
                       *_normalize_steps(normalize)])
