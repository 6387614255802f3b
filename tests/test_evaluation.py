"""Full-image evaluation: one confusion matrix over whole images, band vs interior."""

from __future__ import annotations

import torch
from torch import nn
from voc_fixtures import make_voc

from course_utils import metrics
from course_utils.data.voc import VOID
from course_utils.training import evaluation
from course_utils.training import loop as train


class Oracle(nn.Module):
    """Predicts the labels it is given in advance (one image per call), as logits."""

    def __init__(self, labels):
        super().__init__()
        self.labels, self.calls, self.p = labels, 0, nn.Parameter(torch.zeros(()))

    def forward(self, x):
        y = self.labels[self.calls].clone()
        self.calls += 1
        y[y == VOID] = 0
        return nn.functional.one_hot(y, 21).permute(2, 0, 1)[None].float() + 0 * self.p


def test_full_image_loader_keeps_every_image_whole(tmp_path):
    root = make_voc(tmp_path, sizes=((40, 60), (50, 30)))
    loader = evaluation.full_image_loader(root, "train")
    shapes = [tuple(lab.shape) for _, lab in loader]
    assert shapes == [(1, 40, 60), (1, 50, 30)]


def test_region_matrices_split_pixels_into_band_and_interior(tmp_path):
    root = make_voc(tmp_path, sizes=((40, 60), (50, 30)))
    labels = [lab[0] for _, lab in evaluation.full_image_loader(root, "train")]
    wrong = [lab.clone() for lab in labels]
    wrong[0][20, 30] = 3  # one interior pixel wrong
    cms = evaluation.region_matrices(Oracle(wrong), evaluation.full_image_loader(root, "train"))
    total = sum(int((lab != VOID).sum()) for lab in labels)
    assert int(cms["all"].matrix.sum()) == total
    assert int(cms["band"].matrix.sum()) + int(cms["interior"].matrix.sum()) == total
    band = [metrics.boundary_mask(lab, evaluation.BAND_WIDTH) & (lab != VOID) for lab in labels]
    assert int(cms["band"].matrix.sum()) == sum(int(b.sum()) for b in band)
    assert cms["band"].compute()["pixel_acc"] == 1.0
    assert cms["interior"].compute()["pixel_acc"] < 1.0
    s = evaluation.summarize(cms)
    assert s["band_acc"] == 1.0 and s["pixels"] == total and len(s["iou"]) == 21
    assert s["iou"][5] is None  # absent everywhere: NaN in the matrix, None in JSON


def test_summarize_matches_train_evaluate(tmp_path):
    root = make_voc(tmp_path)
    torch.manual_seed(0)
    net = nn.Conv2d(3, 21, 3, padding=1)
    loader = evaluation.full_image_loader(root, "train")
    ours = evaluation.summarize(evaluation.region_matrices(net, loader))
    ref = train.evaluate(net, loader).compute()
    assert abs(ours["miou"] - float(ref["miou"])) < 1e-6
    assert abs(ours["pixel_acc"] - float(ref["pixel_acc"])) < 1e-6


def test_bootstrap_interval_matches_a_plain_loop_and_brackets_the_estimate():
    from course_utils.metrics import scores_from_matrix

    g = torch.Generator().manual_seed(3)
    matrices = torch.randint(0, 30, (25, 4, 4), generator=g)
    matrices[:, 3] = 0  # class 3 never in the ground truth: left out where never predicted
    low, high = evaluation.bootstrap_miou(matrices, n_boot=300, seed=1)
    # the same resamples, one by one
    g = torch.Generator().manual_seed(1)
    picks = torch.randint(0, 25, (300, 25), generator=g)
    loop = torch.tensor([float(scores_from_matrix(matrices[p].sum(0))["miou"]) for p in picks],
                        dtype=torch.float64)
    assert abs(low - float(loop.quantile(0.025))) < 1e-9
    assert abs(high - float(loop.quantile(0.975))) < 1e-9
    point = float(scores_from_matrix(matrices.sum(0))["miou"])
    assert low < point < high
    narrow = evaluation.bootstrap_miou(matrices.repeat(8, 1, 1), n_boot=300)
    assert narrow[1] - narrow[0] < high - low  # more images, a tighter interval


def test_iou_of_matrices_matches_torchmetrics_per_class_and_marks_absent_classes():
    from torchmetrics.functional.classification import multiclass_jaccard_index

    g = torch.Generator().manual_seed(4)
    preds = torch.randint(0, 3, (5, 16, 16), generator=g)  # class 3: never predicted
    truth = torch.randint(0, 3, (5, 16, 16), generator=g)  # ... nor present
    stack = torch.stack([metrics.ConfusionMatrix(4).update(p[None], t[None]).matrix
                         for p, t in zip(preds, truth, strict=True)])
    iou = evaluation.iou_of_matrices(stack)
    for i in range(5):
        oracle = multiclass_jaccard_index(preds[i], truth[i], 4, average="none")
        assert torch.allclose(iou[i, :3], oracle[:3].double())
    assert iou[:, 3].isnan().all()  # undefined, not 0: left out of the mean
    assert torch.allclose(evaluation.miou_of_matrices(stack), iou[:, :3].mean(1))
