"""The manifest of the reference models: load a shipped model, verify it reproduces its scores.

``reference/manifest.json`` holds each run's config, history and scores, and each shipped file's
SHA-256. A fixed model scores the same on any CPU (training does not): ``--verify`` checks it.
"""

import copy
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from course_utils.data import find_voc_root, read_split
from course_utils.runtime import REPO_ROOT, relpath
from course_utils.training import (
    checkpoints,
    comparison,
    evaluate,
    full_image_loader,
    image_counts,
    predictions,
    region_matrices,
    summarize,
    summarize_classifier,
)
from course_utils.training.pretrain import heldout_loader
from course_utils.training.recipes import build_model

MANIFEST = REPO_ROOT / "reference" / "manifest.json"
DIR_ENV = "COURSE_REFERENCE_DIR"  # another folder for the manifest and files (default reference/)
FORMAT = "course_utils.reference/1"
CALIBRATION_FILE = "calibration.json"  # beside the manifest: the calibration runs
COUNTS_DIR = "per_image"  # beside the manifest: each run's per-image counts (.npz)
VERIFY_TOLERANCE = 1e-3  # absolute, on mIoU, pixel accuracy and every per-class IoU
COMMAND = "python -m course_utils.reference"


class ReferenceModelError(RuntimeError):
    """A shipped reference model is missing, corrupt or not described by the manifest."""


def manifest_file(path=None) -> Path:
    """``path``, else ``$COURSE_REFERENCE_DIR/manifest.json`` (a learner's), else the shipped."""
    if path is not None:
        return Path(path)
    folder = os.environ.get(DIR_ENV)
    return Path(folder) / "manifest.json" if folder else MANIFEST


def calibration_file(manifest_path=None) -> Path:
    """``calibration.json`` beside the manifest: the calibration runs' own manifest
    (:data:`course_utils.training.recipes.CALIBRATION`), in the same format."""
    return manifest_file(manifest_path).parent / CALIBRATION_FILE


def sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def data_fingerprint(root=None) -> str:
    """SHA-256 over a VOC folder's split files, masks and images: which data a model saw."""
    root = find_voc_root(root)
    digest = hashlib.sha256()
    ids = sorted(set(read_split(root, "train")) | set(read_split(root, "val")))
    files = [root / "ImageSets/Segmentation" / f"{s}.txt" for s in ("train", "val")]
    for i in ids:
        files += [root / "SegmentationClass" / f"{i}.png", root / "JPEGImages" / f"{i}.jpg"]
    for f in files:
        digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()


def read_manifest(path=None) -> dict:
    """The manifest, or a clear error saying how to make it."""
    path = manifest_file(path)
    if not path.is_file():
        raise ReferenceModelError(f"{relpath(path)} is missing: run `{COMMAND}` (make "
                                  "reference) to train the reference models")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ReferenceModelError(f"{relpath(path)}: unreadable ({err}); restore it from git "
                                  f"or run `{COMMAND}`") from err
    if manifest.get("format") != FORMAT:
        raise ReferenceModelError(f"{relpath(path)}: not a {FORMAT} manifest")
    return manifest


def write_manifest(manifest: dict, path) -> None:
    """Write ``manifest`` as JSON, atomically (an interrupted command leaves the old one)."""
    checkpoints.atomic_write((json.dumps(manifest, indent=1) + "\n").encode(), Path(path))


def load(name: str, device="cpu", manifest_path=None):
    """The shipped model ``name`` (eval mode, on ``device``) and its manifest entry: float64 on
    a CPU (in float32 another CPU's rounding flips a few argmaxes in a million pixels), else
    float32. A missing, corrupt or foreign file raises :class:`ReferenceModelError`."""
    manifest_path = manifest_file(manifest_path)
    hint = f"regenerate it with `{COMMAND} --only {name}` (or restore it with git)"
    runs = read_manifest(manifest_path).get("runs", {})
    if name not in runs:
        raise ReferenceModelError(f"{relpath(manifest_path)} has no run {name!r} (runs: "
                                  f"{', '.join(sorted(runs)) or 'none'}); train it with "
                                  f"`{COMMAND} --only {name}`")
    entry = runs[name]
    if "file" not in entry:
        raise ReferenceModelError(f"run {name!r} ships no weights (only its scores are in the "
                                  "manifest)")
    path = manifest_path.parent / entry["file"]
    if not path.is_file():
        raise ReferenceModelError(f"{relpath(path)} is missing: {hint}")
    if sha256(path) != entry["sha256"]:
        raise ReferenceModelError(f"{relpath(path)}: SHA-256 differs from the manifest "
                                  f"(corrupt or replaced): {hint}")
    try:
        saved = checkpoints.load(path)
        model = build_model(entry["config"]["model"])
        model.load_state_dict(checkpoints.float_state(saved["state_dict"]))
    except Exception as err:  # unreadable zip, wrong keys or shapes: all mean "not this model"
        raise ReferenceModelError(f"{relpath(path)}: cannot be loaded as run {name!r} "
                                  f"({type(err).__name__}: {err}); {hint}") from err
    device = torch.device(device)
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    return model.to(device=device, dtype=dtype).eval(), entry


