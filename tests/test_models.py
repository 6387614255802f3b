"""Tests for course_utils.models: bilinear kernels, FCN, U-Net, and the pretrained fallback."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import requests
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from course_utils import models
from course_utils.models import (
    FCN,
    UNet,
    bilinear_kernel,
    bilinear_upsampler,
    count_flops,
    count_parameters,
    init_bilinear_,
    pad_to_multiple,
    pretrained,
    trace_shapes,
)

ODD_SIZES = [(1, 1), (31, 33), (97, 131), (65, 40)]


# --- bilinear kernel -------------------------------------------------------------------------

def test_bilinear_kernel_hand_worked():
    # k = 4 (factor 2): tent [1/4, 3/4, 3/4, 1/4]; k = 3: [1/2, 1, 1/2]
    t4 = torch.tensor([0.25, 0.75, 0.75, 0.25])
    t3 = torch.tensor([0.5, 1.0, 0.5])
    w = bilinear_kernel(2, 2, 4)
    assert w.shape == (2, 2, 4, 4)
    assert torch.allclose(w[0, 0], torch.outer(t4, t4))
    assert torch.allclose(w[1, 1], torch.outer(t4, t4))
    assert torch.count_nonzero(w[0, 1]) == 0 and torch.count_nonzero(w[1, 0]) == 0
    assert torch.allclose(bilinear_kernel(1, 1, 3)[0, 0], torch.outer(t3, t3))


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
def test_transposed_conv_reproduces_bilinear_interpolation(factor):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 11)
    up = bilinear_upsampler(3, factor)
    got = up(x)
    want = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert got.shape == want.shape == (2, 3, 9 * factor, 11 * factor)
    b = factor  # the border differs: interpolate clamps, the transposed conv zero-pads
    torch.testing.assert_close(got[..., b:-b, b:-b], want[..., b:-b, b:-b], atol=1e-5, rtol=0)
    assert not torch.allclose(got[..., :1, :], want[..., :1, :], atol=1e-3)  # border differs


def test_init_bilinear_sets_weight_and_zero_bias():
    conv = nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1, bias=True)
    assert init_bilinear_(conv) is conv
    assert torch.equal(conv.weight.data, bilinear_kernel(4, 4, 4))
    assert torch.count_nonzero(conv.bias) == 0


@pytest.mark.parametrize("args, match", [
    ((2, 3, 4), "in_channels \\(2\\) must equal out_channels \\(3\\)"),
    ((0, 0, 4), "in_channels must be a positive int"),
    ((2, 2, 0), "kernel_size must be a positive int"),
])
def test_bilinear_kernel_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        bilinear_kernel(*args)


def test_init_bilinear_rejects_bad_layers():
    with pytest.raises(TypeError, match="conv must be an nn.ConvTranspose2d"):
        init_bilinear_(nn.Conv2d(2, 2, 3))
    with pytest.raises(ValueError, match="must equal out_channels"):
        init_bilinear_(nn.ConvTranspose2d(2, 3, 4))
    with pytest.raises(ValueError, match="factor must be a positive int"):
        bilinear_upsampler(2, 0)


# --- helpers ---------------------------------------------------------------------------------

def test_count_parameters_hand_worked():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))  # (6 + 2) + (2 + 1)
    assert count_parameters(net) == 11
    net[1].weight.requires_grad_(False)
    assert count_parameters(net) == 9
    assert count_parameters(net, trainable_only=False) == 11


def test_count_flops_hand_worked():
    """A 3 x 3 convolution, 3 -> 4 channels, padding 1, on 5 x 6: 2 * (3 * 9) * 4 * 30 FLOPs;
    a 2 x 2 stride-2 transposed convolution 4 -> 2 on its output adds 2 * 4 * 2 * 4 * 30."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.ConvTranspose2d(4, 2, 2, stride=2))
    net.train()
    assert count_flops(net, (5, 6)) == 2 * 27 * 4 * 30 + 2 * 4 * 2 * 4 * 30
    assert net.training  # the mode it was in is restored
    assert net[1].num_batches_tracked == 0  # counted in eval mode: BatchNorm statistics untouched
    assert count_flops(net, (10, 12)) == 4 * count_flops(net, (5, 6))


def test_pad_to_multiple():
    x = torch.ones(1, 2, 5, 8)
    y = pad_to_multiple(x, 4)
    assert y.shape == (1, 2, 8, 8)
    assert torch.equal(y[..., :5, :8], x) and y[..., 5:, :].abs().sum() == 0
    assert pad_to_multiple(x, 1).shape == x.shape


