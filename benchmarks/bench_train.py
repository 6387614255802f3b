"""Training throughput of FCN-ResNet18: our ``training.fit`` vs d2l's ``train_ch13``, one run.

Both sides train the same network (``course_utils.models.FCN``, variant 8s, random init; one
copy each, started from the same weights) on the same in-memory batches of VOC crops (the
bundled mini set unless ``$VOC_ROOT`` points elsewhere) with the same batch size, number of
steps and optimizer (SGD, lr 1e-3, weight decay 1e-3, as in d2l's FCN section), and both
validate on one batch at the end of the epoch. What differs is the loop: ours uses AMP
(bfloat16, or float16 with a grad scaler) and channels_last on CUDA, plus a poly LR schedule
and a confusion matrix of the training batches; d2l's runs float32 with its per-pixel loss
(``F.cross_entropy(..., reduction='none').mean(1).mean(1)``, with ``ignore_index=255``
added because our labels keep VOC's void border) and a per-batch accuracy. d2l's
``Animator`` (a matplotlib figure redrawn every few batches) is replaced by a no-op and its
prints are silenced, so only the training loop is timed.

Timing: wall clock of one ``fit``/``train_ch13`` call (1 epoch of ``--steps`` batches), after
an untimed warm-up of both; ``--rounds`` rounds, each timing both sides (alternating which
goes first); the table gives each side's best round and the median of the per-round ratios,
by wall clock and by process CPU time (the fair measure on a CPU shared with other jobs).
On a GPU: 320x480 crops; on a CPU: small crops (64x96) and few steps, labelled so. Written
to benchmarks/results/train.md; exits 1 when the ratio ours / d2l is below the bar (CPU, by
CPU time, 0.8: both loops run float32 there, so ours may only be a little slower; GPU, by
wall clock, 1.0).

    python benchmarks/bench_train.py [--threads 1] [--steps N] [--batch B] [--rounds 4] [--cpu]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from course_utils import runtime
from course_utils.data import VOID, VOCSegDataset, eval_transform, train_transform
from course_utils.models import FCN
from course_utils.training import loop as train

RESULTS = Path(__file__).resolve().parent / "results" / "train.md"
SETTINGS = {  # device type -> crop (H, W), batch size, steps, minimum ours/d2l ratio
    "cuda": {"crop": (320, 480), "batch": 16, "steps": 20, "min_ratio": 1.0},
    "cpu": {"crop": (64, 96), "batch": 8, "steps": 6, "min_ratio": 0.8},
}
LR, WEIGHT_DECAY = 1e-3, 1e-3
OURS, D2L = "ours: course_utils.training.fit", "d2l.train_ch13"
CLOCKS = ("wall", "cpu")
D2L_MIN_STEPS = 5  # train_ch13 computes i % (num_batches // 5): fewer batches divide by zero


class _NoAnimator:
    """Stands in for ``d2l.Animator``: accepts the same calls, draws nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def add(self, *args, **kwargs):
        pass


def d2l_loss(inputs, targets):
    """d2l's FCN loss (per-image mean of per-pixel cross-entropy), void ignored."""
    return F.cross_entropy(inputs, targets, reduction="none", ignore_index=VOID).mean(1).mean(1)


def make_data(crop, batch: int, steps: int, pin: bool):
    """In-memory train batches (random crops) and one val batch, the same for both sides."""
    runtime.set_seed(0)
    train_ds = VOCSegDataset(None, "train", train_transform(crop))
    val_ds = VOCSegDataset(None, "val", eval_transform(crop), max_items=batch)
    items = [train_ds[i % len(train_ds)] for i in range(batch * steps)]
    images, labels = torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])
    val = [val_ds[i] for i in range(len(val_ds))]
    val_images, val_labels = torch.stack([x for x, _ in val]), torch.stack([y for _, y in val])

    def loader(x, y):
        return DataLoader(TensorDataset(x, y), batch, shuffle=False, drop_last=True,
                          pin_memory=pin)

    return (loader(images, labels), loader(val_images, val_labels),
            loader(images[:D2L_MIN_STEPS * batch], labels[:D2L_MIN_STEPS * batch]))


def run_ours(model, opt, train_loader, val_loader, device) -> None:
    train.fit(model, train_loader, val_loader, epochs=1, optimizer=opt, schedule="poly",
              device=device, progress=False)


def run_d2l(model, opt, train_loader, val_loader, device) -> None:
    import d2l.torch as d2l

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # d2l's Accumulator calls float() on the loss that still requires grad
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad")
        d2l.train_ch13(model, train_loader, val_loader, d2l_loss, opt, 1, devices=[device])