def half_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as shipped: floating tensors in float16 (half the bytes), on the CPU."""
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in model.state_dict().items()}


def evaluate_run(model: nn.Module, root=None, store: bool = False, counts_path=None) -> dict:
    """Full-image validation scores of a run's model as :func:`load` gives it (weights rounded
    through float16, in float64 on the CPU); always computed (``store`` keeps them in the cache).
    With ``counts_path`` the per-image counts behind them (:func:`image_counts`) are saved
    there too (``.npz``): the notebooks' paired comparisons and bootstrap intervals use them."""
    model = copy.deepcopy(model).cpu()
    model.load_state_dict(checkpoints.float_state(half_state(model)))
    model.to(dtype=torch.float64)
    loader = full_image_loader(root, "val")
    maps = predictions(model, loader, cache=store, refresh=True)
    label_batches = [labels for _, labels in loader]  # read once, used twice
    scores = summarize(region_matrices(model, loader, maps=maps, label_batches=label_batches))
    if counts_path is not None:
        counts = image_counts(maps, [label for batch in label_batches for label in batch])
        rings = counts["rings"].sum(0).double()
        scores.update(boundary_iou=round(float(comparison.score(counts, "boundary_iou")), 6),
                      ring_acc=[round(float(c / n), 6) if n else None for c, n in rings])
        save_counts(counts, counts_path)
    return scores


def save_counts(counts: dict[str, torch.Tensor], path) -> None:
    """Per-image counts as a compressed ``.npz`` of int32 arrays, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: v.numpy().astype(np.int32) for k, v in counts.items()})
    checkpoints.atomic_write(buffer.getvalue(), Path(path))


def split_scoring(name: str) -> tuple[str, str]:
    """``"deeplab-os16-seed0@os8"`` -> ``("deeplab-os16-seed0", "os8")``: a run or recipe name
    and how its model was scored (``""``: as trained)."""
    run, _, at = name.partition("@")
    return run, at


def load_counts(name: str, manifest_path=None) -> dict[str, torch.Tensor]:
    """The per-image counts of run ``name`` (see :func:`evaluate_run`) as int64 tensors;
    ``"<run>@os8"``: a DeepLab run's model evaluated at output stride 8."""
    path = manifest_file(manifest_path).parent / COUNTS_DIR / f"{name}.npz"
    if not path.is_file():
        run = split_scoring(name)[0]
        raise ReferenceModelError(f"{relpath(path)} is missing: train run {run!r} with "
                                  f"`{COMMAND} --only {run}`")
    with np.load(path) as f:
        return {k: torch.from_numpy(f[k]).long() for k in f.files}


def evaluate_encoder(model: nn.Module, heldout_loader) -> dict:
    """Held-out scores of the encoder's classifier as :func:`load` gives it: top-1 accuracy
    and each class's recall (the share of its crops classified right)."""
    model = copy.deepcopy(model).cpu()
    model.load_state_dict(checkpoints.float_state(half_state(model)))
    cm = evaluate(model.to(dtype=torch.float64), heldout_loader, model.fc.out_features)
    return {**summarize_classifier(cm), "crops": len(heldout_loader.dataset)}


def compare_scores(expected: dict, measured: dict, tol: float = VERIFY_TOLERANCE) -> list[str]:
    """Where ``measured`` scores differ from ``expected`` by more than ``tol``."""
    problems = []
    for key in ("miou", "pixel_acc", "band_acc", "interior_acc"):
        if abs(expected[key] - measured[key]) > tol:
            problems.append(f"{key} {measured[key]:.4f} != manifest {expected[key]:.4f}")
    for c, (e, m) in enumerate(zip(expected["iou"], measured["iou"], strict=True)):
        if (e is None) != (m is None) or (e is not None and abs(e - m) > tol):
            problems.append(f"IoU of class {c}: {m} != manifest {e}")
    return problems


def compare_top1(expected: dict, measured: dict, tol: float = VERIFY_TOLERANCE) -> list[str]:
    """Where an encoder's ``measured`` held-out accuracies differ from ``expected``."""
    pairs = [("top-1", expected["top1"], measured["top1"])]
    pairs += [(f"recall of class {c}", e, m) for c, (e, m) in
              enumerate(zip(expected["class_acc"], measured["class_acc"], strict=True))]
    return [f"{what} {m} != manifest {e}" for what, e, m in pairs
            if (e is None) != (m is None) or (e is not None and abs(e - m) > tol)]


def verify(names=None, manifest_path=None, root=None) -> list[str]:
    """Re-evaluate every shipped model (or ``names``) on the val split; return the problems.
    The fresh predictions are left in the cache for the notebooks that score these models."""
    manifest = read_manifest(manifest_path)
    problems = []
    if manifest["data"]["fingerprint"] != data_fingerprint(root):
        problems.append(f"the data under {relpath(find_voc_root(root))} differ from the data "
                        "the manifest was made on")
    for name in names or [n for n, e in manifest["runs"].items() if "file" in e]:
        try:
            model, entry = load(name, manifest_path=manifest_path)
        except ReferenceModelError as err:
            problems.append(str(err))
            continue
        if entry["config"].get("task") == "classify":
            measured = evaluate_encoder(model, heldout_loader(entry["config"]))
            problems += [f"{name}: {p}" for p in compare_top1(entry["val"], measured)]
        else:
            measured = evaluate_run(model, root, store=True)
            problems += [f"{name}: {p}" for p in compare_scores(entry["val"], measured)]
    return problems
