"""The stock v2 pipelines (course_utils.data.augment_v2) on image/mask pairs: the mask is never
interpolated, padding is 0 in the image and 255 (void) in the mask, image and mask stay aligned
through resize, crop and flip, and the scale jitter draws the shorter side from [lo, hi)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from course_utils import runtime
from course_utils.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    apply_v2,
    eval_transform,
    train_transform,
)
from course_utils.data.voc import NUM_CLASSES, VOID

BLOCK = 8  # the synthetic pair's class blocks, in pixels


def encode(mask: torch.Tensor) -> torch.Tensor:
    """The image value a mask value is drawn with: class c as 10 (c + 1), void as 240; never
    0, so an image pixel of 0 can only be padding."""
    return torch.where(mask == VOID, 240, 10 * (mask.long() + 1)).to(torch.uint8)


def block_pair(h: int = 72, w: int = 104):
    """A synthetic pair whose image is derived from its mask: blocks of one class each (one
    value in ``{0..20, 255}``, neighbours always different, no mirror symmetry), and the image
    is :func:`encode` of the mask in all three channels."""
    rows, cols = torch.meshgrid(torch.arange(h) // BLOCK, torch.arange(w) // BLOCK,
                                indexing="ij")
    code = (rows * 5 + cols * 2) % (NUM_CLASSES + 1)
    mask = torch.where(code == NUM_CLASSES, VOID, code).to(torch.uint8)
    return encode(mask).expand(3, h, w).clone(), mask


def misaligned(image: torch.Tensor, mask: torch.Tensor, radius: int = 2) -> int:
    """How many pixels inside a class block (the mask constant over the ``2 radius + 1``
    square around them, not padding) hold an image value other than the mask's code: 0 when
    image and mask moved together. Block edges are left out: there v2 blends the image
    (bilinear) and samples the mask (NEAREST), half a pixel apart by construction."""
    m = mask.long()[None, None].float()
    k = 2 * radius + 1
    lo = -F.max_pool2d(-m, k, 1, radius)
    hi = F.max_pool2d(m, k, 1, radius)
    inside = ((lo == hi)[0, 0] & (image.sum(0) > 0)).clone()
    inside[:radius], inside[-radius:], inside[:, :radius], inside[:, -radius:] = (False,) * 4
    off = (image.long() - encode(mask).long()).abs().amax(0) > 1  # uint8 rounding: 1 at most
    return int((off & inside).sum())


def test_the_alignment_check_catches_a_pair_that_moved_apart():
    """The check below must be able to fail: a flip of the image alone, or a mask shifted by
    a few pixels, is caught; the untouched pair is not."""
    image, mask = block_pair()
    assert misaligned(image, mask) == 0
    assert misaligned(image.flip(-1), mask) > 100
    assert misaligned(image[:, :, 3:], mask[:, :-3]) > 100
    assert misaligned(image[:, 3:], mask[:-3]) > 100


@pytest.mark.parametrize("resize", [None, (40, 120)])
def test_train_transform_keeps_image_and_mask_aligned_and_never_blends_the_mask(resize):
    image, mask = block_pair()
    values = set(mask.unique().tolist())
    pipeline = train_transform(64, resize, normalize=False)
    runtime.set_seed(0)
    for _ in range(30):
        ci, cm = apply_v2(pipeline, image, mask)
        assert ci.shape == (3, 64, 64) and cm.shape == (64, 64) and ci.dtype == torch.uint8
        assert set(cm.unique().tolist()) <= values | {VOID}  # NEAREST: no class invented
        assert misaligned(ci, cm) == 0


def test_resize_and_crop_pad_with_zero_and_void_and_keep_a_short_side_whole():
    """``RandomCrop(pad_if_needed=True)`` pads a side shorter than the crop on both ends and
    keeps the whole side, at a random place in the window; the padding is 0 / 255."""
    image, mask = block_pair(30, 40)
    pipeline = train_transform((48, 56), normalize=False)
    tops, lefts = set(), set()
    runtime.set_seed(0)
    for _ in range(40):
        ci, cm = apply_v2(pipeline, image, mask)
        pad = ci.sum(0) == 0
        assert torch.all(cm[pad] == VOID) and int(pad.sum()) == 48 * 56 - 30 * 40
        rows, cols = (~pad).nonzero().unbind(1)
        top, left = int(rows.min()), int(cols.min())
        assert (int(rows.max()) - top, int(cols.max()) - left) == (29, 39)  # kept whole
        inside, inside_mask = ci[:, top:top + 30, left:left + 40], cm[top:top + 30, left:left + 40]
        assert (torch.equal(inside, image) and torch.equal(inside_mask, mask)) or (
            torch.equal(inside, image.flip(-1)) and torch.equal(inside_mask, mask.flip(-1)))
        tops.add(top), lefts.add(left)
    assert len(tops) > 5 and len(lefts) > 5 and {0, 18} <= tops  # padding above, below or both


def test_resize_draws_the_shorter_side_from_lo_up_to_but_not_including_hi():
    image, mask = block_pair(30, 45)  # the crop holds every resized image whole
    pipeline = train_transform(64, (20, 40), normalize=False)
    runtime.set_seed(0)
    shorter = []
    for _ in range(200):
        ci, cm = apply_v2(pipeline, image, mask)
        rows, cols = (ci.sum(0) > 0).nonzero().unbind(1)
        h, w = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
        assert abs(w - 1.5 * h) <= 1  # the aspect ratio is kept
        assert int((cm != VOID).sum()) <= h * w
        shorter.append(h)
    assert min(shorter) == 20 and max(shorter) == 39


@pytest.mark.parametrize("resize", [(0.75, 1.5), (128, 128), (0, 10)])
def test_a_resize_that_is_no_size_range_is_refused(resize):
    with pytest.raises(ValueError, match="resize"):
        train_transform(64, resize)


def test_normalize_adds_todtype_and_normalize_for_the_image_only():
    image, mask = block_pair()
    runtime.set_seed(0)
    raw_image, raw_mask = apply_v2(train_transform(64, normalize=False), image, mask)
    runtime.set_seed(0)
    ni, nm = apply_v2(train_transform(64), image, mask)
    expected = v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)(
        raw_image.float() / 255)
    torch.testing.assert_close(ni, expected)
    assert torch.equal(nm, raw_mask) and nm.dtype == torch.uint8


@pytest.mark.parametrize("size", [(72, 104), (19, 26)])  # larger / smaller than the crop
def test_eval_transform_cuts_the_centre_and_pads_small_images_with_zero_and_void(size):
    image, mask = block_pair(*size)
    ci, cm = apply_v2(eval_transform((40, 48), normalize=False), image, mask)
    assert ci.shape == (3, 40, 48) and cm.shape == (40, 48)
    pad = ci.sum(0) == 0
    assert torch.all(cm[pad] == VOID) and misaligned(ci, cm) == 0
    rows, cols = (~pad).nonzero().unbind(1)
    top, left = int(rows.min()), int(cols.min())
    h, w = int(rows.max()) - top + 1, int(cols.max()) - left + 1
    if size[0] > 40:  # a centre window of the image: the margins split evenly (one apart)
        t, lft = (size[0] - 40) // 2, (size[1] - 48) // 2
        assert any(torch.equal(cm, mask[a:a + 40, b:b + 48])
                   for a in (t, t + 1) for b in (lft, lft + 1))
    else:  # the whole image, centred in the window
        assert (h, w) == size
        assert abs(top - (40 - h - top)) <= 1 and abs(left - (48 - w - left)) <= 1
        assert torch.equal(cm[top:top + h, left:left + w], mask)
