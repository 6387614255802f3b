"""Confusion-matrix update throughput: ours vs torchmetrics vs a naive per-class loop, one run.

Each side counts the same 21-class label maps (batches of 8 x 320 x 480, ~5% void = 255)
into a 21 x 21 matrix; we report pixels per second and the ratios. Timings are the best of
several rounds, the sides interleaved within a round so machine load hits them alike. All
sides must produce the same matrix. The naive loop (two nested loops over classes, one
masked sum per cell) is timed on fewer batches: it is ~100x slower. A GPU table is added
when CUDA is available. Written to benchmarks/results/metrics.md; exits 1 when ours is
slower than torchmetrics or less than 50x faster than the naive loop.

    python benchmarks/bench_metrics.py [--threads 1] [--batches 6] [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
import torchmetrics
from torchmetrics.classification import MulticlassConfusionMatrix

from course_utils.metrics import ConfusionMatrix
from course_utils.runtime import relpath

RESULTS = Path(__file__).resolve().parent / "results" / "metrics.md"
C, IGNORE, SHAPE = 21, 255, (8, 320, 480)
MIN_VS_TORCHMETRICS, MIN_VS_NAIVE = 1.0, 50.0


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_batches(n: int, device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` (pred int64, target uint8) pairs: ~60% right, ~5% void, as after an argmax."""
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(n):
        target = torch.randint(0, C, SHAPE, generator=g, dtype=torch.uint8)
        target[torch.rand(SHAPE, generator=g) < 0.05] = IGNORE
        pred = torch.randint(0, C, SHAPE, generator=g)
        right = (torch.rand(SHAPE, generator=g) < 0.6) & (target != IGNORE)
        pred[right] = target[right].long()
        batches.append((pred.to(device), target.to(device)))
    return batches


def naive_counts(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The confusion matrix a first attempt would write: one masked sum per (true, pred) cell."""
    m = torch.zeros(C, C, dtype=torch.int64, device=pred.device)
    for i in range(C):
        row = target == i
        for j in range(C):
            m[i, j] = (row & (pred == j)).sum()
    return m


def sides(device):
    """name -> (fresh accumulator factory, update(acc, pred, target), matrix(acc))."""
    def tm(validate):
        return (lambda: MulticlassConfusionMatrix(C, ignore_index=IGNORE,
                                                  validate_args=validate).to(device),
                lambda acc, p, t: acc.update(p, t), lambda acc: acc.compute())

    def naive_update(acc, p, t):
        acc += naive_counts(p, t)

    return {
        "ours (course_utils ConfusionMatrix)": (
            lambda: ConfusionMatrix(C, IGNORE, device=device),
            lambda acc, p, t: acc.update(p, t), lambda acc: acc.matrix),
        "torchmetrics MulticlassConfusionMatrix": tm(True),
        "torchmetrics, validate_args=False": tm(False),
        "naive per-class loop": (
            lambda: torch.zeros(C, C, dtype=torch.int64, device=device),
            naive_update, lambda acc: acc),
    }


def measure(device, batches, naive_batches: int, rounds: int) -> dict:
    """Best-of-``rounds`` pixels/s per side; checks every side counts the same matrix."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    best, matrices = {}, {}
    for _ in range(rounds):
        for name, (new, update, matrix) in sides(device).items():
            use = batches[:naive_batches] if name.startswith("naive") else batches
            acc = new()
            update(acc, *use[0])  # warm-up (kernels, allocator), then start from zero
            acc = new()
            sync()
            t0 = time.perf_counter()
            for p, t in use:
                update(acc, p, t)
            sync()
            seconds = time.perf_counter() - t0
            pixels = len(use) * SHAPE[0] * SHAPE[1] * SHAPE[2]
            best[name] = max(best.get(name, 0.0), pixels / seconds)
            matrices[name] = (len(use), matrix(acc).cpu())
    reference = ConfusionMatrix(C, IGNORE)
    for n in sorted({n for n, _ in matrices.values()}):
        ref = reference.reset().update(*[torch.cat(x) for x in zip(*batches[:n], strict=True)])
        for name, (m, mat) in matrices.items():
            if m == n and not torch.equal(mat, ref.matrix.cpu()):
                raise AssertionError(f"{name} counted a different confusion matrix")
    return best


def section(title: str, rates: dict, naive_batches: int, batches: int) -> tuple[str, bool]:
    """A markdown table for one device and whether ours meets both bars there."""
    ours = rates["ours (course_utils ConfusionMatrix)"]
    lines = [f"## {title}", "", "| implementation | batches timed | Mpixels/s | ours is |",
             "|---|---:|---:|---:|"]
    for name, rate in rates.items():
        n = naive_batches if name.startswith("naive") else batches
        ratio = "-" if rate == ours else f"{ours / rate:.1f}x faster"
        lines.append(f"| {name} | {n} | {rate / 1e6:.1f} | {ratio} |")
    tm_best = max(rates["torchmetrics MulticlassConfusionMatrix"],
                  rates["torchmetrics, validate_args=False"])
    vs_tm, vs_naive = ours / tm_best, ours / rates["naive per-class loop"]
    ok = vs_tm >= MIN_VS_TORCHMETRICS and vs_naive >= MIN_VS_NAIVE
    lines += ["", f"Verdict: {'PASS' if ok else 'FAIL'}: ours is {vs_tm:.2f}x the faster "
              f"torchmetrics variant (needs >= {MIN_VS_TORCHMETRICS:g}x) and {vs_naive:.0f}x the "
              f"naive loop (needs >= {MIN_VS_NAIVE:g}x).", ""]
    return "\n".join(lines), ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--batches", type=int, default=6, help="batches per timing (default 6)")
    ap.add_argument("--naive-batches", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5, help="best of this many rounds")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    parts = [
        "# Confusion-matrix update throughput", "",
        f"- data: {C} classes, batches of {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} label maps (int64 "
        f"predictions, uint8 targets, ~5% void = {IGNORE}); every side's matrix checked equal",
        f"- timing: best of {args.rounds} rounds, the sides interleaved in each round; the naive "
        f"loop (one masked sum per cell, {C * C} cells) on {args.naive_batches} batch(es), the "
        f"others on {args.batches}",
        f"- CPU: {cpu_name()}, **torch.set_num_threads({args.threads})**; torch "
        f"{torch.__version__}, torchmetrics {torchmetrics.__version__}",
        "- ours validates its input (shapes, dtypes, value range) as torchmetrics does by "
        "default; `validate_args=False` is torchmetrics without its checks",
        "- regenerate: `python benchmarks/bench_metrics.py` (also part of `make bench`)", ""]
    devices = [("CPU", torch.device("cpu"))]
    if torch.cuda.is_available():
        devices.append((f"GPU ({torch.cuda.get_device_name()})", torch.device("cuda")))
    else:
        parts += ["No CUDA device on the machine that ran this: GPU table not measured.", ""]
    ok_all = True
    for title, dev in devices:
        batches = make_batches(args.batches, dev)
        rates = measure(dev, batches, args.naive_batches, args.rounds)
        text, ok = section(title, rates, args.naive_batches, args.batches)
        parts.append(text)
        ok_all &= ok
        print(text, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts))
    print(f"wrote {relpath(args.out)}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
