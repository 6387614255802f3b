"""Tests for the exercise self-checks of notebooks 03-05 (course_utils.classroom.checks).

A check must say "Correct" for the worked answer, "Not yet" for a wrong or malformed one,
and never raise (so "run all" in a student copy goes on).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils import models
from course_utils.classroom.checks import nb03, nb04, nb05
from course_utils.models import UNet, count_parameters


def verdict(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return out.split(":")[0]


# --- nb03 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, ok", [(30, True), (31, False), (None, False), ("x", False)])
def test_nb03_output_size(capsys, answer, ok):
    nb03.check_output_size(answer, size=10, kernel_size=5, stride=3, padding=1)
    assert verdict(capsys) == ("Correct" if ok else "Not yet")


def test_nb03_output_size_hand_worked(capsys):
    # (7 - 1) * 2 - 2 * 1 + 1 * (3 - 1) + 1 + 1 = 14
    nb03.check_output_size(14, size=7, kernel_size=3, stride=2, padding=1, output_padding=1)
    assert verdict(capsys) == "Correct"


@pytest.mark.parametrize("answer, ok", [(17, True), (17.0, True), (torch.tensor(17), True),
                                        (16, False), (18, False), (21, False), (33, False),
                                        (None, False), ("17", False), (True, False), (1e9, False)])
def test_nb03_aligned_size(capsys, answer, ok):
    # align_corners=True on 5 samples: 4 gaps between the outer centres, 4 steps each, + 1
    nb03.check_aligned_size(answer, size=5, step=4)
    assert verdict(capsys) == ("Correct" if ok else "Not yet")


def test_nb03_aligned_size_other_sizes(capsys):
    for size, step in [(2, 2), (7, 3), (33, 16)]:
        nb03.check_aligned_size((size - 1) * step + 1, size=size, step=step)
        assert verdict(capsys) == "Correct"
        nb03.check_aligned_size(size * step, size=size, step=step)  # align_corners=False's size
        assert verdict(capsys) == "Not yet"


def test_nb03_aligned_size_hint_does_not_give_the_answer(capsys):
    nb03.check_aligned_size(None, size=5, step=4)
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and "17" not in out and "Traceback" not in out


def test_nb03_transpose_matrix_hand_worked(capsys):
    # stride 2, 2x2 kernel, 2x2 input: each input pixel stamps K into its own 2x2 block of 4x4
    k = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = torch.zeros(16, 4)
    for j, (r, c) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        block = torch.zeros(4, 4)
        block[2 * r:2 * r + 2, 2 * c:2 * c + 2] = k
        m[:, j] = block.flatten()
    nb03.check_transpose_matrix(m, kernel=k, in_size=2, stride=2)
    assert verdict(capsys) == "Correct"
    nb03.check_transpose_matrix(m.T, kernel=k, in_size=2, stride=2)
    assert verdict(capsys) == "Not yet"
    # padding 1 crops one row and column on each side: the 2 x 2 middle of each 4 x 4 column
    cropped = m.reshape(4, 4, 4)[1:3, 1:3].reshape(4, 4)
    nb03.check_transpose_matrix(cropped, kernel=k, in_size=2, stride=2, padding=1)
    assert verdict(capsys) == "Correct"
    nb03.check_transpose_matrix(m, kernel=k, in_size=2, stride=2, padding=1)
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and "(4, 4)" not in out  # the shape is not given away


@pytest.mark.parametrize("stride, padding, n_out", [(1, 0, 3), (2, 1, 5)])
def test_nb03_transpose_matrix_is_conv_matrix_transposed(capsys, stride, padding, n_out):
    # the transposed conv's matrix is the transpose of the convolution's matrix (on the
    # output-sized input), with stride and padding too
    k = torch.arange(1.0, 10.0).reshape(3, 3) if stride == 2 else torch.tensor(
        [[1.0, -2.0], [0.5, 3.0]])
    n_in = 3 if stride == 2 else 2
    units = torch.eye(n_out * n_out).reshape(-1, 1, n_out, n_out)
    c = torch.nn.functional.conv2d(units, k[None, None], stride=stride, padding=padding)
    c = c.flatten(1).T  # (n_in^2, n_out^2)
    assert c.shape == (n_in * n_in, n_out * n_out)
    nb03.check_transpose_matrix(c.T, kernel=k.tolist(), in_size=n_in, stride=stride,
                                padding=padding)
    assert verdict(capsys) == "Correct"
    nb03.check_transpose_matrix(c, kernel=k.tolist(), in_size=n_in, stride=stride,
                                padding=padding)
    assert verdict(capsys) == "Not yet"


def _as_subpixel(weight, r):
    """The worked answer: tap r t + phase of the stamp is tap t of that phase's convolution,
    flipped (conv2d correlates); channel o r^2 + a r + b is what PixelShuffle sends to (a, b)."""
    c_in, c_out, kr, _ = weight.shape
    k = kr // r
    w = weight.reshape(c_in, c_out, k, r, k, r).flip(2, 4)
    return w.permute(1, 3, 5, 0, 2, 4).reshape(c_out * r * r, c_in, k, k)


def test_nb03_subpixel(capsys):
    nb03.check_subpixel(_as_subpixel)
    assert verdict(capsys) == "Correct"


def _unflipped(weight, r):
    c_in, c_out, kr, _ = weight.shape
    k = kr // r
    w = weight.reshape(c_in, c_out, k, r, k, r)
    return w.permute(1, 3, 5, 0, 2, 4).reshape(c_out * r * r, c_in, k, k)


def _wrong_channel_order(weight, r):
    c_in, c_out, kr, _ = weight.shape
    k = kr // r
    w = weight.reshape(c_in, c_out, k, r, k, r).flip(2, 4)
    return w.permute(3, 5, 1, 0, 2, 4).reshape(c_out * r * r, c_in, k, k)


def _raises(weight, r):
    raise IndexError("oops")


def _returns_none(weight, r):
    return None


@pytest.mark.parametrize("fn", [_unflipped, _wrong_channel_order, _raises, _returns_none,
                                lambda w, r: w, None, "as_subpixel"])
def test_nb03_subpixel_wrong(capsys, fn):
    nb03.check_subpixel(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Not yet: ") and "Traceback" not in out


# --- nb04 ------------------------------------------------------------------------------------

def test_nb04_head_parameters_hand_worked(capsys):
    def by_hand(c, variant):  # score convs with bias, bilinear upsamplers k = 2 x factor, no bias
        scores = {"32s": [512], "16s": [512, 256], "8s": [512, 256, 128]}[variant]
        ups = {"32s": [32], "16s": [2, 16], "8s": [2, 2, 8]}[variant]
        return sum(n * c + c for n in scores) + sum(c * c * (2 * f) ** 2 for f in ups)

    nb04.check_head_parameters(by_hand)
    assert verdict(capsys) == "Correct"
    assert by_hand(21, "16s") == (512 * 21 + 21) + (256 * 21 + 21) + 21 * 21 * (16 + 32 * 32)
    for wrong in (lambda c, v: by_hand(c, v) + 1, lambda c, v: by_hand(21, v),
                  lambda c, v: by_hand(c, "16s"), lambda c, v: 1 / 0):
        nb04.check_head_parameters(wrong)
        assert verdict(capsys) == "Not yet"


class _PiecesFCN16s(nn.Module):
    """An exercise answer: FCN-16s from the FCN-32s pieces (``zero``: the skip starts at 0;
    ``skip``: forward adds it)."""

    def __init__(self, zero=True, keep_x32=False, skip=True):
        super().__init__()
        fcn32 = models.FCN(21, "32s")
        self.stem, self.layer1, self.layer2 = fcn32.stem, fcn32.layer1, fcn32.layer2
        self.layer3, self.layer4, self.score4 = fcn32.layer3, fcn32.layer4, fcn32.score4
        self.score3 = nn.Conv2d(256, 21, 1)
        if zero:
            nn.init.zeros_(self.score3.weight), nn.init.zeros_(self.score3.bias)
        self.up2 = models.bilinear_upsampler(21, 2)
        self.up16 = models.bilinear_upsampler(21, 16)
        if keep_x32:
            self.up32 = fcn32.upsample
        self.skip = skip

    def forward(self, x):
        c3 = self.layer3(self.layer2(self.layer1(self.stem(x))))
        coarse = self.up2(self.score4(self.layer4(c3)))
        return self.up16(coarse + self.score3(c3) if self.skip else coarse)


def test_nb04_fcn16s_from_pieces(capsys):
    nb04.check_fcn16s(_PiecesFCN16s)
    assert verdict(capsys) == "Correct"
    for wrong in (lambda: _PiecesFCN16s(zero=False), lambda: _PiecesFCN16s(keep_x32=True),
                  lambda: _PiecesFCN16s(skip=False),
                  lambda: models.FCN(21, "32s"), lambda: models.FCN(21, "16s"),
                  lambda: 1 / 0):
        nb04.check_fcn16s(wrong)
        assert verdict(capsys) == "Not yet"


def test_nb04_paired_interval(capsys):
    from course_utils.training import comparison, image_counts
    g = torch.Generator().manual_seed(0)
    targets = [torch.randint(0, 3, (8, 9), generator=g) for _ in range(30)]
    noisy = [torch.where(torch.rand(t.shape, generator=g) < q, torch.randint(0, 3, t.shape,
                                                                             generator=g), t)
             for q in (0.2, 0.4) for t in targets]
    a, b = image_counts(noisy[30:], targets), image_counts(noisy[:30], targets)
    ref = comparison.paired_comparison([a], [b], n_boot=2000, seed=7)["interval"]  # another draw
    nb04.check_paired_interval(ref, a, b)
    assert verdict(capsys) == "Correct"
    point = float(comparison.score(b) - comparison.score(a))
    for wrong in ((point - 0.2, point + 0.2), (ref[1], ref[1] + 0.1), "no", (point, point)):
        nb04.check_paired_interval(wrong, a, b)
        assert verdict(capsys) == "Not yet"


# --- nb05 ------------------------------------------------------------------------------------

def test_nb05_parameter_count(capsys):
    nb05.check_parameter_count(count_parameters(UNet(3, 21, 2, 8)), depth=2, width=8)
    assert verdict(capsys) == "Correct"
    nb05.check_parameter_count(0, depth=2, width=8)
    assert verdict(capsys) == "Not yet"


@pytest.mark.parametrize("size, depth, expected", [(572, 4, 388), (188, 2, 148)])
def test_nb05_unpadded_output_size_matches_the_paper(capsys, size, depth, expected):
    # 572 -> 388: Ronneberger et al., 2015, figure 1. Depth 2 by hand (two convs: -4):
    # 188 -> 184, pool 92 -> 88, pool 44 -> 40 -> up 80 -> 76 -> up 152 -> 148.
    nb05.check_unpadded_output_size(expected, size, depth)
    assert verdict(capsys) == "Correct"
    nb05.check_unpadded_output_size(expected + 4, size, depth)
    assert verdict(capsys) == "Not yet"


def _ring_accuracy_by_hand(preds, truths, edges):
    """Brute force: a pixel's ring is the smallest window half-width (Chebyshev distance) that
    holds another label, void counted as a label; then correct / scored per ring."""
    right = torch.zeros(len(edges) + 1)
    total = torch.zeros(len(edges) + 1)
    for pred, truth in zip(preds, truths, strict=True):
        h, w = truth.shape
        for i in range(h):
            for j in range(w):
                if truth[i, j] == 255:
                    continue
                ring = len(edges)
                for k, width in enumerate(edges):
                    window = truth[max(i - width, 0):i + width + 1, max(j - width, 0):j + width + 1]
                    if (window != truth[i, j]).any():
                        ring = k
                        break
                total[ring] += 1
                right[ring] += float(pred[i, j] == truth[i, j])
    return right / total


def _ring_scenes():
    g = torch.Generator().manual_seed(5)
    truths, preds = [], []
    for _ in range(3):
        t = torch.zeros(30, 34, dtype=torch.long)
        r, c = torch.randint(2, 14, (2,), generator=g).tolist()
        t[r:r + 12, c:c + 15] = int(torch.randint(1, 21, (1,), generator=g))
        t[r, c:c + 15] = 255  # a void strip on one edge
        noise = torch.rand(t.shape, generator=g) < 0.15
        truths.append(t)
        preds.append(torch.where(noise, torch.randint(0, 21, t.shape, generator=g), t))
    return preds, truths


def test_nb05_ring_accuracy(capsys):
    preds, truths = _ring_scenes()
    edges = (1, 2, 4)
    nb05.check_ring_accuracy(_ring_accuracy_by_hand, preds, truths, edges)
    assert verdict(capsys) == "Correct"

    def per_image_mean(p, t, e):  # averages the images' accuracies instead of pooling pixels
        pairs = zip(p, t, strict=True)
        return torch.stack([_ring_accuracy_by_hand([a], [b], e) for a, b in pairs]).mean(0)

    def bands(p, t, e):  # cumulative bands, not rings
        return torch.tensor([_ring_accuracy_by_hand(p, t, (w,))[0] for w in e]
                            + [_ring_accuracy_by_hand(p, t, e)[-1]])

    for wrong in (per_image_mean, bands, lambda p, t, e: torch.ones(len(e) + 1),
                  lambda p, t, e: 1 / 0):
        nb05.check_ring_accuracy(wrong, preds, truths, edges)
        assert verdict(capsys) == "Not yet"