def test_trace_shapes_fcn_strides_and_bad_name():
    shapes = dict(trace_shapes(FCN(variant="8s"), torch.zeros(1, 3, 64, 96)))
    assert shapes["stem"] == (1, 64, 16, 24)
    assert shapes["layer2"] == (1, 128, 8, 12)
    assert shapes["layer3"] == (1, 256, 4, 6)
    assert shapes["layer4"] == (1, 512, 2, 3)
    assert shapes["upsample"] == (1, 21, 64, 96)
    with pytest.raises(ValueError, match="names: no submodule called \\['nope'\\]"):
        trace_shapes(FCN(), torch.zeros(1, 3, 32, 32), names=["nope"])


# --- FCN -------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["32s", "16s", "8s"])
def fcn5(request):
    """One 5-class FCN per variant, shared by the tests of this module (building is slow)."""
    torch.manual_seed(0)
    return FCN(num_classes=5, variant=request.param).eval()


@pytest.mark.parametrize("size", ODD_SIZES)
def test_fcn_output_size_equals_input_size(fcn5, size):
    with torch.no_grad():
        out = fcn5(torch.randn(2, 3, *size))
    assert out.shape == (2, 5, *size)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_fcn_odd_input_is_padded_then_cropped(fcn5):
    x = torch.randn(1, 3, 37, 50)
    padded = F.pad(x, (0, 64 - 50, 0, 64 - 37))
    with torch.no_grad():
        torch.testing.assert_close(fcn5(x), fcn5(padded)[..., :37, :50])


def test_fcn_skip_layers_get_gradients_and_start_at_zero():
    torch.manual_seed(0)
    net = FCN(num_classes=3, variant="8s")
    assert net.score3.weight.abs().sum() == 0 and net.score2.weight.abs().sum() == 0
    net(torch.randn(2, 3, 32, 32)).logsumexp(1).mean().backward()
    for layer in (net.score4, net.score3, net.score2, net.up4, net.up3, net.upsample):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert not hasattr(FCN(variant="32s"), "score3")
    assert hasattr(FCN(variant="16s"), "score3") and not hasattr(FCN(variant="16s"), "score2")


def test_fcn_backbone_is_torchvision_resnet18():
    net = FCN(num_classes=21, variant="32s")
    resnet = torchvision.models.resnet18(weights=None)
    backbone = sum(p.numel() for n, p in resnet.named_parameters() if not n.startswith("fc."))
    head = 512 * 21 + 21 + 21 * 21 * 64 * 64  # 1x1 score conv + x32 transposed conv (no bias)
    assert count_parameters(net) == backbone + head


@pytest.mark.parametrize("kwargs, match", [
    (dict(variant="4s"), "variant must be one of"),
    (dict(num_classes=0), "num_classes must be a positive int"),
])
def test_fcn_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FCN(**kwargs)


# --- U-Net -----------------------------------------------------------------------------------

@pytest.mark.parametrize("depth, width", [(1, 4), (3, 8), (4, 4)])
@pytest.mark.parametrize("size", ODD_SIZES)
def test_unet_output_size_equals_input_size(depth, width, size):
    torch.manual_seed(0)
    net = UNet(in_channels=3, num_classes=6, depth=depth, width=width)
    out = net(torch.randn(2, 3, *size))  # train mode: BatchNorm with batch statistics
    assert out.shape == (2, 6, *size) and torch.isfinite(out).all()


def _unet_parameter_formula(cin, classes, depth, width):
    """Closed-form U-Net parameter count: the independent oracle for the module's layers."""
    def dconv(a, b):  # two 3x3 convs without bias, each followed by BatchNorm (2 b)
        return 9 * a * b + 2 * b + 9 * b * b + 2 * b
    chans = [width * 2 ** i for i in range(depth + 1)]
    total = dconv(cin, width) + width * classes + classes
    for c in chans[:-1]:
        total += dconv(c, 2 * c)  # encoder
        total += 4 * 2 * c * c + c  # 2x2 transposed conv, 2c -> c, with bias
        total += dconv(2 * c, c)  # decoder
    return total


@pytest.mark.parametrize("cin, classes, depth, width", [(3, 21, 4, 64), (1, 2, 2, 8)])
def test_unet_parameter_count(cin, classes, depth, width):
    net = UNet(cin, classes, depth, width)
    assert count_parameters(net) == _unet_parameter_formula(cin, classes, depth, width)


def test_unet_skip_connection_shapes():
    shapes = dict(trace_shapes(UNet(depth=3, width=8), torch.zeros(1, 3, 40, 24)))
    assert shapes["inc"] == (1, 8, 40, 24)
    assert shapes["down.2"] == (1, 64, 5, 3)
    assert shapes["up.2"] == (1, 32, 10, 6)
    assert shapes["dec.0"] == (1, 8, 40, 24)


@pytest.mark.parametrize("kwargs", [dict(depth=0), dict(width=-1), dict(num_classes=2.0)])
def test_unet_rejects_bad_arguments(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"{name} must be a positive int"):
        UNet(**kwargs)


# --- pretrained weights: offline fallback, never a hang --------------------------------------

