"""Dataset and paired transforms: lazy reading, aligned geometry, 255 padding, NEAREST labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from voc_fixtures import make_voc

from course_utils import runtime
from course_utils.data import VOCSegDataset, augment_v2, pair_transforms
from course_utils.data import dataset as voc_dataset
from course_utils.data.pair_transforms import (
    CenterCrop,
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomScale,
)


def coord_pair(h=7, w=11):
    """An image whose channel 0 is the row and channel 1 the column, and a label = row*w+col.

    After any crop/flip, image and label are aligned iff label == row*w + col everywhere.
    """
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    image = torch.stack([rows, cols, torch.zeros_like(rows)]).float()
    return image, (rows * w + cols).long(), w


def aligned(image, label, w, valid):
    expect = (image[0] * w + image[1]).long()
    return torch.equal(expect[valid], label[valid])


def test_dataset_reads_lazily(tmp_path, monkeypatch):
    root = make_voc(tmp_path)
    calls = []
    real_read = voc_dataset.read_example
    monkeypatch.setattr(voc_dataset, "read_example", lambda *a: calls.append(a) or real_read(*a))
    ds = VOCSegDataset(root, "train")
    assert calls == [] and len(ds) == 3
    image, label = ds[1]
    assert len(calls) == 1
    assert image.dtype == torch.float32 and image.shape == (3, 50, 30)
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert label.dtype == torch.int64 and label.shape == (50, 30)
    assert set(label.unique().tolist()) == {0, 2, 255}


def test_random_crop_keeps_image_and_label_aligned():
    runtime.set_seed(0)
    image, label, w = coord_pair()
    for _ in range(20):
        ci, cl = RandomCrop((4, 5))(image, label)
        assert ci.shape == (3, 4, 5) and cl.shape == (4, 5)
        assert aligned(ci, cl, w, torch.ones_like(cl, dtype=torch.bool))


def test_crop_pads_small_images_with_zero_and_void_never_drops_them(tmp_path):
    root = make_voc(tmp_path, sizes=((10, 12),))
    ds = VOCSegDataset(root, "train", Compose([RandomCrop(16)]))
    image, label = ds[0]
    assert image.shape == (3, 16, 16) and label.shape == (16, 16)
    assert torch.all(label[10:, :] == 255) and torch.all(label[:, 12:] == 255)
    assert torch.all(image[:, 10:, :] == 0) and torch.all(image[:, :, 12:] == 0)
    raw_image, raw_label = VOCSegDataset(root, "train")[0]
    assert torch.equal(label[:10, :12], raw_label) and torch.equal(image[:, :10, :12], raw_image)


def test_center_crop_is_deterministic_and_centered():
    image, label, w = coord_pair(9, 9)
    ci, cl = CenterCrop(3)(image, label)
    assert cl[1, 1] == 4 * 9 + 4  # the centre pixel of a 9x9 grid
    assert aligned(ci, cl, w, torch.ones_like(cl, dtype=torch.bool))


def test_flip_moves_image_and_label_together():
    image, label, w = coord_pair()
    runtime.set_seed(0)
    flips = 0
    for _ in range(40):
        fi, fl = RandomHorizontalFlip(0.5)(image, label)
        flips += int(not torch.equal(fl, label))
        assert aligned(fi, fl, w, torch.ones_like(fl, dtype=torch.bool))
    assert 5 < flips < 35  # both outcomes happen


def test_normalize_and_denormalize_round_trip():
    image = torch.rand(3, 5, 6)
    label = torch.zeros(5, 6, dtype=torch.long)
    ni, nl = Normalize()(image, label)
    mean = torch.tensor(pair_transforms.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(pair_transforms.IMAGENET_STD).view(3, 1, 1)
    torch.testing.assert_close(ni, (image - mean) / std)
    torch.testing.assert_close(pair_transforms.denormalize(ni), image)
    assert nl is label


def test_loaders_batch_shapes_and_repeatability(tmp_path):
    root = make_voc(tmp_path, sizes=((40, 60), (50, 30), (24, 24), (33, 41)))
    (root / "ImageSets/Segmentation/val.txt").write_text("2099_000002\n2099_000003\n")

    def first_batch():
        runtime.set_seed(3)
        train, val = voc_dataset.loaders(16, batch_size=2, root=root)
        return next(iter(train)), next(iter(val))

    (x1, y1), (vx, vy) = first_batch()
    (x2, y2), _ = first_batch()
    assert x1.shape == (2, 3, 16, 16) and y1.shape == (2, 16, 16) and vx.shape == (2, 3, 16, 16)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)


@pytest.mark.parametrize("size", [5, (3, 8)])
def test_crop_sizes(size):
    image, label, _ = coord_pair(12, 12)
    ci, cl = RandomCrop(size)(image, label)
    expect = (size, size) if isinstance(size, int) else size
    assert tuple(cl.shape) == tuple(expect) and tuple(ci.shape[1:]) == tuple(expect)
    assert np.isfinite(ci.numpy()).all()


def test_cached_dataset_gives_the_lazy_items_without_reading_again(tmp_path, monkeypatch):
    root = make_voc(tmp_path)
    tf = augment_v2.train_transform(16, scale=(0.8, 1.3))
    lazy, cached = VOCSegDataset(root, "train", tf), VOCSegDataset(root, "train", tf, cache=True)
    expected = []
    for i in range(len(lazy)):
        runtime.set_seed(i)
        expected.append(lazy[i])
    monkeypatch.setattr(voc_dataset, "read_example", lambda *a: pytest.fail("read again"))
    for i, (li, ll) in enumerate(expected):
        runtime.set_seed(i)
        ci, cl = cached[i]
        assert torch.equal(ci, li) and torch.equal(cl, ll)
        assert ci.dtype == torch.float32 and cl.dtype == torch.int64
    assert "cached" in repr(cached) and "cached" not in repr(lazy)


def test_cache_stores_bytes_not_floats(tmp_path):
    ds = VOCSegDataset(make_voc(tmp_path), "train", cache=True)
    pixels = sum(lab.numel() for _, lab in ds._cache)
    stored = sum(im.numel() * im.element_size() + lab.numel() * lab.element_size()
                 for im, lab in ds._cache)
    assert stored == 4 * pixels  # 3 uint8 channels + a uint8 label per pixel


def test_normalize_accepts_uint8_as_if_divided_by_255():
    image = torch.randint(0, 256, (3, 5, 6), dtype=torch.uint8)
    label = torch.zeros(5, 6, dtype=torch.long)
    from_bytes, _ = Normalize()(image, label)
    from_float, _ = Normalize()(image.float() / 255, label)
    torch.testing.assert_close(from_bytes, from_float)


def test_transforms_work_on_uint8_images_as_on_floats():
    image, label, w = coord_pair(9, 13)
    for t in (RandomCrop((5, 6)), CenterCrop((12, 15)), RandomHorizontalFlip(1.0)):
        runtime.set_seed(1)
        bi, bl = t(image.to(torch.uint8), label)
        runtime.set_seed(1)
        fi, fl = t(image, label)
        assert bi.dtype == torch.uint8 and torch.equal(bi.float(), fi) and torch.equal(bl, fl)


def test_random_scale_resizes_both_and_creates_no_new_labels():
    runtime.set_seed(0)
    image, label, w = coord_pair(20, 30)
    sizes = set()
    for _ in range(10):
        si, sl = RandomScale(0.5, 2.0)(image, label)
        assert si.shape[1:] == sl.shape and sl.dtype == label.dtype
        assert set(sl.unique().tolist()) <= set(label.unique().tolist())
        sizes.add(tuple(sl.shape))
        h, w_ = sl.shape
        assert 10 <= h <= 40 and 15 <= w_ <= 60
    assert len(sizes) > 5, "the scale is drawn at random"
    with pytest.raises(ValueError, match="RandomScale"):
        RandomScale(2.0, 1.0)


# --- the same pixel work as torchvision.transforms.v2 (the oracle) --------------------------
def _v2():
    from torchvision import tv_tensors
    from torchvision.transforms import v2
    from torchvision.transforms.v2 import functional as TF

    return tv_tensors, v2, TF


def test_pad_crop_flip_equal_torchvision_v2_functional():
    tv_tensors, _, TF = _v2()
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 37, 45), dtype=torch.uint8)
    label = torch.randint(0, 21, (37, 45), dtype=torch.uint8)
    pi = TF.pad(image, [0, 0, 64 - 45, 50 - 37], fill=0)
    pl = TF.pad(tv_tensors.Mask(label), [0, 0, 64 - 45, 50 - 37], fill=255)
    torch.manual_seed(3)
    ci, cl = RandomCrop((32, 40))(pi, pl)
    torch.manual_seed(3)  # the same draws: top, then left
    top, left = (int(torch.randint(0, n + 1, ())) for n in (50 - 32, 64 - 40))
    assert torch.equal(ci, TF.crop(pi, top, left, 32, 40))
    assert torch.equal(cl, TF.crop(tv_tensors.Mask(pl), top, left, 32, 40))
    fi, fl = RandomHorizontalFlip(p=1.0)(ci, cl)
    assert torch.equal(fi, TF.horizontal_flip(ci))
    assert torch.equal(fl, TF.horizontal_flip(tv_tensors.Mask(cl)))


@pytest.mark.parametrize("factor", [0.55, 1.7])  # shrink (antialiased), enlarge
def test_random_scale_equals_torchvision_v2_resize(factor):
    tv_tensors, v2, TF = _v2()
    torch.manual_seed(0)
    image = torch.rand(3, 37, 45)
    label = torch.randint(0, 21, (37, 45))
    ri, rl = RandomScale(factor, factor)(image, label)
    size = [round(37 * factor), round(45 * factor)]
    assert list(rl.shape) == size
    expected = TF.resize(tv_tensors.Image(image), size, antialias=factor < 1)
    torch.testing.assert_close(ri, expected.as_subclass(torch.Tensor), atol=1e-6, rtol=0)
    mask = TF.resize(tv_tensors.Mask(label), list(size))  # a Mask is resized NEAREST by v2
    assert torch.equal(rl, mask.as_subclass(torch.Tensor))


def test_dataset_runs_a_v2_pipeline_on_image_and_mask_together(tmp_path):
    tv_tensors, v2, _ = _v2()
    root = make_voc(tmp_path)
    plain = VOCSegDataset(root, "train")
    flipped = VOCSegDataset(root, "train", v2.RandomHorizontalFlip(p=1.0))
    jitter = VOCSegDataset(root, "train", v2.ColorJitter(brightness=0.5, hue=0.2))
    fill = {tv_tensors.Image: 0, tv_tensors.Mask: 255}
    cropped = VOCSegDataset(root, "train", v2.RandomCrop(48, pad_if_needed=True, fill=fill))
    for i in range(len(plain)):
        image, label = plain[i]
        fi, fl = flipped[i]
        assert torch.equal(fi, image.flip(-1)) and torch.equal(fl, label.flip(-1))
        ji, jl = jitter[i]
        assert torch.equal(jl, label) and not torch.equal(ji, image)  # photometric: mask untouched
        ci, cl = cropped[i]
        assert ci.dtype == torch.float32 and cl.dtype == torch.int64 and cl.shape == (48, 48)
        assert set(cl.unique().tolist()) <= set(label.unique().tolist()) | {255}
        h, w = label.shape
        padded = 48 * 48 - min(h, 48) * min(w, 48)  # v2 pads image with 0, mask with 255
        assert padded == 0 or int(((cl == 255) & (ci.sum(0) == 0)).sum()) >= padded


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_crop_window_equals_padding_then_cropping(dtype):
    """crop_window never builds the padded image, yet must cut exactly what padding (image 0,
    label 255, right and bottom, as torchvision's v2 pad) and then cropping would cut."""
    tv_tensors, _, TF = _v2()
    gen = torch.Generator().manual_seed(0)
    for h, w in [(37, 45), (20, 64), (50, 30), (12, 12)]:
        image = (torch.rand(3, h, w, generator=gen) * 255).to(dtype)
        label = torch.randint(0, 21, (h, w), dtype=torch.uint8, generator=gen)
        size = (32, 40)
        ph, pw = max(size[0], h), max(size[1], w)
        padded = TF.pad(image, [0, 0, pw - w, ph - h], fill=0)
        padded_label = TF.pad(tv_tensors.Mask(label), [0, 0, pw - w, ph - h], fill=255)
        for top in range(ph - size[0] + 1):
            for left in (0, (pw - size[1]) // 2, pw - size[1]):
                ci, cl = pair_transforms.crop_window(image, label, top, left, size)
                assert ci.dtype == dtype and cl.dtype == torch.uint8
                assert torch.equal(ci, TF.crop(padded, top, left, *size))
                assert torch.equal(cl, TF.crop(padded_label, top, left, *size).as_subclass(
                    torch.Tensor))


def test_padded_crops_are_new_tensors_and_leave_the_cache_alone():
    """A crop that needed padding is written into a fresh tensor: the cached bytes it was cut
    from are not changed (nothing the user holds is overwritten)."""
    image = torch.full((3, 10, 12), 7, dtype=torch.uint8)
    label = torch.full((10, 12), 3, dtype=torch.uint8)
    ci, cl = pair_transforms.crop_window(image, label, 0, 0, (16, 16))
    ci.zero_(), cl.zero_()
    assert int(image.min()) == 7 and int(label.min()) == 3
