"""``make bench``: every benchmark in one run, on one page (benchmarks/results/report.md).

Runs, one after the other on a quiet machine: the dataset benchmark (our VOCSegDataset, lazy and
cached, vs d2l.VOCSegDataset: construction, an epoch of crops, memory), the confusion-matrix
benchmark (vs torchmetrics and a naive loop, CPU and GPU when present), the training benchmark
(training.fit vs d2l.train_ch13; on a GPU 320 x 480 crops with AMP and channels_last vs d2l's
float32 loop) and the strict nbval time of every notebook. Each side-by-side ratio comes from
the same run; the page says on what machine. The capacity and speed of the compared models
(``bench_models.py``) are also kept in benchmarks/results/models.md and .json, which notebooks
04-06 print.

    python benchmarks/report.py [--skip-nbval]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REPORT = HERE / "results" / "report.md"
BENCHES = ("bench_dataset.py", "bench_metrics.py", "bench_train.py", "bench_models.py")
KEPT = {"bench_models.py": HERE / "results" / "models.md"}  # notebooks 04-06 print its table
NOTEBOOK_BUDGET = 90  # seconds of strict nbval per notebook (fast profile, 2-core machine)


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{os.cpu_count()}-core {platform.machine()} CPU, {gpu}; Python "
            f"{platform.python_version()}, torch {torch.__version__}")


def run_bench(script: str, out: Path) -> tuple[str, int]:
    """Run one benchmark script writing its table to ``out``; return (table, exit code)."""
    done = subprocess.run([sys.executable, str(HERE / script), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    text = out.read_text() if out.exists() else f"(no table: {done.stderr[-800:]})"
    return text, done.returncode


def demote(markdown: str) -> str:
    """Headings one level down, so each benchmark is a section of the report."""
    return "\n".join("#" + line if line.startswith("#") else line
                     for line in markdown.splitlines())


def nbval_times() -> str:
    """Strict nbval of each notebook on its own, from a fresh checkpoint folder: seconds."""
    rows = [f"| notebook | nbval time (s) | result | within {NOTEBOOK_BUDGET} s |",
            "|---|---:|---|---|"]
    for nb in sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        with tempfile.TemporaryDirectory() as ckpt:
            env = dict(os.environ, COURSE_PROFILE="fast", COURSE_CHECKPOINT_DIR=ckpt)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "pytest", "--nbval",
                                   "--nbval-current-env", "--nbval-sanitize-with",
                                   "tests/nbval_sanitize.cfg", "-q", "-p", "no:cacheprovider",
                                   str(nb.relative_to(REPO))], cwd=REPO, env=env,
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
        rows.append(f"| {nb.name} | {seconds:.0f} | {'pass' if done.returncode == 0 else 'FAIL'} "
                    f"| {'yes' if seconds <= NOTEBOOK_BUDGET else 'NO'} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-nbval", action="store_true", help="leave out the notebook timings")
    ap.add_argument("--out", type=Path, default=REPORT)
    args = ap.parse_args(argv)
    parts = ["# Benchmarks", "", f"One run of `make bench` ({time.strftime('%Y-%m-%d')}) on a "
             f"{machine()}. Every ratio below compares the two sides measured in this run.", ""]
    worst = 0
    with tempfile.TemporaryDirectory() as tmp:
        for script in BENCHES:
            print(f"== {script}", flush=True)
            table, code = run_bench(script, KEPT.get(script, Path(tmp) / f"{script}.md"))
            worst = max(worst, code)
            parts += [demote(table).strip(), ""]
    if not args.skip_nbval:
        print("== nbval, notebook by notebook", flush=True)
        parts += ["## nbval time of every notebook", "",
                  "Strict nbval (`COURSE_PROFILE=fast`), one notebook at a time, each from a "
                  "fresh checkpoint folder, so every live run trains.", "", nbval_times(), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts))
    print(f"wrote {args.out.relative_to(REPO)}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
