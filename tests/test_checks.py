"""Exercise self-checks that the notebooks' solution cells do not already cover: each says
"Correct" for a right answer and "Not yet" (never a traceback, never the expected value) for a
placeholder, a wrong answer or a draft that crashes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from voc_fixtures import make_voc

from course_utils.classroom import checks
from course_utils.classroom.checks import nb00, nb01, nb02, nb07, nb09
from course_utils.data import VOCSegDataset, eval_transform, voc


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
    for wrong in (with_void, lambda m: None, lambda m: 1 / 0, lambda m: sorted(classes_in(m)),
                  lambda m: 7):
        out = verdict(capsys, nb00.check_classes_in, wrong)
        assert out.startswith("Not yet"), out
    assert "it raised ZeroDivisionError" in verdict(capsys, nb00.check_classes_in, lambda m: 1 / 0)


def test_check_function_stops_at_the_first_failing_case_and_reports_only_failures(capsys):
    seen = []

    def double(x):
        seen.append(x)
        return 2 * x

    assert checks.check_function(double, [(1, 2), (2, 4)], "double", "hint")
    assert capsys.readouterr().out == ""  # success is the caller's to report
    assert not checks.check_function(double, [(1, 3), (2, 4)], "double", "times two")
    assert capsys.readouterr().out == "Not yet: double - times two\n" and seen == [1, 2, 1]
    assert not checks.check_function(lambda x: x[0], [(1, 1)], "first", "hint")
    assert capsys.readouterr().out.startswith("Not yet: first - it raised TypeError")


def outline(mask):
    edge = torch.zeros(mask.shape, dtype=torch.bool)
    edge[1:] |= mask[1:] != mask[:-1]
    edge[:, 1:] |= mask[:, 1:] != mask[:, :-1]
    return edge


def below_or_right(mask):  # the other side of every label change
    edge = torch.zeros(mask.shape, dtype=torch.bool)
    edge[:-1] |= mask[1:] != mask[:-1]
    edge[:, :-1] |= mask[:, 1:] != mask[:, :-1]
    return edge


@pytest.mark.parametrize(("fn", "ok"), [
    (outline, True), (lambda m: outline(m).numpy(), True), (below_or_right, False),
    (lambda m: m == voc.VOID, False), (lambda m: outline(m).int(), False),
    (lambda m: outline(m)[1:], False), (lambda m: None, False), (lambda m: 1 / 0, False)])
def test_outline_check(capsys, fn, ok):
    out = verdict(capsys, nb00.check_outline, fn)
    assert out.startswith("Correct" if ok else "Not yet"), out


def smaller_than(root, split, crop):
    small = []
    for image_id in voc.read_split(root, split):
        _, h, w = voc.read_image(voc.image_path(root, image_id)).shape
        if h < crop[0] or w < crop[1]:
            small.append(image_id)
    return small


@pytest.mark.parametrize(("fn", "ok"), [
    (smaller_than, True), (lambda r, s, c: tuple(smaller_than(r, s, c)), True),
    (lambda r, s, c: smaller_than(r, s, c[::-1]), False),  # height and width swapped
    (lambda r, s, c: smaller_than(r, s, c)[1:], False), (lambda r, s, c: None, False),
    (lambda r, s, c: "2099_000001", False)])
def test_smaller_than_check(tmp_path, capsys, fn, ok):
    # (H, W): for (128, 128) the 2nd and 3rd are smaller; for (150, 110) the first three; for
    # the swapped (110, 150) the 2nd and 3rd only
    root = make_voc(tmp_path, sizes=((130, 200), (140, 120), (100, 160), (200, 200)), split="val")
    out = verdict(capsys, nb00.check_smaller_than, fn, root)
    assert out.startswith("Correct" if ok else "Not yet"), out


def test_matches_converts_the_answer_and_refuses_what_it_cannot_convert():
    pairs = {(1, 2), (3, 4)}
    as_pairs = lambda a: {tuple(sorted(int(v) for v in p)) for p in a}  # noqa: E731
    assert checks.matches([[2, 1], (3, 4)], pairs, as_pairs)
    assert not checks.matches([(1, 2)], pairs, as_pairs)
    for malformed in (None, 12, "ab", [(1, "x")], {"a": 1}):
        assert not checks.matches(malformed, pairs, as_pairs)
    assert not checks.matches(5, {"cat": 1}, lambda d: {k: int(v) for k, v in d.items()})


@pytest.mark.parametrize("answer", [None, 5, "cat", {"cat": "two"}, [(1, "x")], [[1]]])
def test_nb02_checks_say_not_yet_to_malformed_answers(capsys, answer):
    root = voc.MINI_VOC_DIR
    out = verdict(capsys, nb02.check_components_ok, answer, root, "2026_000082")
    assert out.startswith("Not yet"), out
    for check, args in ((nb02.check_count_objects, (root, ["2026_000082"])),
                        (nb02.check_touching_pairs, (root, ["2026_000082"])),
                        (nb02.check_pq_of_class, ())):
        out = verdict(capsys, check, lambda *a, answer=answer: answer, *args)
        assert out.startswith("Not yet"), out


def pq_of_class(ious):
    matched = ious > 0.5
    tp = int(matched.sum())
    fp, fn = ious.shape[0] - tp, ious.shape[1] - tp
    return float(ious[matched].sum()) / (tp + fp / 2 + fn / 2)


def at_least_half(ious):  # the usual slip: an IoU of exactly 1/2 is no match
    matched = ious >= 0.5
    tp = int(matched.sum())
    return float(ious[matched].sum()) / (tp + (ious.shape[0] - tp) / 2 + (ious.shape[1] - tp) / 2)


def no_false_positives(ious):
    matched = ious > 0.5
    tp, fn = int(matched.sum()), ious.shape[1] - int(matched.sum())
    return float(ious[matched].sum()) / (tp + fn / 2) if tp + fn else 0.0


@pytest.mark.parametrize(("fn", "ok"), [
    (pq_of_class, True), (lambda ious: torch.tensor(pq_of_class(ious)), True),
    (at_least_half, False), (no_false_positives, False),
    (lambda ious: float(ious.max()) if ious.numel() else 0.0, False),  # the best IoU alone
    (lambda ious: None, False), (lambda ious: 1 / 0, False)])
def test_pq_of_class_check(capsys, fn, ok):
    out = verdict(capsys, nb02.check_pq_of_class, fn)
    assert out.startswith("Correct" if ok else "Not yet"), out


def test_pq_cases_are_hand_checked_and_include_matches():
    cases = nb02._pq_cases()
    ious, pq = cases[0]
    assert ious.tolist() == [[1.0]] and pq == 1.0  # a perfect match
    ious, pq = cases[1]
    assert ious.tolist() == [[0.5]] and pq == 0.0  # exactly 1/2: no match, one FP and one FN
    assert [tuple(c[0].shape) for c in cases[2:4]] == [(0, 2), (2, 0)]
    assert sum((c[0] > 0.5).any().item() and c[1] < 1 for c in cases) >= 3


@pytest.mark.parametrize(("answer", "ok"), [(3, True), (3.0000001, True), ([3], False),
                                           (None, False), ("three", False), (4, False)])
def test_close_accepts_numbers_only(answer, ok):
    assert checks.close(answer, 3) is ok


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
    out = verdict(capsys, nb01.check_rgb_to_indices, lambda rgb: 1 / 0)
    assert out.startswith("Not yet") and "ZeroDivisionError" in out

    def other_error(rgb):
        if (rgb == (1, 2, 3)).all(axis=-1).any():
            raise KeyError("unknown colour")
        return strict_rgb_to_indices(rgb)

    out = verdict(capsys, nb01.check_rgb_to_indices, other_error)
    assert out.startswith("Not yet") and "raised KeyError" in out


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


def test_dataset_miou_check_adds_the_matrices_up_first(capsys):
    per_image = torch.tensor([[[3, 1], [0, 0]], [[0, 0], [2, 4]]])  # total [[3, 1], [2, 4]]
    pooled = (3 / (3 + 1 + 2) + 4 / (4 + 2 + 1)) / 2
    averaged = (3 / 4 + 4 / 6) / 2  # per-image mIoUs (class 1 absent from image 0), averaged
    assert verdict(capsys, nb09.check_dataset_miou, pooled, per_image).startswith("Correct")
    for wrong in (averaged, None):
        assert verdict(capsys, nb09.check_dataset_miou, wrong, per_image).startswith("Not yet")


def test_worst_class_check_skips_background_and_absent_classes(capsys):
    iou = [0.1, 0.7, float("nan"), 0.4, 0.9]  # background lowest, class 2 absent
    names = ["background", "cat", "dog", "person", "sheep"]
    assert verdict(capsys, nb09.check_worst_class, "person", iou, names).startswith("Correct")
    for wrong in ("background", "dog", None):
        assert verdict(capsys, nb09.check_worst_class, wrong, iou, names).startswith("Not yet")


def test_crop_miou_check_scores_the_centre_crops(capsys, tmp_path):
    root = make_voc(tmp_path, sizes=((40, 60), (50, 30)), split="val")
    everywhere_background = torch.nn.Conv2d(3, voc.NUM_CLASSES, 1)
    torch.nn.init.zeros_(everywhere_background.weight)
    torch.nn.init.zeros_(everywhere_background.bias)
    everywhere_background.bias.data[0] = 1.0
    labels = torch.stack([y for _, y in VOCSegDataset(root, "val", eval_transform(24))])
    labelled = labels != voc.VOID
    objects = labels[labelled].unique().numel() - 1  # object classes present: IoU 0 each
    expected = float((labels[labelled] == 0).double().mean()) / (1 + objects)
    out = verdict(capsys, nb09.check_crop_miou, expected, everywhere_background, root, 24)
    assert out.startswith("Correct")
    out = verdict(capsys, nb09.check_crop_miou, 1.0, everywhere_background, root, 24)
    assert out.startswith("Not yet")
