"""Class weights from pixel frequencies, for the weighted losses of :mod:`course_utils.losses`.

Inverse frequency, median-frequency balancing and the effective number of samples, from a
histogram of pixel counts or from a Dataset (counted with :func:`pixel_histogram`).
"""

from __future__ import annotations

import warnings

import torch
from torch.utils.data import Dataset

WEIGHT_METHODS = ("inverse", "median", "effective")


def pixel_histogram(dataset, num_classes: int = 21, ignore_index: int | None = 255):
    """Pixels per class over a Dataset of ``(image, label)`` pairs: ``(num_classes,)`` int64.

    Labels equal to ``ignore_index`` are not counted; any other value outside
    ``0..num_classes-1`` raises. Pass a dataset without random crops for exact counts
    (for VOC folders, :func:`course_utils.data.pixel_counts` reads the masks directly).
    """
    counts = torch.zeros(num_classes, dtype=torch.int64)
    for i in range(len(dataset)):
        label = torch.as_tensor(dataset[i][1]).long().flatten()
        if ignore_index is not None:
            label = label[label != ignore_index]
        bad = (label < 0) | (label >= num_classes)
        if bad.any():
            values = torch.unique(label[bad])[:5].tolist()
            raise ValueError(f"dataset item {i}: label values {values} outside "
                             f"0..{num_classes - 1} and not ignore_index={ignore_index}")
        counts += torch.bincount(label, minlength=num_classes)
    return counts


def class_weights(source, method: str = "inverse", beta: float = 0.9999, num_classes: int = 21,
                  ignore_index: int | None = 255, normalize: bool = True) -> torch.Tensor:
    """Per-class loss weights from pixel frequencies; returns a float32 ``(C,)`` tensor.

    ``source`` is a histogram (``(C,)`` counts, e.g. :func:`course_utils.data.pixel_counts`)
    or a Dataset of ``(image, label)`` pairs (counted with :func:`pixel_histogram`). With
    ``n_c`` the pixels of class ``c`` and ``f_c = n_c / sum(n)``:

    * ``"inverse"``: ``w_c = 1 / f_c``;
    * ``"median"`` (median-frequency balancing, Eigen & Fergus 2015): ``median(f) / f_c``, so
      the median class gets 1 (frequencies over all pixels, the usual simplification of the
      paper's "pixels in images where c is present");
    * ``"effective"`` (Cui et al. 2019): ``(1 - beta) / (1 - beta^n_c)``, one over the
      "effective number of samples". ``beta -> 0`` gives equal weights, ``beta -> 1`` inverse
      frequency; with pixel counts ``beta`` must be close to 1 (``1 - 1/n`` for a typical n).

    ``normalize`` rescales so the weights of the classes with pixels average 1 (scale is
    irrelevant to the weighted-mean cross-entropy, but not to ``sum`` or focal ``alpha``).
    **Classes with no pixels get weight 0** (with a warning naming them): they never appear as
    a target, and 0 keeps the vector finite where ``1/0`` would put ``inf`` in it.
    """
    if method not in WEIGHT_METHODS:
        raise ValueError(f"method={method!r}: expected one of {', '.join(WEIGHT_METHODS)}")
    if method == "effective" and not 0 <= beta < 1:
        raise ValueError(f"beta={beta}: must lie in [0, 1)")
    if isinstance(source, Dataset):
        source = pixel_histogram(source, num_classes, ignore_index)
    counts = torch.as_tensor(source, dtype=torch.float64)
    if counts.ndim != 1 or len(counts) < 2:
        raise ValueError(f"counts must be a 1-D histogram over >= 2 classes, "
                         f"got shape {tuple(counts.shape)}")
    if not torch.isfinite(counts).all() or (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"counts must be finite, >= 0 and not all zero, got {counts.tolist()}")
    present = counts > 0
    if not present.all():
        missing = torch.nonzero(~present).flatten().tolist()
        warnings.warn(f"class_weights: classes {missing} have no pixels; their weight is 0",
                      UserWarning, stacklevel=2)
    freq = counts / counts.sum()
    safe = torch.where(present, freq, torch.ones_like(freq))
    if method == "inverse":
        w = 1.0 / safe
    elif method == "median":
        w = freq[present].median() / safe
    else:  # 1 - beta^n as -expm1(n log beta): no cancellation for beta near 1 and large n
        n = torch.where(present, counts, torch.ones_like(counts))
        w = (1 - beta) / -torch.expm1(n * torch.log(torch.tensor(beta, dtype=n.dtype)))
    w = torch.where(present, w, torch.zeros_like(w))
    if normalize:
        w = w * present.sum() / w.sum()
    return w.float()
