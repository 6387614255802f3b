"""``python -m course_utils.train``: train a segmentation model from the command line.

    python -m course_utils.train --run fcn8s                   # a recorded reference recipe
    python -m course_utils.train --model unet --depth 4 --width 32 --epochs 30 --crop 256
    torchrun --nproc_per_node 4 -m course_utils.train --run fcn8s --batch-size 4

The same ``train.fit`` as in the notebooks, on one process or under ``torchrun`` on several
(one per GPU, or a few CPU processes with the gloo backend): the model is wrapped in
``DistributedDataParallel``, each process trains on its share of the images
(``DistributedSampler``), checkpoints and progress come from rank 0 only, a rerun resumes from the
checkpoint, and the final whole-image validation confusion matrix is added up over the
processes. ``--batch-size`` is per process: N processes train on batches of N times that size.
The result (config, history, validation scores and confusion matrix) goes to ``--results``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from . import distributed, reference_runs, runtime, train
from .accel import accel_for, prepare_model
from .evaluation import full_image_loader, summarize_matrix
from .voc import find_voc_root
from .voc_dataset import NormalizeBatch, crop_dataset


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m course_utils.train",
                                description=__doc__.split("\n")[0])
    p.add_argument("--run", choices=sorted(reference_runs.RUNS), default=None,
                   help="start from a recorded reference recipe (flags below override it)")
    p.add_argument("--model", choices=("fcn8s", "fcn16s", "fcn32s", "unet"), default=None)
    p.add_argument("--depth", type=int, default=None, help="U-Net levels")
    p.add_argument("--width", type=int, default=None, help="U-Net channels at the top level")
    p.add_argument("--loss", choices=("ce", "wce", "focal"), default=None)
    for flag, kind in (("--epochs", int), ("--crop", int), ("--batch-size", int),
                       ("--lr", float), ("--seed", int)):
        p.add_argument(flag, type=kind, default=None)
    p.add_argument("--data", default=None, help="a VOC2012 folder (default: as the notebooks)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="resumable checkpoint (.pt); default checkpoints/train-<run>.pt")
    p.add_argument("--results", type=Path, default=None, help="write the results here (.json)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the best available)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def config_from(args) -> dict:
    """The run's plain-data config: a recorded recipe, or the defaults, with the flags on top."""
    cfg = dict(reference_runs.RUNS[args.run]) if args.run else {
        **reference_runs.SEGMENT, "model": dict(reference_runs.FCN8S), "epochs": 10, "seed": 0}
    cfg.pop("ship", None)
    if args.model:
        cfg["model"] = ({"name": "unet", "depth": 4, "width": 16} if args.model == "unet"
                        else {"name": "fcn", "variant": args.model[3:]})
    if cfg["model"]["name"] == "unet":
        for key in ("depth", "width"):
            if getattr(args, key) is not None:
                cfg["model"][key] = getattr(args, key)
    if args.loss:
        cfg["loss"] = {"ce": {"name": "ce"}, **reference_runs.LOSSES}[args.loss]
    for key in ("epochs", "crop", "batch_size", "lr", "seed"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    return cfg


def _train_loader(cfg: dict, root) -> DataLoader:
    dataset = crop_dataset(root, "train", cfg["crop"], cfg["scale"], cache=True)
    sampler = distributed.train_sampler(dataset, cfg["seed"])
    return DataLoader(dataset, cfg["batch_size"], shuffle=sampler is None, sampler=sampler,
                      drop_last=True, generator=torch.Generator().manual_seed(cfg["seed"]),
                      pin_memory=torch.cuda.is_available(), collate_fn=NormalizeBatch())


def _val_loader(root) -> DataLoader:
    """Whole val images, each process its own share (none repeated, none left out)."""
    dataset = full_image_loader(root, "val").dataset
    return DataLoader(dataset, batch_size=1, sampler=distributed.ShardSampler(len(dataset)))


def run(args) -> dict:
    """Train and evaluate as ``args`` say; returns the results (every process)."""
    device = distributed.setup(torch.device(args.device or runtime.device()).type)
    if device.type == "cpu" and distributed.active():
        torch.set_num_threads(1)  # the processes share the cores
    cfg = config_from(args)
    root = find_voc_root(args.data)
    runtime.set_seed(cfg["seed"])
    net = prepare_model(reference_runs.build_model(cfg["model"]), accel_for(device))
    model = torch.nn.parallel.DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None
    ) if distributed.active() else net
    checkpoint = args.checkpoint or runtime.REPO_ROOT / "checkpoints" / (
        f"train-{args.run or 'cli'}.pt")
    history = train.fit(model, _train_loader(cfg, root), loss=reference_runs.build_loss(
        cfg["loss"], root), epochs=cfg["epochs"], lr=cfg["lr"], optimizer=cfg["optimizer"],
        schedule=cfg["schedule"], device=device, checkpoint=checkpoint,
        config={**cfg, "processes": distributed.world_size()},
        progress=distributed.is_main() and not args.no_progress)
    cm = train.evaluate(net, _val_loader(root), device=device)
    results = {"config": cfg, "processes": distributed.world_size(), "history": history,
               "val": summarize_matrix(cm), "confusion": cm.matrix.cpu().tolist(),
               "checkpoint": runtime.relpath(checkpoint)}
    if args.results and distributed.is_main():
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1) + "\n")
    return results


def main(argv=None) -> int:
    args = parse(argv)
    try:
        results = run(args)
        main_process = distributed.is_main()
    finally:
        distributed.teardown()
    if main_process:
        v = results["val"]
        print(f"val mIoU {v['miou']:.4f}, pixel accuracy {v['pixel_acc']:.4f} "
              f"({results['processes']} process{'es' * (results['processes'] > 1)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
