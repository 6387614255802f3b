"""course_utils.losses against PyTorch / torchvision oracles, hand-worked values and gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import sigmoid_focal_loss as tv_sigmoid_focal_loss

from course_utils import losses
from course_utils.classroom.checks import nb07

REDUCTIONS = ("none", "mean", "sum")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def multiclass_batch(n=2, c=4, h=5, w=6, void=0.2, seed=0, dtype=torch.float32):
    """Random logits (N, C, H, W) and targets (N, H, W) with a share of 255 pixels."""
    g = _gen(seed)
    logits = (3 * torch.randn(n, c, h, w, generator=g)).to(dtype)
    target = torch.randint(0, c, (n, h, w), generator=g)
    target[torch.rand(n, h, w, generator=g) < void] = 255
    target.view(-1)[0] = 0  # at least one valid pixel
    return logits, target


def binary_batch(shape=(2, 3, 4, 5), seed=0, dtype=torch.float32):
    g = _gen(seed)
    logits = (3 * torch.randn(*shape, generator=g)).to(dtype)
    target = (torch.rand(*shape, generator=g) < 0.3).to(dtype)
    return logits, target


def extremes(dtype=torch.float32):
    """Logits of magnitude 100, with binary targets that make them right and wrong."""
    x = torch.tensor([-100.0, -100.0, 100.0, 100.0, 0.0, 30.0], dtype=dtype)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], dtype=dtype)
    return x.view(1, 1, 2, 3), y.view(1, 1, 2, 3)


def assert_finite_value_and_grad(fn, x):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    out.sum().backward()
    assert torch.isfinite(out).all(), out
    assert torch.isfinite(x.grad).all(), x.grad


# --------------------------------------------------------------------------- weighted BCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight",
                         [None, 3.0, 0.25, torch.tensor([1.0, 4.0, 9.0]).view(3, 1, 1)])
def test_weighted_bce_matches_pytorch(reduction, pos_weight):
    logits, target = binary_batch()
    ours = losses.weighted_bce_with_logits(logits, target, pos_weight, reduction=reduction)
    pw = None if pos_weight is None else torch.as_tensor(pos_weight)
    ref = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pw, reduction=reduction)
    torch.testing.assert_close(ours, ref)


def test_weighted_bce_soft_targets_match_pytorch():
    logits, _ = binary_batch()
    target = torch.rand(logits.shape, generator=_gen(3))
    torch.testing.assert_close(losses.weighted_bce_with_logits(logits, target, 2.0),
                               F.binary_cross_entropy_with_logits(
                                   logits, target, pos_weight=torch.tensor(2.0)))


def test_weighted_bce_hand_worked():
    # x = 0 -> p = 0.5: a positive costs w*log 2, a negative log 2
    x = torch.zeros(2)
    loss = losses.weighted_bce_with_logits(x, torch.tensor([1.0, 0.0]), 3.0, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([3 * math.log(2), math.log(2)]))


def test_weighted_bce_negative_term_grows_as_p_goes_to_one():
    """The corrected form: for y = 0 the loss is -log(1 - p), increasing in p (the published
    '(1 - y) log p' form would decrease)."""
    x = torch.linspace(-5, 5, 21)
    loss = losses.weighted_bce_with_logits(x, torch.zeros(21), 5.0, reduction="none")
    assert (loss.diff() > 0).all()
    torch.testing.assert_close(loss, -torch.log1p(-torch.sigmoid(x)))


def test_weighted_bce_ignore_index_equals_oracle_on_kept_pixels():
    logits, target = binary_batch()
    target[..., 0] = 255
    keep = target != 255
    ours = losses.weighted_bce_with_logits(logits, target, 2.0, ignore_index=255)
    ref = F.binary_cross_entropy_with_logits(logits[keep], target[keep],
                                             pos_weight=torch.tensor(2.0))
    torch.testing.assert_close(ours, ref)
    none = losses.weighted_bce_with_logits(logits, target, 2.0, 255, reduction="none")
    assert (none[~keep] == 0).all()


def test_weighted_bce_gradcheck_float64():
    logits, target = binary_batch(shape=(1, 2, 3, 3), dtype=torch.float64)
    pw = torch.tensor([2.0, 0.5], dtype=torch.float64).view(2, 1, 1)
    fn = lambda x: losses.weighted_bce_with_logits(x, target, pw)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (logits.requires_grad_(True),))


def test_weighted_bce_extreme_logits_finite_and_correct():
    x, y = extremes()
    assert_finite_value_and_grad(
        lambda z: losses.weighted_bce_with_logits(z, y, 3.0, reduction="none"), x)
    torch.testing.assert_close(
        losses.weighted_bce_with_logits(x, y, 3.0, reduction="none"),
        F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor(3.0), reduction="none"))


def test_weighted_bce_far_tail_is_w_times_exp_minus_x():
    # y = 1 at a large logit x: -w log sigmoid(x) = w log(1 + e^-x), about w e^-x (float64)
    x = torch.tensor([30.0, 50.0, 200.0], dtype=torch.float64)
    loss = losses.weighted_bce_with_logits(x, torch.ones(3, dtype=torch.float64), 3.0,
                                           reduction="none")
    torch.testing.assert_close(loss, 3 * torch.exp(-x), rtol=1e-12, atol=0)


@pytest.mark.parametrize("loss_fn", [
    lambda x, y: losses.weighted_bce_with_logits(x, y, 2.0, ignore_index=255),
    lambda x, y: losses.sigmoid_focal_loss(x, y, 0.25, 2.0, ignore_index=255),
])
def test_binary_losses_all_ignored_mean_is_zero_not_nan(loss_fn):
    x = torch.randn(2, 3, requires_grad=True)
    out = loss_fn(x, torch.full((2, 3), 255.0))
    out.backward()
    assert out.item() == 0.0 and (x.grad == 0).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(target=torch.zeros(3)), "shaped like logits"),
    (dict(target=torch.full((2, 3), 2.0)), r"\[0, 1\]"),
    (dict(reduction="avg"), "reduction"),
])
def test_weighted_bce_bad_input(kwargs, match):
    args = dict(logits=torch.zeros(2, 3), target=torch.zeros(2, 3)) | kwargs
    with pytest.raises(ValueError, match=match):
        losses.weighted_bce_with_logits(**args)


# --------------------------------------------------------------------------- pos_weight
def test_pos_weight_from_mask_hand_worked_and_ignore():
    mask = torch.tensor([[1, 0, 0, 0], [0, 0, 255, 255]])
    assert losses.pos_weight_from_mask(mask, ignore_index=255).item() == 5.0
    assert losses.pos_weight_from_mask(mask[:1].bool()).item() == 3.0


def test_pos_weight_balances_positive_and_negative_totals():
    mask = (torch.rand(40, 40, generator=_gen(1)) < 0.1).float()
    w = losses.pos_weight_from_mask(mask)
    loss = losses.weighted_bce_with_logits(torch.zeros_like(mask), mask, w, reduction="none")
    torch.testing.assert_close(loss[mask == 1].sum(), loss[mask == 0].sum())


@pytest.mark.parametrize("mask, match", [
    (torch.zeros(3, 3), "no positive"),
    (torch.tensor([255, 0, 0]), "no positive"),
    (torch.ones(3, 3), "no negative"),
    (torch.tensor([0, 1, 2]), "only 0 and 1"),
])
def test_pos_weight_guards(mask, match):
    with pytest.raises(ValueError, match=match):
        losses.pos_weight_from_mask(mask, ignore_index=255 if 255 in mask else None)


# --------------------------------------------------------------------------- weighted CE
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_weighted_ce_matches_pytorch(reduction, use_weight):
    logits, target = multiclass_batch()
    weight = torch.tensor([0.2, 1.0, 3.0, 7.5]) if use_weight else None
    ours = losses.weighted_cross_entropy(logits, target, weight, reduction=reduction)
    ref = F.cross_entropy(logits, target, weight=weight, ignore_index=255, reduction=reduction)
    if reduction == "none":  # PyTorch also writes 0 at ignored pixels
        assert (ours[target == 255] == 0).all()
    torch.testing.assert_close(ours, ref)


def test_weighted_ce_2d_logits_match_pytorch():
    logits = torch.randn(7, 3, generator=_gen(2))
    target = torch.tensor([0, 1, 2, 255, 1, 1, 0])
    weight = torch.tensor([1.0, 2.0, 5.0])
    torch.testing.assert_close(losses.weighted_cross_entropy(logits, target, weight),
                               F.cross_entropy(logits, target, weight, ignore_index=255))


def test_weighted_ce_mean_divides_by_sum_of_weights_hand_worked():
    # two pixels, both with p_y = 1/2 (loss log 2) but one with loss log 4 (p_y = 1/4)
    logits = torch.log(torch.tensor([[0.5, 0.5, 0.0001], [0.25, 0.75, 0.0001]])).float()
    target = torch.tensor([0, 0])
    weight = torch.tensor([1.0, 1.0, 1.0])
    weight_b = torch.tensor([3.0, 1.0, 1.0])
    l0, l1 = -torch.log_softmax(logits, 1)[:, 0]
    ours = losses.weighted_cross_entropy(logits, target, weight)
    torch.testing.assert_close(ours, (l0 + l1) / 2)
    # a constant factor on the weights cancels in the weighted mean, but not in the sum
    torch.testing.assert_close(losses.weighted_cross_entropy(logits, target, weight_b), ours)
    torch.testing.assert_close(losses.weighted_cross_entropy(logits, target, weight_b, 255, "sum"),
                               3 * (l0 + l1))


def test_weighted_ce_weighted_mean_differs_from_plain_mean():
    logits, target = multiclass_batch(seed=4)
    weight = torch.tensor([0.1, 1.0, 5.0, 2.0])
    per_pixel = losses.weighted_cross_entropy(logits, target, weight, reduction="none")
    valid = target != 255
    plain = per_pixel[valid].mean()
    ours = losses.weighted_cross_entropy(logits, target, weight)
    torch.testing.assert_close(ours, per_pixel.sum() / weight[target[valid]].sum())
    assert not torch.isclose(ours, plain)


def test_weighted_ce_all_ignored_is_zero_not_nan():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    target = torch.full((1, 2, 2), 255)
    out = losses.weighted_cross_entropy(logits, target)
    out.backward()
    assert out.item() == 0.0 and (logits.grad == 0).all()
    assert torch.isnan(F.cross_entropy(logits, target, ignore_index=255))  # what we avoid


def test_weighted_ce_gradcheck_float64():
    logits, target = multiclass_batch(n=1, c=3, h=3, w=3, dtype=torch.float64)
    weight = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    fn = lambda x: losses.weighted_cross_entropy(x, target, weight)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (logits.requires_grad_(True),))


def test_weighted_ce_extreme_logits_finite():
    logits = torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, -100.0]]).view(2, 3, 1, 1)
    target = torch.tensor([[[1]], [[1]]])
    assert_finite_value_and_grad(
        lambda x: losses.weighted_cross_entropy(x, target, torch.tensor([1.0, 2.0, 3.0]),
                                                reduction="none"), logits)
    torch.testing.assert_close(losses.weighted_cross_entropy(logits, target, reduction="none"),
                               F.cross_entropy(logits, target, reduction="none"))


@pytest.mark.parametrize("target, kwargs, err, match", [
    (torch.tensor([[0, 5]]), {}, ValueError, r"target holds \[5\]"),
    (torch.tensor([[0, -1]]), {}, ValueError, r"target holds \[-1\]"),
    (torch.tensor([0, 1]), {}, ValueError, "target has shape"),
    (torch.tensor([[0.0, 1.0]]), {}, TypeError, "integer"),
    (torch.tensor([[0, 1]]), dict(reduction="avg"), ValueError, "reduction"),
])
def test_weighted_ce_bad_input(target, kwargs, err, match):
    with pytest.raises(err, match=match):
        losses.weighted_cross_entropy(torch.zeros(1, 3, 2), target, **kwargs)


# --------------------------------------------------------------------------- class weights
COUNTS = torch.tensor([10, 30, 60])


def test_class_weights_inverse_hand_worked():
    w = losses.class_weights(COUNTS, "inverse", normalize=False)
    torch.testing.assert_close(w, torch.tensor([10.0, 10 / 3, 10 / 6]))
    wn = losses.class_weights(COUNTS, "inverse")
    torch.testing.assert_close(wn, w * 3 / w.sum())
    torch.testing.assert_close(wn.mean(), torch.tensor(1.0))


def test_class_weights_sqrt_inverse_hand_worked():
    w = losses.class_weights(torch.tensor([1, 3]), "sqrt", normalize=False)  # f = 1/4, 3/4
    torch.testing.assert_close(w, torch.tensor([2.0, 2 / 3**0.5]))
    inverse = losses.class_weights(COUNTS, "inverse", normalize=False)
    torch.testing.assert_close(losses.class_weights(COUNTS, "sqrt", normalize=False) ** 2,
                               inverse)  # the square root of the inverse-frequency weights


def test_class_weights_median_frequency_hand_worked():
    w = losses.class_weights(COUNTS, "median", normalize=False)
    torch.testing.assert_close(w, torch.tensor([3.0, 1.0, 0.5]))  # median frequency 0.3


def test_class_weights_effective_number_hand_worked_and_limits():
    w = losses.class_weights(torch.tensor([1, 2]), "effective", beta=0.9, normalize=False)
    torch.testing.assert_close(w, torch.tensor([1.0, 0.1 / (1 - 0.81)]))
    # beta = 0: every class counts as one sample -> equal weights
    torch.testing.assert_close(losses.class_weights(COUNTS, "effective", beta=0.0),
                               torch.ones(3))
    # beta -> 1: inverse frequency
    torch.testing.assert_close(losses.class_weights(COUNTS, "effective", beta=1 - 1e-9),
                               losses.class_weights(COUNTS, "inverse"), rtol=1e-4, atol=1e-6)
    # pixel-sized counts with beta near 1 stay finite and ordered (no 1 - beta^n cancellation)
    big = losses.class_weights(torch.tensor([10**4, 10**6, 10**8]), "effective", beta=1 - 1e-7)
    assert torch.isfinite(big).all() and (big.diff() < 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=8),
       st.sampled_from(losses.WEIGHT_METHODS))
def test_class_weights_rarer_class_never_lighter(counts, method):
    c = torch.tensor(counts)
    w = losses.class_weights(c, method, beta=0.999)
    order = torch.argsort(c)
    assert (w[order].diff() <= 1e-6 * w.max()).all()  # non-increasing in the count
    torch.testing.assert_close(w.mean(), torch.tensor(1.0))


def test_class_weights_zero_count_class_gets_zero_with_warning():
    with pytest.warns(UserWarning, match=r"classes \[1\] have no pixels"):
        w = losses.class_weights(torch.tensor([10, 0, 40]), "median")
    assert w[1] == 0 and torch.isfinite(w).all() and (w[[0, 2]] > 0).all()
    torch.testing.assert_close(w[[0, 2]].mean(), torch.tensor(1.0))


@pytest.mark.parametrize("counts, kwargs, match", [
    (torch.zeros(3), {}, "all zero"),
    (torch.tensor([1.0, -2.0]), {}, ">= 0"),
    (torch.ones(2, 2), {}, "1-D"),
    (COUNTS, dict(method="log"), "method"),
    (COUNTS, dict(method="effective", beta=1.0), "beta"),
])
def test_class_weights_bad_input(counts, kwargs, match):
    with pytest.raises(ValueError, match=match):
        losses.class_weights(counts, **kwargs)


# --------------------------------------------------------------------------- sigmoid focal
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.9, None])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_sigmoid_focal_matches_torchvision(alpha, gamma, reduction):
    logits, target = binary_batch(seed=5)
    ours = losses.sigmoid_focal_loss(logits, target, alpha, gamma, reduction=reduction)
    ref = tv_sigmoid_focal_loss(logits, target, -1 if alpha is None else alpha, gamma,
                                reduction)
    torch.testing.assert_close(ours, ref)


def test_sigmoid_focal_gamma0_no_alpha_is_bce():
    logits, target = binary_batch(seed=6)
    torch.testing.assert_close(losses.sigmoid_focal_loss(logits, target, None, 0.0),
                               F.binary_cross_entropy_with_logits(logits, target))


def test_sigmoid_focal_hand_worked():
    # x = 0, y = 1: p_t = 0.5 -> 0.25 * 0.5^2 * log 2; y = 0: (1 - 0.25) * 0.5^2 * log 2
    loss = losses.sigmoid_focal_loss(torch.zeros(2), torch.tensor([1.0, 0.0]), 0.25, 2.0,
                                     reduction="none")
    torch.testing.assert_close(loss, torch.tensor([0.25, 0.75]) * 0.25 * math.log(2))


def test_sigmoid_focal_per_class_alpha_equals_scalar_alpha_per_channel():
    logits, target = binary_batch(seed=7)
    alpha = torch.tensor([0.1, 0.5, 0.8])
    per_class = losses.sigmoid_focal_loss(logits, target, alpha, 2.0, reduction="none")
    for c in range(3):
        torch.testing.assert_close(per_class[:, c], tv_sigmoid_focal_loss(
            logits[:, c], target[:, c], float(alpha[c]), 2.0, "none"))


def test_sigmoid_focal_ignore_index_mean_over_kept_elements():
    logits, target = binary_batch(seed=8)
    target[:, :, 0] = 255
    keep = target != 255
    ours = losses.sigmoid_focal_loss(logits, target, 0.25, 2.0, ignore_index=255)
    torch.testing.assert_close(ours, tv_sigmoid_focal_loss(logits[keep], target[keep],
                                                           0.25, 2.0, "mean"))


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_sigmoid_focal_gradcheck_float64(gamma):
    logits, target = binary_batch(shape=(1, 2, 3, 3), seed=9, dtype=torch.float64)
    fn = lambda x: losses.sigmoid_focal_loss(x, target, torch.tensor([0.3, 0.6]), gamma)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (logits.requires_grad_(True),))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_sigmoid_focal_extreme_logits_finite(gamma):
    x, y = extremes()
    assert_finite_value_and_grad(
        lambda z: losses.sigmoid_focal_loss(z, y, 0.25, gamma, reduction="none"), x)
    torch.testing.assert_close(losses.sigmoid_focal_loss(x, y, 0.25, gamma, reduction="none"),
                               tv_sigmoid_focal_loss(x, y, 0.25, gamma, "none"))


def test_sigmoid_focal_gamma_below_one_saturated_gradient_hand_worked():
    """d/dx of (1 - a) p^g softplus(x) at p = 1 is (1 - a): 0.75; the right pixels get 0.
    torchvision's (1 - p_t)^g has an infinite derivative at p_t = 1 and gives NaN there."""
    x = torch.tensor([100.0, -100.0, 100.0], requires_grad=True)
    y = torch.tensor([1.0, 0.0, 0.0])
    losses.sigmoid_focal_loss(x, y, 0.25, 0.5, reduction="sum").backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 0.0, 0.75]))
    xt = x.detach().clone().requires_grad_(True)
    tv_sigmoid_focal_loss(xt, y, 0.25, 0.5, "sum").backward()
    assert torch.isnan(xt.grad[:2]).all()  # what the log-space form avoids


