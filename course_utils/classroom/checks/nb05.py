"""Self-checks for notebook 05 (U-Net), from running the networks the exercises ask about."""

import torch
from torch import nn

from course_utils import metrics, models
from course_utils.data import VOID

from . import check_function, check_value, report


def check_parameter_count(answer, depth: int = 2, width: int = 8, num_classes: int = 21) -> None:
    """Exercise 2: the number of parameters of ``UNet(3, num_classes, depth, width)``."""
    expected = models.count_parameters(models.UNet(3, num_classes, depth, width))
    check_value(answer, expected, f"parameters of UNet(depth={depth}, width={width})",
                "3x3 convs have no bias (BatchNorm follows: 2 per channel); the 2x2 "
                "transposed convs and the 1x1 head have biases",
                rtol=0, atol=0)


def check_unpadded_output_size(answer, size: int = 572, depth: int = 4) -> None:
    """Exercise 3: the output size of the original, unpadded U-Net (Ronneberger et al., 2015) for
    a ``size`` input, from its path built with one channel (the skips' crops keep the size)."""
    def two_convs():
        return nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))

    x = torch.zeros(1, 1, size, size)
    with torch.no_grad():
        for _ in range(depth):
            x = nn.MaxPool2d(2)(two_convs()(x))
        x = two_convs()(x)
        for _ in range(depth):
            x = two_convs()(nn.ConvTranspose2d(1, 1, 2, stride=2)(x))
    check_value(answer, x.shape[-1],
                f"output size of the unpadded U-Net for {size} x {size}",
                "every 3x3 conv without padding loses 2 pixels; pooling halves; up-conv doubles",
                rtol=0, atol=0)


def _ring_accuracy(preds, truths, edges) -> torch.Tensor:
    """Accuracy per ring over all the images: the rings' counts summed, then divided."""
    counts = sum(metrics.ring_counts(p, t, edges) for p, t in zip(preds, truths, strict=True))
    return counts[:, 0] / counts[:, 1]  # 0 / 0 = NaN: an empty ring


def _ring_cases() -> list:
    """Hand-made ``(preds, truths)``: a vertical edge predicted one column too far (every error
    in the innermost ring), a void pixel on the edge (not scored), and a plain image (all in the
    outermost ring, the inner rings empty)."""
    truth = torch.zeros(24, 24, dtype=torch.long)
    truth[:, 12:] = 5
    shifted = torch.zeros_like(truth)
    shifted[:, 13:] = 5
    void = truth.clone()
    void[3, 12] = VOID
    plain = torch.full((40, 40), 7)
    return [([shifted], [truth]), ([shifted, truth], [void, truth]), ([plain], [plain])]


def check_ring_accuracy(ring_accuracy, preds, truths, edges=metrics.RINGS) -> None:
    """Exercise 1: ``ring_accuracy(preds, truths, edges)``, pixel accuracy over a list of images
    in each ring by distance to the truth's nearest label change, on hand-made cases and on the
    exercise's predictions (checked against :func:`course_utils.metrics.ring_counts`)."""
    what = "ring_accuracy, pixel accuracy by distance to the nearest edge"
    hint = ("ring 0 is boundary_mask(truth, edges[0]); ring k is the band of edges[k] minus the "
            "band of edges[k - 1]; the last ring is every pixel outside the widest band; void "
            "is not scored; sum correct and scored pixels over the images, then divide (NaN for "
            "an empty ring)")
    cases = [((p, t), _ring_accuracy(p, t, edges)) for p, t in _ring_cases()]
    cases.append(((preds, truths), _ring_accuracy(preds, truths, edges)))
    if check_function(lambda pt: ring_accuracy(*pt, edges), cases, what, hint):
        report(True, what)
