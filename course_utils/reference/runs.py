"""Training the recorded runs (:data:`course_utils.training.recipes.RUNS`) and recording each.

A ``ship``ped run leaves its half-precision weights in ``reference/``; the others (the extra
seeds behind a mean and spread) only their scores in the manifest. Runs are independent
single-thread jobs: on a CPU two run side by side, each giving the same result whichever
process runs it; on a GPU they run in turn.
"""

from __future__ import annotations

import copy
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
from course_utils.runtime import relpath
from course_utils.training import checkpoints, fit
from course_utils.training.recipes import RUNS, build_loss, build_model, select

from .manifest import (
    COMMAND,
    FORMAT,
    ReferenceModelError,
    data_fingerprint,
    evaluate_run,
    manifest_file,
    read_manifest,
    round_to_half_,
    save_weights,
    write_manifest,
)

WORK_DIR = runtime.REPO_ROOT / "checkpoints" / "reference"  # resumable state, git-ignored


def run_one(name: str, cfg: dict, device=None, root=None, ship_dir=None, work_dir=WORK_DIR,
            queue=None) -> dict:
    """Train and score the run ``name``; return its manifest entry (with the file fields when
    it is shipped). Progress goes to ``queue`` as ``(name, epoch)`` messages."""
    cfg = copy.deepcopy(cfg)
    device = torch.device(device or runtime.device())
    if device.type == "cpu":
        torch.set_num_threads(1)  # bit-reproducible, and two runs share two cores
    runtime.set_seed(cfg["seed"])
    report = (lambda entry: queue.put((name, entry["epoch"]))) if queue is not None else None
    start = time.perf_counter()
    dataset = crop_dataset(root, "train", cfg["crop"], cfg["scale"], cache=True)
    train_dl = DataLoader(dataset, cfg["batch_size"], shuffle=True, drop_last=True,
                          generator=torch.Generator().manual_seed(cfg["seed"]),
                          collate_fn=NormalizeBatch())
    net = build_model(cfg["model"])
    history = fit(net, train_dl, loss=build_loss(cfg["loss"], root), epochs=cfg["epochs"],
                  lr=cfg["lr"], optimizer=cfg["optimizer"], schedule=cfg["schedule"],
                  device=device, checkpoint=Path(work_dir) / f"{name}.pt", config=cfg,
                  progress=False, on_epoch=report)
    entry = {"config": cfg, "history": history,
             "val": evaluate_run(round_to_half_(net.cpu()), root)}
    if cfg["ship"]:
        entry.update(save_weights(name, net, cfg, ship_dir))
    return {**entry, "seconds": round(time.perf_counter() - start, 1), "device": device.type,
            "threads": torch.get_num_threads()}


def run_all(names: list[str], record, workers=None, device=None, root=None, ship_dir=None,
            runs=None, work_dir=WORK_DIR) -> None:
    """Train ``names`` in order, calling ``record(name, entry)`` as each ends.

    On a CPU, ``workers`` single-thread processes run side by side (default: up to 2, one per
    core); on a GPU one process runs them in turn. One progress bar counts epochs over all runs.
    """
    runs = RUNS if runs is None else runs
    device = torch.device(device or runtime.device())
    workers = workers or (min(2, mp.cpu_count()) if device.type == "cpu" else 1)
    job = partial(run_one, device=str(device), root=root, ship_dir=ship_dir, work_dir=work_dir)
    done = sum(min(_epochs_done(n, work_dir), runs[n]["epochs"]) for n in names)
    with tqdm(total=sum(runs[n]["epochs"] for n in names), initial=done,
              desc="reference models", unit="epoch") as bar:
        if workers == 1:
            for name in names:
                record(name, job(name, runs[name], queue=_BarQueue(bar)))
            return
        ctx = mp.get_context("spawn")
        with mp.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            _schedule(names, runs, pool, manager.Queue(), bar, record, job)


def _epochs_done(name: str, work_dir) -> int:
    """Epochs already in the run's checkpoint (a resumed command's bar starts there); 0 for a
    missing or unreadable one (``fit`` says why)."""
    try:
        return len(checkpoints.load(Path(work_dir) / f"{name}.pt")["history"])
    except Exception:  # noqa: BLE001 - only a progress count: any failure means "none done"
        return 0


class _BarQueue:
    """A queue look-alike that advances the progress bar (the single-process case)."""

    def __init__(self, bar):
        self.bar = bar

    def put(self, message):
        self.bar.set_postfix_str(f"{message[0]} epoch {message[1]}")
        self.bar.update()


def _schedule(names, runs, pool, queue, bar, record, job) -> None:
    """Submit every run (in order: the pool starts them as workers free up), record each as
    it ends, and drain progress messages while waiting."""
    running = {pool.submit(job, name, runs[name], queue=queue): name for name in names}
    while running:
        finished, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
        while not queue.empty():
            _BarQueue(bar).put(queue.get())
        for future in finished:
            record(running.pop(future), future.result())  # a failed run raises: stop


def _header(root) -> dict:
    return {"format": FORMAT, "command": COMMAND, "torch": torch.__version__,
            "machine": _machine(),
            "data": {"root": relpath(root), "fingerprint": data_fingerprint(root)}}


def _machine() -> str:
    """The device the runs use, in words: a GPU's name, or the CPU with its core count."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"a {os.cpu_count()}-core {platform.machine()} CPU"


def train_all(names=None, workers: int | None = None, device=None, root=None,
              manifest_path=None, runs=None, work_dir=WORK_DIR) -> dict:
    """Train the runs ``names`` (default all) and update the manifest.

    Finished runs are written to the manifest one by one, so an interrupted command keeps
    them; unfinished ones resume from their checkpoints under ``checkpoints/reference``.
    """
    root = find_voc_root(root if root is not None else MINI_VOC_DIR)
    manifest_path = manifest_file(manifest_path)
    try:
        manifest = read_manifest(manifest_path)
    except ReferenceModelError:
        manifest = {"runs": {}}
    manifest.update(_header(root))
    start = time.perf_counter()

    def record(name: str, result: dict) -> None:
        manifest["runs"][name] = result
        manifest["runs"] = dict(sorted(manifest["runs"].items()))
        write_manifest(manifest, manifest_path)

    run_all(select(names, runs), record, workers=workers, device=device, root=root,
            ship_dir=manifest_path.parent, runs=runs, work_dir=work_dir)
    manifest["wall_seconds"] = round(time.perf_counter() - start, 1)
    write_manifest(manifest, manifest_path)
    return manifest
