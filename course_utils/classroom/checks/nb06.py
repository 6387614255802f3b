"""Self-checks for notebook 06 (dilated convolution and DeepLab)."""

import torch

from course_utils import models

from . import check_value, report


def check_receptive_field(answer, layers=((3, 1, 1), (3, 1, 2), (3, 1, 4))) -> None:
    """Exercise 1: the receptive field (px) of ``layers``, each ``(kernel, stride, dilation)``."""
    expected = models.receptive_field(layers)[-1][0]
    check_value(answer, expected, f"receptive field of {len(layers)} layers {list(layers)}",
                "each layer adds dilation x (kernel - 1) x (the stride so far)", rtol=0, atol=0)


def check_feature_size(answer, size: int = 500, output_stride: int = 16) -> None:
    """Exercise 2: ``(H, W)`` of the DeepLab backbone's features for a ``size``-px square image."""
    net = models.DeepLab(output_stride=output_stride).eval()
    with torch.no_grad():
        feats = net.features(torch.zeros(1, 3, size, size))
    check_value(answer, tuple(feats.shape[-2:]),
                f"feature map of a {size} x {size} image at output stride {output_stride}",
                "each stride-2 layer maps n pixels to ceil(n / 2); dilated stages keep the size",
                rtol=0, atol=0)


def check_aspp_parameters(answer, in_channels: int = 2048, rates=(12, 24, 36),
                          width: int = 256) -> None:
    """Exercise 3: the parameters of ``models.ASPP(in_channels, rates, width)``."""
    expected = models.count_parameters(models.ASPP(in_channels, rates, width))
    check_value(answer, expected, f"parameters of ASPP({in_channels}, {tuple(rates)}, {width})",
                "no conv has a bias (BatchNorm follows: 2 per channel); five branches, then a "
                "1x1 projection of their concatenation", rtol=0, atol=0)


def _one_by_one_problem(one_by_one, conv) -> str:
    """Why ``one_by_one`` does not compute what ``conv`` does on maps no larger than its rate
    (empty when it does)."""
    if not isinstance(one_by_one, torch.nn.Conv2d) or one_by_one.kernel_size != (1, 1):
        return "one_by_one must be a torch.nn.Conv2d with a 1 x 1 kernel"
    if one_by_one is conv:
        return "build a new convolution: conv itself is the 3 x 3 one"
    rate = conv.dilation[0]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for h, w in ((1, 1), (rate, rate), (rate, 1), (2, rate), (rate - 1, rate - 1)):
            x = torch.randn(2, conv.in_channels, max(h, 1), max(w, 1), generator=gen)
            want, got = conv(x), one_by_one(x)
            if got.shape != want.shape:
                return f"on a {h} x {w} map it gives {tuple(got.shape)}, conv {tuple(want.shape)}"
            if not torch.allclose(got, want, atol=1e-5, rtol=1e-4):
                return (f"on a {h} x {w} map its output is not conv's: which of conv's nine "
                        "taps can land inside a map no larger than the rate, and what else does "
                        "conv add?")
    return ""


def check_one_by_one(one_by_one, conv) -> None:
    """Exercise 4: ``one_by_one``, a 1 x 1 convolution, computes exactly what ``conv`` (3 x 3,
    dilation = padding = rate) computes on every map of at most rate x rate pixels: there the
    eight side taps only ever read padding (DeepLabv3, section 3.3)."""
    rate = conv.dilation[0]
    try:
        problem = _one_by_one_problem(one_by_one, conv)
    except Exception as exc:  # a learner's draft may fail in any way: report it
        problem = f"running it raised {type(exc).__name__}: {exc}"
    report(not problem, f"a 1 x 1 convolution equal to the 3 x 3 one at rate {rate} on maps up "
           f"to {rate} x {rate}", problem)


def _stride_8_problem(mine, net, x: torch.Tensor) -> str:
    """What is wrong with ``mine`` as ``net`` at output stride 8 (empty when nothing is)."""
    if mine is net:
        return "change a copy (copy.deepcopy(net)): net itself must stay at stride 16"
    if mine.output_stride != net.output_stride:  # a hand-dilated copy keeps net's attribute
        return ("build mine by hand from copy.deepcopy(net): models.at_output_stride is what "
                "you are reproducing")
    if net.layer3[0].conv1.stride != (2, 2):
        return "net itself has been changed: rebuild it, then work on a copy"
    theirs = net.state_dict()
    ours = mine.state_dict()
    if ours.keys() != theirs.keys() or any(not torch.equal(ours[k], theirs[k]) for k in theirs):
        return "your copy's weights are not net's: the point is the same weights on a finer map"
    with torch.no_grad():
        coarse, fine = net.features(x), mine.features(x)
        size = tuple(-(-n // 8) for n in x.shape[-2:])
        if tuple(fine.shape[-2:]) != size:
            return (f"features {tuple(fine.shape[-2:])} for a {tuple(x.shape[-2:])} image, "
                    f"expected {size}: which stage still has a stride?")
        if not torch.allclose(fine[..., ::2, ::2], coarse, atol=1e-4 * coarse.abs().max()):
            return ("the features have the right size, but every other cell is not net's: "
                    "each 3 x 3 convolution after a removed stride must still read the same "
                    "offsets in pixels (section 3)")
        ref = models.at_output_stride(net, 8)
        if not torch.allclose(mine.head(fine), ref.head(ref.features(x)), atol=1e-4, rtol=1e-3):
            return ("the backbone is right, but the head's scores are not: on a map twice as "
                    "fine, a 3 x 3 convolution that keeps its dilation reaches half as far in "
                    "pixels (there are more than the ASPP's)")
    return ""


def check_stride_8(mine, net, size=(97, 130)) -> None:
    """Exercise 5: ``mine``, built by hand from a copy of the stride-16 DeepLab ``net``, runs at
    output stride 8 with net's weights and its backbone and head compute what
    ``models.at_output_stride(net, 8)``'s do (evaluation mode, one random image of ``size``;
    where the scores are then placed, ``models.upsample_scores``, is not the exercise)."""
    if not isinstance(mine, models.DeepLab):
        report(False, "your network", f"expected a DeepLab (a copy of net), got {type(mine)}")
        return
    modes = mine.training, net.training
    mine.eval(), net.eval()
    try:
        x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(0))
        x = x.to(next(net.parameters()).device)
        problem = _stride_8_problem(mine, net, x)
    except Exception as exc:  # a learner's draft may fail in any way: report it
        problem = f"running it raised {type(exc).__name__}: {exc}"
    finally:
        mine.train(modes[0]), net.train(modes[1])
    report(not problem, "your network is net at output stride 8, with the same weights", problem)
