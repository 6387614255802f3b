"""Pretrained weights, offline first: torchvision's segmentation models and ImageNet backbones.

Weights come from the web once and then from the torch hub cache (``$TORCH_HOME``). Offline,
loading must neither hang nor crash a notebook: :func:`fetch_state_dict` uses the cache when the
file is there, tries the download only if the server answers within a few seconds, and
otherwise reports in one line why not and how to get the file. The current torchvision API is
``weights=...``: ``fcn_resnet50(weights=FCN_ResNet50_Weights.DEFAULT)``, with the matching
preprocessing in ``weights.transforms()``; the older ``pretrained=True`` is deprecated since
torchvision 0.13 (it still loads, with a warning).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import urllib.parse
import urllib.request

import torch
from torchvision.models import segmentation

from .runtime import REPO_ROOT
from .voc import read_image

PROBE_TIMEOUT = 5.0  # seconds to wait for the weights server before giving up
PHOTO_DIR = REPO_ROOT / "data" / "photos"  # real photographs, licences in data/README.md
PHOTOS = ("astronaut", "chelsea")
SEGMENTATION = {
    "fcn_resnet50": (segmentation.fcn_resnet50, segmentation.FCN_ResNet50_Weights.DEFAULT),
    "deeplabv3_resnet50": (segmentation.deeplabv3_resnet50,
                           segmentation.DeepLabV3_ResNet50_Weights.DEFAULT),
}


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable now; the message says how.

    ``reason`` is the short cause (no answer from the server, a failed download).
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def cache_path(url: str) -> str:
    """Where torch.hub keeps the file downloaded from ``url``."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def _probe(url: str, timeout: float) -> str | None:
    """``None`` when ``url``'s server takes a connection within ``timeout`` s, else why not.

    Runs in a thread so that even a stalled DNS lookup cannot hold the caller up.
    """
    if urllib.request.getproxies():
        return None  # behind a proxy a direct connection proves nothing: let urllib try
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    errors: list[BaseException] = []

    def connect():
        try:
            socket.create_connection((parts.hostname, port), timeout=timeout).close()
        except OSError as e:
            errors.append(e)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return f"no answer from {parts.hostname} within {timeout:g} s"
    return f"{parts.hostname} unreachable ({errors[0]})" if errors else None


def fetch_state_dict(url: str, timeout: float = PROBE_TIMEOUT) -> dict:
    """The state dict at ``url``: from the cache, else downloaded (hash checked).

    Raises :class:`WeightsUnavailable` (one line: why, and how to get the file) when neither
    works; never waits longer than about ``timeout`` seconds for an absent network.
    """
    cached = cache_path(url)
    old_timeout = socket.getdefaulttimeout()
    try:
        reason = None if os.path.isfile(cached) else _probe(url, timeout)
        if reason is None:
            socket.setdefaulttimeout(timeout)  # a stalled transfer fails instead of hanging
            return torch.hub.load_state_dict_from_url(url, progress=False, check_hash=True)
    except (OSError, RuntimeError, ValueError) as e:  # URLError, timeout, bad hash or file
        reason = f"{type(e).__name__}: {e}"
    finally:
        socket.setdefaulttimeout(old_timeout)
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
    """A photograph as a uint8 ``(3, H, W)`` tensor: one of the course's (``"astronaut"``,
    ``"chelsea"``) or any image file of yours, by path. A missing or unreadable file raises
    an error naming it."""
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


def main(argv=None) -> int:
    """``python -m course_utils.pretrained``: download the segmentation weights into the cache."""
    argparse.ArgumentParser(prog="python -m course_utils.pretrained",
                            description=main.__doc__.split(": ", 1)[1]).parse_args(argv)
    failed = 0
    for name, (_, weights) in SEGMENTATION.items():
        try:
            fetch_state_dict(weights.url, timeout=30.0)
            print(f"{name}: in {cache_path(weights.url)}")
        except WeightsUnavailable as e:
            print(f"{name}: {e}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
