"""The v2 pipelines (course_utils.data.augment_v2, the default) against the tensor fast path
(course_utils.data.pair_transforms): the same draws and the same arithmetic, so the same tensors bit
for bit, which is what keeps the shipped reference models reproducible by ``make reference``."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF
from voc_fixtures import make_voc

from course_utils import runtime
from course_utils.data import augment_v2, pair_transforms
from course_utils.data import dataset as voc_dataset
from course_utils.data.voc import VOID


def _pair(h, w, seed=0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen)
    label = torch.randint(0, 21, (h, w), dtype=torch.uint8, generator=gen)
    label[: h // 4, : w // 4] = VOID
    return image, label


def _both(pipeline, args, image, label, seed):
    """``[(tensor pipeline's pair, next random number), (v2 pipeline's pair, next random
    number)]``, each pipeline run from ``seed``."""
    out = []
    for make, run in ((pair_transforms, lambda t: t(image, label)),
                      (augment_v2, lambda t: voc_dataset.apply_v2(t, image, label))):
        torch.manual_seed(seed)
        pair = run(getattr(make, pipeline)(*args))
        out.append((pair, torch.rand(())))
    return out


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("scale", [None, (0.6, 1.5)])
@pytest.mark.parametrize("shape", [(41, 53), (20, 30), (32, 77), (90, 25)])
def test_same_seed_same_tensors_as_the_tensor_pipeline(shape, scale, normalize):
    """Larger and smaller than the crop, with and without scale jitter: the same crops,
    flips and resizes, bit for bit, and the random stream left in the same state."""
    for seed in range(6):
        image, label = _pair(*shape, seed)
        (ours, after_ours), (theirs, after_theirs) = _both(
            "train_transform", ((32, 40), scale, normalize), image, label, seed)
        assert type(theirs[0]) is torch.Tensor and type(theirs[1]) is torch.Tensor
        assert theirs[0].dtype == ours[0].dtype and theirs[1].dtype == ours[1].dtype
        assert torch.equal(theirs[0], ours[0]) and torch.equal(theirs[1], ours[1])
        assert torch.equal(after_theirs, after_ours)


@pytest.mark.parametrize("shape", [(36, 50), (37, 51), (20, 61), (9, 9)])
def test_eval_transform_is_the_tensor_one_bit_for_bit(shape):
    """Even and odd margins (v2's own CenterCrop would round an odd one the other way)."""
    image, label = _pair(*shape)
    (ours, _), (theirs, _) = _both("eval_transform", ((32, 40),), image, label, 0)
    assert torch.equal(theirs[0], ours[0]) and torch.equal(theirs[1], ours[1])


def test_v2_center_crop_would_differ_on_odd_margins():
    """Why CenterCrop is the course's own: v2's puts the odd pixel on the other side."""
    image, label = _pair(37, 51)
    ours = augment_v2.CenterCrop((32, 40))(tv_tensors.Mask(label))
    stock = TF.center_crop(tv_tensors.Mask(label), [32, 40])
    assert torch.equal(ours, label[2:34, 5:45]) and not torch.equal(ours, stock)


def test_loaders_give_the_same_batches_with_v2_and_the_tensor_path_on_the_mini_set():
    """Every training batch of two epochs with scale jitter, and the val batches, on the
    bundled data (images smaller and larger than the crop): v2 and the fast path agree."""
    epochs = {}
    for use_v2 in (True, False):
        runtime.set_seed(0)
        train, val = voc_dataset.loaders(128, 8, seed=0, scale=(0.75, 1.5), cache=True,
                                         use_v2=use_v2, max_train=96, max_val=24)
        epochs[use_v2] = [b for _ in range(2) for b in train] + list(val)
    assert len(epochs[True]) == len(epochs[False]) == 2 * 12 + 3
    for (x, y), (ex, ey) in zip(epochs[True], epochs[False], strict=True):
        assert torch.equal(x, ex) and torch.equal(y, ey)
    sizes = [tuple(lab.shape) for _, lab in train.dataset._cache]
    assert any(min(s) < 128 for s in sizes) and any(min(s) >= 128 for s in sizes)


@pytest.mark.parametrize("shape", [(20, 30), (37, 64), (50, 20)])
def test_pad_if_smaller_pads_right_and_bottom_with_0_and_void(shape):
    image, label = _pair(*shape)
    padded = augment_v2.PadIfSmaller((40, 48))(tv_tensors.Image(image), tv_tensors.Mask(label))
    assert isinstance(padded[1], tv_tensors.Mask)
    pi, pl = (t.as_subclass(torch.Tensor) for t in padded)
    h, w = shape
    assert pl.shape == (max(40, h), max(48, w)) and pi.shape == (3, *pl.shape)
    assert torch.equal(pi[:, :h, :w], image) and torch.equal(pl[:h, :w], label)
    assert (pi[:, h:] == 0).all() and (pi[:, :, w:] == 0).all()
    assert (pl[h:] == VOID).all() and (pl[:, w:] == VOID).all()


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


@pytest.mark.parametrize("use_v2", [True, False])
def test_loaders_train_on_v2_by_default_or_on_the_tensor_path(tmp_path, use_v2):
    sizes = ((40, 60), (50, 30), (24, 24), (36, 36))
    root = make_voc(tmp_path, sizes, split="train")
    make_voc(tmp_path, sizes, split="val")
    kwargs = {} if use_v2 else {"use_v2": False}
    train, val = voc_dataset.loaders(32, batch_size=4, root=root, scale=(0.75, 1.5), **kwargs)
    (x, y), (vx, vy) = next(iter(train)), next(iter(val))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert vx.shape == (4, 3, 32, 32) and vy.shape == (4, 32, 32)
    assert set(y.unique().tolist()) <= set(range(21)) | {VOID}
    for ds in (train.dataset, val.dataset):
        assert isinstance(ds.transform, torch.nn.Module) == use_v2  # v2 pipelines are Modules


def test_normalize_image_takes_a_plain_tensor_as_the_image_and_leaves_a_mask_alone():
    """As v2.Normalize does: a pure tensor is normalised, not passed through as bytes."""
    image, label = _pair(5, 7)
    expected = pair_transforms.Normalize()(image, label)[0]
    assert torch.equal(augment_v2.NormalizeImage()(image), expected)
    out_image, out_mask = augment_v2.NormalizeImage()(tv_tensors.Image(image),
                                                      tv_tensors.Mask(label))
    assert torch.equal(out_image.as_subclass(torch.Tensor), expected)
    assert torch.equal(out_mask.as_subclass(torch.Tensor), label)
