"""Scores along object outlines: the band near a label change, and boundary IoU.

FCN's coarse scores and U-Net's skip connections differ most near object outlines. Accuracy in
the **boundary band** (notebooks 04 and 05) looks only there; **boundary IoU** (Cheng et al.,
CVPR 2021) also punishes a prediction that is right inside but wrong along its own outline.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_utils.data import NUM_CLASSES, VOID


def _check(width, **labels: torch.Tensor) -> None:
    """Integer ``(H, W)`` or ``(N, H, W)`` labels and a ``width`` of at least one pixel (an
    empty window would mark nothing, silently), or ValueError."""
    for name, x in labels.items():
        if x.is_floating_point() or x.ndim not in (2, 3):
            raise ValueError(f"{name} must be integer (H, W) or (N, H, W) labels, got dtype "
                             f"{x.dtype} and shape {tuple(x.shape)}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")


def boundary_mask(label: torch.Tensor, width: int = 3) -> torch.Tensor:
    """Pixels within ``width`` px of a class edge: a bool tensor shaped like ``label``.

    A pixel is in the band when its ``(2 width + 1)``-square window holds another label (the
    window's max and min differ). Void counts as a label, so both sides of VOC's void borders
    are in the band. To score only the band, make the rest void:
    ``cm.update(pred, target.masked_fill(~boundary_mask(target), 255))``.
    """
    _check(width, label=label)
    x = label.reshape(-1, 1, *label.shape[-2:]).float()  # labels <= 255 are exact in float32
    inf = float("inf")  # the outside ignored: it is never a window's max
    return (_square_max(x, width, pad=-inf) != -_square_max(-x, width, pad=-inf)).reshape(
        label.shape)


def _square_max(x: torch.Tensor, width: int, pad: float) -> torch.Tensor:
    """Max of ``x`` ``(N, 1, H, W)`` over each ``(2 width + 1)``-square window, the outside
    counted as ``pad``: a row pass, then a column pass (a square's max is the max of its rows'
    maxes), 2 (2 width + 1) comparisons a pixel instead of (2 width + 1)^2."""
    k = 2 * width + 1
    x = F.pad(x, (width,) * 4, value=pad)
    return F.max_pool2d(F.max_pool2d(x, (1, k), stride=1), (k, 1), stride=1)


def _inner_rim(mask: torch.Tensor, width: int) -> torch.Tensor:
    """Pixels of a boolean ``(N, H, W)`` mask within ``width`` px (square window) of its
    contour; the image border counts as contour, as in the boundary-IoU reference code."""
    return mask & (_square_max((~mask).float()[:, None], width, pad=1.0)[:, 0] > 0)


def boundary_counts(pred, target, num_classes: int = NUM_CLASSES, width: int = 3,
                    ignore_index: int | None = VOID) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class ``(|G_d & P_d|, |G_d | P_d|)`` summed over label maps (see :func:`boundary_iou`):
    counts add up over images, so a data-set score or a bootstrap resample is a sum of them."""
    pairs = list(zip(pred, target, strict=True)) if isinstance(pred, list | tuple) else [
        (pred, target)]
    inter = torch.zeros(num_classes, dtype=torch.float64)
    union = torch.zeros(num_classes, dtype=torch.float64)
    for p, t in pairs:
        _check(width, pred=p, target=t)
        if p.shape != t.shape:
            raise ValueError(f"pred {tuple(p.shape)} and target {tuple(t.shape)} differ")
        p, t = p.reshape(-1, *p.shape[-2:]), t.reshape(-1, *t.shape[-2:])
        keep = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=bool)
        for c in range(num_classes):
            here = ((t == c) | (p == c)).flatten(1).any(1)  # only the maps where c occurs
            if not here.any():
                continue
            tc, pc, kc = t[here] == c, p[here] == c, keep[here]
            g, q = _inner_rim(tc, width) & kc, _inner_rim(pc, width) & kc
            inter[c] += (g & q).sum()
            union[c] += (g | q).sum()
    return inter, union


def boundary_iou(pred, target, num_classes: int = NUM_CLASSES, width: int = 3,
                 ignore_index: int | None = VOID) -> torch.Tensor:
    """Per-class boundary IoU ``|G_d & P_d| / |G_d | P_d|`` over a set of label maps.

    ``G_d`` and ``P_d`` are the inner rims of the true and the predicted mask of the class,
    summed over the images before dividing (data-set level, as mIoU); void pixels count for
    neither; an empty union gives NaN. ``pred``, ``target``: ``(N, H, W)`` labels, or lists of
    ``(H, W)`` maps of any sizes (whole images).
    """
    inter, union = boundary_counts(pred, target, num_classes, width, ignore_index)
    return inter / union  # 0 / 0 = NaN for a class with an empty union


def fill_void(label: torch.Tensor, ignore_index: int = VOID) -> torch.Tensor:
    """``label`` ``(H, W)`` with every void pixel given the class of its nearest labelled pixel
    (Euclidean distance, ties as ``scipy.ndimage.distance_transform_edt`` breaks them). Scored
    against ``label`` it is a *perfect* prediction, right on every labelled pixel, whose outlines
    run through the middle of the void band; its boundary IoU is the reference a trained model is
    read against. It stays below 1 because each class's true rim runs along its labelled side of
    the band, which this rim, drawn from mid-band, only partly reaches. Not a bound: other fills
    of the band can score higher (the band given to the background scores 1 on the objects and
    less on the background; a class absent from the image, 1 everywhere) or lower."""
    from scipy.ndimage import distance_transform_edt

    _check(1, label=label)
    if label.ndim != 2:
        raise ValueError(f"fill_void takes one (H, W) label map, got shape {tuple(label.shape)}")
    void = (label == ignore_index).cpu().numpy()
    if not void.any():
        return label.clone()
    if void.all():
        raise ValueError("fill_void: every pixel is void, there is no label to spread")
    _, (rows, cols) = distance_transform_edt(void, return_indices=True)
    return label[torch.from_numpy(rows), torch.from_numpy(cols)]


RINGS = (1, 2, 4, 8, 16)  # outer edges of the rings, in px from the nearest label change


def ring_counts(pred: torch.Tensor, target: torch.Tensor, edges=RINGS,
                ignore_index: int | None = VOID) -> torch.Tensor:
    """``(R + 1, 2)`` counts ``(correct, labelled)`` of one ``(H, W)`` map in rings by distance
    to the nearest label change of ``target`` (square windows, void counted as a label):
    ring 0 within ``edges[0]`` px, ring k between ``edges[k - 1]`` and ``edges[k]``, the last
    beyond ``edges[-1]``. Unlike a cumulative band, each pixel is in exactly one ring."""
    _check(1, pred=pred, target=target)
    keep = (target != ignore_index if ignore_index is not None
            else torch.ones_like(target, dtype=torch.bool))
    right = (pred == target) & keep
    inside = torch.zeros_like(keep)
    counts = []
    for width in (*edges, None):
        band = boundary_mask(target, width) if width else torch.ones_like(keep)
        ring = band & ~inside & keep
        counts.append((int((right & ring).sum()), int(ring.sum())))
        inside = inside | band
    return torch.tensor(counts, dtype=torch.int64)
