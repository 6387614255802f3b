"""Pretraining on generated object images, and moving the backbone into an FCN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import models, pretrain, synth, synth_scene


def test_object_images_are_balanced_repeatable_and_not_mini_set_images():
    ds = pretrain.ObjectImages(40, size=48)
    assert torch.bincount(ds.labels, minlength=20).tolist() == [2] * 20
    image, label = ds[7]
    assert image.shape == (3, 48, 48) and image.dtype == torch.float32 and int(label) == 7
    again = pretrain.ObjectImages(40, size=48)
    assert torch.equal(again.images, ds.images)
    scene, _, _ = synth.make_example(0)
    first, _ = synth_scene.make_object_image(0, size=scene.shape[0])
    assert not np.array_equal(first, scene[:, :scene.shape[0]]), "a separate random stream"


def test_held_out_images_differ_from_training_images():
    train = pretrain.ObjectImages(20, size=32)
    val = pretrain.ObjectImages(20, size=32, offset=pretrain.VAL_OFFSET)
    assert not any(torch.equal(a, b) for a in train.images for b in val.images)


def test_flip_mirrors_only_when_asked():
    torch.manual_seed(0)
    ds = pretrain.ObjectImages(2, size=32, flip=True)
    seen = {bool(torch.equal(ds[0][0], pretrain.ObjectImages(2, size=32)[0][0]))
            for _ in range(20)}
    assert seen == {True, False}
    with pytest.raises(ValueError, match="n=0"):
        pretrain.ObjectImages(0)


def test_backbone_moves_into_fcn_and_only_the_backbone():
    torch.manual_seed(0)
    cls = pretrain.classifier()
    fcn = models.FCN(21, "8s")
    heads = {k: v.clone() for k, v in fcn.state_dict().items() if k.startswith(("score", "up"))}
    fcn.load_backbone(pretrain.backbone_state(cls))
    assert torch.equal(fcn.stem[0].weight, cls.conv1.weight)
    assert torch.equal(fcn.stem[1].running_mean, cls.bn1.running_mean)
    assert torch.equal(fcn.layer3[0].downsample[0].weight, cls.layer3[0].downsample[0].weight)
    assert all(torch.equal(fcn.state_dict()[k], v) for k, v in heads.items())
    x = torch.randn(1, 3, 64, 64)
    cls.eval(), fcn.eval()
    with torch.no_grad():  # the FCN's layer4 sees what the classifier's layer4 sees
        ref = cls.layer4(cls.layer3(cls.layer2(cls.layer1(cls.maxpool(cls.relu(cls.bn1(
            cls.conv1(x))))))))
        ours = fcn.layer4(fcn.layer3(fcn.layer2(fcn.layer1(fcn.stem(x)))))
    torch.testing.assert_close(ours, ref)


def test_load_backbone_rejects_partial_or_foreign_states():
    fcn = models.FCN(21, "8s")
    state = pretrain.backbone_state(pretrain.classifier())
    state.pop("layer4.1.conv2.weight")
    with pytest.raises(ValueError, match="missing.*layer4.1.conv2.weight"):
        fcn.load_backbone(state)
    with pytest.raises(ValueError, match="unexpected.*bn1.bias"):
        fcn.load_backbone(pretrain.classifier().state_dict())
