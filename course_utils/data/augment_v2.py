"""The course's training and evaluation pipelines, written with ``torchvision.transforms.v2``.

v2 runs them on ``tv_tensors.Image`` / ``tv_tensors.Mask`` pairs, as torchvision's segmentation
reference does (``references/segmentation/presets.py``): it moves the mask with the image,
resizes it NEAREST and leaves it out of photometric steps. The steps below are the ones v2
lacks or draws another way. They draw with :mod:`.pair_transforms`' functions, in the same
order, with the same arithmetic, so the tensor fast path gives the same tensors bit for bit
from one seed: the reference models, trained on that path, get the same batches.
"""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from . import pair_transforms
from .voc import VOID


class PadIfSmaller(v2.Transform):
    """Pad on the right and bottom up to ``size`` (H, W), image with 0 and mask with 255, as
    torchvision's segmentation reference does (``v2.RandomCrop(pad_if_needed=True)`` pads both
    sides, which shifts the image)."""

    def __init__(self, size):
        super().__init__()
        self.size = pair_transforms.pair_size(size)

    def make_params(self, flat_inputs):
        h, w = v2.query_size(flat_inputs)
        return {"padding": [0, 0, max(self.size[1] - w, 0), max(self.size[0] - h, 0)]}

    def transform(self, inpt, params):
        fill = VOID if isinstance(inpt, tv_tensors.Mask) else 0
        return self._call_kernel(TF.pad, inpt, padding=params["padding"], fill=fill)


class RandomScale(v2.Transform):
    """Resize image and mask by one factor drawn uniformly from ``[low, high]`` (scale jitter):
    torchvision's reference draws a target size (``v2.RandomResize``), a factor keeps the mini
    set's varied image sizes in proportion. The image is resized as floats in [0, 1]."""

    def __init__(self, low: float = 0.75, high: float = 1.5):
        super().__init__()
        self.low, self.high = pair_transforms.check_scale_range(low, high)

    def make_params(self, flat_inputs):
        h, w = v2.query_size(flat_inputs)
        size = pair_transforms.draw_scaled_size((h, w), self.low, self.high)
        return {"size": list(size), "shrink": size[0] < h or size[1] < w}

    def transform(self, inpt, params):
        if isinstance(inpt, tv_tensors.Image):
            image = pair_transforms.to_unit_float(inpt.as_subclass(torch.Tensor))
            inpt = tv_tensors.wrap(image, like=inpt)
        return self._call_kernel(TF.resize, inpt, size=params["size"],
                                 antialias=params["shrink"])


class RandomCrop(v2.Transform):
    """A random ``size`` crop at one place for image and mask, after :class:`PadIfSmaller`.
    ``v2.RandomCrop`` skips its draw for a side with no room; this one always draws, so the
    draws after it do not depend on image sizes."""

    def __init__(self, size):
        super().__init__()
        self.size = pair_transforms.pair_size(size)

    def origin(self, size) -> tuple[int, int]:
        return pair_transforms.draw_crop_origin(size, self.size)

    def make_params(self, flat_inputs):
        top, left = self.origin(v2.query_size(flat_inputs))
        return {"top": top, "left": left}

    def transform(self, inpt, params):
        return self._call_kernel(TF.crop, inpt, top=params["top"], left=params["left"],
                                 height=self.size[0], width=self.size[1])


class CenterCrop(RandomCrop):
    """The central ``size`` crop, after :class:`PadIfSmaller`; an odd margin's extra pixel goes
    below and to the right (``v2.CenterCrop`` rounds it half to even)."""

    def origin(self, size) -> tuple[int, int]:
        return pair_transforms.center_origin(size, self.size)


class NormalizeImage(v2.Transform):
    """ImageNet normalisation of the image (a ``tv_tensors.Image`` or plain tensor, uint8 or
    float in [0, 1]) with ``pair_transforms.Normalize``'s arithmetic, so every path gives the
    same bits (``v2.ToDtype`` + ``v2.Normalize`` agree only up to float rounding)."""

    _transformed_types = (tv_tensors.Image, TF.is_pure_tensor)

    def transform(self, inpt, params):
        image, _ = pair_transforms.Normalize()(inpt.as_subclass(torch.Tensor), None)
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
