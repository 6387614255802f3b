"""Tests for course_utils.metrics against hand-worked numbers, torchmetrics and torchvision."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassJaccardIndex,
    MulticlassRecall,
)

from course_utils.metrics import (
    ConfusionMatrix,
    boundary_iou,
    normalize_matrix,
    per_image_miou,
    scores_from_matrix,
)

# --------------------------------------------------------------------------- hand-worked
# target / pred as one 3x3 image; the 255 pixel is void. Pairs (t, p):
# (0,0) (0,1) (1,1) (1,1) (1,2) (2,2) (2,2) (2,0) (void)
TARGET = torch.tensor([[[0, 0, 1], [1, 1, 2], [2, 2, 255]]])
PRED = torch.tensor([[[0, 1, 1], [1, 2, 2], [2, 0, 0]]])
MATRIX = [[1, 1, 0], [0, 2, 1], [1, 0, 2]]  # rows ground truth, columns prediction


def as_floats(fractions):
    return torch.tensor([float(f) for f in fractions])


def test_hand_worked_matrix_and_scores():
    cm = ConfusionMatrix(num_classes=3).update(PRED, TARGET)
    assert cm.matrix.tolist() == MATRIX
    assert cm.matrix.dtype == torch.int64
    s = cm.compute()
    iou = [F(1, 2 + 2 - 1), F(2, 3 + 3 - 2), F(2, 3 + 3 - 2)]
    acc = [F(1, 2), F(2, 3), F(2, 3)]
    dice = [F(2, 4), F(4, 6), F(4, 6)]
    assert s["pixel_acc"] == pytest.approx(5 / 8)
    assert torch.allclose(s["iou"], as_floats(iou))
    assert s["miou"] == pytest.approx(float(sum(iou) / 3))
    assert torch.allclose(s["class_acc"], as_floats(acc))
    assert s["mean_class_acc"] == pytest.approx(float(sum(acc) / 3))
    assert torch.allclose(s["dice"], as_floats(dice))
    assert s["mean_dice"] == pytest.approx(float(sum(dice) / 3))
    fw = F(2, 8) * iou[0] + F(3, 8) * iou[1] + F(3, 8) * iou[2]
    assert s["fwiou"] == pytest.approx(float(fw))


def test_absent_class_is_nan_and_left_out_of_means():
    three = ConfusionMatrix(num_classes=3).update(PRED, TARGET).compute()
    five = ConfusionMatrix(num_classes=5).update(PRED, TARGET).compute()
    for key in ("iou", "dice", "class_acc"):
        assert torch.isnan(five[key][3:]).all()
        assert torch.equal(five[key][:3], three[key])
    for key in ("miou", "mean_dice", "mean_class_acc", "fwiou", "pixel_acc"):
        assert five[key] == pytest.approx(three[key])


def test_class_never_predicted_or_never_present_scores_zero():
    target = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 0, 2, 2]])  # class 1 never predicted, class 2 never present
    s = ConfusionMatrix(num_classes=4).update(pred, target).compute()
    assert s["iou"][:3].tolist() == [1.0, 0.0, 0.0]
    assert s["class_acc"][:3].tolist() == [1.0, 0.0, 0.0]
    assert torch.isnan(s["iou"][3])
    assert s["miou"] == pytest.approx(1 / 3)


def test_empty_matrix_gives_nan_scores():
    s = ConfusionMatrix(num_classes=3).compute()
    for key in ("pixel_acc", "miou", "fwiou", "mean_dice", "mean_class_acc"):
        assert s[key] != s[key]


# --------------------------------------------------------------------------- oracles
def random_batch(seed, num_classes=21, shape=(3, 17, 23), used=12, void=0.1, logits=False):
    """Random labels using only ``used`` of the classes (so some are absent), with void."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.randperm(num_classes, generator=g)[:used]
    target = classes[torch.randint(0, used, shape, generator=g)]
    target[torch.rand(shape, generator=g) < void] = 255
    pred = classes[torch.randint(0, used, shape, generator=g)]
    right = torch.rand(shape, generator=g) < 0.5
    pred[right & (target != 255)] = target[right & (target != 255)]
    if logits:
        pred = torch.randn(shape[0], num_classes, *shape[1:], generator=g) + \
            5 * torch.nn.functional.one_hot(pred, num_classes).permute(0, 3, 1, 2)
    return pred, target.to(torch.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("logits", [False, True])
def test_matches_torchmetrics(seed, logits):
    c, ig = 21, 255
    pred, target = random_batch(seed, logits=logits)
    ours = ConfusionMatrix(num_classes=c).update(pred, target)
    t = target.long()
    tm_mat = MulticlassConfusionMatrix(c, ignore_index=ig)(pred, t)
    assert torch.equal(ours.matrix, tm_mat)
    s = ours.compute()
    absent = torch.isnan(s["iou"])
    assert absent.any() and not absent.all()

    def tm(metric, **kw):
        return metric(c, ignore_index=ig, **kw)(pred, t).double()

    per_class = {"iou": tm(MulticlassJaccardIndex, average=None),
                 "class_acc": tm(MulticlassRecall, average=None),
                 "dice": tm(MulticlassF1Score, average=None)}
    for key, ref in per_class.items():
        assert torch.allclose(s[key][~absent].double(), ref[~absent], atol=1e-6), key
        assert torch.isnan(s[key][absent]).all()
    means = {"miou": tm(MulticlassJaccardIndex, average="macro"),
             "fwiou": tm(MulticlassJaccardIndex, average="weighted"),
             "pixel_acc": tm(MulticlassAccuracy, average="micro"),
             "mean_class_acc": tm(MulticlassAccuracy, average="macro"),
             "mean_dice": tm(MulticlassF1Score, average="macro")}
    for key, ref in means.items():
        assert s[key] == pytest.approx(float(ref), abs=1e-6), key


def torchvision_reference(pred, target, n):
    """The confusion matrix and scores as written in pytorch/vision references/segmentation."""
    a, b = target.flatten(), pred.flatten()
    k = (a >= 0) & (a < n)
    inds = n * a[k].to(torch.int64) + b[k]
    mat = torch.bincount(inds, minlength=n**2).reshape(n, n)
    h = mat.float()
    acc_global = torch.diag(h).sum() / h.sum()
    acc = torch.diag(h) / h.sum(1)
    iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
    return mat, acc_global, acc, iu


@pytest.mark.parametrize("seed", [3, 4])
def test_matches_torchvision_reference(seed):
    pred, target = random_batch(seed)
    mat, acc_global, acc, iu = torchvision_reference(pred, target.long(), 21)
    ours = ConfusionMatrix().update(pred, target)
    s = ours.compute()
    assert torch.equal(ours.matrix, mat)
    assert s["pixel_acc"] == pytest.approx(float(acc_global))
    has_gt = mat.sum(1) > 0
    assert torch.allclose(s["class_acc"][has_gt], acc[has_gt])
    defined = ~torch.isnan(iu)
    assert torch.allclose(s["iou"][defined], iu[defined])
    assert torch.equal(torch.isnan(s["iou"]), ~defined)  # same NaN classes as the reference


def test_logits_and_labels_agree():
    logits, target = random_batch(5, logits=True)
    a = ConfusionMatrix().update(logits, target)
    b = ConfusionMatrix().update(logits.argmax(1), target)
    assert torch.equal(a.matrix, b.matrix)


def test_dice_iou_relation_and_micro_iou():
    pred, target = random_batch(6)
    s = ConfusionMatrix().update(pred, target).compute()
    ok = ~torch.isnan(s["iou"])
    assert torch.allclose(s["dice"][ok], 2 * s["iou"][ok] / (1 + s["iou"][ok]))
    micro = MulticlassJaccardIndex(21, average="micro", ignore_index=255)(pred, target.long())
    acc = s["pixel_acc"]
    assert float(micro) == pytest.approx(acc / (2 - acc), abs=1e-6)


# --------------------------------------------------------------------------- accumulation
def tm_matrix(pred, target, c=21, ignore_index=255):
    return MulticlassConfusionMatrix(c, ignore_index=ignore_index)(pred, target.long())


def test_update_accumulates_chains_and_resets():
    pred, target = random_batch(7)
    cm = ConfusionMatrix()
    assert cm.update(pred[:1], target[:1]).update(pred[1:], target[1:]) is cm
    assert torch.equal(cm.matrix, tm_matrix(pred, target))
    assert int(cm.matrix.sum()) == int((target != 255).sum())
    assert cm.reset() is cm and int(cm.matrix.sum()) == 0
    assert torch.equal(cm.update(pred, target).matrix, tm_matrix(pred, target))


def test_ignore_index_none_counts_every_pixel_and_refuses_void():
    pred, target = random_batch(9, num_classes=5, used=5)
    none = ConfusionMatrix(num_classes=5, ignore_index=None)
    with pytest.raises(ValueError, match="target holds the value 255, which is not a class "
                                         r"index 0\.\.4$"):
        none.update(pred, target)
    keep = target != 255
    none.update(pred[keep], target[keep])
    assert torch.equal(none.matrix, MulticlassConfusionMatrix(5)(pred[keep], target[keep].long()))


@pytest.mark.parametrize("void", [-100, 0, 3, 100_000])
def test_any_ignore_value_drops_its_pixels_as_torchmetrics(void):
    pred, target = random_batch(14, num_classes=5, used=4)
    moved = torch.where(target == 255, void, target.long())
    ours = ConfusionMatrix(num_classes=5, ignore_index=void).update(pred, moved)
    assert torch.equal(ours.matrix, tm_matrix(pred, moved, 5, void))
    if void in (0, 3):  # a class id as ignore_index: its row stays empty
        assert int(ours.matrix[void].sum()) == 0


def test_empty_batch_counts_nothing():
    empty = torch.zeros(0, 4, 4, dtype=torch.long)
    assert int(ConfusionMatrix().update(empty, empty).matrix.sum()) == 0


def test_matrix_stays_on_its_device():
    pred, target = random_batch(11)
    assert ConfusionMatrix().update(pred, target).matrix.device.type == "cpu"
    assert ConfusionMatrix(device="meta").matrix.device.type == "meta"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    pred, target = random_batch(12, logits=True)
    gpu = ConfusionMatrix(device="cuda").update(pred.cuda(), target.cuda())
    assert gpu.matrix.device.type == "cuda"
    cpu = ConfusionMatrix().update(pred.cuda(), target.cuda())  # counted on GPU, kept on CPU
    assert cpu.matrix.device.type == "cpu"
    assert torch.equal(cpu.matrix, tm_matrix(pred, target))
    assert torch.equal(gpu.matrix.cpu(), cpu.matrix)
    assert gpu.compute()["miou"] == pytest.approx(cpu.compute()["miou"])


# --------------------------------------------------------------------------- bad input
LABELS = torch.zeros(1, 2, 2, dtype=torch.long)


@pytest.mark.parametrize("pred, target, match", [
    (torch.zeros(2, 4, 4, dtype=torch.long), torch.zeros(2, 4, 5, dtype=torch.long),
     r"pred \(as labels \(2, 4, 4\)\) and target \(2, 4, 5\) must have the same shape"),
    (LABELS, torch.zeros(1, 2, 2), "target has dtype torch.float32"),
    (torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), r"pred .* C=21"),
    (torch.zeros(2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), "pred .* logits"),
    (torch.full((1, 2, 2), 21), LABELS, "pred holds the value 21, .* 0..20$"),
    (torch.full((1, 2, 2), -3), LABELS, "pred holds the value -3"),
    (LABELS, torch.full((1, 2, 2), -1), "target holds the value -1"),
    (LABELS, torch.tensor([[[0, 254], [255, 1]]]), "target holds the value 254.*ignore_index=255"),
    (LABELS, torch.tensor([[[0, 21], [255, 1]]]), "target holds the value 21"),
    (LABELS, torch.tensor([[[0, 300], [255, 1]]]), "target holds the value 300"),
    (LABELS, torch.tensor([[[0, 2], [-1, 255]]]), "target holds the value -1"),
])
def test_bad_input_is_refused_naming_the_argument(pred, target, match):
    cm = ConfusionMatrix()
    with pytest.raises(ValueError, match=match):
        cm.update(pred, target)
    assert int(cm.matrix.sum()) == 0  # nothing counted


