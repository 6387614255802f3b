"""The course's "ImageNet": a classification set of object-centred crops, drawn by the mini
set's own scene generator from seeds disjoint from the mini set's (notebook 04).

Practice starts a segmentation network from an encoder pretrained on ImageNet classification;
the course cannot download ImageNet, so it pretrains torchvision's ``resnet18`` on this set
instead (:mod:`course_utils.reference`). Each crop is one object of a generated scene: its
bounding box widened by ``CONTEXT`` on every side (so neighbours and clutter come along), made
square and resized to ``size`` pixels. The scenes are drawn from ``default_rng([seed, i])`` with
the seeds of :data:`SEEDS`, never the mini set's ``SEED``, so no crop shows a mini-set image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..voc import VOID
from .scene import SEED, make_example

SEEDS = {"train": 99, "heldout": 98}  # the mini set's scenes come from SEED (2026)
CONTEXT = 0.25  # bounding box widened by 25 % of its side on each side
CLASSES = 20  # the 20 object classes of VOC; label = VOC class id - 1


def object_boxes(cls: np.ndarray, obj: np.ndarray) -> list[tuple[int, tuple[int, int, int, int]]]:
    """``(label, (top, left, bottom, right))`` of every object in a scene's masks, label 0-19."""
    boxes = []
    for k in np.unique(obj):
        if k in (0, VOID):
            continue
        ys, xs = np.nonzero(obj == k)
        boxes.append((int(cls[ys[0], xs[0]]) - 1, (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)))
    return boxes


def square_crop(image: np.ndarray, box, size: int, context: float = CONTEXT) -> np.ndarray:
    """The square around ``box`` widened by ``context`` of its longer side on each side,
    resized to ``size`` x ``size`` (outside the image: the image's mean colour)."""
    top, left, bottom, right = box
    side = max(bottom - top, right - left) * (1 + 2 * context)
    cy, cx = (top + bottom) / 2, (left + right) / 2
    t, lft = int(round(cy - side / 2)), int(round(cx - side / 2))
    s = max(int(round(side)), 1)
    h, w, _ = image.shape
    canvas = np.empty((s, s, 3), np.uint8)
    canvas[:] = image.reshape(-1, 3).mean(0).astype(np.uint8)
    y0, x0, y1, x1 = max(t, 0), max(lft, 0), min(t + s, h), min(lft + s, w)
    canvas[y0 - t:y1 - t, x0 - lft:x1 - lft] = image[y0:y1, x0:x1]
    return np.asarray(Image.fromarray(canvas).resize((size, size), Image.BILINEAR,
                                                     reducing_gap=None))


def object_crops(seed: int, n_scenes: int, size: int = 64, start: int = 0):
    """Crops of every object in scenes ``start .. start + n_scenes - 1`` of ``seed``:
    ``(images (N, size, size, 3) uint8, labels (N,) int64)``."""
    if seed == SEED:
        raise ValueError(f"seed {seed} draws the mini set's own scenes; use another seed")
    images, labels = [], []
    for i in range(start, start + n_scenes):
        image, cls, obj = make_example(i, seed)
        for label, box in object_boxes(cls, obj):
            images.append(square_crop(image, box, size))
            labels.append(label)
    return np.stack(images), np.array(labels, np.int64)
