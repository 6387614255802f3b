"""Baselines that need no spatial context: how far colour alone gets on a VOC-format set.

A data set worth segmenting must not be solvable pixel by pixel from colour. These baselines
classify every pixel from its own RGB value (a linear model and a small MLP), next to
"background everywhere"; their validation mIoU is what a segmentation network has to beat.
``python -m course_utils.metrics.baselines`` prints the table of ``data/README.md``.
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn

from course_utils.data import NUM_CLASSES, VOID, find_voc_root, read_example, read_split

from .scores import ConfusionMatrix


def _rgb(image: torch.Tensor) -> torch.Tensor:
    """A uint8 ``(3, H, W)`` image as one RGB row in [0, 1] per pixel: ``(H W, 3)``."""
    return image.flatten(1).T.float() / 255


def fit_colour_model(rgb, labels, hidden: int = 0, pixels: int = 400_000, passes: int = 8,
                     batch_size: int = 4096, lr: float = 3e-3, seed: int = 0) -> nn.Module:
    """A per-pixel classifier on RGB, linear (``hidden=0``) or an MLP with two hidden layers,
    trained with cross-entropy on ``pixels`` random labelled pixels."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    pick = torch.randperm(len(labels), generator=gen)[:pixels]
    x, y = rgb[pick], labels[pick]
    if hidden == 0:
        net = nn.Linear(3, NUM_CLASSES)
    else:
        net = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                            nn.ReLU(), nn.Linear(hidden, NUM_CLASSES))
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
            cm.update(predict(_rgb(image)).reshape(label.shape)[None], label[None])
    return cm.compute()


def measure(root=None, max_images: int | None = None, **fit_kw) -> dict[str, dict]:
    """Val scores of "all background", per-pixel logistic regression and MLP on RGB."""
    root = find_voc_root(root)
    train, val = ([read_example(root, i) for i in read_split(root, split)[:max_images]]
                  for split in ("train", "val"))
    rgb = torch.cat([_rgb(image) for image, _ in train])
    labels = torch.cat([label.flatten() for _, label in train])
    keep = labels != VOID  # train on the labelled pixels only
    out = {"background everywhere": score(lambda p: torch.zeros(len(p), dtype=torch.long), val)}
    for name, hidden in (("per-pixel logistic regression on RGB", 0),
                         ("per-pixel MLP on RGB (2 x 128 hidden)", 128)):
        net = fit_colour_model(rgb[keep], labels[keep], hidden, **fit_kw)
        out[name] = score(lambda p, net=net: net(p).argmax(1), val)
    return out


def table(results: dict[str, dict]) -> str:
    """The results as the markdown table of ``data/README.md``."""
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
