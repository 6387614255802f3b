"""The bundled mini data set: a deterministic generator of VOC 2012-format segmentation data.

``python -m course_utils.data.synth`` writes ``data/voc-mini/VOC2012`` in VOC's layout; what the
images hold, and why: ``data/README.md``.
"""

import argparse
import filecmp
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..voc import MINI_VOC_DIR, NUM_CLASSES, VOC_CLASSES, VOID, image_path, mask_path, save_mask
from .scene import SEED, make_example

N_TRAIN, N_VAL = 1000, 200
JPEG_QUALITY = 90
FOLDERS = ("JPEGImages", "SegmentationClass", "SegmentationObject")


def image_id(index: int) -> str:
    """VOC-style id of image ``index`` (0-based): ``2026_000001`` for index 0."""
    return f"2026_{index + 1:06d}"


def write_example(root: Path, index: int, seed: int = SEED) -> None:
    """Generate image ``index`` and write its JPEG and both palette PNGs under ``root``."""
    iid = image_id(index)
    image, cls, obj = make_example(index, seed)
    Image.fromarray(image).save(image_path(root, iid), quality=JPEG_QUALITY)
    save_mask(cls, mask_path(root, iid, "SegmentationClass"))
    save_mask(obj, mask_path(root, iid, "SegmentationObject"))


def split_ids(n_train: int = N_TRAIN, n_val: int = N_VAL) -> dict[str, list[str]]:
    """Ids of each split: the first ``n_train`` indices train, the next ``n_val`` val."""
    if n_train < 1 or n_val < 1:
        raise ValueError(f"n_train={n_train}, n_val={n_val}: each split needs an image")
    train = [image_id(i) for i in range(n_train)]
    val = [image_id(i) for i in range(n_train, n_train + n_val)]
    return {"train": train, "val": val, "trainval": sorted(train + val)}


def generate(out: str | os.PathLike = MINI_VOC_DIR, n_train: int = N_TRAIN, n_val: int = N_VAL,
             seed: int = SEED) -> Path:
    """Write the whole set under ``out`` (a ``VOC2012`` folder) and return it. ``trainval.txt``
    is written last (its presence means "data ready"); files of ids no longer in the set go."""
    splits = split_ids(n_train, n_val)
    out = Path(out)
    sets = out / "ImageSets" / "Segmentation"
    (sets / "trainval.txt").unlink(missing_ok=True)
    for folder in (*FOLDERS, sets):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for i in range(n_train + n_val):
        write_example(out, i, seed)
    wanted = set(splits["trainval"])
    for folder in FOLDERS:
        for f in (out / folder).iterdir():
            if f.stem not in wanted:
                f.unlink()
    for name in ("train", "val", "trainval"):
        (sets / f"{name}.txt").write_text("".join(f"{i}\n" for i in splits[name]))
    return out


# --------------------------------------------------------------------------- checking
def _differs(a: Path, b: Path) -> str | None:
    """Why files ``a`` (committed) and ``b`` (regenerated) differ, or None. JPEGs need only decode
    to the same pixels: their bytes may differ with the JPEG library version."""
    if a.suffix == ".jpg":
        pa, pb = (np.asarray(Image.open(p).convert("RGB"), int) for p in (a, b))
        if pa.shape != pb.shape:
            return f"image size {pa.shape} != regenerated {pb.shape}"
        diff = np.abs(pa - pb).max()
        return f"pixels differ (max |diff| {diff})" if diff else None
    if filecmp.cmp(a, b, shallow=False):
        return None
    if a.suffix == ".png" and np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))):
        return "same mask values but different PNG bytes (another zlib/Pillow version?)"
    return "content differs"


def compare(committed: str | os.PathLike, regenerated: str | os.PathLike,
            files: list[str] | None = None) -> str | None:
    """First difference between two generated folders as a message naming the committed file,
    or None; ``files`` (relative paths) limits the comparison, default every file of either."""
    committed, regenerated = Path(committed), Path(regenerated)
    if files is None:
        files = sorted({p.relative_to(root).as_posix() for root in (committed, regenerated)
                        for p in root.rglob("*") if p.is_file()})
    for rel in files:
        if not (regenerated / rel).is_file():
            return f"{committed / rel}: not generated (a stray file?)"
        if not (committed / rel).is_file():
            return f"{committed / rel}: missing"
        why = _differs(committed / rel, regenerated / rel)
        if why:
            return f"{committed / rel}: {why}"
    return None


