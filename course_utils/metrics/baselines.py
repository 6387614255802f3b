"""Baselines that need no spatial context: how far colour alone gets on a VOC-format set.

A data set worth segmenting must not be solvable pixel by pixel from colour. These baselines
classify every pixel from its own RGB value (a linear model and a small MLP, trained with
cross-entropy on random training pixels), next to "background everywhere"; their validation
mIoU is what a real segmentation network has to beat. ``python -m course_utils.metrics.baselines``
prints the table of ``data/README.md`` (``tools/readme_tables.py --baselines`` writes it there).
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn

from course_utils.data import (
    NUM_CLASSES,
    VOID,
    find_voc_root,
    read_example,
    read_split,
)

from .scores import ConfusionMatrix


def _pixels(root, split: str, max_images: int | None = None):
    """All labelled pixels of a split: RGB in [0, 1] ``(P, 3)`` and labels ``(P,)``, plus
    the per-image tensors (to score whole images)."""
    images = [read_example(root, i) for i in read_split(root, split)[:max_images]]
    rgb = torch.cat([im.flatten(1).T.float() / 255 for im, _ in images])
    labels = torch.cat([lab.flatten() for _, lab in images])
    keep = labels != VOID
    return rgb[keep], labels[keep], images


def colour_model(hidden: int = 0) -> nn.Module:
    """Per-pixel classifier on RGB: linear (``hidden=0``) or an MLP with two hidden layers."""
    if hidden == 0:
        return nn.Linear(3, NUM_CLASSES)
    return nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, NUM_CLASSES))


def fit_colour_model(rgb, labels, hidden: int = 0, pixels: int = 400_000, passes: int = 8,
                     batch_size: int = 4096, lr: float = 3e-3, seed: int = 0) -> nn.Module:
    """Train :func:`colour_model` with cross-entropy on ``pixels`` random labelled pixels."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    pick = torch.randperm(len(labels), generator=gen)[:pixels]
    x, y = rgb[pick], labels[pick]
    net = colour_model(hidden)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(passes):
        for idx in torch.randperm(len(y), generator=gen).split(batch_size):
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def score(predict, images) -> dict:
    """Scores of ``predict(rgb (P, 3)) -> labels (P,)`` over whole images, void ignored."""
    cm = ConfusionMatrix(NUM_CLASSES)
    with torch.no_grad():
        for image, label in images:
            pred = predict(image.flatten(1).T.float() / 255).reshape(label.shape)
            cm.update(pred[None], label[None])
    return cm.compute()


def measure(root=None, max_images: int | None = None, **fit_kw) -> dict[str, dict]:
    """Val scores of "all background", per-pixel logistic regression and MLP on RGB."""
    root = find_voc_root(root)
    rgb, labels, _ = _pixels(root, "train", max_images)
    _, _, val = _pixels(root, "val", max_images)
    out = {"background everywhere": score(lambda p: torch.zeros(len(p), dtype=torch.long), val)}
    for name, hidden in (("per-pixel logistic regression on RGB", 0),
                         ("per-pixel MLP on RGB (2 x 128 hidden)", 128)):
        net = fit_colour_model(rgb, labels, hidden, **fit_kw)
        out[name] = score(lambda p, net=net: net(p).argmax(1), val)
    return out


def table(results: dict[str, dict]) -> str:
    lines = ["| model | val mIoU | pixel accuracy |", "|---|---:|---:|"]
    lines += [f"| {name} | {s['miou']:.3f} | {s['pixel_acc']:.3f} |"
              for name, s in results.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m course_utils.metrics.baselines",
                                description=__doc__.split("\n")[0])
    p.add_argument("--root", default=None, help="a VOC2012 folder (default: as the notebooks)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(table(measure(args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
