"""Normalising whole batches after collation (``NormalizeBatch``, the loaders' default) gives
the batches that normalising item by item gives, so training runs are unchanged by it."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import functional as TF
from voc_fixtures import make_voc

from course_utils import runtime
from course_utils.data import IMAGENET_MEAN, IMAGENET_STD, NormalizeBatch, VOCSegDataset, augment_v2
from course_utils.data import dataset as voc_dataset

SIZES = ((40, 60), (50, 30), (24, 24), (33, 41), (12, 70), (64, 64))


def _epochs(loader, n=2):
    return [batch for _ in range(n) for batch in loader]


@pytest.mark.parametrize("cache", [False, True])
@pytest.mark.parametrize("scale", [None, (0.8, 1.3)])
def test_loaders_give_the_batches_of_items_normalised_one_by_one(tmp_path, scale, cache):
    root = make_voc(tmp_path, sizes=SIZES)
    (root / "ImageSets/Segmentation/val.txt").write_text("2099_000003\n2099_000004\n")
    per_item = VOCSegDataset(root, "train", augment_v2.train_transform(16, scale))
    runtime.set_seed(0)
    expected = _epochs(DataLoader(per_item, 2, shuffle=True, drop_last=True,
                                  generator=torch.Generator().manual_seed(0)))
    expected += list(DataLoader(VOCSegDataset(root, "val", augment_v2.eval_transform(16)), 2))
    runtime.set_seed(0)
    train, val = voc_dataset.loaders(16, 2, root=root, scale=scale, cache=cache, seed=0)
    got = _epochs(train) + list(val)
    assert len(got) == len(expected) == 7
    for (x, y), (ex, ey) in zip(got, expected, strict=True):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert torch.equal(x, ex) and torch.equal(y, ey)  # bit for bit, not just close
    # raw items: bytes, unless scale jitter resized the image (bilinear gives floats in [0, 1])
    assert train.dataset.raw
    assert train.dataset[0][0].dtype == (torch.float32 if scale else torch.uint8)


def test_normalize_batch_matches_torchvision_on_bytes_and_on_floats():
    g = torch.Generator().manual_seed(0)
    items = [(torch.randint(0, 256, (3, 5, 7), dtype=torch.uint8, generator=g),
              torch.randint(0, 21, (5, 7), dtype=torch.uint8, generator=g)) for _ in range(4)]
    images, labels = NormalizeBatch()(items)
    oracle = TF.normalize(TF.to_dtype(torch.stack([i for i, _ in items]), torch.float32,
                                      scale=True), IMAGENET_MEAN, IMAGENET_STD)
    torch.testing.assert_close(images, oracle, rtol=1e-5, atol=1e-5)
    assert labels.dtype == torch.int64 and torch.equal(labels, torch.stack([t for _, t in items]))
    floats = [(i.float() / 255, t) for i, t in items]  # a rescaled item is already float
    torch.testing.assert_close(NormalizeBatch()(floats)[0], oracle, rtol=1e-5, atol=1e-5)


def test_tensor_path_loaders_give_the_batches_of_v2_items_normalised_one_by_one(tmp_path):
    """``use_v2=False`` (the fast path for cached data) against v2 items normalised one by
    one: bit for bit, whatever path normalises."""
    root = make_voc(tmp_path, sizes=SIZES)
    (root / "ImageSets/Segmentation/val.txt").write_text("2099_000003\n")
    v2_items = VOCSegDataset(root, "train", augment_v2.train_transform(16, (0.8, 1.3)))
    runtime.set_seed(0)
    expected = list(DataLoader(v2_items, 2, shuffle=True, drop_last=True,
                               generator=torch.Generator().manual_seed(0)))
    runtime.set_seed(0)
    train, _ = voc_dataset.loaders(16, 2, root=root, scale=(0.8, 1.3), use_v2=False, seed=0)
    got = list(train)
    assert not isinstance(train.dataset.transform, torch.nn.Module) and train.dataset.raw
    for (x, y), (ex, ey) in zip(got, expected, strict=True):
        assert torch.equal(x, ex) and torch.equal(y, ey)


def test_raw_items_are_bytes_and_say_so(tmp_path):
    root = make_voc(tmp_path)
    ds = voc_dataset.crop_dataset(root, "train", 16, cache=True)
    image, label = ds[0]
    assert image.dtype == label.dtype == torch.uint8 and image.shape == (3, 16, 16)
    assert "raw" in repr(ds) and "raw" not in repr(VOCSegDataset(root, "train"))
