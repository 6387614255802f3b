"""Counting a confusion matrix: labels checked, void dropped, one ``bincount``.

The core under ``metrics.ConfusionMatrix``: ``confusion_counts(pred, target)`` turns a batch of
predictions (labels or logits) and targets into a ``(C, C)`` matrix of counts (rows: ground
truth, columns: prediction), in one ``bincount`` over ``target * C + pred`` with the smallest
integer type that holds the codes. Bad input (a label out of range, mismatched shapes, a
float target) is refused with an error that names the argument and the value.
"""

from __future__ import annotations

import torch

from .boundary import _check_tensor


# --------------------------------------------------------------------------- input checks
def to_labels(pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class labels from a prediction: the argmax over dim 1 of float logits ``(N, C, ...)``,
    or integer labels ``(N, ...)`` returned as they are.
    """
    _check_tensor(pred, "pred")
    if not pred.is_floating_point():
        return pred
    if pred.ndim < 2 or pred.shape[1] != num_classes:
        raise ValueError(f"pred is floating point with shape {tuple(pred.shape)}: expected "
                         f"logits (N, C={num_classes}, H, W), or integer labels (N, H, W)")
    return pred.argmax(1)


DIRECT_VOID_MAX = 1023  # void values in 0..this keep their own bincount row (VOC's 255)


def _value_error(name: str, value: int, num_classes: int, ignore_index=None) -> ValueError:
    also = f" nor ignore_index={ignore_index}" if ignore_index is not None else ""
    return ValueError(f"{name} holds the value {value}, which is not a class index "
                      f"0..{num_classes - 1}{also}")


def _min_max(x: torch.Tensor) -> tuple[int, int]:
    lo, hi = torch.aminmax(x)
    return int(lo), int(hi)


def _check_pred_range(labels: torch.Tensor, num_classes: int) -> None:
    """Raise ValueError if predicted labels leave ``0..num_classes-1`` (one min/max pass)."""
    lo, hi = _min_max(labels)
    if lo < 0 or hi >= num_classes:
        raise _value_error("pred", lo if lo < 0 else hi, num_classes)


def _target_rows(target: torch.Tensor, num_classes: int, ignore_index):
    """The target as bincount row indices, the row that holds void pixels, and the last row.

    Void values in ``0..DIRECT_VOID_MAX`` (VOC's 255) keep their own row, so dropping void
    pixels costs no extra pass; a negative or huge ``ignore_index`` (e.g. -100) is first
    moved to row C. Values that are neither a class nor void raise ValueError (here, or in
    :func:`_drop_void` for values between C and the void value).
    """
    lo, hi = _min_max(target)
    void = ignore_index
    if ignore_index is not None and ignore_index in (lo, hi) and \
            not 0 <= ignore_index <= DIRECT_VOID_MAX:
        target = torch.where(target == ignore_index, num_classes, target)
        void = num_classes
        lo, hi = _min_max(target)
    if lo < 0 or (hi >= num_classes and hi != void):
        raise _value_error("target", lo if lo < 0 else hi, num_classes, ignore_index)
    return target, void, max(hi, num_classes - 1)


def _drop_void(rows: torch.Tensor, num_classes: int, void, ignore_index) -> torch.Tensor:
    """``(..., R, C)`` bincount rows -> ``(..., C, C)`` matrix without the void row.

    Any other row beyond C holds pixels whose target is no class: raise naming the value.
    """
    if rows.shape[-2] > num_classes:
        per_row = rows[..., num_classes:, :].sum(-1)
        per_row = per_row.sum(0) if per_row.ndim > 1 else per_row  # per-image counts
        stray = [int(v) + num_classes for v in per_row.nonzero().flatten()]
        stray = [v for v in stray if v != void]
        if stray:
            raise _value_error("target", stray[0], num_classes, ignore_index)
    matrix = rows[..., :num_classes, :].clone()
    if void is not None and 0 <= void < num_classes:
        matrix[..., void, :] = 0  # an ignore_index that is also a class id: drop its row
    return matrix


def _validated_labels(pred, target, num_classes: int) -> torch.Tensor:
    """Check ``pred`` against ``target`` (type, dtype, shape, device, pred range); return labels."""
    _check_tensor(target, "target")
    if target.is_floating_point():
        raise TypeError(f"target has dtype {target.dtype}; expected integer class indices "
                        "(convert with .long())")
    labels = to_labels(pred, num_classes)
    if labels.shape != target.shape:
        raise ValueError(f"pred and target shapes disagree: pred {tuple(pred.shape)} "
                         f"(labels {tuple(labels.shape)}) vs target {tuple(target.shape)}")
    if labels.device != target.device:
        raise ValueError(f"pred is on {labels.device} but target is on {target.device}")
    return labels


# --------------------------------------------------------------------------- counting
def _smallest_int(largest: int) -> torch.dtype:
    """The narrowest signed integer dtype holding ``0..largest``: less memory traffic."""
    for dtype in (torch.int16, torch.int32):
        if largest <= torch.iinfo(dtype).max:
            return dtype
    return torch.int64


def _codes(labels: torch.Tensor, rows: torch.Tensor, num_classes: int, dtype) -> torch.Tensor:
    """Flat bin index ``row * C + pred`` per pixel, in two passes (copy, then fused add)."""
    codes = labels.reshape(-1).to(dtype, copy=True)
    rows = rows.reshape(-1)
    if torch.promote_types(dtype, rows.dtype) != dtype:
        rows = rows.to(dtype)
    return codes.add_(rows, alpha=num_classes)


def _check_classes(num_classes) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")


def confusion_counts(pred, target, num_classes: int = 21, ignore_index: int | None = 255,
                     per_image: bool = False) -> torch.Tensor:
    """The ``(C, C)`` int64 confusion matrix of one batch, with a single ``torch.bincount``.

    ``pred`` is logits ``(N, C, H, W)`` or labels ``(N, H, W)``; ``target`` labels
    ``(N, H, W)``. Rows are ground truth, columns prediction; pixels whose target is
    ``ignore_index`` are dropped. Each pixel goes to bin ``target * C + pred``; void pixels
    land in rows past C that are cut off afterwards. With ``per_image=True`` the result is
    ``(N, C, C)``, one matrix per image (still one bincount, image ``n``'s bins offset).
    """
    _check_classes(num_classes)
    labels = _validated_labels(pred, target, num_classes)
    if per_image and target.ndim < 2:
        raise ValueError(f"per_image needs a batch: target (N, H, W), got {tuple(target.shape)}")
    n = target.shape[0] if per_image else 1
    if target.numel() == 0:
        return torch.zeros(*((n,) if per_image else ()), num_classes, num_classes,
                           dtype=torch.int64, device=target.device)
    _check_pred_range(labels, num_classes)
    rows, void, last_row = _target_rows(target, num_classes, ignore_index)
    bins = (last_row + 1) * num_classes
    codes = _codes(labels, rows, num_classes, _smallest_int(n * bins - 1))
    if per_image:
        offsets = torch.arange(n, device=codes.device, dtype=codes.dtype) * bins
        codes = codes.view(n, -1).add_(offsets[:, None]).view(-1)
    counts = torch.bincount(codes, minlength=n * bins)
    shape = (n, last_row + 1, num_classes) if per_image else (last_row + 1, num_classes)
    return _drop_void(counts.reshape(shape), num_classes, void, ignore_index)
