"""The ResNet-18 backbone FCN and DeepLab share, and the padding the networks here use.

FCN and U-Net pad their input on the right/bottom to a multiple of their total stride and crop
the logits back, so every stage halves or doubles sizes exactly and the skip connections line
up without resizing, for any ``H`` and ``W``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from .pretrained import PROBE_TIMEOUT, WeightsUnavailable, fetch_state_dict


def check_positive_ints(**values) -> None:
    """Raise ValueError naming the first argument that is not a positive int."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad ``x`` on the right and bottom so its height and width divide by ``multiple``."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple))


def take_resnet18_stages(net: nn.Module, pretrained: bool = False,
                         timeout: float = PROBE_TIMEOUT) -> None:
    """Give ``net`` a torchvision ResNet-18's ``stem`` (stride 4) and ``layer1``-``layer4``
    (pooling and ``fc`` left out), with ImageNet weights when ``pretrained`` and obtainable
    (:func:`fetch_state_dict`); otherwise one line says so and ``net`` keeps its random
    initialisation (training still works, just slower)."""
    r = torchvision.models.resnet18(weights=None)
    if pretrained:
        url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
        try:
            r.load_state_dict(fetch_state_dict(url, timeout))
        except WeightsUnavailable as e:
            print(f"ImageNet weights for ResNet-18 not available ({e.reason}); using random init.")
    net.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
    net.layer1, net.layer2, net.layer3, net.layer4 = r.layer1, r.layer2, r.layer3, r.layer4
