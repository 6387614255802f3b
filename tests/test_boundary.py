"""Tests for course_utils.metrics.boundary_mask and boundary_iou against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils import metrics
from course_utils.data import VOID
from course_utils.metrics import ConfusionMatrix, boundary_mask


def brute_force(label: np.ndarray, width: int) -> np.ndarray:
    """The definition, pixel by pixel: a different label within the clipped square window."""
    h, w = label.shape
    out = np.zeros((h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            window = label[max(i - width, 0):i + width + 1, max(j - width, 0):j + width + 1]
            out[i, j] = bool((window != label[i, j]).any())
    return out


def test_hand_worked_vertical_edge():
    label = torch.zeros(3, 6, dtype=torch.int64)
    label[:, 3:] = 7  # edge between columns 2 and 3
    band1 = boundary_mask(label, 1)
    assert band1[:, [2, 3]].all() and not band1[:, [0, 1, 4, 5]].any()
    band2 = boundary_mask(label, 2)
    assert band2[:, 1:5].all() and not band2[:, [0, 5]].any()


def test_uniform_label_has_no_band_and_border_is_not_an_edge():
    assert not boundary_mask(torch.full((5, 4), 3), 2).any()


def test_void_is_a_label_for_edges():
    label = torch.tensor([[1, 1, 255, 0, 0]])
    assert boundary_mask(label, 1).tolist() == [[False, True, True, True, False]]


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 9), st.integers(1, 9)),
              elements=st.sampled_from([0, 1, 5, 255])),
       st.integers(1, 3))
def test_matches_brute_force(label, width):
    got = boundary_mask(torch.from_numpy(label), width).numpy()
    np.testing.assert_array_equal(got, brute_force(label, width))


def test_batch_equals_per_image():
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (4, 7, 9), dtype=torch.uint8)
    band = boundary_mask(labels, 2)
    assert band.shape == labels.shape and band.dtype == torch.bool
    for i in range(4):
        assert torch.equal(band[i], boundary_mask(labels[i], 2))


def test_band_restricted_scores_via_ignore_index():
    target = torch.zeros(1, 4, 8, dtype=torch.int64)
    target[..., 4:] = 1
    pred = target.clone()
    pred[..., 3] = 1  # wrong only next to the edge
    band = boundary_mask(target, 1)
    cm = ConfusionMatrix(2).update(pred, target.masked_fill(~band, 255))
    assert int(cm.matrix.sum()) == 8  # columns 3 and 4
    assert cm.compute()["pixel_acc"] == pytest.approx(0.5)
    assert ConfusionMatrix(2).update(pred, target).compute()["pixel_acc"] == pytest.approx(7 / 8)


@pytest.mark.parametrize("label, width, match", [
    (torch.zeros(3, 3), 1, "label must be integer .* got dtype torch.float32"),
    (torch.zeros(3, dtype=torch.int64), 1, r"label must be .* shape \(3,\)"),
    (torch.zeros(3, 3, dtype=torch.int64), 0, "width must be a positive int, got 0"),
    (torch.zeros(3, 3, dtype=torch.int64), 1.5, "width must be a positive int, got 1.5"),
])
def test_bad_input_is_refused_naming_the_argument(label, width, match):
    with pytest.raises(ValueError, match=match):
        boundary_mask(label, width)


# --------------------------------------------------------------------------- boundary IoU
def rim_brute(mask: np.ndarray, width: int) -> np.ndarray:
    """Mask pixels with a non-mask pixel (or the outside of the image) within the window."""
    h, w = mask.shape
    padded = np.zeros((h + 2 * width, w + 2 * width), dtype=bool)
    padded[width:width + h, width:width + w] = mask
    out = np.zeros_like(mask)
    for i in range(h):
        for j in range(w):
            window = padded[i:i + 2 * width + 1, j:j + 2 * width + 1]
            out[i, j] = mask[i, j] and not window.all()
    return out


def biou_brute(pred, target, num_classes, width, void=255):
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for p, t in zip(pred, target, strict=True):
        keep = t != void
        for c in range(num_classes):
            g, q = rim_brute(t == c, width) & keep, rim_brute(p == c, width) & keep
            inter[c] += (g & q).sum()
            union[c] += (g | q).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


@settings(max_examples=25, deadline=None)
@given(arrays(np.int64, (2, 7, 9), elements=st.sampled_from([0, 1, 2, 255])),
       arrays(np.int64, (2, 7, 9), elements=st.sampled_from([0, 1, 2])),
       st.integers(1, 3))
def test_boundary_iou_matches_the_definition(target, pred, width):
    from course_utils.metrics import boundary_iou

    got = boundary_iou(torch.from_numpy(pred), torch.from_numpy(target), 3, width).numpy()
    np.testing.assert_allclose(got, biou_brute(pred, target, 3, width), equal_nan=True)


def test_boundary_iou_punishes_a_wrong_outline_that_mask_iou_forgives():
    from course_utils.metrics import boundary_iou

    target = torch.zeros(1, 40, 40, dtype=torch.long)
    target[0, 5:35, 5:35] = 1
    shifted = torch.zeros_like(target)
    shifted[0, 7:37, 7:37] = 1  # the same square, 2 px off
    iou = ConfusionMatrix(2).update(shifted, target).compute()["iou"][1]
    biou = boundary_iou(shifted, target, 2, width=2)[1]
    assert iou > 0.75 and biou < 0.5
    assert boundary_iou(target, target, 2, width=2)[1] == 1.0
    with pytest.raises(ValueError, match="pred must be integer"):
        boundary_iou(target.float(), target, 2)
    with pytest.raises(ValueError, match=r"pred \(1, 40, 40\) and target \(1, 40, 39\) differ"):
        boundary_iou(target, target[..., 1:], 2)
    with pytest.raises(ValueError, match="width must be a positive int"):
        boundary_iou(target, target, 2, width=0)


def test_boundary_iou_of_a_list_of_sizes_adds_the_images_up():
    from course_utils.metrics import boundary_iou

    g = torch.Generator().manual_seed(0)
    a_t, a_p = (torch.randint(0, 3, (9, 11), generator=g) for _ in range(2))
    b_t, b_p = (torch.randint(0, 3, (6, 14), generator=g) for _ in range(2))
    got = boundary_iou([a_p, b_p], [a_t, b_t], 3, width=1).numpy()
    expected = biou_brute([a_p.numpy(), b_p.numpy()], [a_t.numpy(), b_t.numpy()], 3, 1)
    np.testing.assert_allclose(got, expected, equal_nan=True)


# --------------------------------------------------------------------------- rings and counts
def test_ring_counts_hand_worked_each_pixel_in_one_ring():
    target = torch.zeros(1, 12, dtype=torch.long)
    target[0, 6:] = 1  # one edge between columns 5 and 6
    pred = target.clone()
    pred[0, 5] = 1  # wrong next to the edge
    pred[0, 0] = 1  # wrong far from it
    counts = metrics.ring_counts(pred, target, edges=(1, 2, 4))
    # distance 1: columns 5, 6; 2: 4, 7; 3-4: 2, 3, 8, 9; beyond: 0, 1, 10, 11
    assert counts.tolist() == [[1, 2], [2, 2], [4, 4], [3, 4]]
    assert counts[:, 1].sum() == target.numel()
    target[0, 11] = 255  # void is not counted (but is a label change for the distances)
    counts = metrics.ring_counts(pred, target, edges=(1, 2, 4))
    assert counts[:, 1].sum() == target.numel() - 1 and counts[0].tolist() == [2, 3]


def test_boundary_counts_add_up_to_boundary_iou():
    torch.manual_seed(0)
    preds = [torch.randint(0, 3, (9, 11)), torch.randint(0, 3, (7, 5))]
    targets = [torch.randint(0, 3, (9, 11)), torch.randint(0, 3, (7, 5))]
    inter, union = metrics.boundary_counts(preds, targets, num_classes=3, width=1)
    one = [metrics.boundary_counts(p, t, num_classes=3, width=1)
           for p, t in zip(preds, targets, strict=True)]
    torch.testing.assert_close(inter, one[0][0] + one[1][0])
    torch.testing.assert_close(inter / union, metrics.boundary_iou(preds, targets, 3, 1))


# --------------------------------------------------------------------------- fill_void
def test_fill_void_gives_each_void_pixel_its_nearest_label():
    """Against a brute-force nearest neighbour (Euclidean) on random maps: labelled pixels keep
    their class, no void is left, and each filled pixel takes the class of a nearest labelled
    pixel (any of them, when several are equally near)."""
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        label = torch.randint(0, 4, (9, 11), generator=g)
        label[torch.rand(9, 11, generator=g) < 0.4] = VOID
        filled = metrics.fill_void(label)
        keep = label != VOID
        assert torch.equal(filled[keep], label[keep]) and not (filled == VOID).any()
        ys, xs = torch.nonzero(keep, as_tuple=True)
        for y, x in torch.nonzero(~keep).tolist():
            d2 = (ys - y) ** 2 + (xs - x) ** 2
            nearest = {int(label[a, b]) for a, b in zip(ys[d2 == d2.min()], xs[d2 == d2.min()],
                                                        strict=True)}
            assert int(filled[y, x]) in nearest


def test_a_perfect_prediction_under_a_void_band_scores_below_one_in_boundary_iou():
    """The reference: an object 16 px wide in a 4-px void ring; filled, the prediction's own
    rim runs through the void, so its labelled rim pixels differ from the truth's. It is not a
    bound: the band given to the background draws the object's outline on its labelled edge,
    which scores 1 on the object and less on the background; an absent class in the band, 1."""
    label = torch.zeros(40, 40, dtype=torch.int64)
    label[8:32, 8:32] = VOID
    label[12:28, 12:28] = 7
    perfect = metrics.fill_void(label)
    assert torch.equal(perfect[label != VOID], label[label != VOID])
    void_filled = metrics.boundary_iou(perfect, label)
    assert 0.0 < void_filled[7] < 1.0 and 0.0 < void_filled[0] < 1.0
    tight = metrics.boundary_iou(label.where(label != VOID, 0), label)
    assert tight[7] == 1.0 and tight[0] < void_filled[0]
    absent = metrics.boundary_iou(label.where(label != VOID, 3), label)
    assert absent[0] == absent[7] == 1.0
    with pytest.raises(ValueError, match="every pixel is void"):
        metrics.fill_void(torch.full((3, 3), VOID))
    with pytest.raises(ValueError, match=r"one \(H, W\)"):
        metrics.fill_void(label[None])
