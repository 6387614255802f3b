"""Recipes compared the way the course states results (notebooks 04-07 and 09).

A recipe (``"fcn8s"``, ``"fcn8s-focal"``, ``"deeplab-os16@os8"``: the stride-16 DeepLab scored at
stride 8) has three seeded runs and one run at twice the epochs (except the random-start
control ``fcn8s-random``: compared at equal budget by design, it has no doubled run).
:func:`compare` pairs two recipes seed by seed (a seed fixes the order of the training images;
two recipes that build the same network also share its new layers' starting weights, and its
random crops too when both start the same way, as 07's losses do) and resamples the validation
images for an interval (:func:`course_utils.training.comparison.paired_comparison`); a
difference is stated only when every seed agrees and the interval excludes zero.
:func:`doubled` says whether the seeds had converged: the doubled run should gain less than
:data:`CONVERGED` over them; :func:`calibration` shows how far FCN-8s is from that.
"""

from __future__ import annotations

import statistics

from course_utils.runtime import relpath
from course_utils.training.comparison import paired_comparison, score
from course_utils.training.recipes import CALIBRATION, RUNS, SEEDS

from .manifest import (
    COMMAND,
    ReferenceModelError,
    calibration_file,
    load_counts,
    manifest_file,
    read_manifest,
    split_scoring,
)

CONVERGED = 0.01  # the doubled run's largest gain over the seeds' mean that counts as converged
NAMES = {"miou": "mIoU", "pixel_acc": "pixel accuracy", "boundary_iou": "boundary IoU"}


def run_names(recipe: str, manifest_path=None) -> list[str]:
    """The seeded runs of ``recipe`` (``"<recipe>-seed<i>"``, with any ``@os8`` kept at the
    end), each checked to be recorded."""
    base, at = split_scoring(recipe)
    runs = read_manifest(manifest_path)["runs"]
    names = [f"{base}-seed{s}" for s in SEEDS]
    if missing := [n for n in names if n not in runs]:
        raise ReferenceModelError(f"recipe {recipe!r}: run(s) {missing} not recorded; train "
                                  f"them with `python -m course_utils.reference --only "
                                  f"{' '.join(missing)}`")
    return [f"{n}@{at}" if at else n for n in names]


def seed_scores(recipe: str, metric: str = "miou", manifest_path=None) -> list[float]:
    """``metric`` of each seeded run of ``recipe`` on the whole validation split."""
    return [float(score(load_counts(n, manifest_path), metric))
            for n in run_names(recipe, manifest_path)]


def doubled(recipe: str, metric: str = "miou", manifest_path=None) -> dict:
    """The doubled run's ``metric`` against the mean of the seeds': ``gain`` and whether it is
    below :data:`CONVERGED` (``converged``)."""
    base, at = split_scoring(recipe)
    x2 = float(score(load_counts(f"{base}-x2" + (f"@{at}" if at else ""), manifest_path),
                     metric))
    mean = statistics.fmean(seed_scores(recipe, metric, manifest_path))
    return {"recipe": recipe, "metric": metric, "seeds_mean": mean, "x2": x2,
            "gain": x2 - mean, "converged": x2 - mean < CONVERGED}


def calibration(metric: str = "miou", recipe: str = "fcn8s", manifest_path=None) -> list[dict]:
    """Seed 0 of ``recipe`` at 32 and 64 epochs (``<recipe>-seed0``, ``<recipe>-x2``), then
    each recorded calibration run of the same network (:data:`CALIBRATION`: longer, a higher
    learning rate, a smaller batch): its epochs, peak learning rate, batch size, median epoch
    time on one thread (seconds; the epochs' recorded times, which vary with what else the
    machine ran) and ``metric`` on the whole validation split."""
    calibrated = calibration_file(manifest_path)
    if not calibrated.is_file():
        raise ReferenceModelError(f"{relpath(calibrated)} is missing: run `{COMMAND} "
                                  "--calibrate` to train the calibration runs")
    model = RUNS[f"{recipe}-seed0"]["model"]
    recorded = read_manifest(calibrated)["runs"]
    rows = []
    for source, names in ((manifest_file(manifest_path), [f"{recipe}-seed0", f"{recipe}-x2"]),
                          (calibrated, [n for n, cfg in CALIBRATION.items()
                                        if n in recorded and cfg["model"] == model])):
        runs = read_manifest(source)["runs"]
        for name in names:
            cfg = runs[name]["config"]
            rows.append({"run": name, "epochs": cfg["epochs"], "lr": cfg["lr"],
                         "batch_size": cfg["batch_size"],
                         "epoch_seconds": statistics.median(
                             h["seconds"] for h in runs[name]["history"]),
                         metric: float(score(load_counts(name, source), metric))})
    return rows


def compare(a: str, b: str, metric: str = "miou", manifest_path=None, **kwargs) -> dict:
    """How recipe ``b`` differs from recipe ``a`` in ``metric``, paired by seed, with a
    bootstrap interval over validation images (``kwargs``: ``n_boot``, ``level``, ``seed``)."""
    counts = [[load_counts(n, manifest_path) for n in run_names(r, manifest_path)]
              for r in (a, b)]
    return {"a": a, "b": b, **paired_comparison(*counts, metric=metric, **kwargs)}


def describe(c: dict) -> str:
    """One line: the paired difference, its interval, and whether the course may state it."""
    seeds = ", ".join(f"{d:+.3f}" for d in c["per_seed"])
    low, high = c["interval"]
    verdict = ("every seed agrees and the interval excludes 0: stated" if c["stated"] else
               "not stated: " + ("the seeds disagree" if not c["every_seed"] else
                                 "the interval includes 0"))
    return (f"{c['b']} - {c['a']}, {NAMES.get(c['metric'], c['metric'])}: {c['mean']:+.3f} "
            f"(seeds {seeds}; {c['level']:.0%} interval over images {low:+.3f} to "
            f"{high:+.3f}); {verdict}")
