"""Pretrained torchvision segmentation models, offline first: both branches (weights found,
weights unavailable) with the network patched, and the published numbers from torchvision."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import threading
import time

import pytest
import requests
import torch
from torchvision.models import segmentation

from course_utils.models import pretrained


@contextlib.contextmanager
def stalled_server():
    """A local address that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@contextlib.contextmanager
def file_server(body: bytes):
    """A local HTTP server that answers every GET with ``body``."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_unavailable_weights_say_how_to_get_them_and_never_hang(empty_cache):
    """A server that accepts the connection and never answers: a clear error within seconds."""
    with stalled_server() as url:
        start = time.perf_counter()
        with pytest.raises(pretrained.WeightsUnavailable) as err:
            pretrained.fetch_state_dict(f"{url}/deeplabv3_resnet50_coco-cd0a2569.pth",
                                        timeout=0.5)
        assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "deeplabv3_resnet50_coco" in message and "on a machine with internet" in message
    assert "Timeout" in err.value.reason
    assert not list(empty_cache.rglob("*.pth"))  # nothing half-written under the final name


def test_offline_is_a_clear_error_for_a_named_model(empty_cache, monkeypatch):
    def refused(*args, **kwargs):
        raise requests.ConnectionError("no network")

    monkeypatch.setattr(requests, "get", refused)
    with pytest.raises(pretrained.WeightsUnavailable, match="fcn_resnet50_coco"):
        pretrained.segmentation_model("fcn_resnet50")


def test_weights_found_give_a_working_model(empty_cache, monkeypatch):
    torch.manual_seed(0)
    weights = segmentation.FCN_ResNet50_Weights.DEFAULT
    state = segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21,
                                      aux_loss=True).state_dict()
    path = pretrained.cache_path(weights.url)
    os.makedirs(os.path.dirname(path))
    torch.save(state, path)
    monkeypatch.setattr(requests, "get", lambda *a, **k: pytest.fail("downloaded a cached file"))
    model, got = pretrained.segmentation_model("fcn_resnet50")
    assert got is weights and not model.training
    assert torch.equal(model.backbone.conv1.weight, state["backbone.conv1.weight"])
    photo = torch.randint(0, 256, (3, 60, 90), dtype=torch.uint8)
    labels = pretrained.predict_photo(model, weights, photo)
    assert labels.shape == (60, 90) and labels.max() < 21


def test_a_download_whose_hash_differs_is_refused(empty_cache):
    with file_server(b"not the weights") as url:
        with pytest.raises(pretrained.WeightsUnavailable, match="SHA-256"):
            pretrained.fetch_state_dict(f"{url}/fcn_resnet50_coco-1167a1af.pth", timeout=5)
    assert not list(empty_cache.rglob("*.pth*"))


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


def test_a_failed_download_leaves_no_part_file(empty_cache):
    with stalled_server() as url:
        with pytest.raises(pretrained.WeightsUnavailable):
            pretrained.fetch_state_dict(f"{url}/fcn_resnet50_coco-1167a1af.pth", timeout=0.5)
    assert not list(empty_cache.rglob("*.part"))


def test_a_damaged_cached_file_is_named_with_what_to_do(empty_cache):
    url = segmentation.FCN_ResNet50_Weights.DEFAULT.url
    path = pretrained.cache_path(url)
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(b"not a checkpoint")
    with pytest.raises(pretrained.WeightsUnavailable, match="cannot be read.*delete it"):
        pretrained.fetch_state_dict(url)
