"""Training the recorded runs (:data:`course_utils.training.recipes.RUNS`) and recording each.

A ``ship``ped run leaves its half-precision weights in ``reference/``, the others only their
scores. Each run gives the same result in whichever process runs it.
"""

import copy
import json
import multiprocessing as mp
import os
import platform
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from course_utils import runtime
from course_utils.data import MINI_VOC_DIR, NormalizeBatch, crop_dataset, find_voc_root
from course_utils.models import at_output_stride, load_encoder_
from course_utils.runtime import relpath
from course_utils.training import checkpoints, fit
from course_utils.training.pretrain import crop_loaders
from course_utils.training.recipes import ENCODER, RUNS, build_loss, build_model, select

from .encoder import encoder_weights
from .manifest import (
    COMMAND,
    COUNTS_DIR,
    FORMAT,
    ReferenceModelError,
    data_fingerprint,
    evaluate_encoder,
    evaluate_run,
    half_state,
    manifest_file,
    read_manifest,
    sha256,
    write_manifest,
)


def run_one(name: str, cfg: dict, report, device=None, root=None, ship_dir=None,
            work_dir=None) -> dict:
    """Train and score the run ``name``, calling ``report((name, epoch))`` after each epoch;
    return its manifest entry (with the file fields when it is shipped). Its ``seconds`` are
    this call's wall time: a run resumed from a checkpoint counts only what it resumed, while
    each epoch's own time stays in its ``history``."""
    cfg = copy.deepcopy(cfg)
    device = torch.device(device or runtime.device())
    if device.type == "cpu":
        torch.set_num_threads(1)  # bit-reproducible, and two runs share two cores
    runtime.set_seed(cfg["seed"])
    start = time.perf_counter()
    if cfg.get("task") == "classify":
        net, entry = _pretrain(name, cfg, report, device, work_dir)
    else:
        net, entry = _segment(name, cfg, report, device, root, work_dir,
                              Path(ship_dir) / "manifest.json")
    if cfg["ship"]:
        path = Path(ship_dir) / f"{name}.pt"
        checkpoints.atomic_save({"format": FORMAT, "name": name, "config": cfg,
                                 "state_dict": half_state(net)}, path)
        entry.update(file=path.name, sha256=sha256(path), bytes=path.stat().st_size)
    return {**entry, "seconds": round(time.perf_counter() - start, 1), "device": device.type,
            "threads": torch.get_num_threads()}


def _pretrain(name, cfg, report, device, work_dir):
    """The encoder's run: ``resnet18`` classifies object crops; scored on the held-out crops."""
    train_dl, heldout_dl = crop_loaders(cfg, cfg["seed"])
    net = build_model(cfg["model"])
    history = fit(net, train_dl, heldout_dl, epochs=cfg["epochs"], lr=cfg["lr"],
                  num_classes=cfg["model"]["num_classes"], device=device,
                  checkpoint=_work_dir(work_dir) / f"{name}.pt", config=cfg, progress=False,
                  on_epoch=lambda entry: report((name, entry["epoch"])))
    return net, {"config": cfg, "history": history, "train_crops": len(train_dl.dataset),
                 "val": evaluate_encoder(net, heldout_dl)}


def segment_setup(cfg: dict, root, manifest_path) -> tuple[DataLoader, torch.nn.Module, object]:
    """A segmentation run's training batches, network (from the course's encoder when its
    model's ``init`` says so) and loss, built in the order the run draws from torch's generator
    after seeding. The seed fixes the image order; two recipes that build the same network from
    the same start also get the same starting weights and random crops (07's losses), while
    loading the encoder, or another network, uses up the generator differently."""
    dataset = crop_dataset(root, "train", cfg["crop"], cfg["resize"], cache=True)
    train_dl = DataLoader(dataset, cfg["batch_size"], shuffle=True, drop_last=True,
                          generator=torch.Generator().manual_seed(cfg["seed"]),
                          collate_fn=NormalizeBatch())
    net = build_model(cfg["model"])
    if cfg["model"].get("init") == "encoder":
        load_encoder_(net, encoder_weights(manifest_path))
    return train_dl, net, build_loss(cfg["loss"], root)


