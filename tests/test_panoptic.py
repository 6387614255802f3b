"""Tests for course_utils.metrics.panoptic: hand-worked cases, void as panopticapi treats it,
and agreement with torchmetrics' PanopticQuality on random labels."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.detection import PanopticQuality

from course_utils.metrics import ClassPQ, panoptic_quality, panoptic_segments

CAT, V = 8, 255
# The hand-worked case of notebook 02: background (0) is stuff, cat a thing. True cats 1
# (6 px) and 2 (4 px); the prediction finds cat 1 with one pixel too many, misses cat 2 (its
# pixels predicted background) and adds a 2-pixel cat on the background.
TRUE_C = torch.tensor([[8, 8, 0, 0, 8, 8], [8, 8, 0, 0, 8, 8], [8, 8, 0, 0, 0, 0],
                       [0, 0, 0, 0, 0, 0]])
TRUE_I = torch.tensor([[1, 1, 0, 0, 2, 2], [1, 1, 0, 0, 2, 2], [1, 1, 0, 0, 0, 0],
                       [0, 0, 0, 0, 0, 0]])
PRED_C = torch.tensor([[8, 8, 8, 0, 0, 0], [8, 8, 0, 0, 0, 0], [8, 8, 0, 0, 0, 0],
                       [0, 0, 0, 0, 8, 8]])
PRED_I = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0],
                       [0, 0, 0, 0, 2, 2]])


def test_hand_worked_case():
    # cat: true 1 (6 px) vs predicted 1 (7 px): IoU 6/7 > 1/2, a match; predicted 2 is left
    # over (FP), true 2 too (FN): PQ = (6/7) / (1 + 1/2 + 1/2) = 3/7, SQ = 6/7, RQ = 1/2.
    # background: true 14 px, predicted 15, 11 in common: IoU 11/(14 + 15 - 11) = 11/18.
    s = panoptic_quality(PRED_C, PRED_I, TRUE_C, TRUE_I)
    assert s.per_class[CAT] == ClassPQ(tp=1, fp=1, fn=1, iou_sum=6 / 7)
    assert s.per_class[0] == ClassPQ(tp=1, fp=0, fn=0, iou_sum=11 / 18)
    assert s.matches == [(0, 0, 0, 11 / 18), (CAT, 1, 1, 6 / 7)]
    cat = s.per_class[CAT]
    assert (cat.pq, cat.sq, cat.rq) == pytest.approx((3 / 7, 6 / 7, 1 / 2))
    assert cat.pq == pytest.approx(cat.sq * cat.rq)
    assert s.pq == pytest.approx(float((F(3, 7) + F(11, 18)) / 2))  # 131/252
    assert s.sq == pytest.approx(float((F(6, 7) + F(11, 18)) / 2))
    assert s.rq == pytest.approx(3 / 4)
    assert s.pq != pytest.approx(s.sq * s.rq)  # the means over classes: PQ is not SQ x RQ


def test_iou_of_exactly_one_half_is_no_match():
    true_c = torch.tensor([[8, 8, 0, 0, 0, 0]])
    pred_c = torch.tensor([[8, 8, 8, 8, 0, 0]])  # cat: 2 in common, union 4: IoU exactly 1/2
    ones = torch.ones_like(true_c)
    s = panoptic_quality(pred_c, ones, true_c, ones)
    assert s.per_class[CAT] == ClassPQ(tp=0, fp=1, fn=1) and s.per_class[CAT].pq == 0
    assert s.per_class[0] == ClassPQ(tp=0, fp=1, fn=1)  # background: 2 of 4, 1/2 too
    assert s.matches == [] and s.pq == 0


def test_stuff_ids_are_ignored_and_void_is_no_segment():
    classes = torch.tensor([[0, 0, 8], [V, 0, 8]])
    ids = torch.tensor([[3, 4, 1], [9, 5, 2]])  # background ids differ: still one segment
    segs = panoptic_segments(classes, ids)
    assert sorted(segs) == [(0, 0), (8, 1), (8, 2)]
    assert segs[(0, 0)].sum() == 3 and not any(m[1, 0] for m in segs.values())


def test_a_predicted_segments_pixels_on_true_void_leave_its_iou():
    true_c = torch.tensor([[8, 8, 8, V, 0, 0]])
    pred_c = torch.tensor([[8, 8, 8, 8, 0, 0]])  # 4 px, 1 on void: IoU 3 / (4 - 1) = 1
    ones = torch.ones_like(true_c)
    s = panoptic_quality(pred_c, ones, true_c, ones)
    assert s.matches == [(0, 0, 0, 1.0), (CAT, 1, 1, 1.0)] and s.pq == 1.0


@pytest.mark.parametrize("pred_row, cat", [
    ([0, 0, 8, 8, 8, 0], None),                           # 2 of 3 px on void: excused
    ([0, 0, 8, 8, 8, 8], ClassPQ(tp=0, fp=1, fn=0)),      # 2 of 4, not more than half: FP
])
def test_a_false_positive_mostly_on_true_void_is_excused(pred_row, cat):
    true_c = torch.tensor([[0, 0, V, V, 0, 0]])
    pred_c = torch.tensor([pred_row])
    ones = torch.ones_like(true_c)
    s = panoptic_quality(pred_c, ones, true_c, ones)
    assert s.per_class.get(CAT) == cat


def test_a_perfect_prediction_scores_one_and_an_empty_image_raises():
    s = panoptic_quality(TRUE_C, TRUE_I, TRUE_C, TRUE_I)
    assert (s.pq, s.sq, s.rq) == (1.0, 1.0, 1.0)
    void = torch.full((2, 2), V)
    with pytest.raises(ValueError, match="void everywhere"):
        _ = panoptic_quality(void, void, void, void).pq


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="pred_ids"):
        panoptic_quality(PRED_C, PRED_I.float(), TRUE_C, TRUE_I)
    with pytest.raises(ValueError, match="differ in size"):
        panoptic_quality(PRED_C[:2], PRED_I[:2], TRUE_C, TRUE_I)
    with pytest.raises(ValueError, match="true_classes"):
        panoptic_quality(PRED_C, PRED_I, TRUE_C[0], TRUE_I)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(0.0, 0.6), void=st.booleans())
def test_agrees_with_torchmetrics_on_random_labels(seed, noise, void):
    # things 1 and 2 (ids 1-3), stuff 0 and 3, in 4 x 4 blocks; the prediction is the truth
    # with a share `noise` of its pixels relabelled at random. Void only in the ground truth:
    # there panopticapi's rules, ours and torchmetrics' agree.
    g = torch.Generator().manual_seed(seed)
    shape = (8, 10)

    def blocks(low):
        coarse = torch.randint(low, 4, (2, 3), generator=g)
        return coarse.repeat_interleave(4, 0).repeat_interleave(4, 1)[:8, :10]

    true_c, true_i = blocks(0), blocks(1)
    flip = torch.rand(shape, generator=g) < noise
    pred_c = torch.where(flip, torch.randint(0, 4, shape, generator=g), true_c)
    pred_i = torch.where(flip, torch.randint(1, 4, shape, generator=g), true_i)
    if void:
        true_c = torch.where(torch.rand(shape, generator=g) < 0.2, V, true_c)
    mine = panoptic_quality(pred_c, pred_i, true_c, true_i, stuff=(0, 3))
    tm = PanopticQuality(things={1, 2}, stuffs={0, 3}, return_sq_and_rq=True)
    expected = tm(torch.stack([pred_c, pred_i], -1)[None], torch.stack([true_c, true_i], -1)[None])
    got = torch.tensor([mine.pq, mine.sq, mine.rq], dtype=torch.float64)
    assert torch.allclose(got, expected.double(), atol=1e-9), (got, expected)
    pred_keys = [(c, p) for c, p, _, _ in mine.matches]
    true_keys = [(c, t) for c, _, t, _ in mine.matches]
    assert len(set(pred_keys)) == len(pred_keys) and len(set(true_keys)) == len(true_keys)
    assert all(iou > 0.5 for *_, iou in mine.matches)
    for cls in mine.per_class.values():
        assert math.isclose(cls.pq, cls.sq * cls.rq)
