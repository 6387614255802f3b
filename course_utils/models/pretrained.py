"""Pretrained weights, offline first: torchvision's segmentation models and ImageNet backbones.

Weights come from the web once, then from the torch hub cache (``$TORCH_HOME``); offline, a
notebook neither hangs nor crashes but is told in one line why not and how to get the file. The
current torchvision API is ``fcn_resnet50(weights=FCN_ResNet50_Weights.DEFAULT)``, with the
matching preprocessing in ``weights.transforms()`` (``pretrained=True`` is deprecated since 0.13).
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import requests
import torch
from torchvision.models import segmentation

from course_utils.data import read_image
from course_utils.runtime import REPO_ROOT

PROBE_TIMEOUT = 5.0  # seconds to wait for the weights server (to connect, or for bytes)
PHOTO_DIR = REPO_ROOT / "data" / "photos"  # real photographs, licences in data/README.md
PHOTOS = ("astronaut", "chelsea")
SEGMENTATION = {
    "fcn_resnet50": (segmentation.fcn_resnet50, segmentation.FCN_ResNet50_Weights.DEFAULT),
    "deeplabv3_resnet50": (segmentation.deeplabv3_resnet50,
                           segmentation.DeepLabV3_ResNet50_Weights.DEFAULT),
}


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable now; ``reason`` is the cause."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def cache_path(url: str) -> str:
    """Where torch.hub keeps the file downloaded from ``url``."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def _download(url: str, path: str, timeout: float) -> None:
    """Stream ``url`` into ``path`` through a temporary ``.part`` file of its own (two
    processes may fetch the same weights), renamed only once the SHA-256 prefix in torch.hub's
    file name (``name-<hash>.pth``) matches; no ``.part`` is left behind."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, part = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    os.close(fd)
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=timeout) as reply:
            reply.raise_for_status()
            with open(part, "wb") as f:
                for chunk in reply.iter_content(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)
        expected = torch.hub.HASH_REGEX.search(os.path.basename(url))
        if expected and not digest.hexdigest().startswith(expected.group(1)):
            raise ValueError(f"the file downloaded from {url} does not match its SHA-256")
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)


def fetch_state_dict(url: str, timeout: float = PROBE_TIMEOUT) -> dict:
    """The state dict at ``url``: from the torch hub cache, else downloaded into it, never
    waiting longer than ``timeout`` seconds for bytes; :class:`WeightsUnavailable` if neither."""
    cached = cache_path(url)
    if os.path.isfile(cached):
        try:
            return torch.load(cached, map_location="cpu", weights_only=True)
        except PermissionError:
            raise
        except Exception as e:  # noqa: BLE001 - any other failure to read: a damaged file
            reason = f"{type(e).__name__}, a damaged or partial file"
            raise WeightsUnavailable(
                f"{cached} cannot be read ({reason}); delete it and run this again with "
                "internet to download it afresh", reason) from None
    try:
        _download(url, cached, timeout)
        return torch.load(cached, map_location="cpu", weights_only=True)
    except (requests.RequestException, OSError, RuntimeError, ValueError) as e:
        reason = f"{type(e).__name__}: {e}"
    raise WeightsUnavailable(
        f"{os.path.basename(url)} is not in the torch cache and cannot be downloaded now "
        f"({reason}); on a machine with internet, download {url} into "
        f"{os.path.dirname(cached)} (or run this once there)", reason)


def segmentation_model(name: str, timeout: float = PROBE_TIMEOUT):
    """``(model in eval mode, weights)`` of a torchvision segmentation model trained on COCO
    with the 21 VOC classes; :class:`WeightsUnavailable` when its weights cannot be had."""
    if name not in SEGMENTATION:
        raise ValueError(f"name={name!r}: expected one of {', '.join(SEGMENTATION)}")
    build, weights = SEGMENTATION[name]
    state = fetch_state_dict(weights.url, timeout)  # first: offline, fail before building
    model = build(weights=None, weights_backbone=None, num_classes=len(weights.meta["categories"]),
                  aux_loss=True)
    model.load_state_dict(state)
    return model.eval(), weights


def photo(name_or_path) -> torch.Tensor:
    """A photograph as a uint8 ``(3, H, W)`` tensor: one of :data:`PHOTOS`, or any image file
    of yours, by path."""
    return read_image(PHOTO_DIR / f"{name_or_path}.jpg" if name_or_path in PHOTOS
                      else name_or_path)


def published_miou(weights) -> float:
    """The mIoU torchvision reports for ``weights`` (COCO val2017, VOC's 21 classes), in %."""
    return float(weights.meta["_metrics"]["COCO-val2017-VOC-labels"]["miou"])


def predict_photo(model, weights, image: torch.Tensor) -> torch.Tensor:
    """Class labels ``(H, W)`` for one uint8 ``(3, H, W)`` photo, preprocessed exactly as the
    weights expect (``weights.transforms()``: resize, scale, normalise) and resized back."""
    batch = weights.transforms()(image)[None]
    with torch.no_grad():
        logits = model(batch)["out"]
    logits = torch.nn.functional.interpolate(logits, size=image.shape[-2:], mode="bilinear",
                                             align_corners=False)
    return logits.argmax(1)[0]