def _segment(name, cfg, report, device, root, work_dir, manifest_path):
    """A segmentation run: trained on crops of the train split, scored on whole val images;
    from the course's encoder when its model's ``init`` says so."""
    train_dl, net, loss = segment_setup(cfg, root, manifest_path)
    history = fit(net, train_dl, loss=loss, epochs=cfg["epochs"],
                  lr=cfg["lr"], optimizer=cfg["optimizer"], schedule=cfg["schedule"],
                  device=device, checkpoint=_work_dir(work_dir) / f"{name}.pt", config=cfg,
                  progress=False, on_epoch=lambda entry: report((name, entry["epoch"])),
                  amp=cfg.get("amp"))
    counts_dir = Path(manifest_path).parent / COUNTS_DIR
    entry = {"config": cfg, "history": history,
             "val": evaluate_run(net, root, counts_path=counts_dir / f"{name}.npz"),
             **_other_strides(name, cfg, net, root, counts_dir)}
    return net, entry


def _other_strides(name: str, cfg: dict, net, root, counts_dir: Path) -> dict:
    """``{"val@os8": scores}``: a DeepLab trained at 16 evaluated at its ``eval_strides`` too
    (the same weights, :func:`at_output_stride`), each with its per-image counts."""
    return {f"val@os{stride}": evaluate_run(at_output_stride(net, stride), root,
                                            counts_path=counts_dir / f"{name}@os{stride}.npz")
            for stride in cfg.get("eval_strides", [])}


def rescore(names: list[str], root=None, manifest_path=None, work_dir=None) -> dict:
    """Score recorded runs again at their ``eval_strides`` from their final checkpoints, without
    retraining (after a change to :func:`at_output_stride`), and merge that into the manifest.
    Returns the new entries by name."""
    manifest_path = manifest_file(manifest_path)
    manifest = read_manifest(manifest_path)
    missing = [n for n in names if n not in manifest["runs"]]
    if missing:
        raise ReferenceModelError(f"not in {relpath(manifest_path)}: {missing}; train them first")
    root = find_voc_root(root if root is not None else MINI_VOC_DIR)
    new = {}
    for name in names:
        entry = manifest["runs"][name]
        checkpoint = _work_dir(work_dir) / f"{name}.pt"
        if not checkpoint.exists():
            raise ReferenceModelError(f"{relpath(checkpoint)}: no checkpoint of {name} to score "
                                      f"again; retrain it with --only {name}")
        net = build_model(entry["config"]["model"])
        net.load_state_dict(checkpoints.load(checkpoint)["model"])
        new[name] = {**entry, **_other_strides(name, entry["config"], net, root,
                                               manifest_path.parent / COUNTS_DIR)}
    _write_merged(manifest, manifest_path, new)
    return new


def run_all(names: list[str], record, workers=None, device=None, root=None, ship_dir=None,
            runs=None, work_dir=None) -> None:
    """Train ``names`` in order, calling ``record(name, entry)`` as each ends: on a CPU in
    ``workers`` single-thread processes side by side (default: up to 2), on a GPU in turn."""
    runs = RUNS if runs is None else runs
    device = torch.device(device or runtime.device())
    workers = workers or (min(2, mp.cpu_count()) if device.type == "cpu" else 1)
    work_dir = _work_dir(work_dir)
    job = partial(run_one, device=str(device), root=root, ship_dir=ship_dir, work_dir=work_dir)
    done = sum(min(_epochs_done(n, work_dir), runs[n]["epochs"]) for n in names)
    with tqdm(total=sum(runs[n]["epochs"] for n in names), initial=done,
              desc="reference models", unit="epoch") as bar:
        if workers == 1:
            for name in names:
                record(name, job(name, runs[name], partial(_advance, bar)))
            return
        with mp.Manager() as manager:
            _in_processes(job, [(n, runs[n]) for n in names], workers, manager.Queue(), bar,
                          record)