@pytest.mark.parametrize("kwargs, match", [
    (dict(target=torch.full((2, 3), 0.5)), "only 0 and 1"),
    (dict(target=torch.zeros(3, 2)), "shaped like logits"),
    (dict(reduction="avg"), "reduction"),
])
def test_sigmoid_focal_bad_input(kwargs, match):
    args = dict(logits=torch.zeros(2, 3), target=torch.zeros(2, 3)) | kwargs
    with pytest.raises(ValueError, match=match):
        losses.sigmoid_focal_loss(**args)


# --------------------------------------------------------------------------- softmax focal
def focal_from_probabilities(logits, target, alpha, gamma):
    """The textbook formula in float64, probabilities and all (fine for moderate logits)."""
    valid = target != 255
    safe = torch.where(valid, target, 0)
    p_t = torch.softmax(logits.double(), 1).gather(1, safe.unsqueeze(1)).squeeze(1)
    a = torch.ones_like(p_t) if alpha is None else alpha.double()[safe]
    loss = -a * (1 - p_t) ** gamma * torch.log(p_t)
    return (loss * valid).sum() / valid.sum()


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("alpha", [None, torch.tensor([0.25, 1.0, 2.0, 0.5])])
def test_softmax_focal_matches_textbook_formula(gamma, alpha):
    logits, target = multiclass_batch(seed=10)
    torch.testing.assert_close(losses.softmax_focal_loss(logits, target, alpha, gamma).double(),
                               focal_from_probabilities(logits, target, alpha, gamma))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_focal_gamma0_no_alpha_is_cross_entropy(reduction):
    logits, target = multiclass_batch(seed=11)
    torch.testing.assert_close(
        losses.softmax_focal_loss(logits, target, None, 0.0, reduction=reduction),
        F.cross_entropy(logits, target, ignore_index=255, reduction=reduction))