def timed(fn, *args, device) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of one call of ``fn`` (GPU synchronised)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args, device)
    sync()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(device, s: dict, rounds: int) -> dict:
    """``{clock: (best images/s per side, median per-round ratio ours / d2l)}`` for the
    ``wall`` and ``cpu`` clocks, over ``rounds`` rounds after a warm-up. The sides alternate
    which goes first; pairing them within a round keeps load from other processes from
    landing on one side only."""
    train_loader, val_loader, warm_loader = make_data(s["crop"], s["batch"], s["steps"],
                                                      device.type == "cuda")
    runtime.set_seed(0)
    base = FCN(21, "8s")
    sides = {}
    for name, fn in ((OURS, run_ours), (D2L, run_d2l)):
        model = copy.deepcopy(base).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        fn(model, opt, warm_loader, val_loader, device)  # warm-up: kernels, allocator
        sides[name] = (fn, model, opt)
    rates = {clock: {name: [] for name in sides} for clock in CLOCKS}
    images = s["batch"] * s["steps"]
    for r in range(rounds):
        for name in (OURS, D2L) if r % 2 == 0 else (D2L, OURS):
            fn, model, opt = sides[name]
            seconds = timed(fn, model, opt, train_loader, val_loader, device=device)
            for clock, sec in zip(CLOCKS, seconds, strict=True):
                rates[clock][name].append(images / sec)
    return {clock: ({name: max(v) for name, v in per.items()},
                    statistics.median(o / d for o, d in zip(per[OURS], per[D2L], strict=True)))
            for clock, per in rates.items()}


def section(title: str, device, s: dict, result: dict, rounds: int) -> tuple[str, bool]:
    """A markdown table for one device, and whether ours meets the bar there.

    On the CPU the verdict uses CPU seconds: on a shared machine the wall clock mostly
    measures the other processes. On a GPU it uses the wall clock (the host is idle there).
    """
    h, w = s["crop"]
    precision = ("float32" if device.type != "cuda" else
                 f"{train.accel_for(device).amp_dtype} AMP, channels_last")
    (wall, wall_ratio), (cpu, cpu_ratio) = result["wall"], result["cpu"]
    lines = [f"## {title}", "",
             f"FCN-8s ResNet-18, crops {h}x{w}, batch {s['batch']}, {s['steps']} steps, "
             f"{rounds} rounds; ours runs {precision}.", "",
             "| training loop | images/s (wall clock) | images per CPU-second |",
             "|---|---:|---:|",
             f"| {OURS} | {wall[OURS]:.1f} | {cpu[OURS]:.1f} |",
             f"| {D2L} (Animator patched out) | {wall[D2L]:.1f} | {cpu[D2L]:.1f} |",
             f"| **ratio ours / d2l** | **{wall_ratio:.2f}x** | {cpu_ratio:.2f}x |", "",
             "Rates: each side's best round; ratios: the median of the per-round ratios."]
    ratio, clock = (wall_ratio, "wall clock") if device.type == "cuda" else (cpu_ratio, "CPU")
    ok = ratio >= s["min_ratio"]
    lines += ["", f"Verdict: {'PASS' if ok else 'FAIL'}: {ratio:.2f}x by {clock} time "
              f"(needs >= {s['min_ratio']:g}x).", ""]
    return "\n".join(lines), ok


def main(argv=None) -> int:
    import d2l.torch as d2l

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--steps", type=int, help="training steps per timing (default by device)")
    ap.add_argument("--batch", type=int, help="batch size (default by device)")
    ap.add_argument("--rounds", type=int, default=4, help="timed rounds (default 4)")
    ap.add_argument("--cpu", action="store_true", help="measure on the CPU even with a GPU")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    d2l.Animator = _NoAnimator  # train_ch13 looks it up at call time
    device = torch.device("cpu") if args.cpu else runtime.device()
    if device.type not in SETTINGS:
        device = torch.device("cpu")  # e.g. MPS: no AMP path here, measure the CPU instead
    s = dict(SETTINGS[device.type])
    s.update({k: v for k, v in (("steps", args.steps), ("batch", args.batch)) if v})
    if s["steps"] < D2L_MIN_STEPS:
        ap.error(f"--steps {s['steps']}: d2l.train_ch13 needs at least {D2L_MIN_STEPS} batches")
    if device.type == "cuda":
        title = f"GPU ({torch.cuda.get_device_name(device)})"
    else:
        title = (f"CPU, small crops ({platform.processor() or platform.machine()}, "
                 f"torch.set_num_threads({args.threads}))")
    text, ok = section(title, device, s, measure(device, s, args.rounds), args.rounds)
    header = ["# Training throughput: course_utils.training.fit vs d2l.train_ch13", "",
              f"torch {torch.__version__}. " + " ".join(__doc__.split("\n\n")[1:3]).replace(
                  "\n", " "), "", "Regenerate: `python benchmarks/bench_train.py`.", ""]
    if device.type != "cuda":
        header += ["No GPU was available for this run: the GPU path (AMP, channels_last, "
                   "320x480 crops) was not measured; the numbers below compare the float32 "
                   "loops on the CPU only.", ""]
    print(text, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header + [text]))
    print(f"wrote {runtime.relpath(args.out)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
