"""training.comparison: scores from per-image counts (checked against metrics), resamples,
and the paired comparison's rule (every seed, and a bootstrap interval that excludes zero)."""

from __future__ import annotations

import pytest
import torch

from course_utils import metrics
from course_utils.training import comparison, image_counts


def _counts(seed: int, n: int = 12, noise: float = 0.3, size=(10, 14)):
    """Per-image counts of random predictions against random targets (3 classes)."""
    g = torch.Generator().manual_seed(seed)
    targets = [torch.randint(0, 3, size, generator=g) for _ in range(n)]
    preds = [torch.where(torch.rand(size, generator=g) < noise,
                         torch.randint(0, 3, size, generator=g), t) for t in targets]
    return image_counts(preds, targets), preds, targets


def test_scores_from_counts_match_the_metrics_on_the_summed_predictions():
    counts, preds, targets = _counts(0)
    whole = metrics.ConfusionMatrix(21)
    for p, t in zip(preds, targets, strict=True):
        whole.update(p[None], t[None])
    s = whole.compute()
    assert abs(float(comparison.score(counts, "miou")) - float(s["miou"])) < 1e-12
    assert abs(float(comparison.score(counts, "pixel_acc")) - float(s["pixel_acc"])) < 1e-12
    biou = metrics.boundary_iou(preds, targets)
    assert abs(float(comparison.score(counts, "boundary_iou")) - float(biou.nanmean())) < 1e-12


def test_class_recall_and_iou_from_counts_match_the_confusion_matrix():
    counts, preds, targets = _counts(2, noise=0.5)
    whole = metrics.ConfusionMatrix(21)
    for p, t in zip(preds, targets, strict=True):
        whole.update(p[None], t[None])
    m = whole.matrix.double()
    recall = m.diagonal() / m.sum(1)  # rows: truth
    iou = m.diagonal() / (m.sum(1) + m.sum(0) - m.diagonal())
    assert abs(float(comparison.score(counts, "recall:1,2")) - float(recall[1:3].mean())) < 1e-12
    assert abs(float(comparison.score(counts, "iou:0,2")) - float(iou[[0, 2]].mean())) < 1e-12
    assert abs(float(comparison.score(counts, "iou:1,7")) - float(iou[1])) < 1e-12  # 7 absent
    assert torch.allclose(iou[:3].float(), whole.compute()["iou"][:3])
    with pytest.raises(ValueError, match="21 classes"):
        comparison.score(counts, "recall:21")
    for bad in ("recall:", "recall:a", "precision:1"):
        with pytest.raises(ValueError, match="recall:<c,...>"):
            comparison.score(counts, bad)


def test_a_resample_that_draws_one_image_n_times_scores_that_image():
    counts, preds, targets = _counts(1)
    n = len(preds)
    w = torch.zeros(1, n, dtype=torch.float64)
    w[0, 4] = n
    alone = image_counts(preds[4:5], targets[4:5])
    for metric in (*comparison.METRICS, "ring0", "ring5", "recall:1,2", "iou:0,1"):
        torch.testing.assert_close(comparison.score(counts, metric, w)[0],
                                   comparison.score(alone, metric), equal_nan=True)
    weights = comparison.resample_weights(n, 50, seed=3)
    assert weights.shape == (50, n) and (weights.sum(1) == n).all()


def test_ring_accuracy_from_counts_matches_metrics_ring_counts():
    """ring<k>: the accuracy in ring k over all images, against metrics.ring_counts summed."""
    counts, preds, targets = _counts(2, size=(24, 30))
    rings = sum(metrics.ring_counts(p, t) for p, t in zip(preds, targets, strict=True))
    for k in range(len(metrics.RINGS) + 1):
        right, labelled = rings[k].tolist()
        if labelled:
            assert abs(float(comparison.score(counts, f"ring{k}")) - right / labelled) < 1e-12
    with pytest.raises(ValueError, match="rings 0-5"):
        comparison.score(counts, "ring6")
    with pytest.raises(ValueError, match="ring<k>"):
        comparison.score(counts, "rings")


def test_identical_recipes_differ_by_nothing_and_nothing_is_stated():
    runs = [_counts(s)[0] for s in range(3)]
    out = comparison.paired_comparison(runs, runs, n_boot=200)
    assert out["per_seed"] == [0.0, 0.0, 0.0] and out["interval"] == (0.0, 0.0)
    assert not out["every_seed"] and not out["stated"]


def _better(counts, shift: int):
    """The same run with ``shift`` wrong pixels of class 0 made right on every image."""
    c = {k: v.clone() for k, v in counts.items()}
    moved = torch.minimum(c["confusion"][:, 0, 1], torch.tensor(shift))
    c["confusion"][:, 0, 1] -= moved
    c["confusion"][:, 0, 0] += moved
    return c


def test_pairing_finds_a_small_consistent_gain_that_unpaired_intervals_would_hide():
    # images of very different difficulty, the same for both recipes; b is a little better
    runs_a = [_counts(s, n=30, noise=0.1 + 0.8 * (s % 2))[0] for s in range(3)]
    hard = [_counts(10 + s, n=30, noise=0.9)[0] for s in range(3)]
    runs_a = [{k: torch.cat([a[k], h[k]]) for k in a} for a, h in zip(runs_a, hard, strict=True)]
    runs_b = [_better(a, 2) for a in runs_a]
    out = comparison.paired_comparison(runs_a, runs_b, n_boot=500)
    assert out["every_seed"] and out["excludes_zero"] and out["stated"]
    assert 0 < out["interval"][0] <= out["mean"] <= out["interval"][1]
    # the same data bootstrapped unpaired (independent resamples): the intervals overlap
    w1, w2 = comparison.resample_weights(60, 500, 1), comparison.resample_weights(60, 500, 2)
    a = comparison.score(runs_a[0], "miou", w1)
    b = comparison.score(runs_b[0], "miou", w2)
    assert b.quantile(0.025) < a.quantile(0.975)


def test_bad_comparisons_are_refused():
    runs = [_counts(s)[0] for s in range(2)]
    with pytest.raises(ValueError, match="same number of seeds"):
        comparison.paired_comparison(runs, runs[:1])
    with pytest.raises(ValueError, match="same validation images"):
        comparison.paired_comparison(runs[:1], [_counts(5, n=7)[0]])
    with pytest.raises(ValueError, match="metric"):
        comparison.score(runs[0], "dice")
