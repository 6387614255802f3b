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


STEM_KEYS = {"conv1.": "stem.0.", "bn1.": "stem.1."}  # torchvision's names -> ours


def load_encoder_(net: nn.Module, resnet_state: dict[str, torch.Tensor]) -> nn.Module:
    """Copy a torchvision ``resnet18`` state dict's ``conv1``, ``bn1`` and ``layer1``-``layer4``
    (not ``fc``) into a network built with :func:`take_resnet18_stages`, in place: the
    transfer-learning start, whether the weights come from ImageNet or the course's encoder.
    Raises ValueError when a key of the encoder is missing or has another shape."""
    state = {}
    for key, value in resnet_state.items():
        if key.startswith("fc."):
            continue
        for theirs, ours in STEM_KEYS.items():
            if key.startswith(theirs):
                key = ours + key[len(theirs):]
        state[key] = value
    own = net.state_dict()
    bad = [k for k in state if k not in own or own[k].shape != state[k].shape]
    missing = [k for k in own if k.split(".")[0] in ("stem", *LAYERS) and k not in state]
    if bad or missing:
        raise ValueError(f"not a ResNet-18 encoder for this network: unknown or other shape "
                         f"{bad[:3]}, missing {missing[:3]}")
    net.load_state_dict(state, strict=False)
    return net


LAYERS = ("layer1", "layer2", "layer3", "layer4")


def count_new_parameters(net: nn.Module) -> int:
    """Parameters of ``net`` outside the ResNet-18 stages (``stem``, ``layer1``-``layer4``): the
    ones no encoder start gives, which training must learn from scratch. Shown beside every
    comparison of networks that share the encoder, since how much is new is part of the cost."""
    return sum(p.numel() for name, p in net.named_parameters()
               if name.split(".")[0] not in ("stem", *LAYERS))


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
