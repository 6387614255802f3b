"""Class weights from pixel frequencies, for the weighted losses of :mod:`course_utils.losses`.

Inverse frequency (or its square root), median-frequency balancing and the effective number
of samples, from a histogram of pixel counts (:func:`course_utils.data.pixel_counts` counts a
VOC split).
"""

from __future__ import annotations

import warnings

import torch

WEIGHT_METHODS = ("inverse", "sqrt", "median", "effective")


def class_weights(counts, method: str = "inverse", beta: float = 0.9999,
                  normalize: bool = True) -> torch.Tensor:
    """Per-class loss weights from a ``(C,)`` histogram of pixel counts; a float32 ``(C,)`` tensor.

    With ``n_c`` the pixels of class ``c`` and ``f_c = n_c / sum(n)``:

    * ``"inverse"``: ``w_c = 1 / f_c``;
    * ``"sqrt"`` (square-root inverse frequency): ``w_c = 1 / sqrt(f_c)``, a milder ratio
      between the commonest and the rarest class (its square root);
    * ``"median"`` (median-frequency balancing, Eigen & Fergus 2015): ``median(f) / f_c``, over
      all pixels (the usual simplification of "pixels in images where c is present");
    * ``"effective"`` (Cui et al. 2019): ``(1 - beta) / (1 - beta^n_c)``, from equal weights
      (``beta -> 0``) to inverse frequency (``beta -> 1``; ``1 - 1/n`` for a typical n).

    ``normalize`` rescales so the weights of the classes with pixels average 1 (scale matters
    to ``sum`` and focal ``alpha``, not to the weighted mean). **Classes with no pixels get
    weight 0** (with a warning naming them), where ``1/0`` would put ``inf`` in the vector.
    """
    if method not in WEIGHT_METHODS:
        raise ValueError(f"method={method!r}: expected one of {', '.join(WEIGHT_METHODS)}")
    if method == "effective" and not 0 <= beta < 1:
        raise ValueError(f"beta={beta}: must lie in [0, 1)")
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if (counts.ndim != 1 or len(counts) < 2 or not torch.isfinite(counts).all()
            or (counts < 0).any() or counts.sum() == 0):
        raise ValueError(f"counts must be a 1-D histogram over >= 2 classes, finite, >= 0 and "
                         f"not all zero, got {counts.tolist()}")
    present = counts > 0
    if not present.all():
        missing = torch.nonzero(~present).flatten().tolist()
        warnings.warn(f"class_weights: classes {missing} have no pixels; their weight is 0",
                      UserWarning, stacklevel=2)
    freq = counts / counts.sum()
    safe = torch.where(present, freq, torch.ones_like(freq))
    if method == "inverse":
        w = 1.0 / safe
    elif method == "sqrt":
        w = safe.rsqrt()
    elif method == "median":
        w = freq[present].median() / safe
    else:  # 1 - beta^n as -expm1(n log beta): no cancellation for beta near 1 and large n
        n = torch.where(present, counts, torch.ones_like(counts))
        w = (1 - beta) / -torch.expm1(n * torch.log(torch.tensor(beta, dtype=n.dtype)))
    w = torch.where(present, w, torch.zeros_like(w))
    if normalize:
        w = w * present.sum() / w.sum()
    return w.float()
