"""Pretrained torchvision segmentation models, offline first: both branches (weights found,
weights unavailable) with the network patched, and the published numbers from torchvision."""

from __future__ import annotations

import socket
import time

import pytest
import torch
from torchvision.models import segmentation
from voc_fixtures import stalled_connection

from course_utils import pretrained


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_unavailable_weights_say_how_to_get_them_and_never_hang(empty_cache, monkeypatch):
    monkeypatch.setattr(socket, "create_connection", stalled_connection)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url",
                        lambda *a, **k: pytest.fail("download tried after a failed probe"))
    start = time.perf_counter()
    with pytest.raises(pretrained.WeightsUnavailable) as err:
        pretrained.segmentation_model("deeplabv3_resnet50", timeout=0.5)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "deeplabv3_resnet50_coco" in message and "on a machine with internet" in message
    assert "no answer from download.pytorch.org" in err.value.reason


def test_weights_found_give_a_working_model(empty_cache, monkeypatch):
    torch.manual_seed(0)
    weights = segmentation.FCN_ResNet50_Weights.DEFAULT
    state = segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21,
                                      aux_loss=True).state_dict()
    monkeypatch.setattr(pretrained, "_probe", lambda *a: None)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: state)
    model, got = pretrained.segmentation_model("fcn_resnet50")
    assert got is weights and not model.training
    assert torch.equal(model.backbone.conv1.weight, state["backbone.conv1.weight"])
    photo = torch.randint(0, 256, (3, 60, 90), dtype=torch.uint8)
    labels = pretrained.predict_photo(model, weights, photo)
    assert labels.shape == (60, 90) and labels.max() < 21


def test_published_numbers_come_from_torchvision():
    assert pretrained.published_miou(segmentation.FCN_ResNet50_Weights.DEFAULT) == 60.5
    assert pretrained.published_miou(segmentation.DeepLabV3_ResNet50_Weights.DEFAULT) == 66.4
    with pytest.raises(ValueError, match="expected one of"):
        pretrained.segmentation_model("segformer")


def test_photos_load_by_name_or_path_and_bad_paths_are_named(tmp_path):
    for name in pretrained.PHOTOS:
        image = pretrained.photo(name)
        assert image.dtype == torch.uint8 and image.shape[0] == 3 and min(image.shape[1:]) > 200
    mine = tmp_path / "mine.png"
    from PIL import Image
    Image.new("RGB", (30, 20), (10, 200, 30)).save(mine)
    assert pretrained.photo(mine).shape == (3, 20, 30)
    with pytest.raises(ValueError, match="nope.jpg"):
        pretrained.photo(tmp_path / "nope.jpg")
