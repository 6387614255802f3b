"""Exercise self-checks that the notebooks' solution cells do not already cover: each says
"Correct" for a right answer and "Not yet" (never a traceback, never the expected value) for a
placeholder, a wrong answer or a draft that crashes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from voc_fixtures import make_voc

from course_utils import metrics
from course_utils.classroom import checks
from course_utils.classroom.checks import nb00, nb01, nb02, nb07, nb09
from course_utils.data import voc
from course_utils.metrics import boundary_iou, boundary_mask


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


def test_the_outline_check_finds_viz_outline_of_any_colour():
    mask = torch.tensor([[0, 0, 15, 15], [0, 255, 255, 15], [3, 3, 255, 15]])
    assert torch.equal(nb00._drawn_outline(mask), outline(mask))
    for m in nb00._masks():
        assert torch.equal(nb00._drawn_outline(m), outline(m))


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
    for check, args in ((nb02.check_count_objects, (root, ["2026_000082"])),
                        (nb02.check_touching_pairs, (root, ["2026_000082"])),
                        (nb02.check_counted_right, (root, ["2026_000082"])),
                        (nb02.check_pq_of_class, ())):
        out = verdict(capsys, check, lambda *a, answer=answer: answer, *args)
        assert out.startswith("Not yet"), out
    out = verdict(capsys, nb02.check_two_matches, answer, answer)
    assert out.startswith("Not yet"), out


def test_outline_check_hints_at_the_shape_first(capsys):
    shape_hint = verdict(capsys, nb00.check_outline, lambda m: outline(m).int())
    value_hint = verdict(capsys, nb00.check_outline, below_or_right)
    assert "shape" in shape_hint and "which side" in value_hint and shape_hint != value_hint


def test_count_objects_hint_is_a_nudge(capsys):
    out = verdict(capsys, nb02.check_count_objects, lambda o, c: {}, voc.MINI_VOC_DIR,
                  ["2026_000082"])
    assert out.startswith("Not yet") and "255" not in out and "under" not in out, out


def counted_right(class_mask, objects):
    from scipy import ndimage

    right = set()
    for c in {inst.label for inst in objects}:
        n_components = ndimage.label((class_mask == c).numpy())[1]
        if n_components == sum(inst.label == c for inst in objects):
            right.add(voc.VOC_CLASSES[c])
    return right


def counted_right_8(class_mask, objects):  # the usual slip: corners connect too
    from scipy import ndimage

    right = set()
    for c in {inst.label for inst in objects}:
        n_components = ndimage.label((class_mask == c).numpy(), structure=np.ones((3, 3)))[1]
        if n_components == sum(inst.label == c for inst in objects):
            right.add(voc.VOC_CLASSES[c])
    return right


COUNTED = ["2026_000037", "2026_000009", "2026_000002", "2026_000035", "2026_000025",
           "2026_000003"]


@pytest.mark.parametrize(("fn", "ok"), [
    (counted_right, True), (lambda c, o: sorted(counted_right(c, o)), True),
    (lambda c, o: {"bottle"}, False),  # image 2026_000009's answer typed in
    (lambda c, o: {inst.class_name for inst in o}, False), (lambda c, o: set(), False),
    (lambda c, o: None, False), (lambda c, o: 1 / 0, False)])
def test_counted_right_check(capsys, fn, ok):
    out = verdict(capsys, nb02.check_counted_right, fn, voc.MINI_VOC_DIR, COUNTED)
    assert out.startswith("Correct" if ok else "Not yet"), out


def test_counted_right_images_tell_4_from_8_connectivity_and_vary():
    from course_utils.data import instances

    answers = []
    for image_id in COUNTED:
        cls = voc.read_mask(voc.mask_path(voc.MINI_VOC_DIR, image_id))
        objs = instances.read_instances(voc.MINI_VOC_DIR, image_id)
        answers.append((counted_right(cls, objs), counted_right_8(cls, objs)))
    assert any(a != b for a, b in answers), "8-connectivity would pass too"
    assert len({frozenset(a) for a, _ in answers}) >= 4 and set() in [a for a, _ in answers]


def grid(rows):
    return torch.tensor([[int(v) for v in row] for row in rows.split()])


@pytest.mark.parametrize(("pred", "true", "ok"), [
    # one true segment of 10 px, two predicted inside it of 5 and 4 px: IoUs 0.5 and 0.4...
    ("1111122220", "1111111111", False),  # ...0.4 is not above 0.4
    ("1111122222", "1111111111", True),  # 0.5 and 0.5
    ("11111222220", "11111111111", True),  # 5/11 and 5/11, both above 0.4
    ("1111100000", "1111111111", False),  # one predicted segment only
    ("1111122222", "1111122222", False),  # two matches, but of two true segments
])
def test_two_matches_check(capsys, pred, true, ok):
    out = verdict(capsys, nb02.check_two_matches, grid(pred), grid(true))
    assert out.startswith("Correct" if ok else "Not yet"), out
    out = verdict(capsys, nb02.check_two_matches, grid(pred).numpy(), grid(true).tolist())
    assert out.startswith("Correct" if ok else "Not yet"), out


def test_two_matches_check_refuses_maps_of_different_sizes_or_floats(capsys):
    for pred, true in ((grid("11112222"), grid("111111111")),
                       (grid("11112222").float(), grid("11111111")), (grid("11"), -grid("11"))):
        assert verdict(capsys, nb02.check_two_matches, pred, true).startswith("Not yet")


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
        colour = tuple(rgb[out == 254][0])  # NumPy 2 prints (np.uint8(1), ...): still named
        raise ValueError(f"colour {colour} is no VOC class")
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


def test_rgb_to_indices_check_wants_the_colour_named(capsys):
    def unnamed(rgb):  # a ValueError that does not say which colour
        try:
            return strict_rgb_to_indices(rgb)
        except ValueError:
            raise ValueError("a colour that is no VOC class") from None

    out = verdict(capsys, nb01.check_rgb_to_indices, unnamed)
    assert out.startswith("Not yet") and "name the colour" in out and "(1, 2, 3)" not in out

    def named_as(text):
        def fn(rgb):
            try:
                return strict_rgb_to_indices(rgb)
            except ValueError:
                raise ValueError(text) from None
        return fn

    for text in ("colour [1 2 3] is unknown", "unknown colour #010203", "bad colour 1,2,3"):
        assert verdict(capsys, nb01.check_rgb_to_indices, named_as(text)).startswith("Correct")
    for text in ("colour (11, 2, 3) is unknown", "colour (1, 2, 30) is unknown"):
        assert verdict(capsys, nb01.check_rgb_to_indices, named_as(text)).startswith("Not yet")


def rot90_pair(image, label):
    k = int(torch.randint(0, 4, ()))
    return torch.rot90(image, k, (-2, -1)), torch.rot90(label, k, (-2, -1))


def rot90_pair_v2(image, label):  # v2's rotate by a multiple of 90 degrees, canvas expanded
    from torchvision import tv_tensors
    from torchvision.transforms.v2 import functional as TF

    angle = 90.0 * int(torch.randint(0, 4, ()))
    return (TF.rotate(tv_tensors.Image(image), angle, expand=True),
            TF.rotate(tv_tensors.Mask(label), angle, expand=True))


def turned_apart(image, label):  # one draw for the image, another for the label
    return (torch.rot90(image, int(torch.randint(0, 4, ())), (-2, -1)),
            torch.rot90(label, int(torch.randint(0, 4, ())), (-2, -1)))


@pytest.mark.parametrize(("fn", "ok"), [
    (rot90_pair, True), (rot90_pair_v2, True),
    (lambda im, lab: tuple(x.numpy() for x in rot90_pair(im, lab)), True),
    (turned_apart, False),
    (lambda im, lab: (torch.rot90(im, 1, (0, 1)), torch.rot90(lab, 1)), False),  # channels
    (lambda im, lab: (torch.rot90(im, 1, (1, 2)), torch.rot90(lab, 1)), False),  # never random
    (lambda im, lab: (im.flip(-1), lab.flip(-1)) if torch.rand(()) < 0.5 else (im, lab), False),
    (lambda im, lab: (torch.rot90(im, 2, (1, 2)), lab), False),
    (lambda im, lab: rot90_pair(im, lab)[0], False), (lambda im, lab: None, False),
    (lambda im, lab: 1 / 0, False)])
def test_rot90_pair_check(capsys, fn, ok):
    state = torch.random.get_rng_state()
    out = verdict(capsys, nb01.check_rot90_pair, fn)
    assert out.startswith("Correct" if ok else "Not yet"), out
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's stream untouched


def padding_void_share(root, split, crop):
    padding = void = 0
    for image_id in voc.read_split(root, split):
        mask = voc.read_mask(voc.mask_path(root, image_id))
        h, w = mask.shape
        if h <= crop[0] and w <= crop[1]:
            padding += crop[0] * crop[1] - h * w
            void += crop[0] * crop[1] - h * w + int((mask == voc.VOID).sum())
    return padding / void


def share_of_crop(root, split, crop):  # padding over all pixels of these crops, not over void
    masks = [voc.read_mask(voc.mask_path(root, i)) for i in voc.read_split(root, split)]
    held = [m for m in masks if m.shape[0] <= crop[0] and m.shape[1] <= crop[1]]
    return sum(crop[0] * crop[1] - m.numel() for m in held) / (len(held) * crop[0] * crop[1])


@pytest.mark.parametrize(("fn", "ok"), [
    (padding_void_share, True), (lambda r, s, c: torch.tensor(padding_void_share(r, s, c)), True),
    (lambda r, s, c: padding_void_share(r, s, c[::-1]), False),  # height and width swapped
    (share_of_crop, False), (lambda r, s, c: 100 * padding_void_share(r, s, c), False),
    (lambda r, s, c: None, False), (lambda r, s, c: "0.5", False), (lambda r, s, c: 1 / 0, False)])
def test_padding_void_share_check(tmp_path, capsys, fn, ok):
    # (H, W): the check's crops are (60, 60) (all four held whole) and (50, 60) (the first
    # three); swapped, (60, 50) holds the 2nd and 3rd only
    root = make_voc(tmp_path, sizes=((40, 60), (50, 30), (24, 24), (60, 60)), split="val")
    assert padding_void_share(root, "val", (60, 60)) != padding_void_share(root, "val", (50, 60))
    out = verdict(capsys, nb01.check_padding_void_share, fn, root)
    assert out.startswith("Correct" if ok else "Not yet"), out


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


def _scenes(n=6, seed=0):
    """Whole label maps of varied sizes (a square object on background, a void border) and
    predictions that miss part of the object and paint a block elsewhere."""
    g = torch.Generator().manual_seed(seed)
    truths, preds = [], []
    for k in range(n):
        h, w = 24 + 2 * k, 30 - k
        t = torch.zeros(h, w, dtype=torch.long)
        t[4:14, 5:15] = 1 + k % 3
        t[3:5, 5:15] = voc.VOID  # a void band along the object's top edge, as VOC draws it
        p = t.clone().masked_fill(t == voc.VOID, 0)
        p[5:7, 5:15] = 0  # the top of the object missed: near its edge
        r = int(torch.randint(16, h - 4, (1,), generator=g))
        c = int(torch.randint(18, w - 4, (1,), generator=g))
        p[r:r + 3, c:c + 3] = 4  # a block painted away from the object
        truths.append(t)
        preds.append(p)
    return preds, truths


def _band_share_by_hand(pred, truth, width=3):
    wrong = (pred != truth) & (truth != voc.VOID)
    if not wrong.any():
        return float("nan")
    band = torch.zeros_like(truth, dtype=torch.bool)  # brute force: any other label in the window
    h, w = truth.shape
    for i in range(h):
        for j in range(w):
            window = truth[max(i - width, 0):i + width + 1, max(j - width, 0):j + width + 1]
            band[i, j] = bool((window != truth[i, j]).any())
    return float((wrong & band).sum() / wrong.sum())


def test_band_share_check_tries_hand_made_cases_and_every_image(capsys):
    preds, truths = _scenes()
    assert verdict(capsys, nb09.check_band_share, _band_share_by_hand, preds,
                   truths).startswith("Correct")
    def everywhere(p, t):  # forgets void: counts void pixels as wrong
        wrong = p != t
        return float((wrong & boundary_mask(t, 3)).sum() / wrong.sum()) if wrong.any() else (
            float("nan"))

    def narrow(p, t):  # a 1-pixel band: right on the hand-made cases, wrong on real images
        return _band_share_by_hand(p, t, width=1)
    for wrong in (everywhere, narrow, lambda p, t: 0.5, lambda p, t: 1 / 0):
        assert verdict(capsys, nb09.check_band_share, wrong, preds, truths).startswith("Not yet")


def test_class_intervals_check_resamples_the_images(capsys):
    from course_utils.training.comparison import resample_weights
    g = torch.Generator().manual_seed(0)
    per_image = torch.randint(0, 5, (12, voc.NUM_CLASSES, voc.NUM_CLASSES), generator=g)
    per_image[:, 7, :] = 0  # class 7 in no image: NaN both ends
    per_image[:, :, 7] = 0
    w = resample_weights(12, 2000, seed=0)
    m = torch.einsum("bn,ncd->bcd", w, per_image.double())
    iou = m.diagonal(dim1=1, dim2=2) / (m.sum(1) + m.sum(2) - m.diagonal(dim1=1, dim2=2))
    answer = torch.stack([iou[:, 1:].nanquantile(0.025, 0), iou[:, 1:].nanquantile(0.975, 0)], 1)
    assert answer[6].isnan().all() and (answer[:, 0] <= answer[:, 1]).sum() == 19
    assert verdict(capsys, nb09.check_class_intervals, answer, per_image).startswith("Correct")
    other_seed = resample_weights(12, 2000, seed=1)
    for wrong in (answer[:, [1, 0]], answer.nan_to_num(0), answer[:10], None,
                  torch.einsum("bn,ncd->bcd", other_seed, per_image.double())):
        assert verdict(capsys, nb09.check_class_intervals, wrong, per_image).startswith("Not yet")


def test_boundary_ratio_check_divides_by_the_void_filled_reference(capsys):
    preds, truths = _scenes()
    void_filled = boundary_iou([metrics.fill_void(t) for t in truths], truths)
    assert (void_filled[1:4] < 1).all()  # the void row hides part of each object's outline
    answer = boundary_iou(preds, truths) / void_filled
    assert verdict(capsys, nb09.check_boundary_ratio, answer, preds, truths).startswith("Correct")
    for wrong in (boundary_iou(preds, truths), answer[1:], None):
        assert verdict(capsys, nb09.check_boundary_ratio, wrong, preds,
                       truths).startswith("Not yet")