@pytest.mark.parametrize("matrix", [torch.zeros(2, 3), torch.zeros(4), torch.zeros(1, 2, 2)])
def test_scores_and_normalize_refuse_a_matrix_that_is_not_square(matrix):
    for f in (scores_from_matrix, normalize_matrix):
        with pytest.raises(ValueError, match=r"matrix must be square \(C, C\), got shape"):
            f(matrix)


def test_scores_from_matrix_on_float_matrix():
    s = scores_from_matrix(torch.tensor(MATRIX, dtype=torch.float32) / 8)
    assert s["miou"] == pytest.approx(4 / 9)


# --------------------------------------------------------------------------- per image
def test_per_image_miou_hand_worked():
    target = torch.tensor([[[0, 0]], [[1, 1]]])
    pred = torch.tensor([[[0, 0]], [[1, 0]]])
    # image 1: class 0 only, IoU 1. image 2: class 0 IoU 0/1, class 1 IoU 1/2 -> 1/4.
    assert per_image_miou(pred, target, num_classes=3) == pytest.approx((1 + 1 / 4) / 2)
    # dataset level: class 0 IoU 2/3, class 1 IoU 1/2
    assert ConfusionMatrix(3).update(pred, target).compute()["miou"] == pytest.approx(7 / 12)


def test_per_image_miou_matches_loop_over_torchmetrics():
    pred, target = random_batch(13, shape=(4, 9, 11), used=6, logits=True)
    jac = MulticlassJaccardIndex(21, average="macro", ignore_index=255)
    ref = sum(float(jac(pred[i:i + 1], target[i:i + 1].long())) for i in range(4)) / 4
    assert per_image_miou(pred, target) == pytest.approx(ref, abs=1e-6)
    with pytest.raises(ValueError, match=r"\(N, H, W\) masks"):
        per_image_miou(torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long))


