"""Rewrite, or check, the generated blocks of ``data/README.md`` from what they describe.

    python tools/readme_tables.py               # statistics of the mini set, reference runs
    python tools/readme_tables.py --baselines   # also re-measure the colour baselines (minutes)
    python tools/readme_tables.py --check       # exit 1 when a block is out of date

Each block sits between HTML-comment markers, so the numbers shown come from the data and the
manifest and cannot drift: ``STATS`` from :func:`course_utils.data.synth.stats`, ``REFERENCE``
from ``reference/manifest.json``, ``BASELINES`` from :mod:`course_utils.metrics.baselines`,
``CALIBRATION`` from ``reference/calibration.json`` (``python -m course_utils.reference
--calibrate``), ``GPU`` from the prepared GPU check's ``benchmarks/results/gpu.json``
(``tools/gpu_check.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from course_utils.classroom import rewrite_block
from course_utils.data import MINI_VOC_DIR
from course_utils.data.synth import stats, stats_markdown
from course_utils.reference import compare, read_manifest
from course_utils.runtime import REPO_ROOT, relpath
from course_utils.training.recipes import CALIBRATED, RUNS

README = REPO_ROOT / "data" / "README.md"
STATS = ("<!-- STATS -->", "<!-- /STATS -->")
REFERENCE = ("<!-- REFERENCE -->", "<!-- /REFERENCE -->")
BASELINES = ("<!-- BASELINES -->", "<!-- /BASELINES -->")
CALIBRATION = ("<!-- CALIBRATION -->", "<!-- /CALIBRATION -->")
GPU = ("<!-- GPU -->", "<!-- /GPU -->")
GPU_RESULTS = REPO_ROOT / "benchmarks" / "results" / "gpu.json"


MODEL_NAMES = {
    "fcn": lambda m: f"FCN-{m['variant']}",
    "unet": lambda m: f"U-Net d{m['depth']} w{m['width']}",
    "unet-resnet18": lambda m: "U-Net-R18",
    "deeplab": lambda m: f"DeepLabV3-R18 OS{m['output_stride']}",
}


def encoder_line(name: str, e: dict) -> str:
    """One sentence on the course's encoder run: what it is and what it reaches."""
    c, v = e["config"], e["val"]
    crops = f"{e['train_crops']:,} crops" if "train_crops" in e else "the crops"
    return (f"The encoder (run `{name}`): torchvision's `resnet18` trained to classify {crops} "
            f"of {c['train_scenes']:,} generated scenes ({c['size']} px, {c['epochs']} epochs): "
            f"held-out top-1 {v['top1']:.3f} on {v['crops']:,} crops of {c['heldout_scenes']:,} "
            f"other scenes; {training_minutes(e):.0f} training minutes; shipped.")


def loss_name(spec: dict) -> str:
    """A loss spec of the recipes, as the table writes it: ``wce`` with its weights."""
    if spec["name"] == "wce":
        return f"wce ({spec['weights']})"
    if spec["name"] == "focal":
        return f"focal (gamma {spec['gamma']:g})"
    return spec["name"]