def test_softmax_focal_alpha_normalises_by_pixels_not_weights():
    logits, target = multiclass_batch(seed=12)
    alpha = torch.tensor([0.2, 1.0, 3.0, 7.5])
    total = F.cross_entropy(logits, target, alpha, ignore_index=255, reduction="sum")
    torch.testing.assert_close(
        losses.softmax_focal_loss(logits, target, alpha, 0.0, reduction="sum"), total)
    torch.testing.assert_close(losses.softmax_focal_loss(logits, target, alpha, 0.0),
                               total / (target != 255).sum())
    torch.testing.assert_close(losses.softmax_focal_loss(logits, target, 0.5, 0.0),
                               0.5 * F.cross_entropy(logits, target, ignore_index=255))


def test_softmax_focal_two_classes_equals_sigmoid_focal():
    """softmax over logits (0, x) is sigmoid(x): the two forms must agree."""
    x = 4 * torch.randn(3, 5, generator=_gen(13))
    y = torch.randint(0, 2, (3, 5), generator=_gen(14))
    two = torch.stack([torch.zeros_like(x), x], dim=1)
    torch.testing.assert_close(losses.softmax_focal_loss(two, y, None, 2.0, reduction="none"),
                               losses.sigmoid_focal_loss(x, y.float(), None, 2.0,
                                                         reduction="none"))


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 5.0), st.integers(0, 10**6))
def test_softmax_focal_never_exceeds_cross_entropy(gamma, seed):
    logits, target = multiclass_batch(seed=seed)
    focal = losses.softmax_focal_loss(logits, target, None, gamma, reduction="none")
    ce = F.cross_entropy(logits, target, ignore_index=255, reduction="none")
    assert (focal <= ce + 1e-6).all()


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_softmax_focal_gradcheck_float64(gamma):
    logits, target = multiclass_batch(n=1, c=3, h=3, w=3, seed=15, dtype=torch.float64)
    alpha = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    fn = lambda x: losses.softmax_focal_loss(x, target, alpha, gamma)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (logits.requires_grad_(True),))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_softmax_focal_extreme_logits_finite(gamma):
    logits = torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, -100.0],
                           [100.0, 100.0, -100.0]]).view(3, 3, 1, 1)
    target = torch.tensor([0, 0, 1]).view(3, 1, 1)
    assert_finite_value_and_grad(
        lambda x: losses.softmax_focal_loss(x, target, None, gamma, reduction="none"), logits)
    # confident and right -> 0; confident and wrong by 200 -> about 200
    out = losses.softmax_focal_loss(logits, target, None, gamma, reduction="none").flatten()
    torch.testing.assert_close(out[:2], torch.tensor([0.0, 200.0]))


