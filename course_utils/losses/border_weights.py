"""U-Net's border weight map and the cross-entropy it weights, pixel by pixel.

Ronneberger et al. (2015, eq. 2) weight every pixel ``x`` of the loss by

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2)),

with ``w_c`` a class-balancing weight, ``d1`` the distance to the nearest object and ``d2`` to
the second nearest. The second term is large only in the narrow gaps *between* two objects,
the background pixels a semantic model must get right to keep touching objects apart
(notebook 02); the paper used ``w0 = 10`` and ``sigma = 5`` pixels. As in most
implementations, only background pixels get it. Void pixels get weight 0.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from course_utils.data import VOID

from .pixelwise import _class_target


def unet_weight_map(object_mask: torch.Tensor, class_weight=None, w0: float = 10.0,
                    sigma: float = 5.0) -> torch.Tensor:
    """The U-Net border weight map ``(H, W)`` (float64) of one object mask (ids 0 background,
    255 void). ``class_weight`` is the ``w_c`` term as an ``(H, W)`` map (a per-class weight
    tensor indexed by the class mask), or ``None`` for 1 everywhere."""
    if object_mask.ndim != 2:
        raise ValueError(f"object_mask: expected one (H, W) mask, got shape "
                         f"{tuple(object_mask.shape)}")
    if w0 < 0 or sigma <= 0:
        raise ValueError(f"unet_weight_map: need w0 >= 0 and sigma > 0, got w0={w0}, "
                         f"sigma={sigma}")
    base = (torch.ones(object_mask.shape, dtype=torch.float64) if class_weight is None
            else torch.as_tensor(class_weight, dtype=torch.float64).clone())
    if base.shape != object_mask.shape:
        raise ValueError(f"class_weight: expected an (H, W) map of shape "
                         f"{tuple(object_mask.shape)}, got {tuple(base.shape)}")
    mask = object_mask.cpu().numpy()
    ids = [k for k in np.unique(mask) if k not in (0, VOID)]
    if len(ids) >= 2:  # each pixel's distance to every object, sorted: d1, d2 come first
        dist = np.stack([ndimage.distance_transform_edt(mask != k) for k in ids])
        nearest = torch.from_numpy(dist).sort(dim=0).values
        border = w0 * torch.exp(-(nearest[0] + nearest[1]) ** 2 / (2 * sigma ** 2))
        base += torch.where((object_mask == 0).cpu(), border, 0.0)
    base[(object_mask == VOID).cpu()] = 0.0
    return base


def pixel_weighted_cross_entropy(logits, target, pixel_weight, ignore_index: int | None = 255):
    """Cross-entropy with one weight per pixel: ``sum w * ce / sum w`` over non-void pixels,
    normalised as PyTorch's class-weighted mean (a map of ones gives ``F.cross_entropy``)."""
    valid, safe = _class_target(logits, target, ignore_index)
    pixel_weight = torch.as_tensor(pixel_weight, dtype=logits.dtype, device=logits.device)
    if pixel_weight.shape != safe.shape:
        raise ValueError(f"pixel_weight: expected the target's shape {tuple(safe.shape)}, "
                         f"got {tuple(pixel_weight.shape)}")
    w = pixel_weight * valid
    total = w.sum()
    if total <= 0:
        raise ValueError("pixel_weight: the weights of the non-void pixels sum to 0")
    return (w * F.cross_entropy(logits, safe, reduction="none")).sum() / total
