"""The course's training and evaluation pipelines, written with ``torchvision.transforms.v2``.

Notebook 01 builds the paired transforms by hand (``voc_dataset``); this module gives the same
pipelines as torchvision's v2 API runs them on ``tv_tensors.Image`` / ``tv_tensors.Mask`` pairs,
the way torchvision's own segmentation reference does (``references/segmentation/presets.py``
with ``use_v2``). v2 moves the mask with the image, resizes it NEAREST and leaves it out of
photometric steps. Two steps v2 lacks are written as v2 transforms: padding on the right and
bottom only (the reference's ``PadIfSmaller``) and scale jitter by a factor (``RandomScale``).

The random draws come in the same order as the hand-written pipeline's (scale factor, crop
top, crop left, flip), so with the same seed both cut the same crops, labels equal and images
equal up to float rounding (v2 divides by 255 and by the std, the hand-written normalisation
multiplies by one reciprocal; v2 resizes uint8 images in uint8), as long as every image is
larger than the crop: where a side has no room to move, ``v2.RandomCrop`` skips its draw and
the hand-written crop draws 0, and the two sequences part from there. Pass either to
``VOCSegDataset`` or ask ``voc_dataset.loaders(..., use_v2=True)``. The hand-written pipeline stays
the default: the reference models were trained with it, and on a cached item it costs about
a fifth of what the v2 pipeline costs (``make bench``).
"""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from .pair_transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    check_scale_range,
    draw_scaled_size,
    pair_size,
)
from .voc import VOID

FILL = {tv_tensors.Image: 0, tv_tensors.Mask: VOID}  # padding: black image, void label


class PadIfSmaller(v2.Transform):
    """Pad on the right and bottom up to ``size`` (H, W), image with 0 and mask with 255.

    ``v2.RandomCrop(pad_if_needed=True)`` pads *both* sides, which shifts the image; like
    torchvision's segmentation reference, the course pads right and bottom only.
    """

    def __init__(self, size, fill=None):
        super().__init__()
        self.size = pair_size(size)
        self.fill = dict(FILL if fill is None else fill)

    def make_params(self, flat_inputs):
        h, w = v2.query_size(flat_inputs)
        return {"padding": [0, 0, max(self.size[1] - w, 0), max(self.size[0] - h, 0)]}

    def transform(self, inpt, params):
        if not any(params["padding"]):
            return inpt
        fill = self.fill.get(type(inpt), 0)
        return self._call_kernel(TF.pad, inpt, padding=params["padding"], fill=fill)


class RandomScale(v2.Transform):
    """Resize image and mask by one factor drawn uniformly from ``[low, high]`` (scale jitter).

    torchvision's reference draws a target size (``v2.RandomResize``); a factor keeps the
    mini set's varied image sizes in proportion. The draw is the hand-written one's.
    """

    def __init__(self, low: float = 0.75, high: float = 1.5):
        super().__init__()
        self.low, self.high = check_scale_range(low, high)

    def make_params(self, flat_inputs):
        return {"size": list(draw_scaled_size(v2.query_size(flat_inputs), self.low, self.high))}

    def transform(self, inpt, params):
        return self._call_kernel(TF.resize, inpt, size=params["size"], antialias=True)


def _to_float_and_normalize(normalize: bool = True):
    """Float conversion and ImageNet normalisation, or nothing when ``normalize`` is False
    (the batch does it: ``pair_transforms.NormalizeBatch``)."""
    if not normalize:
        return []
    return [v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


def train_transform(crop, scale: tuple[float, float] | None = None,
                    normalize: bool = True) -> v2.Compose:
    """(Scale jitter,) pad if smaller, random crop, random flip, float, normalise: the
    hand-written ``voc_dataset.train_transform`` in v2."""
    steps = [RandomScale(*scale)] if scale else []
    return v2.Compose([*steps, PadIfSmaller(crop), v2.RandomCrop(pair_size(crop)),
                       v2.RandomHorizontalFlip(), *_to_float_and_normalize(normalize)])


def eval_transform(crop, normalize: bool = True) -> v2.Compose:
    """Pad if smaller, centre crop, float, normalise (``voc_dataset.eval_transform`` in v2).

    v2's ``CenterCrop`` rounds an odd margin half to even (Python's ``round``) where the
    hand-written one rounds down, so the two can sit one pixel apart."""
    return v2.Compose([PadIfSmaller(crop), v2.CenterCrop(pair_size(crop)),
                       *_to_float_and_normalize(normalize)])
