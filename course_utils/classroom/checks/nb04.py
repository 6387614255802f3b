"""Self-checks for notebook 04 (FCN), from running torchvision's ResNet-18 and the course's FCN."""

import torch
import torchvision

from course_utils import metrics, models

from . import check_value


def check_feature_size(answer, size=(320, 480), layer: str = "layer3") -> None:
    """Exercise 1: the ``(H, W)`` of a ResNet-18 layer's features for an input of ``size``."""
    net = torchvision.models.resnet18(weights=None).eval()
    (_, shape), = models.trace_shapes(net, torch.zeros(1, 3, *size), names=[layer])
    check_value(answer, shape[-2:], f"{layer} feature size for a {size[0]} x {size[1]} input",
                "each stride-2 stage halves the size, rounding up (conv1, maxpool, layer2-4)",
                rtol=0, atol=0)


def check_head_parameters(answer, variant: str = "16s", num_classes: int = 21) -> None:
    """Exercise 2: the parameters FCN adds to the ResNet-18 backbone (score convs, upsamplers)."""
    backbone = sum(p.numel() for n, p in torchvision.models.resnet18(weights=None)
                   .named_parameters() if not n.startswith("fc."))
    expected = models.count_parameters(models.FCN(num_classes, variant)) - backbone
    check_value(answer, expected, f"parameters of the FCN-{variant} head ({num_classes} classes)",
                "1x1 convs have in*C weights + C biases; the upsamplers C*C*k*k, no bias",
                rtol=0, atol=0.5)


def check_band_accuracy(answer, pred, target, width: int = 2, ignore_index: int = 255) -> None:
    """Exercise 3: pixel accuracy of ``pred`` on ``target``'s non-void pixels near an edge."""
    counted = metrics.boundary_mask(target, width) & (target != ignore_index)
    expected = (pred[counted] == target[counted]).double().mean()
    check_value(answer, expected, f"pixel accuracy within {width} px of an edge",
                "metrics.boundary_mask(target, width), leave out void, then compare", rtol=1e-4)
