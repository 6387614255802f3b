"""``python -m course_utils.training``: train a segmentation model from the command line.

    python -m course_utils.training --run fcn8s-seed0            # a recorded reference recipe
    python -m course_utils.training --model unet-resnet18 --epochs 30 --crop 256
    python -m course_utils.training --model fcn8s --init random  # without the course's encoder
    torchrun --nproc_per_node 4 -m course_utils.training --run fcn8s-seed0 --batch-size 4

The notebooks' ``fit``; the process group, the DistributedDataParallel wrap, the samplers and
the summed validation live here, as in torchvision's reference script (``fit`` itself only
averages the epoch loss over processes and saves on rank 0). ``--batch-size`` is per process.
A model whose spec says ``"init": "encoder"`` starts from the course's encoder (``--encoder``,
default the shipped ``reference/encoder.pt``). A rerun resumes from the checkpoint.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, Subset

from course_utils import runtime
from course_utils.data import NormalizeBatch, crop_dataset, find_voc_root
from course_utils.models import load_encoder_

from . import checkpoints, recipes
from .evaluation import full_image_loader, summarize_matrix
from .loop import accel_for, evaluate, fit, prepare_model

ENCODER_FILE = runtime.REPO_ROOT / "reference" / f"{recipes.ENCODER}.pt"


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m course_utils.training",
                                description=__doc__.split("\n")[0])
    p.add_argument("--run", choices=sorted(n for n, c in recipes.RUNS.items()
                                           if c.get("task") != "classify"),
                   help="start from a recorded reference recipe (flags below override it)")
    p.add_argument("--model", choices=(*recipes.MODELS, "unet"),
                   help="an architecture of the comparisons, or the paper's U-Net (unet)")
    p.add_argument("--init", choices=("encoder", "random"),
                   help="start from the course's encoder or from random weights")
    p.add_argument("--encoder", type=Path, help="the encoder file (default: the shipped one, "
                   f"{ENCODER_FILE.relative_to(runtime.REPO_ROOT)})")
    p.add_argument("--depth", type=int, help="U-Net levels")
    p.add_argument("--width", type=int, help="U-Net channels at the top level")
    p.add_argument("--loss", choices=("ce", *recipes.LOSSES))
    for flag, kind in (("--epochs", int), ("--crop", int), ("--batch-size", int),
                       ("--lr", float), ("--seed", int)):
        p.add_argument(flag, type=kind)
    p.add_argument("--data", help="a VOC2012 folder (default: as the notebooks)")
    p.add_argument("--checkpoint", type=Path,
                   help="resumable checkpoint (.pt); default train-<run>.pt in "
                        "$COURSE_CHECKPOINT_DIR, else checkpoints/")
    p.add_argument("--results", type=Path, help="write the results here (.json)")
    p.add_argument("--device", help="cpu or cuda (default: the best available)")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def config_from(args) -> dict:
    """The run's plain-data config: a recorded recipe, or the defaults, with the flags on top."""
    cfg = dict(recipes.RUNS[args.run]) if args.run else {
        **recipes.SEGMENT, "model": dict(recipes.FCN8S), "epochs": recipes.EPOCHS, "seed": 0}
    cfg.pop("ship", None)
    if args.model:
        cfg["model"] = dict(recipes.UNET if args.model == "unet" else recipes.MODELS[args.model])
    if args.init:
        cfg["model"] = {**cfg["model"], "init": args.init}
    for key in ("depth", "width"):
        if getattr(args, key) is not None:
            if cfg["model"]["name"] != "unet":
                raise SystemExit(f"--{key} sets the U-Net's size; this run's model is "
                                 f"{cfg['model']['name']} (add --model unet)")
            cfg["model"] = {**cfg["model"], key: getattr(args, key)}  # a copy: RUNS stays
    if args.loss:
        cfg["loss"] = {"ce": {"name": "ce"}, **recipes.LOSSES}[args.loss]
    for key in ("epochs", "crop", "batch_size", "lr", "seed"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    return cfg


def _setup(device_type: str) -> torch.device:
    """This process's device, in torchrun's process group if there is one (NCCL, or gloo)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return torch.device(device_type)
    local = int(os.environ.get("LOCAL_RANK", 0))
    if device_type == "cuda":
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return torch.device("cuda", local)
    dist.init_process_group("gloo")
    torch.set_num_threads(1)  # the processes share the cores
    return torch.device("cpu")


def _rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def _world() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def _train_loader(cfg: dict, root) -> DataLoader:
    """Under torchrun each process shuffles its own share (``fit`` sets the epoch)."""
    dataset = crop_dataset(root, "train", cfg["crop"], cfg["resize"], cache=True)
    sampler = (DistributedSampler(dataset, shuffle=True, seed=cfg["seed"], drop_last=True)
               if dist.is_initialized() else None)
    return DataLoader(dataset, cfg["batch_size"], shuffle=sampler is None, sampler=sampler,
                      drop_last=True, generator=torch.Generator().manual_seed(cfg["seed"]),
                      pin_memory=torch.cuda.is_available(), collate_fn=NormalizeBatch())


def _validate(net, root):
    """The whole-image val confusion matrix: each process scores every ``world``-th image with
    rank 0's BatchNorm statistics (the ones the checkpoint keeps); the matrices are added up."""
    loader = full_image_loader(root, "val")
    if dist.is_initialized():
        for buffer in net.buffers():
            dist.broadcast(buffer, src=0)
    share = Subset(loader.dataset, range(_rank(), len(loader.dataset), _world()))
    cm = evaluate(net, DataLoader(share, batch_size=1, collate_fn=loader.collate_fn))
    if dist.is_initialized():
        dist.all_reduce(cm.matrix)
    return cm


def _encoder_state(path: Path) -> dict:
    """The encoder file's weights in float32, or exit saying how to get the file."""
    try:
        saved = checkpoints.load(path)["state_dict"]
    except FileNotFoundError:
        raise SystemExit(f"{runtime.relpath(path)} is missing: train the course's encoder with "
                         "`python -m course_utils.reference --only encoder`, or pass --init "
                         "random") from None
    return checkpoints.float_state(saved)


def run(args) -> dict:
    device = _setup(torch.device(args.device or runtime.device()).type)
    cfg, root = config_from(args), find_voc_root(args.data)
    runtime.set_seed(cfg["seed"])
    net = recipes.build_model(cfg["model"])
    if cfg["model"].get("init") == "encoder":
        load_encoder_(net, _encoder_state(args.encoder or ENCODER_FILE))
    net = prepare_model(net, accel_for(device, cfg.get("amp")))
    model = torch.nn.parallel.DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None
    ) if dist.is_initialized() else net
    checkpoint = args.checkpoint or runtime.checkpoint_dir() / f"train-{args.run or 'cli'}.pt"
    history = fit(model, _train_loader(cfg, root), loss=recipes.build_loss(cfg["loss"], root),
                  epochs=cfg["epochs"], lr=cfg["lr"], optimizer=cfg["optimizer"],
                  schedule=cfg["schedule"], device=device, checkpoint=checkpoint,
                  config={**cfg, "processes": _world()}, save=_rank() == 0,
                  progress=_rank() == 0 and not args.no_progress, amp=cfg.get("amp"))
    cm = _validate(net, root)
    results = {"config": cfg, "processes": _world(), "history": history,
               "val": summarize_matrix(cm), "confusion": cm.matrix.cpu().tolist(),
               "checkpoint": runtime.relpath(checkpoint)}
    if args.results and _rank() == 0:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1) + "\n")
    return results


def main(argv=None) -> int:
    """Run; rank 0 prints the val scores, or after Ctrl-C how to resume."""
    args = parse(argv)
    try:
        results = run(args)
    except KeyboardInterrupt:
        if _rank() == 0:
            print("interrupted; run the same command to resume", file=sys.stderr)
        return 130
    finally:
        rank = _rank()
        if dist.is_initialized():
            dist.destroy_process_group()
    if rank == 0:
        v, n = results["val"], results["processes"]
        print(f"val mIoU {v['miou']:.4f}, pixel accuracy {v['pixel_acc']:.4f} "
              f"({n} process{'es' * (n > 1)})")
    return 0
