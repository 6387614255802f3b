"""U-Net's border weight map (Ronneberger et al. 2015, eq. 2) and the pixel-weighted CE."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.losses.border_weights import pixel_weighted_cross_entropy, unet_weight_map


def brute_force_map(obj, w0, sigma):
    """The definition, pixel by pixel: distances to every pixel of every object, by loops."""
    h, w = obj.shape
    ids = sorted({int(v) for v in obj.flatten().tolist()} - {0, 255})
    out = torch.ones(h, w, dtype=torch.float64)
    for y, x in itertools.product(range(h), range(w)):
        if int(obj[y, x]) == 255:
            out[y, x] = 0.0
            continue
        if int(obj[y, x]) != 0 or len(ids) < 2:
            continue
        d = sorted(min(math.hypot(y - yy, x - xx) for yy, xx in itertools.product(range(h),
                                                                                 range(w))
                       if int(obj[yy, xx]) == k) for k in ids)
        out[y, x] += w0 * math.exp(-(d[0] + d[1]) ** 2 / (2 * sigma ** 2))
    return out


def test_hand_worked_gap_between_two_objects():
    obj = torch.tensor([[1, 0, 0, 0, 2]])
    wm = unet_weight_map(obj, w0=10.0, sigma=2.0)
    # the middle pixel is 2 from each object: 1 + 10 exp(-16 / 8)
    assert wm[0, 2].item() == pytest.approx(1 + 10 * math.exp(-2.0))
    # next to object 1: d1 = 1, d2 = 3
    assert wm[0, 1].item() == pytest.approx(1 + 10 * math.exp(-2.0))
    assert wm[0, 0].item() == 1.0 and wm[0, 4].item() == 1.0  # inside the objects


def test_matches_the_definition_on_a_random_mask():
    g = torch.Generator().manual_seed(3)
    obj = torch.randint(0, 4, (7, 9), generator=g)
    obj[obj == 3] = 0
    obj[0, 0], obj[6, 8], obj[3, 4] = 1, 2, 255
    extra = (torch.rand(7, 9, generator=g) < 0.1) & (obj == 0)
    obj[extra] = 5
    assert torch.allclose(unet_weight_map(obj, w0=10.0, sigma=3.0),
                          brute_force_map(obj, 10.0, 3.0))


def test_one_object_or_none_gets_no_border_term_and_void_gets_zero():
    obj = torch.tensor([[0, 1, 1], [0, 255, 0]])
    wm = unet_weight_map(obj)
    assert wm.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]]
    assert unet_weight_map(torch.zeros(2, 2, dtype=torch.long)).tolist() == [[1.0, 1.0]] * 2


def test_class_weight_map_is_added_to():
    obj = torch.tensor([[1, 0, 2]])
    wc = torch.tensor([[2.0, 0.5, 3.0]])
    wm = unet_weight_map(obj, class_weight=wc, w0=1.0, sigma=1.0)
    assert wm[0, 0].item() == 2.0 and wm[0, 2].item() == 3.0
    assert wm[0, 1].item() == pytest.approx(0.5 + math.exp(-2.0))
    assert wc[0, 1].item() == 0.5  # the caller's map is not changed


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="one \\(H, W\\) mask"):
        unet_weight_map(torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="sigma > 0"):
        unet_weight_map(torch.zeros(2, 2, dtype=torch.long), sigma=0)
    with pytest.raises(ValueError, match="class_weight"):
        unet_weight_map(torch.zeros(2, 2, dtype=torch.long), class_weight=torch.ones(3, 3))


def test_pixel_weighted_ce_against_pytorch():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, 6, dtype=torch.float64)
    target = torch.randint(0, 5, (2, 4, 6))
    target[0, 0, :3] = 255
    ones = torch.ones(2, 4, 6)
    assert torch.allclose(pixel_weighted_cross_entropy(logits, target, ones),
                          F.cross_entropy(logits, target, ignore_index=255))
    # a weight per class, written as a map, is PyTorch's class-weighted mean
    cw = torch.tensor([0.5, 1.0, 2.0, 3.0, 0.1], dtype=torch.float64)
    as_map = cw[target.clamp(max=4)]
    assert torch.allclose(pixel_weighted_cross_entropy(logits, target, as_map),
                          F.cross_entropy(logits, target, weight=cw, ignore_index=255))
    # the scale of the map does not matter; uint8 targets are accepted
    w = torch.rand(2, 4, 6, dtype=torch.float64)
    assert torch.allclose(pixel_weighted_cross_entropy(logits, target, 7 * w),
                          pixel_weighted_cross_entropy(logits, target.to(torch.uint8), w))


def test_pixel_weighted_ce_errors():
    logits, target = torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="pixel_weight: expected"):
        pixel_weighted_cross_entropy(logits, target, torch.ones(2, 2))
    with pytest.raises(ValueError, match="sum to 0"):
        pixel_weighted_cross_entropy(logits, target, torch.zeros(1, 2, 2))
