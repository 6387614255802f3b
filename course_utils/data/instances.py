"""Instance masks: objects, their classes and boxes, and how they relate to class masks.

VOC stores instances in ``SegmentationObject`` palette PNGs: 0 background, 1..N one value per
object, 255 the void band. An object's *class* is the ``SegmentationClass`` value under it.
Instances -> class mask paints each object's class (objects of one class merge); class mask ->
instances takes connected components, which splits objects only where background or void
separates them: touching objects of one class become one, an occluded object two.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import torch
from scipy import ndimage
from torchvision.ops import masks_to_boxes

from .voc import VOC_CLASSES, VOID, VOCDataError, mask_path, read_mask, read_object_mask


@dataclass(frozen=True, eq=False)
class Instance:
    """One object: its id in the object mask, its class, its pixels, area and box."""

    id: int
    label: int
    mask: torch.Tensor  # (H, W) bool
    area: int
    box: torch.Tensor  # (4,) float32 x1, y1, x2, y2: first and last column/row, inclusive

    @property
    def class_name(self) -> str:
        return VOC_CLASSES[self.label]

    def __repr__(self) -> str:
        box = ", ".join(f"{v:g}" for v in self.box.tolist())
        return (f"Instance(id={self.id}, label={self.label} {self.class_name!r}, "
                f"area={self.area}, box=({box}))")


def make_instance(instance_id: int, label: int, mask: torch.Tensor) -> Instance:
    """An :class:`Instance` from a non-empty ``(H, W)`` boolean mask; area and box computed."""
    box = masks_to_boxes(mask[None])[0]
    return Instance(int(instance_id), int(label), mask, int(mask.sum()), box)


def _as_mask(mask, what: str) -> torch.Tensor:
    """An ``(H, W)`` int64 tensor from a tensor or array, or a ValueError naming ``what``."""
    m = torch.as_tensor(mask)
    if m.ndim != 2 or m.dtype.is_floating_point or m.dtype == torch.bool:
        raise ValueError(f"{what}: expected an (H, W) integer mask, got shape {tuple(m.shape)} "
                         f"and dtype {m.dtype}")
    return m.long()


def instances_from_masks(object_mask, class_mask, source: str | os.PathLike = "<array>"
                         ) -> list[Instance]:
    """The objects of one image, ordered by id: each the pixels holding its id, minus void of
    either mask. Masks of different sizes, an object on background or on two classes, or class
    pixels in no object raise :class:`VOCDataError` naming ``source``."""
    obj = _as_mask(object_mask, f"{source}: object mask")
    cls = _as_mask(class_mask, f"{source}: class mask")
    if obj.shape != cls.shape:
        raise VOCDataError(f"{source}: object mask size {tuple(obj.shape)} differs from class "
                           f"mask size {tuple(cls.shape)}")
    valid = (obj != VOID) & (cls != VOID)
    uncovered = valid & (obj == 0) & (cls != 0)
    if uncovered.any():
        classes = cls[uncovered].unique().tolist()
        raise VOCDataError(f"{source}: {int(uncovered.sum())} pixels of classes {classes} "
                           "belong to no object (object mask 0)")
    instances = []
    for i in obj[valid & (obj != 0)].unique().tolist():
        mask = valid & (obj == i)
        labels = cls[mask].unique().tolist()
        if len(labels) != 1 or labels[0] == 0:
            raise VOCDataError(f"{source}: object {i} lies on classes {labels}; an object must "
                               "lie on exactly one class other than background")
        instances.append(make_instance(i, labels[0], mask))
    return instances


def read_instances(root: str | os.PathLike, image_id: str) -> list[Instance]:
    """The objects of ``image_id`` in a VOC folder, from SegmentationObject + SegmentationClass."""
    obj_path = mask_path(root, image_id, "SegmentationObject")
    obj = read_object_mask(obj_path)
    cls = read_mask(mask_path(root, image_id))
    return instances_from_masks(obj, cls, source=obj_path)


def _size(instances: list[Instance], size) -> tuple[int, int]:
    """The ``(H, W)`` of the instances' masks; ``size`` is required when there are none."""
    if size is not None:
        return int(size[0]), int(size[1])
    if not instances:
        raise ValueError("no instances: pass size=(H, W)")
    return tuple(instances[0].mask.shape)


