"""reference.compare: recipes compared seed by seed from the runs' saved per-image counts, the
doubled run's gain, and the one-line verdict the notebooks print."""

from __future__ import annotations

import json

import pytest
import torch

from course_utils import runtime
from course_utils.data import MINI_VOC_DIR, find_voc_root
from course_utils.reference import compare, runs
from course_utils.reference.manifest import (
    COUNTS_DIR,
    FORMAT,
    ReferenceModelError,
    manifest_file,
    save_counts,
)
from course_utils.training import comparison, image_counts, recipes


def _run_counts(seed: int, noise: float, n: int = 16, size=(9, 11)):
    """Per-image counts of predictions that are wrong on a share ``noise`` of the pixels."""
    g = torch.Generator().manual_seed(seed)
    targets = [torch.randint(0, 4, size, generator=g) for _ in range(n)]
    preds = [torch.where(torch.rand(size, generator=g) < noise,
                         torch.randint(0, 4, size, generator=g), t) for t in targets]
    return image_counts(preds, targets)


@pytest.fixture
def manifest(tmp_path):
    """Two recipes: ``good`` (10 % of pixels noisy) and ``bad`` (40 %), three seeds each and a
    doubled run, the same images (same target draw per seed)."""
    runs = {}
    for recipe, noise in (("good", 0.1), ("bad", 0.4)):
        for s, name in enumerate([f"{recipe}-seed0", f"{recipe}-seed1", f"{recipe}-seed2",
                                  f"{recipe}-x2"]):
            save_counts(_run_counts(s, noise * (0.5 if name.endswith("x2") else 1)),
                        tmp_path / COUNTS_DIR / f"{name}.npz")
            runs[name] = {"config": {}}
    save_counts(_run_counts(0, 0.0), tmp_path / COUNTS_DIR / "good-seed0@os8.npz")
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"format": FORMAT, "runs": runs}))
    return path


def test_compare_pairs_the_seeds_and_states_a_clear_difference(manifest):
    c = compare.compare("bad", "good", manifest_path=manifest, n_boot=200)
    by_hand = [float(comparison.score(_run_counts(s, 0.1)) - comparison.score(_run_counts(s, 0.4)))
               for s in range(3)]
    assert c["per_seed"] == pytest.approx(by_hand)
    assert c["stated"] and c["interval"][0] > 0
    line = compare.describe(c)
    assert line.startswith("good - bad, mIoU: +") and line.endswith("stated")
    same = compare.compare("good", "good", manifest_path=manifest, n_boot=200)
    assert not same["stated"] and "not stated" in compare.describe(same)


def test_doubled_gain_is_the_doubled_run_over_the_seeds_mean(manifest):
    d = compare.doubled("good", manifest_path=manifest)
    seeds = [float(comparison.score(_run_counts(s, 0.1))) for s in range(3)]
    assert d["gain"] == pytest.approx(float(comparison.score(_run_counts(3, 0.05)))
                                      - sum(seeds) / 3)
    assert d["converged"] == (d["gain"] < compare.CONVERGED)


def test_missing_runs_say_which_and_how_to_train_them(manifest):
    with pytest.raises(ReferenceModelError, match=r"nope-seed0.*--only nope-seed0"):
        compare.run_names("nope", manifest_path=manifest)
    assert compare.run_names("good@os8", manifest_path=manifest)[0] == "good-seed0@os8"
    with pytest.raises(ReferenceModelError, match="good-seed1@os8"):
        compare.seed_scores("good@os8", manifest_path=manifest)


def _first_batch(name: str):
    """What the reference run ``name`` starts from after seeding, as ``run_one`` builds it: its
    first batch indices, its first batch of crops and its network's starting weights."""
    cfg = recipes.RUNS[name]
    setup = (cfg, find_voc_root(MINI_VOC_DIR), manifest_file())  # the shipped encoder
    runtime.set_seed(cfg["seed"])
    loader, net, _ = runs.segment_setup(*setup)
    order = next(iter(loader.batch_sampler))  # a first shuffle (draws on the loader's generator)
    return order, next(iter(loader)), net.state_dict()


def test_a_seed_pairs_the_loss_recipes_crop_for_crop_and_the_two_starts_by_image_order():
    """07 says its losses' runs share starting weights and crops seed by seed; 04 and 05 say a
    seed shares only the image order (and the head's start) once the networks or starts differ."""
    order, (images, labels), weights = _first_batch("fcn8s-seed0")
    focal_order, (focal_images, focal_labels), focal_weights = _first_batch("fcn8s-focal-seed0")
    assert focal_order == order and torch.equal(focal_images, images)
    assert torch.equal(focal_labels, labels)
    assert all(torch.equal(weights[k], focal_weights[k]) for k in weights)
    random_order, (random_images, _), random_weights = _first_batch("fcn8s-random-seed0")
    assert random_order == order and not torch.equal(random_images, images)
    heads = [k for k in weights if k.startswith("score") or k.startswith("up")]
    assert heads and all(torch.equal(weights[k], random_weights[k]) for k in heads)


def test_calibration_lists_seed0_then_each_recorded_calibration_run_of_that_network(tmp_path):
    """Rows in order: the recipe's 32- and 64-epoch runs of the manifest, then the calibration
    runs of the same network recorded beside it (one not yet recorded is left out, another
    network's goes to its own recipe), each scored from its counts."""
    recorded = ["fcn8s-seed0", "fcn8s-x2"] + list(recipes.CALIBRATION)[:2]
    unet = ["unet-resnet18-seed0", "unet-resnet18-x2", "calib-unet-resnet18-x4"]
    configs = {**recipes.RUNS, **recipes.CALIBRATION}
    for i, name in enumerate(recorded + unet):
        save_counts(_run_counts(0, 0.4 / (i + 1)), tmp_path / COUNTS_DIR / f"{name}.npz")
    for file, names in (("manifest.json", recorded[:2] + unet[:2]),
                        ("calibration.json", recorded[2:] + unet[2:])):
        runs = {n: {"config": configs[n], "history": [{"seconds": t} for t in (20.0, 90.0, 30.0)]}
                for n in names}
        (tmp_path / file).write_text(json.dumps({"format": FORMAT, "runs": runs}))
    rows = compare.calibration(manifest_path=tmp_path / "manifest.json")
    assert [r["run"] for r in rows] == recorded
    assert [r["epochs"] for r in rows] == [configs[n]["epochs"] for n in recorded]
    assert [(r["lr"], r["batch_size"]) for r in rows] == [
        (configs[n]["lr"], configs[n]["batch_size"]) for n in recorded]
    assert all(r["epoch_seconds"] == 30.0 for r in rows)  # the median: one slow epoch ignored
    by_hand = [float(comparison.score(_run_counts(0, 0.4 / (i + 1)))) for i in range(7)]
    assert [r["miou"] for r in rows] == pytest.approx(by_hand[:4])
    rows = compare.calibration("boundary_iou", "unet-resnet18", tmp_path / "manifest.json")
    assert [r["run"] for r in rows] == unet
    assert [r["boundary_iou"] for r in rows] == pytest.approx(
        [float(comparison.score(_run_counts(0, 0.4 / (i + 1)), "boundary_iou"))
         for i in range(4, 7)])
    (tmp_path / "calibration.json").unlink()
    with pytest.raises(ReferenceModelError, match=r"calibration.json is missing: .*--calibrate"):
        compare.calibration(manifest_path=tmp_path / "manifest.json")
