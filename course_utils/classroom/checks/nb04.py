"""Self-checks for notebook 04 (FCN), from running torchvision's ResNet-18 and the course's FCN."""

import torch
import torchvision

from course_utils import models

from . import report


def check_head_parameters(head_parameters) -> None:
    """Exercise 2: ``head_parameters(num_classes, variant)``, the parameters FCN-``variant``
    adds to the ResNet-18 backbone (score convolutions and upsamplers), counted by hand, for
    several numbers of classes and every variant, against the models themselves."""
    what = "the parameters of the FCN heads, for any number of classes"
    backbone = sum(p.numel() for n, p in torchvision.models.resnet18(weights=None)
                   .named_parameters() if not n.startswith("fc."))
    for num_classes in (2, 21, 150):
        for variant in models.FCN_VARIANTS:
            expected = models.count_parameters(models.FCN(num_classes, variant)) - backbone
            try:
                got = head_parameters(num_classes, variant)
            except Exception as exc:  # a learner's draft may fail in any way: report it
                report(False, what, f"head_parameters({num_classes}, {variant!r}) raised "
                       f"{type(exc).__name__}: {exc}")
                return
            if got != expected:
                report(False, what, f"head_parameters({num_classes}, {variant!r}) gave {got!r}; "
                       "count each layer's weights and biases from its shape, and compare layer "
                       "by layer with models.count_parameters on the modules of "
                       "models.FCN(num_classes, variant)")
                return
    report(True, what)


def check_fcn16s(make_net, num_classes: int = 21) -> None:
    """Exercise: FCN-16s built from the FCN-32s pieces. ``make_net()`` must give a network whose
    logits have the input's size (any multiple of 32), with FCN-16s's parameter count, and whose
    stride-16 skip starts at zero (``score3``), so training starts from the coarse prediction."""
    what = "FCN-16s built from the FCN-32s pieces"
    try:
        net = make_net().eval()
        if isinstance(net, models.FCN):
            report(False, what, "that is the course's models.FCN: build the network yourself "
                   "from its pieces (a new nn.Module with your own forward)")
            return
        with torch.no_grad():
            shapes = [tuple(net(torch.zeros(1, 3, h, w)).shape) for h, w in ((64, 96), (128, 64))]
    except Exception as exc:  # a learner's draft may fail in any way: report it
        report(False, what, f"it raised {type(exc).__name__}: {exc}")
        return
    if shapes != [(1, num_classes, 64, 96), (1, num_classes, 128, 64)]:
        report(False, what, f"logits of shapes {shapes}: upsample x2 then x16 back to the input")
        return
    expected = models.count_parameters(models.FCN(num_classes, "16s"))
    if models.count_parameters(net) != expected:
        report(False, what, f"{models.count_parameters(net):,} parameters, FCN-16s has "
               f"{expected:,}: a 1x1 score conv on layer3 (with bias), a k=4 x2 upsampler and a "
               "k=32 x16 upsampler (no bias); no x32 upsampler")
        return
    score3 = getattr(net, "score3", None)
    zero = isinstance(score3, torch.nn.Conv2d) and not score3.weight.any() and (
        score3.bias is None or not score3.bias.any())
    if not zero:
        report(False, what, "name the layer3 score conv `score3` and start its weight and bias "
               "at zero, as the paper does")
        return
    report(_skip_is_used(net, num_classes), what, "forward must add score3's scores of layer3 "
           "to the x2-upsampled stride-32 scores")


def _skip_is_used(net, num_classes: int) -> bool:
    """Whether the logits change when ``score3``'s weights do (a zero skip hides a forward that
    never adds it); the weights are put back afterwards."""
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    saved = net.score3.weight.detach().clone()
    with torch.no_grad():
        before = net(x)
        net.score3.weight.normal_(generator=torch.Generator().manual_seed(1))
        after = net(x)
        net.score3.weight.copy_(saved)
    return before.shape == (1, num_classes, 64, 96) and not torch.allclose(before, after)


def check_paired_interval(answer, counts_a: dict, counts_b: dict, tol: float = 0.01) -> None:
    """Exercise: a 95 % bootstrap interval, over validation images, of the mIoU difference
    b - a between two runs scored on the same images (their per-image confusion matrices).
    It must hold the point difference and agree with the course's resampling within ``tol``
    (another random draw of the images moves the ends by a little)."""
    from course_utils.training import comparison

    what = "the bootstrap interval of the mIoU difference"
    try:
        low, high = (float(v) for v in answer)
    except (TypeError, ValueError):
        report(False, what, "give (low, high), two numbers")
        return
    point = float(comparison.score(counts_b) - comparison.score(counts_a))
    ref = comparison.paired_comparison([counts_a], [counts_b], n_boot=2000)["interval"]
    ok = low <= point <= high and abs(low - ref[0]) <= tol and abs(high - ref[1]) <= tol
    report(ok, what, "resample image indices with replacement, sum each run's matrices over "
           "the drawn images, take mIoU of each, the difference, then its 2.5 and 97.5 % "
           "quantiles")
