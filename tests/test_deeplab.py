"""Dilated ResNet stages, the receptive-field arithmetic, ASPP and the small DeepLab."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.segmentation.deeplabv3 import ASPP as TorchvisionASPP
from torchvision.models.segmentation.deeplabv3 import DeepLabHead

from course_utils import models
from course_utils.classroom.checks import nb06
from course_utils.models import FCN, count_parameters, deeplab
from course_utils.models.deeplab import (
    ASPP,
    DeepLab,
    at_output_stride,
    deeplab_head,
    dilate_,
    receptive_field,
)


def _measured_receptive_field(layers, size=129) -> int:
    """Oracle: how many input pixels the centre output pixel depends on (by autograd), for a
    1-D stack of all-ones convolutions."""
    x = torch.zeros(1, 1, size, requires_grad=True)
    y = x
    for k, s, d in layers:
        conv = nn.Conv1d(1, 1, k, stride=s, dilation=d, padding=d * (k // 2), bias=False)
        nn.init.ones_(conv.weight)
        y = conv(y)
    y[0, 0, y.shape[-1] // 2].backward()
    touched = (x.grad[0, 0] != 0).nonzero()
    return int(touched.max() - touched.min() + 1)


@pytest.mark.parametrize("layers", [
    [(3, 1, 1)] * 3,                                 # 7: 3 + 2 + 2
    [(3, 2, 1), (3, 2, 1), (3, 1, 1)],               # strides multiply the jump
    [(3, 1, 1), (3, 1, 2), (3, 1, 4)],               # dilations 1, 2, 4: 15
    [(7, 2, 1), (3, 2, 1), (3, 1, 2), (3, 1, 2)],    # a ResNet-like stem, then dilation
])
def test_receptive_field_matches_autograd(layers):
    rf, jump = receptive_field(layers)[-1]
    assert rf == _measured_receptive_field(layers)
    assert jump == torch.tensor([s for _, s, _ in layers]).prod().item()


def test_receptive_field_hand_worked_and_bad_input():
    assert receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == [(3, 1), (7, 1), (15, 1)]
    with pytest.raises(ValueError, match="dilation"):
        receptive_field([(3, 1, 0)])


@pytest.mark.parametrize("stage,dilation", [("layer4", 2), ("layer3", 2)])
def test_dilated_stage_is_the_strided_stage_at_full_resolution(stage, dilation):
    """A trous: the dilated stage sampled every other pixel is the strided stage."""
    torch.manual_seed(0)
    layer = getattr(FCN(5, "32s"), stage).eval()
    dilated = dilate_(copy.deepcopy(layer), dilation).eval()
    cin = layer[0].conv1.in_channels
    x = torch.randn(2, cin, 12, 10)
    with torch.no_grad():
        strided, full = layer(x), dilated(x)
    assert full.shape[-2:] == x.shape[-2:] and strided.shape[-2:] == (6, 5)
    torch.testing.assert_close(full[..., ::2, ::2], strided, atol=1e-5, rtol=1e-4)


def test_output_stride_8_backbone_matches_the_fcn_backbone_every_fourth_pixel():
    torch.manual_seed(0)
    fcn = FCN(5, "32s").eval()
    net = DeepLab(5, output_stride=8).eval()
    net.load_state_dict(fcn.state_dict(), strict=False)  # the backbone names match FCN's
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        ref = fcn.layer4(fcn.layer3(fcn.layer2(fcn.layer1(fcn.stem(x)))))
        out = net.features(x)
    assert ref.shape[-2:] == (2, 3) and out.shape[-2:] == (8, 12)
    torch.testing.assert_close(out[..., ::4, ::4], ref, atol=1e-4, rtol=1e-3)


def test_a_stride_16_model_run_at_stride_8_keeps_its_weights_and_reach():
    """DeepLabv3's inference strategy: the same weights on a twice finer map. Sampled every
    other pixel, the stride-8 backbone and ASPP's convolution branches (rates doubled) are the
    stride-16 ones; only the image-level branch (an average) and the upsampling differ."""
    torch.manual_seed(0)
    net = DeepLab(5, output_stride=16, rates=(2, 4, 6), width=16).eval()
    with torch.no_grad():
        for m in net.modules():  # BatchNorm statistics that are not the identity
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
    fine = at_output_stride(net, 8)
    assert fine.output_stride == 8 and fine.rates == (4, 8, 12) and not fine.training
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                  fine.state_dict().values(), strict=True))
    x = torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        coarse_f, fine_f = net.features(x), fine.features(x)
        assert coarse_f.shape[-2:] == (6, 4) and fine_f.shape[-2:] == (12, 8)
        torch.testing.assert_close(fine_f[..., ::2, ::2], coarse_f, atol=1e-4, rtol=1e-3)
        for coarse_b, fine_b in zip(net.head[0].convs[:-1], fine.head[0].convs[:-1],
                                    strict=True):
            torch.testing.assert_close(fine_b(fine_f)[..., ::2, ::2], coarse_b(coarse_f),
                                       atol=1e-4, rtol=1e-3)
        # the 3 x 3 convolution after ASPP is dilated too: on any map, sampled every other cell
        aspp_out = fine.head[0](fine_f)
        assert fine.head[1].dilation == (2, 2) and net.head[1].dilation == (1, 1)
        torch.testing.assert_close(fine.head[1:](aspp_out)[..., ::2, ::2],
                                   net.head[1:](aspp_out[..., ::2, ::2]), atol=1e-4, rtol=1e-3)
        assert fine(x).shape == net(x).shape == (1, 5, 96, 64)
    assert fine.trained_stride == 16 and at_output_stride(fine, 16).head[1].dilation == (1, 1)
    for coarser in (DeepLab(5, 8, rates=(3, 5, 7)), fine):
        with pytest.raises(ValueError, match="not at 32"):
            at_output_stride(coarser, 32)
    with pytest.raises(ValueError, match="trained at stride 8"):
        at_output_stride(DeepLab(5, 8, rates=(3, 5, 7)), 16)


@pytest.mark.parametrize("size", [(96, 64), (97, 131), (17, 40), (200, 9)])
def test_upsample_scores_at_the_trained_stride_is_plain_interpolation(size):
    """The general path (grid_sample) with finer = 1 is F.interpolate(align_corners=False)."""
    scores = torch.randn(2, 3, -(-size[0] // 16), -(-size[1] // 16), dtype=torch.float64)
    expected = F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
    torch.testing.assert_close(deeplab._resample(scores, size, 1), expected)
    assert torch.equal(deeplab.upsample_scores(scores, size), expected)


def _refine(coarse: torch.Tensor, n_fine: int, axis: int) -> torch.Tensor:
    """``coarse`` sampled at j / 2 for j < n_fine along ``axis`` (linear, held at the border):
    a fine map whose even cells are the coarse ones, as a stride-8 run of a stride-16 model."""
    n = coarse.shape[axis]
    pos = (torch.arange(n_fine, dtype=coarse.dtype) / 2).clamp(max=n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    t = (pos - lo).view([-1 if d == axis % coarse.ndim else 1 for d in range(coarse.ndim)])
    return coarse.index_select(axis, lo) * (1 - t) + coarse.index_select(axis, hi) * t


@pytest.mark.parametrize("size", [(96, 64), (97, 131), (120, 41), (9, 200)])
def test_upsample_scores_puts_fine_cells_where_the_model_learned_them(size):
    """A fine map that refines a coarse one (even cells = coarse cells, odd = midpoints) lands
    exactly where F.interpolate puts the coarse map; plain interpolation of the fine map is off
    by a quarter of a coarse cell."""
    coarse = torch.randn(1, 2, -(-size[0] // 16), -(-size[1] // 16), dtype=torch.float64)
    fine = _refine(_refine(coarse, -(-size[0] // 8), -2), -(-size[1] // 8), -1)
    expected = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
    torch.testing.assert_close(deeplab.upsample_scores(fine, size, finer=2), expected)
    plain = F.interpolate(fine, size=size, mode="bilinear", align_corners=False)
    assert not torch.allclose(plain, expected)


@pytest.mark.parametrize("rates,width", [((2, 4, 6), 128), ((12, 24, 36), 256)])
def test_aspp_equals_torchvision(rates, width):
    torch.manual_seed(0)
    theirs = TorchvisionASPP(512, list(rates), width).eval()
    ours = ASPP(512, rates, width).eval()
    ours.load_state_dict(theirs.state_dict())  # same layout, same names
    x = torch.randn(2, 512, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=0, rtol=0)


def test_deeplab_head_equals_torchvision_deeplabhead():
    torch.manual_seed(0)
    theirs, ours = DeepLabHead(512, 21).eval(), deeplab_head(512, 21).eval()
    assert count_parameters(ours) == count_parameters(theirs)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, 512, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=0, rtol=0)


@pytest.mark.parametrize("stride,size", [(16, (64, 64)), (16, (97, 75)), (8, (50, 61))])
def test_deeplab_output_size_and_feature_stride(stride, size):
    net = DeepLab(7, output_stride=stride).eval()
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        feats = net.features(x)
        out = net(x)
    assert out.shape == (1, 7, *size)
    assert feats.shape[-2:] == tuple(-(-s // stride) for s in size)


def test_deeplab_logits_are_the_upsampled_head_and_everything_trains():
    torch.manual_seed(0)
    net = DeepLab(4)
    x, y = torch.randn(2, 3, 32, 32), torch.randint(0, 4, (2, 32, 32))
    F.cross_entropy(net(x), y).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    net.eval()
    with torch.no_grad():
        feats = net.features(x)
        expected = F.interpolate(net.head(feats), size=(32, 32), mode="bilinear",
                                 align_corners=False)
        torch.testing.assert_close(net(x), expected)


@pytest.mark.parametrize("kwargs,match", [({"output_stride": 32}, "output_stride"),
                                          ({"width": 0}, "width"),
                                          ({"rates": (2, 0)}, "rate")])
def test_deeplab_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DeepLab(5, **kwargs)


@pytest.mark.parametrize("size,rate", [(8, 1), (8, 2), (8, 6), (8, 8), (8, 12), (5, 3)])
def test_valid_tap_fraction_matches_a_hand_count(size, rate):
    per_axis = sum(sum(0 <= i + o * rate < size for o in (-1, 0, 1)) for i in range(size))
    assert deeplab.valid_tap_fraction(size, rate) == pytest.approx((per_axis / (3 * size)) ** 2)


def test_valid_tap_fraction_degenerates_to_the_centre_tap():
    assert deeplab.valid_tap_fraction(8, 8) == pytest.approx(1 / 9)
    assert deeplab.valid_tap_fraction(33, 1) > 0.9


# --- the notebook's self-checks (course_utils.classroom.checks.nb06) ----------------------------
def _verdict(capsys) -> str:
    return capsys.readouterr().out.split(":")[0]


def test_nb06_receptive_field_check(capsys):
    nb06.check_receptive_field(15)  # 1 + 2 (d=1) + 4 (d=2) + 8 (d=4)
    assert _verdict(capsys) == "Correct"
    nb06.check_receptive_field(7)  # the undilated answer
    assert _verdict(capsys) == "Not yet"
    nb06.check_receptive_field(None)
    assert _verdict(capsys) == "Not yet"


def test_nb06_feature_size_check(capsys):
    nb06.check_feature_size((33, 33), size=513, output_stride=16)
    assert _verdict(capsys) == "Correct"
    nb06.check_feature_size((32, 32), size=513, output_stride=16)  # floor, not ceil
    assert _verdict(capsys) == "Not yet"
    nb06.check_feature_size((8, 8), size=64, output_stride=8)
    assert _verdict(capsys) == "Correct"


def test_nb06_aspp_parameter_check(capsys):
    c, w = 512, 128
    by_hand = (c * w + 2 * w) + 3 * (9 * c * w + 2 * w) + (c * w + 2 * w) + (5 * w * w + 2 * w)
    nb06.check_aspp_parameters(by_hand, c, (2, 4, 6), w)
    assert _verdict(capsys) == "Correct"
    nb06.check_aspp_parameters(by_hand + 4 * w, c, (2, 4, 6), w)  # with conv biases
    assert _verdict(capsys) == "Not yet"


def test_nb06_one_by_one_check(capsys):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 3, 3, padding=5, dilation=5)

    def one_by_one(centre=(1, 1), bias=True):
        out = nn.Conv2d(4, 3, 1, bias=bias)
        with torch.no_grad():
            out.weight.copy_(conv.weight[:, :, centre[0]:centre[0] + 1, centre[1]:centre[1] + 1])
            if bias:
                out.bias.copy_(conv.bias)
        return out

    nb06.check_one_by_one(one_by_one(), conv)
    assert _verdict(capsys) == "Correct"
    for wrong in (one_by_one((0, 1)), one_by_one(bias=False), conv, nn.Conv2d(4, 3, 1), None):
        nb06.check_one_by_one(wrong, conv)
        assert _verdict(capsys) == "Not yet"
    # the property the exercise rests on: beyond the rate the side taps read the image
    x = torch.randn(1, 4, 6, 6)
    assert not torch.allclose(one_by_one()(x), conv(x), atol=1e-4)


def _perturbed_deeplab() -> models.DeepLab:
    """A stride-16 DeepLab whose BatchNorm statistics are not the identity, as after training."""
    torch.manual_seed(0)
    net = models.DeepLab(21, 16, (2, 4, 6)).eval()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net


def test_nb06_stride_8_check(capsys):
    """The check accepts a copy dilated by hand (layer3 by 2, layer4 by 4, ASPP rates doubled)
    and names the step a draft missed."""
    net = _perturbed_deeplab()

    def by_hand(layer3=True, layer4=True, rates=True, after_aspp=True):
        mine = copy.deepcopy(net)
        if layer3:
            models.dilate_(mine.layer3, 2)
        if layer4:
            models.dilate_(mine.layer4, 4)
        convs = [branch[0] for branch in mine.head[0].convs[1:-1]] if rates else []
        for conv in convs + ([mine.head[1]] if after_aspp else []):
            conv.dilation = conv.padding = (2 * conv.dilation[0],) * 2
        return mine

    nb06.check_stride_8(by_hand(), net)
    assert _verdict(capsys) == "Correct"
    for draft, says in ((by_hand(rates=False), "head"), (by_hand(after_aspp=False), "more than"),
                        (by_hand(layer4=False), "every other"),
                        (by_hand(layer3=False, layer4=False, rates=False), "still has a stride"),
                        (net, "copy"), (None, "expected a DeepLab"),
                        (models.at_output_stride(net, 8), "by hand")):
        nb06.check_stride_8(draft, net)
        out = capsys.readouterr().out
        assert out.startswith("Not yet") and says in out, out
    retrained = by_hand()
    with torch.no_grad():
        retrained.head[-1].bias.add_(1.0)
    nb06.check_stride_8(retrained, net)
    assert "weights" in capsys.readouterr().out
    assert net.layer3[0].conv1.stride == (2, 2) and not net.training  # net left as it was
