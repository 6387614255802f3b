"""The prepared GPU check: on a CUDA machine, in one command, the full profile of notebooks 04-06
and the GPU benchmarks; training images per second, peak GPU memory and validation mIoU go to
``gpu.json``, from which ``python tools/readme_tables.py`` writes data/README.md's GPU block.

Each step has its own time limit inside one overall deadline, and ``gpu.json`` is rewritten as
each step finishes, so a step that runs out of time leaves the others' results. The executed
notebooks and the benchmarks' pages come back beside it (``bench.tar.gz``).

    python tools/gpu_check.py --out DIR                  # on the GPU machine
    python tools/gpu_check.py --out DIR --allow-cpu --profile fast --skip-bench   # a dry run

On a machine without nbclient, nbformat, ipykernel or d2l, carry them as wheels. Here, once::

    python -m pip download -d .whl --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \\
        nbclient nbformat ipykernel
    python -m pip download -d .whl --no-deps d2l==1.0.3   # bench_train compares with d2l

There: ``python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
PYTHONPATH=/tmp/site:$PWD python3 tools/gpu_check.py --out $OUT``. Then, here, copy ``gpu.json``
to ``benchmarks/results/gpu.json`` and run ``python tools/readme_tables.py``.
``tools/gpu_check.sh`` does these steps.

A device machine that takes a copy of the working tree of at most 64 MiB cannot take the whole
course (the three shipped models alone are 74 MB). ``--live-run-only`` runs each notebook up to
its live run, which needs only the course's encoder (``reference/encoder.pt``): the GPU numbers
(images per second, memory, the live run's mIoU) all come from that run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from pathlib import Path

import nbformat
from execute_notebooks import ROOT, run

NOTEBOOKS = ("04-fcn", "05-unet", "06-deeplab")
BENCHES = ("bench_train.py", "bench_metrics.py", "bench_models.py")
MARK = "GPU_CHECK "  # the line the probe cell prints
# Appended to each notebook for this check only: what its live run (``history``, after
# ``training.fit``) measured, and the peak GPU memory of the cells run.
PROBE = """\
import json as _json
import torch as _torch
_cuda = _torch.cuda.is_available()
print("GPU_CHECK " + _json.dumps({
    "device": _torch.cuda.get_device_name(0) if _cuda else "cpu",
    "peak_memory_gib": _torch.cuda.max_memory_allocated() / 2**30 if _cuda else None,
    "history": history, "train_images": len(train_loader.dataset),
    "val_images": len(val_loader.dataset), "settings": {k: v for k, v in cfg.items()}}))
