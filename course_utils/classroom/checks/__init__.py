"""Self-checks for the notebooks' exercises, one module per notebook (``nb01``, ``nb08``, ...).

A check recomputes the right answer from the exercise's inputs and prints one line, ``Correct:
<what>`` or ``Not yet: <what> - <hint>``; it never raises, so "run all" in a student copy goes on.
"""

import torch


def report(ok: bool, what: str, hint: str = "") -> None:
    """Print the verdict of one exercise."""
    if ok:
        print(f"Correct: {what}")
    else:
        print(f"Not yet: {what}" + (f" - {hint}" if hint else ""))


def close(answer, expected, atol: float = 1e-6, rtol: float = 1e-4) -> bool:
    """True when ``answer`` is numerically ``expected`` (any shape); a non-number is "not yet"."""
    try:
        a = torch.as_tensor(answer, dtype=torch.float64).cpu()
        e = torch.as_tensor(expected, dtype=torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        return False
    return a.shape == e.shape and bool(torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True))


def matches(answer, expected, convert) -> bool:
    """True when ``convert(answer) == expected``; an answer ``convert`` refuses is "not yet"."""
    try:
        return convert(answer) == expected
    except (TypeError, ValueError, AttributeError):
        return False


def check_value(answer, expected, what: str, hint: str = "", **tol) -> None:
    """Report whether ``answer`` equals ``expected`` within tolerance."""
    report(close(answer, expected, **tol), what, hint)


def check_function(fn, cases, what: str, hint: str, same=close) -> bool:
    """Report a failure of the learner's ``fn`` on ``cases`` (``(x, expected)`` pairs; a draft
    that raises is reported, not raised); True when it passed, so a check can test more."""
    for x, expected in cases:
        try:
            got = fn(x)
        except Exception as exc:  # a learner's draft may fail in any way: report it
            report(False, what, f"it raised {type(exc).__name__}: {exc}")
            return False
        if not same(got, expected):
            report(False, what, hint)
            return False
    return True
