"""Tests for course_utils.metrics.boundary_mask (the boundary band of notebook 05)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

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


@pytest.mark.parametrize("label, width, error, match", [
    (torch.zeros(3, 3), 1, ValueError, "label must be an integer"),
    (torch.zeros(3, dtype=torch.int64), 1, ValueError, r"shape \(3,\)"),
    (torch.zeros(3, 3, dtype=torch.int64), 0, ValueError, "width must be a positive int"),
    (torch.zeros(3, 3, dtype=torch.int64), 1.5, ValueError, "width must be a positive int"),
    ([[0, 1]], 1, TypeError, "label must be a torch.Tensor"),
])
def test_bad_input(label, width, error, match):
    with pytest.raises(error, match=match):
        boundary_mask(label, width)
