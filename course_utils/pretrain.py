"""Pretraining a backbone on a classification task drawn by the mini set's own generator.

FCN starts from a classifier trained on ImageNet: a million labelled photos teach the
backbone what objects look like before it ever sees a mask. The course's stand-in for ImageNet
is :func:`course_utils.synth_scene.make_object_image`: one object per image, all 20 classes
equally often, the same silhouettes, textures and clutter as the segmentation scenes, as many
images as we care to draw. A torchvision ResNet-18 learns to name the object (cross-entropy
over 20 classes, ``train.fit`` as for segmentation); its layers up to ``layer4`` then become the
FCN backbone (:meth:`course_utils.models.FCN.load_backbone`), exactly as with ImageNet weights.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import Dataset

from .synth_scene import SEED, make_object_image
from .voc import NUM_CLASSES
from .voc_dataset import Normalize

OBJECT_CLASSES = NUM_CLASSES - 1  # the 20 object classes; background is no image label
VAL_OFFSET = 10_000_000  # held-out images start here: never drawn for training


class ObjectImages(Dataset):
    """``n`` classification images ``(image (3, size, size) float, class 0-19)``.

    Image ``i`` is ``make_object_image(offset + i)``: decoded once, at construction, and kept
    as uint8, so epochs cost no drawing. ``flip`` mirrors at random (torch's generator), as a
    training pipeline would; images are normalised like the segmentation images.
    """

    def __init__(self, n: int, size: int = 80, offset: int = 0, seed: int = SEED,
                 flip: bool = False):
        if n < 1:
            raise ValueError(f"n={n}: need at least one image")
        pairs = [make_object_image(offset + i, seed, size) for i in range(n)]
        self.images = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2)
        self.labels = torch.tensor([p[1] for p in pairs])
        self.flip, self.normalize = flip, Normalize()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        if self.flip and float(torch.rand(())) < 0.5:
            image = image.flip(-1)
        return self.normalize(image, None)[0], self.labels[i]


def classifier(num_classes: int = OBJECT_CLASSES) -> nn.Module:
    """A randomly initialised torchvision ResNet-18 with a ``num_classes``-way ``fc``."""
    return torchvision.models.resnet18(weights=None, num_classes=num_classes)


def backbone_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of a torchvision ResNet up to ``layer4`` (``fc`` dropped), under the names
    :class:`course_utils.models.FCN` uses (``conv1`` and ``bn1`` form its ``stem``)."""
    rename = {"conv1.": "stem.0.", "bn1.": "stem.1."}
    out = {}
    for key, value in net.state_dict().items():
        if key.startswith("fc."):
            continue
        for old, new in rename.items():
            if key.startswith(old):
                key = new + key.removeprefix(old)
        out[key] = value
    return out