def semantic_from_instances(instances: list[Instance], size=None, void=None) -> torch.Tensor:
    """Merge instances into a class mask: every object's pixels get its class, identities lost.
    ``void`` (a boolean ``(H, W)`` mask, e.g. ``class_mask == 255``) is painted 255."""
    out = torch.zeros(_size(instances, size), dtype=torch.int64)
    for inst in instances:
        out[inst.mask] = inst.label
    if void is not None:
        out[torch.as_tensor(void, dtype=torch.bool)] = VOID
    return out


def instances_from_semantic(class_mask, connectivity: int = 1, min_area: int = 1
                            ) -> list[Instance]:
    """Guess instances from a class mask: each connected region of one class, ids 1..N.

    ``connectivity`` 1 joins pixels sharing an edge (4-neighbours), 2 also diagonal ones.
    Regions under ``min_area`` pixels (specks between void bands) are dropped.
    """
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 (4-neighbours) or 2 (8-neighbours), "
                         f"got {connectivity}")
    cls = _as_mask(class_mask, "class mask")
    structure = ndimage.generate_binary_structure(2, connectivity)
    instances = []
    for c in sorted(set(cls.unique().tolist()) - {0, VOID}):
        components, n = ndimage.label((cls == c).numpy(), structure=structure)
        components = torch.from_numpy(components)
        for k in range(1, n + 1):
            mask = components == k
            if int(mask.sum()) >= min_area:
                instances.append(make_instance(len(instances) + 1, c, mask))
    return instances


def count_by_class(instances: list[Instance]) -> dict[str, int]:
    """How many instances of each class: ``{class name: count}``, classes in VOC order."""
    counts = Counter(inst.label for inst in instances)
    return {VOC_CLASSES[c]: counts[c] for c in sorted(counts)}


def touching_pairs(instances: list[Instance], gap: int = 0) -> list[tuple[int, int]]:
    """Pairs of instance ids ``(a, b)``, ``a < b``, whose masks come within ``gap`` pixels
    (``gap=0``: share an edge). VOC draws a void band between touching objects, so there two
    objects "touch" across a gap of its width."""
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    structure = ndimage.generate_binary_structure(2, 1)
    pairs = []
    for k, a in enumerate(instances):
        grown = ndimage.binary_dilation(a.mask.numpy(), structure, iterations=gap + 1)
        for b in instances[k + 1:]:
            if grown[b.mask.numpy()].any():
                pairs.append(tuple(sorted((a.id, b.id))))
    return sorted(pairs)


def maskrcnn_target(instances: list[Instance], size=None, image_id: int | None = None) -> dict:
    """The training target of :func:`torchvision.models.detection.maskrcnn_resnet50_fpn`, as in
    the PyTorch detection tutorial (``area``: mask pixels, as COCO counts them). Its boxes run
    along pixel edges, as COCO's and the detector's do: ``x2``, ``y2`` one past the last column
    and row of the inclusive :attr:`Instance.box`, so a one-pixel-thin object still gets a box
    with width and height (Mask R-CNN rejects one without)."""
    h, w = _size(instances, size)
    edges = torch.tensor([0.0, 0.0, 1.0, 1.0])
    boxes = [inst.box + edges for inst in instances]
    masks = [inst.mask.to(torch.uint8) for inst in instances]
    target = {
        "boxes": torch.stack(boxes) if instances else torch.zeros((0, 4)),
        "labels": torch.tensor([inst.label for inst in instances], dtype=torch.int64),
        "masks": torch.stack(masks) if instances else torch.zeros((0, h, w), dtype=torch.uint8),
        "area": torch.tensor([inst.area for inst in instances], dtype=torch.float32),
        "iscrowd": torch.zeros(len(instances), dtype=torch.int64),
    }
    if image_id is not None:
        target["image_id"] = int(image_id)
    return target