def test_softmax_focal_all_ignored_is_zero():
    out = losses.softmax_focal_loss(torch.randn(1, 3, 2, 2), torch.full((1, 2, 2), 255))
    assert out.item() == 0.0


@pytest.mark.parametrize("logits, target, kwargs, match", [
    (torch.zeros(1, 3, 2), torch.tensor([[0, 3]]), {}, r"target holds \[3\]"),
    (torch.zeros(1, 3, 2), torch.tensor([[0, 1]]), dict(reduction="mean "), "reduction"),
])
def test_softmax_focal_bad_input(logits, target, kwargs, match):
    with pytest.raises(ValueError, match=match):
        losses.softmax_focal_loss(logits, target, **kwargs)


# --------------------------------------------------------------------------- notebook 07 checks
def _verdicts(capsys):
    return [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]


def test_nb07_checks_accept_right_and_reject_wrong_answers(capsys):
    mask = torch.tensor([[0, 1, 255], [0, 0, 1]])  # 2 positives, 3 negatives
    nb07.check_pos_weight(1.5, mask)
    nb07.check_pos_weight(2.0, mask)  # void counted as negative
    right = -0.75 * 0.8**2 * math.log(0.2)  # negative pixel: (1 - alpha) p^gamma, log(1 - p)
    nb07.check_focal_value(right, p=0.8, y=0, alpha=0.25, gamma=2.0)
    nb07.check_focal_value(-0.75 * 0.8**2 * math.log(0.8), p=0.8, y=0, alpha=0.25, gamma=2.0)
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0], [5.0, 0.0]])
    target, weight = torch.tensor([1, 0, 255]), torch.tensor([1.0, 3.0])
    # -log p: pixel 0 log(4/3) with weight 3, pixel 1 log 2 with weight 1; divide by 3 + 1
    nb07.check_weighted_ce((3 * math.log(4 / 3) + math.log(2)) / 4, logits, target, weight)
    nb07.check_weighted_ce((3 * math.log(4 / 3) + math.log(2)) / 2, logits, target, weight)
    nb07.check_median_weights([2 / 7, 1.0, 2.0], [700, 200, 100])
    nb07.check_median_weights(None, [700, 200, 100])
    assert _verdicts(capsys) == ["Correct", "Not yet"] * 4


