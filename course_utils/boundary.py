"""Boundaries: the band of pixels near a label change, and boundary IoU.

FCN's coarse scores and U-Net's skip connections differ most near object outlines. Two measures
look only there: accuracy in the **boundary band** (:func:`boundary_mask`, notebooks 04 and 05)
and **boundary IoU** (Cheng et al., CVPR 2021, :func:`boundary_iou`), the IoU of the thin inner
rims of the true and the predicted masks of each class, which unlike the band also punishes a
prediction that is right inside but wrong along its own outline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .voc import NUM_CLASSES, VOID


def _check_tensor(x, name: str) -> None:
    """Raise TypeError unless ``x`` is a real-valued tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{name} has dtype {x.dtype}; expected integer labels or float logits")


def boundary_mask(label: torch.Tensor, width: int = 3) -> torch.Tensor:
    """Pixels within ``width`` px of a class edge: a bool tensor shaped like ``label``.

    A pixel is in the band when some pixel at most ``width`` rows and columns away
    (a ``(2 width + 1)``-square window, clipped at the image border) has a different label.
    Void (255) counts as a label here, so the pixels on both sides of VOC's void borders
    are in the band; score only the band by setting the target to 255 outside it, e.g.
    ``cm.update(pred, target.masked_fill(~boundary_mask(target), 255))``.
    ``label``: integer ``(H, W)`` or ``(N, H, W)``.
    """
    _check_tensor(label, "label")
    if label.is_floating_point() or label.ndim not in (2, 3):
        raise ValueError(f"label must be an integer (H, W) or (N, H, W) tensor, got dtype "
                         f"{label.dtype} and shape {tuple(label.shape)}")
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    x = label.reshape(-1, 1, *label.shape[-2:]).float()  # indices <= 255 are exact in float32
    window = dict(kernel_size=2 * width + 1, stride=1, padding=width)
    high = F.max_pool2d(x, **window)
    low = -F.max_pool2d(-x, **window)
    return (high != low).reshape(label.shape)


def inner_rim(mask: torch.Tensor, width: int) -> torch.Tensor:
    """Pixels of a boolean ``(N, H, W)`` mask within ``width`` px (square window) of its
    contour; the image border counts as contour, as in the boundary-IoU reference code."""
    x = (~mask).float()[:, None]
    outside = F.max_pool2d(F.pad(x, (width,) * 4, value=1.0), 2 * width + 1, stride=1)
    return mask & (outside[:, 0] > 0)


def _check_labels(t, name: str) -> None:
    _check_tensor(t, name)
    if t.is_floating_point() or t.ndim not in (2, 3):
        raise ValueError(f"{name} must be integer (H, W) or (N, H, W) labels, got dtype "
                         f"{t.dtype} and shape {tuple(t.shape)}")


def boundary_iou(pred, target, num_classes: int = NUM_CLASSES, width: int = 3,
                 ignore_index: int | None = VOID) -> torch.Tensor:
    """Per-class boundary IoU ``|G_d & P_d| / |G_d | P_d|`` over a set of label maps.

    ``G_d`` and ``P_d`` are the inner rims (:func:`inner_rim`) of the true and the predicted
    mask of the class; intersections and unions are summed over the images before dividing
    (data-set level, as mIoU). Pixels whose target is ``ignore_index`` count for neither. A
    class with an empty union gets NaN. ``pred``, ``target``: integer ``(N, H, W)`` labels, or
    lists of ``(H, W)`` label maps of any sizes (whole images).
    """
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    pairs = (list(zip(pred, target, strict=True)) if isinstance(pred, list | tuple)
             else [(pred, target)])
    inter = torch.zeros(num_classes, dtype=torch.float64)
    union = torch.zeros(num_classes, dtype=torch.float64)
    for p, t in pairs:
        _check_labels(p, "pred")
        _check_labels(t, "target")
        if p.shape != t.shape:
            raise ValueError(f"pred {tuple(p.shape)} and target {tuple(t.shape)} differ")
        p, t = p.reshape(-1, *p.shape[-2:]), t.reshape(-1, *t.shape[-2:])
        keep = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=bool)
        for c in range(num_classes):
            g = inner_rim(t == c, width) & keep
            q = inner_rim(p == c, width) & keep
            inter[c] += (g & q).sum()
            union[c] += (g | q).sum()
    return torch.where(union > 0, inter / union.clamp(min=1), float("nan"))