def reference_table(manifest: dict) -> str:
    """The encoder's line, then a markdown table of every segmentation run in ``manifest``:
    model, start, budget, scores, time."""
    runs = manifest["runs"]
    lines = [encoder_line(n, e) for n, e in runs.items() if e["config"].get("task") == "classify"]
    lines += ["", "| run | model | start | loss | epochs | seed | val mIoU | boundary IoU | "
              "pixel acc | band acc | interior acc | object classes at IoU >= 0.40 | "
              "training minutes | shipped |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, e in runs.items():
        c, v = e["config"], e["val"]
        if c.get("task") == "classify":
            continue
        well = sum(1 for x in v["iou"][1:] if x is not None and x >= 0.4)
        biou = f"{v['boundary_iou']:.3f}" if "boundary_iou" in v else "-"
        lines.append(f"| {name} | {MODEL_NAMES[c['model']['name']](c['model'])} | "
                     f"{c['model'].get('init', 'random')} | {loss_name(c['loss'])} | "
                     f"{c['epochs']} | {c['seed']} | {v['miou']:.3f} | {biou} | "
                     f"{v['pixel_acc']:.3f} | {v['band_acc']:.3f} | {v['interior_acc']:.3f} | "
                     f"{well} of 20 | {training_minutes(e):.0f} | "
                     f"{'yes' if 'file' in e else '-'} |")
    lines.append("")
    machine = manifest.get("machine", "this machine")
    total = sum(training_minutes(e) for e in runs.values())
    lines.append(f"All runs: {total:.0f} single-thread training minutes on {machine} (torch "
                 f"{manifest['torch']}), two side by side (the epochs' recorded times; evaluation "
                 "not counted).")
    return "\n".join(lines)


def calibration_table(manifest_path=None) -> str:
    """For each calibrated recipe, its rows of :func:`course_utils.reference.compare.calibration`
    (seed 0 at 32 and 64 epochs, then its calibration runs): what each changes and scores, and
    each doubling's gain. Epoch times are medians: the recorded times vary with the load."""
    lines = ["| run | model | epochs | peak lr | batch | val mIoU | boundary IoU | "
             "median s/epoch |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    gains = []
    for recipe in CALIBRATED:
        spec = RUNS[f"{recipe}-seed0"]["model"]
        model = MODEL_NAMES[spec["name"]](spec)
        rows = compare.calibration("miou", recipe, manifest_path)
        edges = compare.calibration("boundary_iou", recipe, manifest_path)
        for r, edge in zip(rows, edges, strict=True):
            lines.append(f"| {r['run']} | {model} | {r['epochs']} | {r['lr']:g} | "
                         f"{r['batch_size']} | {r['miou']:.3f} | {edge['boundary_iou']:.3f} | "
                         f"{r['epoch_seconds']:.0f} |")
        base = (rows[0]["lr"], rows[0]["batch_size"])
        steps = sorted((r["epochs"], r["miou"]) for r in rows
                       if (r["lr"], r["batch_size"]) == base)
        gains.append(f"{model} " + ", ".join(
            f"{a} -> {b} epochs {mb - ma:+.3f}"
            for (a, ma), (b, mb) in zip(steps, steps[1:], strict=False)))
    return "\n".join(lines + ["", "Val mIoU gained by each doubling of the epochs: "
                               + "; ".join(gains) + "."])


def training_minutes(entry: dict) -> float:
    """A run's training time: its epochs' recorded seconds (a run resumed from a finished
    checkpoint keeps the times of the epochs that trained it)."""
    return sum(h["seconds"] for h in entry["history"]) / 60


def gpu_table(report: dict | None) -> str:
    """What the prepared GPU check measured (``tools/gpu_check.py``), or that nothing is
    recorded: each notebook's live run in the profile it ran, then each benchmark's outcome."""
    if report is None:
        return ("No GPU run is recorded yet: `python tools/gpu_check.py` (see its docstring) runs "
                "the full profile of notebooks 04-06 and the GPU benchmarks on a CUDA machine.")
    m = report["machine"]
    lines = [f"{m['date']}, {m['gpu'] or 'no GPU (a dry run)'}, {m['cpus']} CPU cores, torch "
             f"{m['torch']}; profile `{report['profile']}`, each notebook from a fresh kernel "
             "and an empty checkpoint folder.", "",
             "| notebook | cells run | crop | batch | epochs | training images | "
             "val mIoU, last epoch | val mIoU, best epoch | images/s (epochs, validation "
             "included) | peak GPU memory (GiB) | seconds |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report["notebooks"].items():
        if "error" in r:
            lines.append(f"| {name} | did not finish: {r['error'].splitlines()[-1][:120]} "
                         "| | | | | | | | | |")
            continue
        mem = "-" if r["peak_memory_gib"] is None else f"{r['peak_memory_gib']:.1f}"
        settings = r["settings"]
        lines.append(f"| {name} | {r['cells']} | {settings['crop']} | {settings['batch_size']} | "
                     f"{r['epochs']} | {r['train_images']:,} | {r['val_miou']:.3f} | "
                     f"{r['best_val_miou']:.3f} | {r['images_per_s']:.0f} | {mem} | "
                     f"{r['wall_seconds']:.0f} |")
    for script, r in report["benchmarks"].items():
        outcome = r.get("error") or f"exit {r['returncode']}: {' '.join(r['tail'])[-300:]}"
        lines.append(f"\n`benchmarks/{script}` on the GPU: {outcome}")
    return "\n".join(lines)


def blocks(baselines: bool = False, root=MINI_VOC_DIR, manifest: dict | None = None,
           gpu: Path = GPU_RESULTS) -> dict:
    """The body of every generated block, keyed by its markers."""
    out = {STATS: stats_markdown(stats(root)),
           REFERENCE: reference_table(manifest or read_manifest()),
           CALIBRATION: calibration_table(),
           GPU: gpu_table(json.loads(gpu.read_text()) if gpu.exists() else None)}
    if baselines:
        from course_utils.metrics import baselines as colour

        out[BASELINES] = colour.table(colour.measure(root))
    return out


def stale(readme=None, **kw) -> list[str]:
    """The markers of the blocks whose text in ``readme`` differs from :func:`blocks`."""
    text = Path(readme or README).read_text()
    return [begin for (begin, end), body in blocks(**kw).items()
            if f"{begin}\n{body}\n{end}" not in text]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python tools/readme_tables.py",
                                description=__doc__.split("\n")[0])
    p.add_argument("--baselines", action="store_true", help="re-measure the colour baselines")
    p.add_argument("--check", action="store_true", help="only check; exit 1 when out of date")
    args = p.parse_args(argv)
    if args.check:
        bad = stale(README, baselines=args.baselines)
        for begin in bad:
            print(f"{relpath(README)}: the {begin} block is out of date: run "
                  "`python tools/readme_tables.py`", file=sys.stderr)
        return 1 if bad else 0
    for markers, body in blocks(baselines=args.baselines).items():
        rewrite_block(README, markers, body)
    print(f"rewrote the generated blocks of {relpath(README)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