def check(root: str | os.PathLike = MINI_VOC_DIR, n_train: int = N_TRAIN, n_val: int = N_VAL,
          seed: int = SEED) -> str | None:
    """Regenerate the whole set into a temporary folder and compare it with ``root``."""
    with tempfile.TemporaryDirectory() as tmp:
        return compare(root, generate(Path(tmp) / "VOC2012", n_train, n_val, seed))


# --------------------------------------------------------------------------- statistics
def stats(root: str | os.PathLike = MINI_VOC_DIR) -> dict:
    """Statistics of a VOC-format folder, computed from its files (for ``data/README.md``)."""
    root = Path(root)
    ids = {s: (root / "ImageSets/Segmentation" / f"{s}.txt").read_text().split()
           for s in ("train", "val")}
    pixels = np.zeros(256, np.int64)
    images = np.zeros(NUM_CLASSES, np.int64)
    objects = np.zeros(NUM_CLASSES, np.int64)
    per_image, sizes = [], []
    for iid in ids["train"] + ids["val"]:
        cls = np.asarray(Image.open(mask_path(root, iid, "SegmentationClass")))
        obj = np.asarray(Image.open(mask_path(root, iid, "SegmentationObject")))
        pixels += np.bincount(cls.ravel(), minlength=256)
        images[np.unique(cls[cls != VOID])] += 1
        inst = [int(k) for k in np.unique(obj) if k not in (0, VOID)]
        for k in inst:
            objects[int(cls[obj == k][0])] += 1
        per_image.append(len(inst))
        sizes.append(cls.shape)
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    return {"n_train": len(ids["train"]), "n_val": len(ids["val"]), "pixels": pixels,
            "images": images, "objects": objects, "per_image": np.array(per_image),
            "sizes": np.array(sizes), "bytes": total}


def stats_markdown(s: dict) -> str:
    """:func:`stats` as the markdown tables of ``data/README.md``."""
    labelled = s["pixels"][:NUM_CLASSES].sum()
    hs, ws = s["sizes"][:, 0], s["sizes"][:, 1]
    per = s["per_image"]
    lines = [
        f"- images: {s['n_train']} train + {s['n_val']} val = {s['n_train'] + s['n_val']}; "
        f"total size {s['bytes'] / 1e6:.1f} MB",
        f"- image sizes: height {hs.min()}-{hs.max()}, width {ws.min()}-{ws.max()} px "
        f"(median {int(np.median(hs))} x {int(np.median(ws))}); {int((hs > ws).sum())} "
        f"portrait, {int((hs < ws).sum())} landscape, {int((hs == ws).sum())} square; "
        f"{int(((hs < 128) | (ws < 128)).sum())} with a side under 128 px, "
        f"{int(((hs < 128) & (ws < 128)).sum())} smaller than 128 x 128",
        f"- objects per image: mean {per.mean():.2f}, min {per.min()}, max {per.max()}; "
        f"images with N objects: " + ", ".join(f"{n}: {int((per == n).sum())}"
                                               for n in range(per.min(), per.max() + 1)),
        f"- void (255) share of all pixels: {100 * s['pixels'][VOID] / s['pixels'].sum():.1f} %",
        "",
        "| class | id | pixel share (of labelled) | images | objects |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in range(NUM_CLASSES):
        lines.append(f"| {VOC_CLASSES[c]} | {c} | {100 * s['pixels'][c] / labelled:.2f} % | "
                     f"{s['images'][c]} | {s['objects'][c] if c else '-'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: generate (default), ``--check`` or ``--stats``."""
    p = argparse.ArgumentParser(prog="python -m course_utils.data.synth",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=MINI_VOC_DIR, help="the VOC2012 folder")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--n-train", type=int, default=N_TRAIN)
    p.add_argument("--n-val", type=int, default=N_VAL)
    p.add_argument("--check", action="store_true",
                   help="regenerate into a temporary folder and compare with --out")
    p.add_argument("--stats", action="store_true", help="print statistics of --out")
    args = p.parse_args(argv)
    if args.check:
        problem = check(args.out, args.n_train, args.n_val, args.seed)
        if problem:
            print(f"MISMATCH: {problem}\nRegenerate with: python -m course_utils.data.synth",
                  file=sys.stderr)
            return 1
        print(f"{args.out}: matches regeneration (seed {args.seed})")
        return 0
    if args.stats:
        print(stats_markdown(stats(args.out)))
        return 0
    out = generate(args.out, args.n_train, args.n_val, args.seed)
    print(f"wrote {args.n_train} train + {args.n_val} val images to {out}")
    return 0