def test_nb07_logit_adjusted_check(capsys):
    prior = torch.tensor([0.7, 0.2, 0.06, 0.04])

    def right(logits, target, prior, tau):
        return F.cross_entropy(logits + tau * prior.log().view(1, -1, 1, 1), target,
                               ignore_index=255)

    def no_log(logits, target, prior, tau):  # the prior itself, not its log
        return F.cross_entropy(logits + tau * prior.view(1, -1, 1, 1), target, ignore_index=255)

    def void_counted(logits, target, prior, tau):  # void as class 0
        return right(logits, torch.where(target == 255, 0, target), prior, tau)

    def sign_flipped(logits, target, prior, tau):
        return right(logits, target, prior, -tau)

    nb07.check_logit_adjusted(right, prior)
    for wrong in (no_log, void_counted, sign_flipped, lambda *a: None):
        nb07.check_logit_adjusted(wrong, prior)
    assert _verdicts(capsys) == ["Correct"] + ["Not yet"] * 4
    # what the exercise's comment derives: undecided logits, tau = 1, the gradient is prior - y
    z = torch.zeros(1, 4, 1, 1, requires_grad=True)
    right(z, torch.tensor([[[2]]]), prior, 1.0).backward()
    torch.testing.assert_close(z.grad.flatten(), prior - torch.tensor([0.0, 0.0, 1.0, 0.0]))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_multiclass_losses_accept_any_integer_target_dtype(dtype):
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 5)
    target = torch.randint(0, 4, (2, 3, 5))
    if dtype == torch.uint8:
        target[0, 0, :2] = 255  # void, as read from a VOC PNG
    weight = torch.tensor([0.5, 1.0, 2.0, 1.5])
    for fn, kw in [(losses.weighted_cross_entropy, {"weight": weight}),
                   (losses.softmax_focal_loss, {"gamma": 2.0})]:
        ref = fn(logits, target.long(), **kw)
        torch.testing.assert_close(fn(logits, target.to(dtype), **kw), ref)
    torch.testing.assert_close(losses.weighted_cross_entropy(logits, target.to(dtype)),
                               F.cross_entropy(logits, target.long(), ignore_index=255))


