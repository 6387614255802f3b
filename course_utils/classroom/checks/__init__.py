"""Self-checks for the notebooks' exercises, one module per notebook (``nb01``, ``nb08``, ...).

A check recomputes the right answer from the exercise's inputs (never from a stored
number) and compares the learner's answer with it. It prints one line and returns ``None``,
so a check cell shows the same output every time it passes: ``Correct: <what>``. A wrong or
missing answer prints ``Not yet: <what> - <hint>``; it does not raise, so "run all" goes on.
"""

from __future__ import annotations

import torch


def report(ok: bool, what: str, hint: str = "") -> None:
    """Print the verdict of one exercise."""
    if ok:
        print(f"Correct: {what}")
    else:
        print(f"Not yet: {what}" + (f" - {hint}" if hint else ""))


def close(answer, expected, atol: float = 1e-6, rtol: float = 1e-4) -> bool:
    """True when ``answer`` is numerically ``expected`` (numbers, arrays or tensors, any shape).

    ``None`` or anything that cannot be turned into a tensor is simply "not yet".
    """
    if answer is None:
        return False
    try:
        a = torch.as_tensor(answer, dtype=torch.float64).cpu()
        e = torch.as_tensor(expected, dtype=torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        return False
    if a.shape != e.shape:
        return False
    return bool(torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True))


def check_value(answer, expected, what: str, hint: str = "", **tol) -> None:
    """Report whether ``answer`` equals ``expected`` within tolerance."""
    report(close(answer, expected, **tol), what, hint)
