"""The ResNet-18 backbone FCN and DeepLab share, and the input handling every network here uses.

The networks of this wing (FCN, U-Net, DeepLab) map a batch of images ``(N, 3, H, W)`` to
class *logits* ``(N, C, H, W)`` of the same height and width, for any ``H`` and ``W``: the
input is padded on the right/bottom to a multiple of the network's total stride and the logits
are cropped back, so every stage halves or doubles sizes exactly and the skip connections line
up without resizing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from .pretrained import PROBE_TIMEOUT, WeightsUnavailable, fetch_state_dict


def _check_positive_ints(**values) -> None:
    """Raise ValueError naming the first argument that is not a positive int."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_images(x: torch.Tensor, channels: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a (N, {channels}, H, W) tensor, got {shape}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad ``x`` on the right and bottom so its height and width divide by ``multiple``."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple))


def resnet18_backbone(pretrained: bool = False, timeout: float = PROBE_TIMEOUT) -> nn.Module:
    """A torchvision ResNet-18, with ImageNet weights when ``pretrained`` and obtainable.

    Cached weights (under ``$TORCH_HOME``) load without a network. Otherwise the download is
    tried only if the server answers within ``timeout`` seconds; on any failure one line says
    so and the network keeps its random initialisation (training still works, just slower).
    """
    net = torchvision.models.resnet18(weights=None)
    if not pretrained:
        return net
    try:
        net.load_state_dict(fetch_state_dict(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url,
                                             timeout))
    except WeightsUnavailable as e:
        print(f"ImageNet weights for ResNet-18 not available ({e.reason}); using random init.")
    return net


def take_resnet18_stages(net: nn.Module, pretrained: bool = False) -> None:
    """Give ``net`` a ResNet-18's ``stem`` (stride 4) and ``layer1``-``layer4``, pooling and
    ``fc`` left out: the backbone FCN and DeepLab share, under the same names."""
    r = resnet18_backbone(pretrained)
    net.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
    net.layer1, net.layer2, net.layer3, net.layer4 = r.layer1, r.layer2, r.layer3, r.layer4