def test_float_target_is_refused_naming_target():
    with pytest.raises(TypeError, match="target must be an integer tensor.*float32"):
        losses.softmax_focal_loss(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2))


# --------------------------------------------------------------------------- Dice
def dice_numpy(logits, target, eps, void=255):
    """An independent soft Dice loss: numpy, pixel by pixel."""
    x = logits.double().numpy()
    t = target.numpy()
    n, c = x.shape[:2]
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    inter, ps, ys = np.zeros(c), np.zeros(c), np.zeros(c)
    predicted = set()
    for b in range(n):
        for idx in np.ndindex(t.shape[1:]):
            if t[b][idx] == void:
                continue
            probs = p[(b, slice(None), *idx)]
            predicted.add(int(probs.argmax()))
            ps += probs
            ys[t[b][idx]] += 1
            inter[t[b][idx]] += probs[t[b][idx]]
    dice = (2 * inter + eps) / (ps + ys + eps)
    present = [k for k in range(c) if ys[k] > 0 or k in predicted]
    return 1 - dice[present].mean()


@pytest.mark.parametrize("eps", [0.0, 1.0])
def test_soft_dice_matches_an_independent_implementation(eps):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 3, 5, generator=g)
    target = torch.randint(0, 3, (2, 3, 5), generator=g)  # class 3 never in the target
    target[0, 0, :2] = 255
    got = losses.soft_dice_loss(logits, target, eps=eps)
    assert abs(got.item() - dice_numpy(logits, target, eps)) < 1e-6