"""


def summarise(probe: dict) -> dict:
    """A notebook's live run in a few numbers: epochs, last and best val mIoU, images per second
    (training images seen over the epochs' time, validation included) and peak memory."""
    history = probe["history"]
    seconds = sum(h["seconds"] for h in history)
    return {"epochs": len(history), "val_miou": history[-1]["miou"],
            "best_val_miou": max(h["miou"] for h in history),
            "images_per_s": len(history) * probe["train_images"] / seconds,
            "train_seconds": seconds, "train_images": probe["train_images"],
            "val_images": probe["val_images"], "peak_memory_gib": probe["peak_memory_gib"],
            "device": probe["device"], "settings": probe["settings"]}


def read_probe(nb) -> dict:
    """The probe cell's report, from the last cell of an executed notebook."""
    for output in nb.cells[-1].get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
    raise ValueError("the probe cell printed no GPU_CHECK line: did the notebook define "
                     "history, train_loader, val_loader and cfg?")


def live_run_only(nb) -> int:
    """Drop every cell after the notebook's live run (its first ``training.fit`` call), so the
    check needs no shipped reference model (see the module's docstring); return the cells kept."""
    fit = next((i for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and "training.fit(" in c.source), None)
    if fit is None:
        raise ValueError("no cell of this notebook calls training.fit(: it has no live run")
    del nb.cells[fit + 1:]
    return fit + 1


def check_notebook(path: Path, out: Path, timeout: float, env: dict | None = None,
                   whole: bool = True) -> dict:
    """Execute one notebook (``whole``, else up to its live run) with the probe appended, within
    ``timeout`` seconds, its kernel's environment this one's plus ``env`` and a fresh checkpoint
    folder (so its live run trains); write it, without the probe, to ``out``; return its
    summary, or its error."""
    nb = nbformat.read(path, as_version=4)
    cells = f"{len(nb.cells)} of {len(nb.cells)}"
    if not whole:
        cells = f"{live_run_only(nb)} of {len(nb.cells)}"
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as fresh:
            run(nb, path.parent, until=time.perf_counter() + timeout,
                env={**os.environ, **(env or {}), "COURSE_CHECKPOINT_DIR": fresh})
        result = summarise(read_probe(nb))
    except Exception as err:  # a timeout or a failing cell: keep what ran, say what stopped it
        result = {"error": f"{type(err).__name__}: {str(err).strip()[-800:]}"}
    result["wall_seconds"], result["cells"] = time.perf_counter() - start, cells
    nb.cells.pop()
    nbformat.write(nb, out / path.name)
    return result


def check_bench(script: str, out: Path, timeout: float, env: dict | None = None) -> dict:
    """Run one benchmark (environment: this one's plus ``env``) with its page written to
    ``out``; its exit code and last lines."""
    page = out / script.replace("bench_", "").replace(".py", ".md")
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--out", str(page)]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                              env={**os.environ, **(env or {})})
        result = {"returncode": done.returncode,
                  "tail": (done.stdout + done.stderr).strip().splitlines()[-3:]}
    except subprocess.TimeoutExpired:
        result = {"error": f"stopped after {timeout:.0f} s"}
    result["wall_seconds"] = time.perf_counter() - start
    return result


def machine() -> dict:
    """What ran the check: GPU (None without CUDA), CPU cores, Python, torch, date."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"gpu": gpu, "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "date": date.today().isoformat()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python tools/gpu_check.py",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for gpu.json and the rest")
    p.add_argument("--profile", default="full", choices=("fast", "full"))
    p.add_argument("--notebooks", nargs="*", default=list(NOTEBOOKS))
    p.add_argument("--skip-bench", action="store_true")
    p.add_argument("--live-run-only", action="store_true",
                   help="run each notebook up to its live run (needs no shipped reference model)")
    p.add_argument("--deadline", type=float, default=540, help="seconds for every step together")
    p.add_argument("--notebook-timeout", type=float, default=170)
    p.add_argument("--bench-timeout", type=float, default=90)
    p.add_argument("--allow-cpu", action="store_true", help="a dry run without a GPU")
    args = p.parse_args(argv)
    info = machine()
    if info["gpu"] is None and not args.allow_cpu:
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False); "
              "for a dry run add --allow-cpu", file=sys.stderr)
        return 2
    env = {"COURSE_PROFILE": args.profile,  # and the kernels import course_utils from here
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"machine": info, "profile": args.profile, "notebooks": {}, "benchmarks": {}}
    end = time.perf_counter() + args.deadline

    def save():
        (args.out / "gpu.json").write_text(json.dumps(report, indent=1) + "\n")

    for name in args.notebooks:
        left = min(args.notebook_timeout, end - time.perf_counter())
        path = ROOT / "notebooks" / f"{name}.ipynb"
        whole = not args.live_run_only
        report["notebooks"][name] = (check_notebook(path, args.out, left, env, whole)
                                     if left > 10 else {"error": "no time left"})
        print(name, report["notebooks"][name], flush=True)
        save()
    bench = args.out / "bench"
    bench.mkdir(exist_ok=True)
    for script in () if args.skip_bench else BENCHES:
        left = min(args.bench_timeout, end - time.perf_counter())
        report["benchmarks"][script] = (check_bench(script, bench, left, env) if left > 10
                                        else {"error": "no time left"})
        print(script, report["benchmarks"][script], flush=True)
        save()
    with tarfile.open(args.out / "bench.tar.gz", "w:gz") as tar:
        tar.add(bench, arcname="bench")
    shutil.rmtree(bench)  # the device tool returns at most 8 files
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
