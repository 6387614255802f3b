"""The course's training and evaluation pipelines, written with ``torchvision.transforms.v2``.

Notebook 01 builds paired transforms by hand; ``course_utils`` then trains and evaluates with
these, as torchvision's v2 API runs them on ``tv_tensors.Image`` / ``tv_tensors.Mask`` pairs,
the way torchvision's own segmentation reference does (``references/segmentation/presets.py``
with ``use_v2``). v2 moves the mask with the image, resizes it NEAREST and leaves it out of
photometric steps. The steps v2 lacks, or draws in another way, are v2 transforms of their own:
padding on the right and bottom only (the reference's ``PadIfSmaller``; v2's
``RandomCrop(pad_if_needed=True)`` pads both sides), scale jitter by a factor
(``RandomScale``), a random crop that draws its corner even when a side has no room (v2's skips
the draw, which would shift every later random number), a centre crop that puts an odd margin's
extra pixel below and to the right, and the normalisation of uint8 images in one pass.

Each step draws with :mod:`course_utils.data.pair_transforms`' functions (the flip as v2 draws it),
in the same order, and does the same arithmetic, so the tensor pipeline there gives the same
tensors bit for bit from the same seed (tested on the mini set, scale jitter and small images
included): the reference models, trained with that pipeline before this module became the
default, get the same training batches from ``make reference`` now. The tensor pipeline stays
as the fast path for cached data, where v2's per-call overhead would dominate (``make bench``).
"""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from .pair_transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Normalize,
    center_origin,
    check_scale_range,
    draw_crop_origin,
    draw_scaled_size,
    pair_size,
    to_unit_float,
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
    mini set's varied image sizes in proportion. The image is resized as floats in [0, 1]
    (antialiased when shrinking), the mask NEAREST, as ``pair_transforms.RandomScale`` does.
    """

    def __init__(self, low: float = 0.75, high: float = 1.5):
        super().__init__()
        self.low, self.high = check_scale_range(low, high)

    def make_params(self, flat_inputs):
        h, w = v2.query_size(flat_inputs)
        size = draw_scaled_size((h, w), self.low, self.high)
        return {"size": list(size), "shrink": size[0] < h or size[1] < w}

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.Image):
            inpt = tv_tensors.wrap(to_unit_float(inpt.as_subclass(torch.Tensor)), like=inpt)
        return self._call_kernel(TF.resize, inpt, size=params["size"],
                                 antialias=params["shrink"])


class RandomCrop(v2.Transform):
    """A random ``size`` crop at one place for image and mask, after :class:`PadIfSmaller`.

    ``v2.RandomCrop`` skips its draw for a side with no room; this one always draws (see
    ``pair_transforms.draw_crop_origin``), so the draws after it do not depend on image sizes.
    """

    def __init__(self, size):
        super().__init__()
        self.size = pair_size(size)

    def origin(self, size) -> tuple[int, int]:
        return draw_crop_origin(size, self.size)

    def make_params(self, flat_inputs):
        return dict(zip(("top", "left"), self.origin(v2.query_size(flat_inputs)), strict=True))

    def transform(self, inpt, params):
        return self._call_kernel(TF.crop, inpt, top=params["top"], left=params["left"],
                                 height=self.size[0], width=self.size[1])


class CenterCrop(RandomCrop):
    """The central ``size`` crop, after :class:`PadIfSmaller`; an odd margin's extra pixel goes
    below and to the right (``v2.CenterCrop`` rounds it half to even)."""

    def origin(self, size) -> tuple[int, int]:
        return center_origin(size, self.size)


class NormalizeImage(v2.Transform):
    """ImageNet normalisation of the image (uint8 converted in the same pass, or float in
    [0, 1]); a mask is left alone. ``pair_transforms.Normalize``'s arithmetic, so every path
    normalises to the same bits; ``v2.ToDtype`` + ``v2.Normalize`` agree up to float rounding.
    Like ``v2.Normalize``, it takes a ``tv_tensors.Image`` or a plain tensor as the image."""

    _transformed_types = (tv_tensors.Image, TF.is_pure_tensor)

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__()
        self.normalize = Normalize(mean, std)

    def transform(self, inpt, params):
        image, _ = self.normalize(inpt.as_subclass(torch.Tensor), None)
        return tv_tensors.wrap(image, like=inpt)


def train_transform(crop, scale: tuple[float, float] | None = None,
                    normalize: bool = True) -> v2.Compose:
    """(Scale jitter,) pad if smaller, random crop, random flip, normalise (``normalize=False``
    leaves that to the batch: ``pair_transforms.NormalizeBatch``)."""
    steps = [RandomScale(*scale)] if scale else []
    return v2.Compose([*steps, PadIfSmaller(crop), RandomCrop(crop), v2.RandomHorizontalFlip(),
                       *([NormalizeImage()] if normalize else [])])


def eval_transform(crop, normalize: bool = True) -> v2.Compose:
    """Pad if smaller, centre crop, normalise (or not, as in :func:`train_transform`)."""
    return v2.Compose([PadIfSmaller(crop), CenterCrop(crop),
                       *([NormalizeImage()] if normalize else [])])