def test_soft_dice_of_one_hot_predictions_is_one_minus_the_dice_metric():
    g = torch.Generator().manual_seed(1)
    target = torch.randint(0, 3, (2, 6, 7), generator=g)
    pred = torch.randint(0, 3, (2, 6, 7), generator=g)
    logits = 1e4 * F.one_hot(pred, 3).movedim(-1, 1).float()  # softmax is one-hot
    from course_utils.metrics import ConfusionMatrix

    dice = ConfusionMatrix(3).update(pred, target).compute()["mean_dice"]
    assert abs(losses.soft_dice_loss(logits, target, eps=0.0).item() - (1 - dice)) < 1e-6


def test_dice_hand_worked_and_edge_cases():
    # 2 pixels, 2 classes: p(class 1) = 0.5 and 0.9, targets 0 and 1
    logits = torch.tensor([[0.0, 0.0], [0.0, math.log(9.0)]]).T[None, :, :, None]  # (1, 2, 2, 1)
    target = torch.tensor([[[0], [1]]])
    # class 0: inter 0.5, sums 0.6 + 1; class 1: inter 0.9, sums 1.4 + 1
    expected = 1 - (2 * 0.5 / 1.6 + 2 * 0.9 / 2.4) / 2
    got = losses.soft_dice_loss(logits, target, eps=0.0)
    assert abs(got.item() - expected) < 1e-6
    void = torch.full((1, 2, 1), 255)
    assert losses.soft_dice_loss(logits, void).item() == 0.0
    with pytest.raises(ValueError, match="reduction"):
        losses.soft_dice_loss(logits, target, reduction="avg")
    per_class = losses.soft_dice_loss(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=int),
                                      reduction="none")
    assert per_class.shape == (3,) and not torch.isnan(per_class[0])
    x = (30 * torch.randn(1, 3, 4, 4)).requires_grad_(True)
    losses.ce_dice_loss(x, torch.randint(0, 3, (1, 4, 4))).backward()
    assert torch.isfinite(x.grad).all()


def test_ce_dice_is_the_sum_of_its_parts():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 5, 4, 4, generator=g)
    target = torch.randint(0, 5, (2, 4, 4), generator=g)
    target[1, 0] = 255
    expected = F.cross_entropy(logits, target, ignore_index=255) + 0.5 * losses.soft_dice_loss(
        logits, target)
    torch.testing.assert_close(losses.ce_dice_loss(logits, target, dice_weight=0.5), expected)


@pytest.mark.parametrize("loss", ["weighted_cross_entropy", "softmax_focal_loss"])
def test_a_softmax_loss_over_one_class_is_refused(loss):
    """Softmax over one class is 1 everywhere: the loss would be a silent 0 or NaN."""
    fn = getattr(losses, loss)
    with pytest.raises(ValueError, match="C >= 2"):
        fn(torch.randn(2, 1, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long))
