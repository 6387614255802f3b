"""The Dataset and its DataLoaders: lazy reading, the uint8 cache, v2 pipelines on image and
mask together, random training crops (never dropping a small image) and whole-image validation."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from voc_fixtures import make_voc

from course_utils import runtime, training
from course_utils.data import (
    NormalizeBatch,
    VOCSegDataset,
    crop_dataset,
    full_image_loader,
    normalize,
    train_transform,
)
from course_utils.data import dataset as voc_dataset

SIZES = ((40, 60), (50, 30), (24, 24), (33, 41))


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


def test_cached_dataset_gives_the_lazy_items_without_reading_again(tmp_path, monkeypatch):
    root = make_voc(tmp_path)
    tf = train_transform(16, resize=(12, 40))
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
        assert ci.dtype == torch.float32 and cl.dtype == torch.int64 and cl.shape == (16, 16)
    assert "cached" in repr(cached) and "cached" not in repr(lazy)


def test_cache_stores_bytes_not_floats(tmp_path):
    ds = VOCSegDataset(make_voc(tmp_path), "train", cache=True)
    pixels = sum(lab.numel() for _, lab in ds._cache)
    stored = sum(im.numel() * im.element_size() + lab.numel() * lab.element_size()
                 for im, lab in ds._cache)
    assert stored == 4 * pixels  # 3 uint8 channels + a uint8 label per pixel


def test_crop_dataset_pads_small_images_and_never_drops_them(tmp_path):
    """A 10 x 12 image under a 16 x 16 crop: all of it in the window, 0 / 255 around it."""
    root = make_voc(tmp_path, sizes=((10, 12), (40, 60)))
    ds = crop_dataset(root, "train", 16)
    assert len(ds) == 2 and "raw" in repr(ds)
    raw_image, raw_label = VOCSegDataset(root, "train", raw=True)[0]
    runtime.set_seed(0)
    for _ in range(10):
        image, label = ds[0]
        assert image.dtype == torch.uint8 and label.dtype == torch.uint8
        assert image.shape == (3, 16, 16) and label.shape == (16, 16)
        keep = image.sum(0) > 0  # make_voc's noise JPEG has no black pixel: 0 is padding
        assert torch.all(label[~keep] == 255) and int((~keep).sum()) == 16 * 16 - 10 * 12
        rows, cols = keep.nonzero().unbind(1)
        window = label[int(rows.min()):int(rows.max()) + 1, int(cols.min()):int(cols.max()) + 1]
        assert torch.equal(window, raw_label) or torch.equal(window, raw_label.flip(-1))


def test_a_scale_factor_range_is_no_resize(tmp_path):
    with pytest.raises(ValueError, match="resize"):
        crop_dataset(make_voc(tmp_path), "train", 16, (0.75, 1.5))


@pytest.mark.parametrize("cache", [False, True])
def test_loaders_train_on_repeatable_crops_and_validate_on_whole_images(tmp_path, cache):
    root = make_voc(tmp_path, sizes=SIZES)
    (root / "ImageSets/Segmentation/val.txt").write_text("2099_000001\n2099_000003\n")

    def first_batch():
        runtime.set_seed(3)
        train, val = voc_dataset.loaders(16, batch_size=2, root=root, resize=(16, 48),
                                         cache=cache)
        return train, val, next(iter(train))

    train, val, (x1, y1) = first_batch()
    _, _, (x2, y2) = first_batch()
    assert x1.shape == (2, 3, 16, 16) and y1.shape == (2, 16, 16) and len(train) == 2
    assert x1.dtype == torch.float32 and y1.dtype == torch.int64
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert [tuple(y.shape) for _, y in val] == [(1, 50, 30), (1, 33, 41)]  # whole, in order
    for (image, label), k in zip(val, (1, 3), strict=True):
        raw_image, raw_label = VOCSegDataset(root, "train", raw=True)[k]
        assert torch.equal(image[0], normalize(raw_image)) and label.dtype == torch.int64
        assert torch.equal(label[0], raw_label.long())


def test_loaders_train_items_are_the_normalised_items_of_the_per_item_pipeline(tmp_path):
    """Two orders of the same work: uint8 crops normalised per batch (the loaders), or each
    item cropped and normalised by v2 (``ToDtype`` + ``Normalize``): the same numbers."""
    root = make_voc(tmp_path, sizes=SIZES, split="trainval")
    for split in ("train", "val"):
        (root / f"ImageSets/Segmentation/{split}.txt").write_text("2099_000000\n2099_000001\n"
                                                                  "2099_000002\n2099_000003\n")
    runtime.set_seed(0)
    train, _ = voc_dataset.loaders(16, batch_size=2, root=root, resize=(16, 48), seed=1)
    batches = list(train)
    runtime.set_seed(0)
    per_item = VOCSegDataset(root, "train", train_transform(16, resize=(16, 48)))
    expected = list(torch.utils.data.DataLoader(  # the same order: the same seeded shuffle
        per_item, 2, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(1)))
    assert len(batches) == len(expected) == 2
    for (x, y), (ex, ey) in zip(batches, expected, strict=True):
        torch.testing.assert_close(x, ex, rtol=1e-5, atol=1e-5)
        assert torch.equal(y, ey)


def test_full_image_loader_is_the_one_training_scores_with(tmp_path):
    assert training.full_image_loader is full_image_loader
    root = make_voc(tmp_path, sizes=SIZES)
    loader = full_image_loader(root, "train", max_items=3, cache=True)
    assert loader.batch_size == 1 and isinstance(loader.collate_fn, NormalizeBatch)
    assert [tuple(y.shape[1:]) for _, y in loader] == list(SIZES[:3])


def test_dataset_runs_a_v2_pipeline_on_image_and_mask_together(tmp_path):
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
