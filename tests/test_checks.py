"""Exercise self-checks that the notebooks' solution cells do not already cover: each says
"Correct" for a right answer and "Not yet" (never a traceback, never the expected value) for a
placeholder, a wrong answer or a draft that crashes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.classroom.checks import nb00, nb01, nb07
from course_utils.data import voc


def verdict(capsys, check, *args):
    check(*args)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return out


def classes_in(mask):
    return [voc.VOC_CLASSES[c] for c in mask.unique().tolist() if c != voc.VOID]


def test_classes_in_check(capsys):
    assert verdict(capsys, nb00.check_classes_in, classes_in).startswith("Correct")
    with_void = lambda m: [voc.VOC_CLASSES[c] if c < 21 else "void" for c in m.unique().tolist()]  # noqa: E731
    for wrong in (with_void, lambda m: None, lambda m: 1 / 0, lambda m: sorted(classes_in(m))):
        out = verdict(capsys, nb00.check_classes_in, wrong)
        assert out.startswith("Not yet"), out


def strict_rgb_to_indices(rgb):
    out = np.full(rgb.shape[:2], 254, dtype=np.uint8)
    for index, colour in enumerate(voc.VOC_COLORMAP):
        out[(rgb == colour).all(axis=-1)] = index
    out[(rgb == voc.VOID_COLOR).all(axis=-1)] = voc.VOID
    if (out == 254).any():
        raise ValueError("a colour that is no VOC class")
    return out


def background_rgb_to_indices(rgb):  # d2l's route: unknown colours silently become 0
    out = np.zeros(rgb.shape[:2], dtype=np.uint8)
    for index, colour in enumerate(voc.VOC_COLORMAP):
        out[(rgb == colour).all(axis=-1)] = index
    out[(rgb == voc.VOID_COLOR).all(axis=-1)] = voc.VOID
    return out


def test_rgb_to_indices_check_refuses_unknown_colours_as_background(capsys):
    assert verdict(capsys, nb01.check_rgb_to_indices, strict_rgb_to_indices).startswith("Correct")
    assert verdict(capsys, nb01.check_rgb_to_indices, voc.colors_to_indices).startswith("Correct")
    out = verdict(capsys, nb01.check_rgb_to_indices, background_rgb_to_indices)
    assert out.startswith("Not yet") and "background" in out
    assert verdict(capsys, nb01.check_rgb_to_indices, lambda rgb: None).startswith("Not yet")


@pytest.mark.parametrize(("check", "args", "expected"), [
    (nb07.check_pos_weight, (torch.tensor([[0, 0, 1], [0, 255, 1]]),), 3 / 2),
    (nb07.check_focal_value, (0.8, 0, 0.25, 2.0), -0.75 * 0.8 ** 2 * math.log(0.2)),
])
def test_losses_checks_never_print_the_expected_value(capsys, check, args, expected):
    for wrong in (None, 0.123):
        out = verdict(capsys, check, wrong, *args)
        assert out.startswith("Not yet")
        assert f"{expected:.4f}" not in out and f"{expected:.3f}" not in out
    assert verdict(capsys, check, expected, *args).startswith("Correct")
