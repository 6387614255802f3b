"""Capacity and speed of the compared architectures, side by side in one run.

For every model the notebooks compare (:data:`course_utils.training.recipes.MODELS`, and the
paper's U-Net trained from scratch): parameters, forward FLOPs on one 320 x 480 image
(``torch.utils.flop_counter``, which counts a multiply-add as 2 FLOPs: convolutions, transposed
convolutions and matrix products; BatchNorm, ReLU and interpolation are not counted), and
images per second, measured in the same process, one thread (or the GPU), ``--rounds`` rounds
with the models in turn (a round's order rotates), best round kept:

- inference on 320 x 480 images, batch 1, eval mode, no gradients;
- training steps on the recipe's crops (``SEGMENT``: 128 x 128, batch 8): forward, loss,
  backward, AdamW step.

Written to benchmarks/results/models.json and models.md; notebooks 04-06 print the table.

    python benchmarks/bench_models.py [--rounds 3] [--out benchmarks/results/models.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from course_utils.data import NUM_CLASSES
from course_utils.models import count_flops, count_parameters
from course_utils.training.recipes import MODELS, SEGMENT, UNET, build_model

HERE = Path(__file__).resolve().parent
SIZE = (320, 480)


def architectures() -> dict[str, dict]:
    """The compared model specs by name, and the paper's U-Net (from scratch)."""
    return {**MODELS, "unet-paper": UNET}


def infer_seconds(net, device, size=SIZE, steps: int = 3) -> float:
    """Seconds per image of eval-mode inference on ``size`` images, batch 1."""
    net.eval()
    x = torch.randn(1, 3, *size, device=device)
    with torch.no_grad():
        net(x)  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            net(x)
        _sync(device)
    return (time.perf_counter() - start) / steps


def train_seconds(net, device, steps: int = 3) -> float:
    """Seconds per image of training steps on the recipe's crops and batch size."""
    net.train()
    crop, batch = SEGMENT["crop"], SEGMENT["batch_size"]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, crop, crop, device=device)
    y = torch.randint(0, NUM_CLASSES, (batch, crop, crop), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()

    step()  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - start) / (steps * batch)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(rounds: int, device) -> dict[str, dict]:
    """Every architecture's parameters, FLOPs and best-round images/s (inference, training)."""
    specs = architectures()
    nets = {name: build_model(spec).to(device) for name, spec in specs.items()}
    rows = {name: {"params": count_parameters(net), "gflops": count_flops(net.cpu(), SIZE) / 1e9,
                   "infer": float("inf"), "train": float("inf")}
            for name, net in nets.items()}
    names = list(nets)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            net = nets[name].to(device)
            rows[name]["infer"] = min(rows[name]["infer"], infer_seconds(net, device))
            rows[name]["train"] = min(rows[name]["train"], train_seconds(net, device))
    for row in rows.values():
        row["infer_img_s"], row["train_img_s"] = 1 / row.pop("infer"), 1 / row.pop("train")
    return rows


def markdown(rows: dict, where: str) -> str:
    lines = [f"# Capacity and speed of the compared models ({where})", "",
             "| model | parameters (M) | GFLOPs at 320 x 480 | inference img/s (320 x 480) | "
             "training img/s (128 x 128, batch 8) |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['params'] / 1e6:.2f} | {r['gflops']:.1f} | "
                     f"{r['infer_img_s']:.2f} | {r['train_img_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE / "results" / "models.md")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = measure(args.rounds, device)
    where = (torch.cuda.get_device_name(0) if device.type == "cuda"
             else f"{platform.machine()} CPU, {args.threads} thread(s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(rows, where))
    args.out.with_suffix(".json").write_text(json.dumps(
        {"device": where, "torch": torch.__version__, "size": list(SIZE), "models": rows},
        indent=1) + "\n")
    print(markdown(rows, where))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
