"""The v2 pipelines (course_utils.augment_v2) against the hand-written ones (voc_dataset)."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF
from voc_fixtures import make_voc

from course_utils import augment_v2, voc_dataset
from course_utils.voc import VOID


def _pair(h, w, seed=0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen)
    label = torch.randint(0, 21, (h, w), dtype=torch.uint8, generator=gen)
    label[: h // 4, : w // 4] = VOID
    return image, label


@pytest.mark.parametrize("scale", [None, (0.9, 1.5)])
def test_same_seed_same_crops_as_the_hand_written_pipeline(scale):
    """Images larger than the crop: the same draws in the same order, so the same window and
    flip; labels equal, images equal up to rounding (v2 resizes in uint8 when jittering)."""
    tol = 1e-5 if scale is None else 0.03  # half a grey level, normalised: 0.5 / 255 / 0.225
    for seed in range(8):
        image, label = _pair(41, 53, seed)
        torch.manual_seed(seed)
        ours = voc_dataset.train_transform((32, 40), scale)(image, label)
        torch.manual_seed(seed)
        theirs = voc_dataset.apply_v2(augment_v2.train_transform((32, 40), scale), image, label)
        assert torch.equal(ours[1], theirs[1])
        assert theirs[0].dtype == torch.float32
        torch.testing.assert_close(theirs[0], ours[0], atol=tol, rtol=0)
        torch.manual_seed(seed)
        voc_dataset.train_transform((32, 40), scale)(image, label)
        after_ours = torch.rand(())
        torch.manual_seed(seed)
        voc_dataset.apply_v2(augment_v2.train_transform((32, 40), scale), image, label)
        assert torch.equal(torch.rand(()), after_ours)


@pytest.mark.parametrize("shape", [(20, 30), (37, 64), (50, 20)])
def test_pad_if_smaller_pads_right_and_bottom_with_0_and_void(shape):
    image, label = _pair(*shape)
    padded = augment_v2.PadIfSmaller((40, 48))(tv_tensors.Image(image), tv_tensors.Mask(label))
    expected = voc_dataset.pad_to(image, label, (40, 48))
    assert torch.equal(padded[0].as_subclass(torch.Tensor), expected[0])
    assert torch.equal(padded[1].as_subclass(torch.Tensor), expected[1])
    assert isinstance(padded[1], tv_tensors.Mask)


def test_random_scale_resizes_the_mask_nearest_and_checks_its_range():
    image, label = _pair(30, 40)
    torch.manual_seed(1)
    si, sl = augment_v2.RandomScale(0.5, 2.0)(tv_tensors.Image(image), tv_tensors.Mask(label))
    assert si.shape[-2:] == sl.shape and sl.shape != label.shape
    assert torch.equal(sl.as_subclass(torch.Tensor),
                       TF.resize(tv_tensors.Mask(label), list(sl.shape)).as_subclass(torch.Tensor))
    assert set(sl.unique().tolist()) <= set(label.unique().tolist())  # no blended classes
    with pytest.raises(ValueError, match="RandomScale"):
        augment_v2.RandomScale(2.0, 1.0)


def test_eval_transform_matches_the_hand_written_one_for_even_margins():
    image, label = _pair(36, 50)
    ours = voc_dataset.eval_transform((32, 40))(image, label)
    theirs = voc_dataset.apply_v2(augment_v2.eval_transform((32, 40)), image, label)
    assert torch.equal(ours[1], theirs[1])
    torch.testing.assert_close(theirs[0], ours[0], atol=1e-5, rtol=0)


def test_loaders_can_train_on_the_v2_pipelines(tmp_path):
    sizes = ((40, 60), (50, 30), (24, 24), (36, 36))
    root = make_voc(tmp_path, sizes, split="train")
    make_voc(tmp_path, sizes, split="val")
    train, val = voc_dataset.loaders(32, batch_size=4, root=root, scale=(0.75, 1.5),
                                     use_v2=True)
    (x, y), (vx, vy) = next(iter(train)), next(iter(val))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert vx.shape == (4, 3, 32, 32) and vy.shape == (4, 32, 32)
    assert set(y.unique().tolist()) <= set(range(21)) | {VOID}
    assert isinstance(train.dataset.transform, torch.nn.Module)  # a v2 pipeline, not ours