def test_per_image_miou_skips_all_void_images():
    target = torch.tensor([[[0, 1]], [[255, 255]]])
    pred = torch.tensor([[[0, 1]], [[0, 0]]])
    assert per_image_miou(pred, target, num_classes=2) == pytest.approx(1.0)


# --------------------------------------------------------------------------- properties
@st.composite
def labelled(draw, max_classes=6, max_pixels=60):
    c = draw(st.integers(2, max_classes))
    n = draw(st.integers(1, max_pixels))
    values = st.integers(0, c - 1)
    target = draw(st.lists(st.one_of(values, st.just(255)), min_size=n, max_size=n))
    pred = draw(st.lists(values, min_size=n, max_size=n))
    return c, torch.tensor([pred]), torch.tensor([target])


@settings(max_examples=60, deadline=None)
@given(labelled(), st.data())
def test_permuting_labels_permutes_ious(case, data):
    c, pred, target = case
    perm = torch.tensor(data.draw(st.permutations(range(c))))
    lut = torch.cat([perm, torch.zeros(256 - c, dtype=torch.long)])
    lut[255] = 255
    before = ConfusionMatrix(c).update(pred, target).compute()["iou"]
    after = ConfusionMatrix(c).update(lut[pred], lut[target]).compute()["iou"]
    assert torch.allclose(after[perm], before, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(labelled())
def test_perfect_prediction_scores_one(case):
    c, _, target = case
    valid = target != 255
    if not valid.any():
        return
    pred = torch.where(valid, target, 0)
    s = ConfusionMatrix(c).update(pred, target).compute()
    present = torch.bincount(target[valid], minlength=c) > 0
    for key in ("pixel_acc", "miou", "fwiou", "mean_dice", "mean_class_acc"):
        assert s[key] == pytest.approx(1.0)
    assert torch.equal(~torch.isnan(s["iou"]), present)


@settings(max_examples=60, deadline=None)
@given(labelled(), st.integers(0, 60))
def test_two_updates_count_what_one_update_over_both_counts(case, cut):
    c, pred, target = case
    cut = min(cut, pred.shape[1])
    parts = ConfusionMatrix(c).update(pred[:, :cut], target[:, :cut])
    parts.update(pred[:, cut:], target[:, cut:])
    assert torch.equal(parts.matrix, ConfusionMatrix(c).update(pred, target).matrix)
    assert torch.equal(parts.matrix, MulticlassConfusionMatrix(c, ignore_index=255)(pred, target))


# --------------------------------------------------------------------------- normalising
@pytest.mark.filterwarnings("ignore:.*NaN values found in confusion matrix")
def test_normalize_matrix_matches_torchmetrics():
    pred, target = random_batch(15, used=8)
    ours = ConfusionMatrix().update(pred, target).matrix
    for how in ("true", "pred", "all", None):
        ref = MulticlassConfusionMatrix(21, ignore_index=255, normalize=how or "none")(
            pred, target.long()).double()
        got = normalize_matrix(ours, how)
        assert torch.allclose(torch.nan_to_num(got), ref), how  # torchmetrics writes 0 for 0/0
    rows = normalize_matrix(torch.tensor(MATRIX), "true")
    assert torch.allclose(rows.diagonal(), torch.tensor([1 / 2, 2 / 3, 2 / 3], dtype=torch.double))
    with pytest.raises(ValueError, match="normalize"):
        normalize_matrix(ours, "rows")


# --------------------------------------------------------------------------- heatmap
def test_plot_confusion_draws_the_normalised_matrix():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.viz import plot_confusion

    cm = ConfusionMatrix(num_classes=3).update(PRED, TARGET)
    ax = plot_confusion(cm, class_names=["a", "b", "c"])
    shown = torch.as_tensor(ax.images[0].get_array().data)
    assert torch.allclose(shown, normalize_matrix(cm.matrix, "true"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert len(ax.texts) == 9 and ax.texts[0].get_text() == "0.50"
    counts = plot_confusion(cm.matrix.numpy(), normalize=None, annotate=False)
    assert torch.equal(torch.as_tensor(counts.images[0].get_array().data).long(), cm.matrix)
    assert not counts.texts
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion(cm, class_names=["a", "b"])
    plt.close("all")


def test_plot_confusion_on_a_log_scale_names_the_largest_confusions():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from course_utils.viz import plot_confusion

    m = torch.tensor([[900, 60, 40, 0], [5, 80, 15, 0], [0, 3, 97, 0], [1, 0, 0, 9]])
    ax = plot_confusion(m, class_names="abcd", log=True, annotate=False, annotate_top=2)
    assert isinstance(ax.images[0].norm, LogNorm) and ax.images[0].norm.vmin == 1e-3
    shown = ax.images[0].get_array()
    assert shown.mask[0, 3] and not shown.mask[0, 1]  # a zero cell is left white
    rows = normalize_matrix(m, "true")
    # the two largest off-diagonal fractions: b->c 0.15, d->a 0.10 (a->b 0.06 is third)
    assert sorted(t.get_text() for t in ax.texts) == [f"{rows[3, 0]:.2f}", f"{rows[1, 2]:.2f}"]
    assert {(t.get_position()) for t in ax.texts} == {(2, 1), (0, 3)}
    plt.close("all")


# --------------------------------------------------------------------------- notebook 08 checks
def verdicts(capsys) -> list[str]:
    return [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]


def test_nb08_checks_accept_right_answers_only(capsys):
    from course_utils.classroom.checks import nb08

    names = ["a", "b", "c"]
    confused = torch.tensor([[9, 1, 4], [0, 9, 2], [3, 0, 9]])
    nb08.check_most_confused(("a", "c"), confused, names)
    nb08.check_most_confused(("c", "a"), confused, names)  # transposed
    nb08.check_miou_function(lambda mat: scores_from_matrix(mat)["miou"])
    nb08.check_miou_function(lambda mat: float(torch.nan_to_num(
        scores_from_matrix(mat)["iou"]).mean()))  # absent classes counted as 0
    nb08.check_miou_function(lambda mat: 1 / 0)
    nb08.check_accuracy_for_micro_iou(2 / 3, 0.5)
    nb08.check_accuracy_for_micro_iou(0.5, 0.5)
    assert verdicts(capsys) == ["Correct", "Not yet", "Correct", "Not yet", "Not yet", "Correct",
                                "Not yet"]


def test_nb08_shift_curves_recomputed_by_hand(capsys):
    """Exercise 1's check against an independent count: a single square of class 1, shifted."""
    from course_utils.classroom.checks import nb08

    masks = torch.zeros(2, 40, 40, dtype=torch.int64)
    masks[:, 10:30, 10:30] = 1
    masks[1, 0, :] = 255  # void, carried along by the roll and read as background
    mious, bious = [], []
    for s in nb08.SHIFTS:
        p = nb08.shifted(masks, s)
        assert torch.equal(p[1, s, s:], torch.zeros(40 - s, dtype=torch.int64))  # void -> 0
        cm = ConfusionMatrix(21).update(p, masks)
        mious.append(float(cm.compute()["miou"]))
        inter = ((p == 1) & (masks == 1)).sum().item()
        union = 2 * 800 - inter  # two images, each with a 400-px square in truth and prediction
        assert abs(scores_from_matrix(cm.matrix)["iou"][1] - inter / union) < 1e-9
        bious.append(float(boundary_iou(p, masks).nanmean()))
    nb08.check_shift_curves((mious, bious), masks)
    nb08.check_shift_curves((mious, bious[::-1]), masks)
    nb08.check_shift_curves(None, masks)
    assert verdicts(capsys) == ["Correct", "Not yet", "Not yet"]


def test_nb08_most_confused_skips_the_diagonal():
    from course_utils.classroom.checks import nb08

    m = torch.tensor([[100, 3], [7, 100]])
    assert nb08.most_confused(m, ["x", "y"]) == ("y", "x")


def test_per_image_miou_takes_one_hw_mask_as_one_image():
    target = torch.tensor([[0, 0, 1], [1, 1, 255]])
    pred = torch.tensor([[0, 1, 1], [1, 1, 0]])
    one = per_image_miou(pred, target, num_classes=2)
    assert one == per_image_miou(pred[None], target[None], num_classes=2)
    expected = ConfusionMatrix(2).update(pred[None], target[None]).compute()["miou"]
    assert abs(one - float(expected)) < 1e-12  # one image: per-image = data-set mIoU
    logits = torch.nn.functional.one_hot(pred, 2).permute(2, 0, 1).float()
    assert per_image_miou(logits, target, num_classes=2) == one
    with pytest.raises(ValueError, match=r"\(N, H, W\) masks or one \(H, W\) mask"):
        per_image_miou(pred[None, None], target[None, None], num_classes=2)
