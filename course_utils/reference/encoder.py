"""The encoder every segmentation model starts from: the course's, or ImageNet's (notebook 04).

Practice starts from a backbone pretrained on ImageNet. The course ships its stand-in, the
``encoder`` run (torchvision's ``resnet18`` pretrained on the course's object crops, which the
mini set's generator draws from other seeds), so every notebook runs offline. In the ``full``
profile, when torchvision's ImageNet weights for ResNet-18 are cached or downloadable, they are
used instead: the same architecture and the same code path.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet18_Weights

from course_utils import runtime
from course_utils.models import load_encoder_
from course_utils.models.pretrained import WeightsUnavailable, fetch_state_dict
from course_utils.training import checkpoints
from course_utils.training.recipes import ENCODER

from .manifest import ReferenceModelError, load


def encoder_weights(manifest_path=None) -> dict[str, torch.Tensor]:
    """The course's encoder (the shipped ``encoder`` run) as a float32 ``resnet18`` state dict."""
    model, _ = load(ENCODER, "cpu", manifest_path)
    return checkpoints.float_state(model.state_dict())


def init_encoder(net: nn.Module, manifest_path=None) -> nn.Module:
    """Give ``net`` (FCN, DeepLab or the ResNet U-Net) the course's encoder; returns ``net``."""
    try:
        return load_encoder_(net, encoder_weights(manifest_path))
    except ValueError as err:
        raise ReferenceModelError(f"the course's encoder does not fit this network: {err}") \
            from err


def start_from_pretrained(net: nn.Module, imagenet: bool | None = None,
                          manifest_path=None) -> str:
    """Load the encoder ``net`` starts from and return the one line that says which: ImageNet's
    when ``imagenet`` (default: in the ``full`` profile) and the weights can be had, else the
    course's. Offline the line gives the reason."""
    if imagenet is None:
        imagenet = runtime.profile() == "full"
    reason = "the fast profile uses it"
    if imagenet:
        try:
            load_encoder_(net, fetch_state_dict(ResNet18_Weights.IMAGENET1K_V1.url))
            return "encoder: torchvision's ResNet-18 ImageNet weights (IMAGENET1K_V1)"
        except WeightsUnavailable as err:
            reason = f"ImageNet weights not available: {err.reason}"
    init_encoder(net, manifest_path)
    return f"encoder: the course's ResNet-18, pretrained on its object crops ({reason})"