def _in_processes(job, jobs: list, workers: int, queue, bar, record) -> None:
    """Run ``job(name, cfg, queue.put)`` for each of ``jobs`` in ``workers`` processes,
    recording each as it ends. On Ctrl-C or a failed run the workers are stopped at once (a
    pool left to shut down would first train every run already queued)."""
    before = set(mp.active_children())  # the Manager and anything else not ours
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
    try:
        running = {pool.submit(job, name, cfg, queue.put): name for name, cfg in jobs}
        while running:
            finished, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
            while not queue.empty():
                _advance(bar, queue.get())
            for future in finished:
                record(running.pop(future), future.result())  # a failed run raises: stop
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in set(mp.active_children()) - before:  # the pool's workers
            process.terminate()
        raise
    pool.shutdown()


def _work_dir(work_dir) -> Path:
    """``work_dir``, else ``reference/`` in the checkpoint folder: the runs' resumable state."""
    return Path(work_dir) if work_dir else runtime.checkpoint_dir() / "reference"


def _epochs_done(name: str, work_dir) -> int:
    """Epochs already in the run's checkpoint (a resumed command's bar starts there)."""
    try:
        return len(checkpoints.load(Path(work_dir) / f"{name}.pt")["history"])
    except Exception:  # noqa: BLE001 - only a progress count: any failure means "none done"
        return 0


def _advance(bar, report: tuple[str, int]) -> None:
    bar.set_postfix_str(f"{report[0]} epoch {report[1]}")
    bar.update()


def train_all(names=None, workers: int | None = None, device=None, root=None,
              manifest_path=None, runs=None, work_dir=None) -> dict:
    """Train the runs ``names`` and update the manifest, one finished run at a time: an
    interrupted command keeps them, and the others resume from their checkpoints. By default
    every run not yet recorded with its current config (a stopped command picks up there)."""
    root = find_voc_root(root if root is not None else MINI_VOC_DIR)
    manifest_path = manifest_file(manifest_path)
    try:
        manifest = read_manifest(manifest_path)
    except ReferenceModelError:
        manifest = {"runs": {}}
    machine = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
               else f"a {os.cpu_count()}-core {platform.machine()} CPU")
    manifest.update({"format": FORMAT, "command": COMMAND, "torch": torch.__version__,
                     "machine": machine,
                     "data": {"root": relpath(root), "fingerprint": data_fingerprint(root)}})
    start = time.perf_counter()

    def record(name: str, result: dict) -> None:
        _write_merged(manifest, manifest_path, {name: result})

    if names is None:
        names = [n for n in select(None, runs)
                 if manifest["runs"].get(n, {}).get("config") != json.loads(json.dumps(
                     (RUNS if runs is None else runs)[n]))]
    names = select(names, runs)
    if ENCODER in names and len(names) > 1:  # every other run starts from its weights
        run_all([ENCODER], record, workers=1, device=device, root=root,
                ship_dir=manifest_path.parent, runs=runs, work_dir=work_dir)
        names.remove(ENCODER)
    run_all(names, record, workers=workers, device=device, root=root,
            ship_dir=manifest_path.parent, runs=runs, work_dir=work_dir)
    manifest["wall_seconds"] = round(time.perf_counter() - start, 1)
    _write_merged(manifest, manifest_path, {})
    return manifest


def _write_merged(manifest: dict, path, new_runs: dict) -> None:
    """Add ``new_runs`` to the manifest *as it is on disk now* and write it: a long command
    must not undo what was changed meanwhile (an old run removed, another command's run
    recorded). ``manifest`` (this command's copy) is updated to match."""
    try:
        runs = read_manifest(path)["runs"]
    except ReferenceModelError:  # not written yet, or replaced by something unreadable
        runs = manifest["runs"]
    manifest["runs"] = dict(sorted({**runs, **new_runs}.items()))
    write_manifest(manifest, path)
