"""Build tiny VOC-layout folders in a test's tmp_path (shared by the voc tests), and other
stand-ins the tests share."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from course_utils.data.voc import save_mask

REPO = Path(__file__).resolve().parent.parent
SHARED_VOC = REPO.parent / "shared" / "voc2012-sample" / "VOC2012"


def make_voc(root: Path, sizes=((40, 60), (50, 30), (24, 24)), split="train", seed=0) -> Path:
    """A VOC2012 folder with one JPEG + palette mask per size (H, W); returns the VOC2012 path."""
    rng = np.random.default_rng(seed)
    voc = root / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "SegmentationObject", "ImageSets/Segmentation"):
        (voc / d).mkdir(parents=True, exist_ok=True)
    ids = []
    for k, (h, w) in enumerate(sizes):
        image_id = f"2099_{k:06d}"
        ids.append(image_id)
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(voc / "JPEGImages" / f"{image_id}.jpg", quality=95)
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1 + k % 20
        mask[h // 4, w // 4: 3 * w // 4] = 255
        save_mask(mask, voc / "SegmentationClass" / f"{image_id}.png")
    for name in {split, "trainval"}:
        (voc / "ImageSets" / "Segmentation" / f"{name}.txt").write_text("\n".join(ids) + "\n")
    return voc




def sleepy_job(name, cfg, report):
    """A stand-in for a reference run in a worker process: it reports, then sleeps."""
    report((name, 1))
    time.sleep(cfg["seconds"])
    return {"name": name}
