"""PASCAL VOC 2012 segmentation: classes, palette, finding the data, reading files.

VOC stores a class mask as a *palette* PNG: each pixel holds an index (0-20 for the 21
classes, 255 for the "void" band drawn around object borders) and the file's palette only
says how to colour it. Reading the indices directly keeps void as 255; RGB label files are
mapped back through the colormap (d2l's route), void's colour (224, 224, 192) to 255 too.

Every problem with the files raises :class:`VOCDataError`, naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from course_utils.runtime import REPO_ROOT

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "potted plant",
    "sheep", "sofa", "train", "tv/monitor",
)
NUM_CLASSES = len(VOC_CLASSES)
VOID = 255
VOID_COLOR = (224, 224, 192)

DATA_DIR = REPO_ROOT / "data"
REAL_VOC_DIR = DATA_DIR / "VOCdevkit" / "VOC2012"
MINI_VOC_DIR = DATA_DIR / "voc-mini" / "VOC2012"
ENV_VAR = "VOC_ROOT"
SPLITS = ("train", "val", "trainval")


class VOCDataError(ValueError):
    """A VOC file or folder is missing, unreadable or holds values it should not."""


def voc_palette() -> np.ndarray:
    """The VOC devkit's colour map, ``(256, 3)`` uint8: bits 3j, 3j+1, 3j+2 of index ``i`` are
    bit 7-j of its red, green and blue. Index 255 (void) comes out cream, (224, 224, 192)."""
    index = np.arange(256)
    cmap = np.zeros((256, 3), dtype=np.int64)
    for j in range(8):
        for k in range(3):
            cmap[:, k] |= ((index >> (3 * j + k)) & 1) << (7 - j)
    return cmap.astype(np.uint8)


PALETTE = voc_palette()
VOC_COLORMAP = [tuple(int(v) for v in PALETTE[i]) for i in range(NUM_CLASSES)]


# --------------------------------------------------------------------------- finding data
def _check_layout(root: Path, source: str = "") -> Path:
    """Accept a ``VOC2012`` folder or a ``VOCdevkit`` folder holding one; return the former.
    ``source`` (``$VOC_ROOT``) says in the error where a path that does not exist came from."""
    root = Path(root).expanduser()
    if not root.exists():
        raise VOCDataError(f"{source or 'the path'} points at {root}, which does not exist"
                           + (f" (unset {ENV_VAR} to use the bundled mini set)"
                              if source else ""))
    if (root / "VOC2012").is_dir() and not (root / "JPEGImages").is_dir():
        root = root / "VOC2012"
    missing = [d for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation")
               if not (root / d).is_dir()]
    if missing:
        raise VOCDataError(
            f"{root}: not a VOC 2012 folder (missing {', '.join(missing)}). Point at the folder "
            "that holds JPEGImages/, SegmentationClass/ and ImageSets/Segmentation/.")
    return root


def find_voc_root(root: str | os.PathLike | None = None) -> Path:
    """Where the VOC data is: ``root``, else ``$VOC_ROOT``, else real VOC in
    ``data/VOCdevkit/VOC2012``, else the bundled mini set. A given path that holds no VOC is an
    error, not a silent fall-back, so a typo never trains on the wrong data."""
    if root is not None:
        return _check_layout(Path(root))
    if os.environ.get(ENV_VAR):
        return _check_layout(Path(os.environ[ENV_VAR]), source=ENV_VAR)
    if (REAL_VOC_DIR / "JPEGImages").is_dir():
        return _check_layout(REAL_VOC_DIR)
    return _check_layout(MINI_VOC_DIR)


def is_mini(root: str | os.PathLike) -> bool:
    """True when ``root`` is the bundled mini data set rather than real VOC."""
    return Path(root).resolve() == MINI_VOC_DIR.resolve()


def data_tag(root: str | os.PathLike) -> str:
    """``mini`` for the bundled set, else ``voc-`` and 8 hex digits hashing its path and splits:
    checkpoints carry it, so a model of one ``VOC2012`` folder is never taken for another's."""
    if is_mini(root):
        return "mini"
    root = Path(root).resolve()
    digest = hashlib.sha256(str(root).encode())
    for split in SPLITS:
        f = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        digest.update(f.read_bytes() if f.is_file() else b"-")
    return "voc-" + digest.hexdigest()[:8]


def read_split(root: str | os.PathLike, split: str = "train") -> list[str]:
    """Image ids listed in ``ImageSets/Segmentation/<split>.txt``, blank lines skipped
    (``utf-8-sig`` drops the byte-order mark some Windows editors write before the first id)."""
    path = Path(root) / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not path.is_file():
        raise VOCDataError(f"{path}: split file not found (splits: {', '.join(SPLITS)})")
    text = path.read_text(encoding="utf-8-sig")
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    if not ids:
        raise VOCDataError(f"{path}: split '{split}' lists no images")
    return ids


