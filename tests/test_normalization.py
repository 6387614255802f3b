"""ImageNet normalisation (course_utils.data.normalization) against torchvision's
``v2.Normalize`` (the oracle): per batch after collation (``NormalizeBatch``, the loaders'
``collate_fn``), from uint8 or float images, and back again (``denormalize``)."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from course_utils.data import IMAGENET_MEAN, IMAGENET_STD, NormalizeBatch, denormalize, normalize

ORACLE = v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)


def _items(dtype, n=3, generator=None):
    g = generator or torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 9, 11), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 21, (n, 9, 11), dtype=torch.uint8, generator=g)
    if dtype is torch.float32:
        images = images.float() / 255
    return list(zip(images, labels, strict=True))


def test_imagenet_statistics_are_torchvision_s():
    from torchvision.models import ResNet18_Weights

    preset = ResNet18_Weights.IMAGENET1K_V1.transforms()
    assert list(IMAGENET_MEAN) == preset.mean and list(IMAGENET_STD) == preset.std


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_normalize_batch_equals_v2_normalize(dtype):
    items = _items(dtype)
    images, labels = NormalizeBatch()(items)
    floats = torch.stack([x for x, _ in items])
    if dtype is torch.uint8:
        floats = v2.ToDtype(torch.float32, scale=True)(floats)
    assert images.dtype == torch.float32 and images.shape == (3, 3, 9, 11)
    torch.testing.assert_close(images, ORACLE(floats), rtol=1e-5, atol=1e-5)
    assert labels.dtype == torch.int64
    assert torch.equal(labels, torch.stack([y for _, y in items]).long())


def test_normalize_batch_takes_class_labels_too():
    """The encoder's pretraining batches hold one class per crop, not a mask."""
    items = [(torch.zeros(3, 4, 4, dtype=torch.uint8), torch.tensor(k)) for k in (3, 7)]
    _, labels = NormalizeBatch()(items)
    assert labels.tolist() == [3, 7] and labels.dtype == torch.int64


def test_normalize_reads_uint8_as_divided_by_255_and_leaves_its_input_alone():
    image = torch.randint(0, 256, (3, 5, 6), dtype=torch.uint8)
    kept = image.clone()
    torch.testing.assert_close(normalize(image), normalize(image.float() / 255))
    assert torch.equal(image, kept)
    torch.testing.assert_close(normalize(image.float() / 255), ORACLE(image.float() / 255))


def test_denormalize_undoes_normalize():
    image = torch.rand(2, 3, 5, 6)
    torch.testing.assert_close(denormalize(normalize(image)), image)
    assert float(denormalize(torch.full((3, 2, 2), 50.0)).max()) == 1.0  # clamped for display