@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    """An empty torch hub cache, so nothing is found locally."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_pretrained_default_is_random_init_without_network(monkeypatch):
    monkeypatch.setattr(requests, "get", lambda *a, **k: pytest.fail("network tried"))
    FCN()  # pretrained=False must not touch the network


def test_pretrained_falls_back_fast_when_server_stalls(offline_home, monkeypatch, capsys):
    """A server that takes the connection and never answers: one line, random init, quickly."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/resnet18-f37072fd.pth"
    real_get = requests.get
    monkeypatch.setattr(requests, "get", lambda _url, **k: real_get(url, **k))
    start = time.perf_counter()
    try:
        net = nn.Module()
        models.take_resnet18_stages(net, pretrained=True, timeout=0.5)
    finally:
        listener.close()
    assert time.perf_counter() - start < 5
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "ImageNet weights for ResNet-18 not available (" in out and "Timeout" in out
    assert "using random init" in out
    assert [name for name, _ in net.named_children()] == ["stem", "layer1", "layer2", "layer3",
                                                          "layer4"]


def test_pretrained_weights_are_loaded_when_obtained(offline_home, monkeypatch, capsys):
    torch.manual_seed(123)
    state = torchvision.models.resnet18(weights=None).state_dict()

    def download(url, path, timeout):  # what a successful download leaves in the cache
        Path(path).parent.mkdir(parents=True)
        torch.save(state, path)

    monkeypatch.setattr(pretrained, "_download", download)
    net = FCN(variant="16s", pretrained=True)
    assert torch.equal(net.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert torch.equal(net.stem[0].weight, state["conv1.weight"])
    assert capsys.readouterr().out == ""


def test_pretrained_weights_load_from_cache_without_network(offline_home, monkeypatch, capsys):
    torch.manual_seed(7)
    state = torchvision.models.resnet18(weights=None).state_dict()
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    cache = offline_home / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(state, cache / url.rsplit("/", 1)[-1])
    monkeypatch.setattr(requests, "get", lambda *a, **k: pytest.fail("network tried"))
    net = nn.Module()
    models.take_resnet18_stages(net, pretrained=True)
    assert torch.equal(net.stem[0].weight, state["conv1.weight"])
    assert torch.equal(net.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- ResNet encoders
def test_resnet_unet_keeps_any_input_size_and_trains_every_layer():
    torch.manual_seed(0)
    net = models.ResNetUNet(5).eval()
    for h, w in ((32, 32), (45, 70), (7, 9)):
        assert net(torch.randn(1, 3, h, w)).shape == (1, 5, h, w)
    out = net(torch.randn(2, 3, 64, 64))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="decoder_channels"):
        models.ResNetUNet(5, decoder_channels=(8, 8))


@pytest.mark.parametrize("build", [lambda: FCN(21, "8s"), lambda: models.ResNetUNet(21),
                                   lambda: models.DeepLab(21, 8)])
def test_load_encoder_copies_a_torchvision_resnet18_into_each_network(build):
    torch.manual_seed(1)
    source = torchvision.models.resnet18(num_classes=20)
    source.bn1.running_mean.uniform_()  # buffers travel too
    net = build()
    other = {k: v.clone() for k, v in net.state_dict().items()
             if not k.startswith(("stem", "layer"))}
    models.load_encoder_(net, source.state_dict())
    assert torch.equal(net.stem[0].weight, source.conv1.weight)
    assert torch.equal(net.stem[1].running_mean, source.bn1.running_mean)
    assert torch.equal(net.layer3[1].conv2.weight, source.layer3[1].conv2.weight)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in other.items())  # head untouched


def test_load_encoder_refuses_what_is_not_a_resnet18_encoder():
    resnet34 = torchvision.models.resnet34().state_dict()
    with pytest.raises(ValueError, match="not a ResNet-18 encoder"):
        models.load_encoder_(FCN(21, "8s"), resnet34)
    with pytest.raises(ValueError, match="not a ResNet-18 encoder"):
        models.load_encoder_(UNet(3, 21, 2, 4), torchvision.models.resnet18().state_dict())


def test_count_new_parameters_leaves_out_the_encoder_stages():
    """FCN-8s: only its score layers and upsamplers are new; the paper's U-Net (no ResNet
    stages): every parameter; a DeepLab: its ASPP head."""
    fcn = FCN(21, "8s")
    new = sum(p.numel() for m in (fcn.score4, fcn.score3, fcn.score2, fcn.up4, fcn.up3,
                                  fcn.upsample) for p in m.parameters())
    assert models.count_new_parameters(fcn) == new
    unet = UNet(3, 21, 2, 8)
    assert models.count_new_parameters(unet) == count_parameters(unet)
    deeplab = models.DeepLab(21, 16, (2, 4, 6), width=32)
    assert models.count_new_parameters(deeplab) == count_parameters(deeplab.head)