# --------------------------------------------------------------------------- reading files
def _open(path: Path) -> Image.Image:
    """Open and fully decode an image file, turning any failure into a VOCDataError."""
    if not path.is_file():
        raise VOCDataError(f"{path}: file not found")
    try:
        img = Image.open(path)
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:  # PIL's errors for broken files
        raise VOCDataError(f"{path}: cannot decode image ({exc})") from None
    return img


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """An image as a ``(3, H, W)`` uint8 RGB tensor; grayscale, CMYK, palette images converted."""
    img = _open(Path(path)).convert("RGB")
    return torch.from_numpy(np.array(img)).permute(2, 0, 1).contiguous()


def colors_to_indices(rgb: np.ndarray, source: str | os.PathLike = "<array>") -> np.ndarray:
    """Map an ``(H, W, 3)`` RGB label image to class indices with the VOC colormap, void to 255.
    A colour that is no VOC class is an error naming ``source``, not silently background."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    known = {colour: i for i, colour in enumerate(VOC_COLORMAP)} | {VOID_COLOR: VOID}
    colours, inverse = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
    out = np.empty(len(colours), dtype=np.uint8)
    for k, colour in enumerate(map(tuple, colours.tolist())):
        if colour not in known:
            raise VOCDataError(f"{source}: colour {colour} is not a VOC class colour")
        out[k] = known[colour]
    return out[inverse.reshape(rgb.shape[:2])]


def read_mask(path: str | os.PathLike) -> torch.Tensor:
    """A class mask as an ``(H, W)`` int64 tensor of indices 0-20, with void kept as 255.
    Palette PNGs (VOC's own) are read as stored, RGB ones through the colormap."""
    path = Path(path)
    img = _open(path)
    if img.mode in ("P", "L"):
        idx = np.array(img)
    elif img.mode in ("RGB", "RGBA"):
        idx = colors_to_indices(np.array(img.convert("RGB")), path)
    else:
        raise VOCDataError(f"{path}: unsupported label image mode {img.mode!r}")
    bad = np.setdiff1d(np.unique(idx), np.r_[np.arange(NUM_CLASSES), VOID])
    if bad.size:
        raise VOCDataError(f"{path}: mask values {bad.tolist()} outside 0-{NUM_CLASSES - 1} "
                           f"and {VOID}")
    return torch.from_numpy(idx.astype(np.int64))


def read_object_mask(path: str | os.PathLike) -> torch.Tensor:
    """An object (instance) mask as an ``(H, W)`` int64 tensor: 0 background, 1..N objects,
    255 void, exactly as stored in VOC's ``SegmentationObject`` palette PNGs."""
    path = Path(path)
    img = _open(path)
    if img.mode not in ("P", "L"):
        raise VOCDataError(f"{path}: object mask must be a palette PNG, got mode {img.mode!r}")
    return torch.from_numpy(np.array(img).astype(np.int64))


def save_mask(mask, path: str | os.PathLike) -> None:
    """Write an ``(H, W)`` index mask as a VOC palette PNG (indices stored, palette attached)."""
    arr = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask)
    if arr.ndim != 2 or arr.min() < 0 or arr.max() > 255:
        raise ValueError(f"{path}: a mask must be 2-D with values 0-255, got shape {arr.shape}")
    img = Image.fromarray(arr.astype(np.uint8), mode="P")
    img.putpalette(PALETTE.flatten().tolist())
    img.save(path, optimize=True)


def image_path(root: str | os.PathLike, image_id: str) -> Path:
    return Path(root) / "JPEGImages" / f"{image_id}.jpg"


def mask_path(root: str | os.PathLike, image_id: str, kind: str = "SegmentationClass") -> Path:
    return Path(root) / kind / f"{image_id}.png"


def read_example(root: str | os.PathLike, image_id: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Image ``(3, H, W)`` uint8 and class mask ``(H, W)`` int64 of one id; sizes must agree."""
    img_p, mask_p = image_path(root, image_id), mask_path(root, image_id)
    image, mask = read_image(img_p), read_mask(mask_p)
    if tuple(image.shape[1:]) != tuple(mask.shape):
        raise VOCDataError(
            f"{mask_p}: mask size {tuple(mask.shape)} (H, W) differs from image "
            f"{img_p.name} size {tuple(image.shape[1:])}")
    return image, mask


def pixel_counts(root: str | os.PathLike, split: str = "train") -> torch.Tensor:
    """Pixels of each of the 21 classes over a split, void not counted: ``(21,)`` int64.
    Reads only the masks, cheap enough for imbalance statistics and class weights."""
    counts = torch.zeros(NUM_CLASSES, dtype=torch.int64)
    for image_id in read_split(root, split):
        m = read_mask(mask_path(root, image_id))
        counts += torch.bincount(m[m != VOID], minlength=NUM_CLASSES)
    return counts
