"""Colour-only baselines: able to learn colour when colour is the answer, and not enough on
the mini set (which must need shape and texture)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from course_utils.data import voc
from course_utils.data.voc import save_mask
from course_utils.metrics import baselines


def colour_coded_voc(root, n=6, size=32):
    """A VOC folder where class 1 is always red on a blue background: colour is the answer."""
    rng = np.random.default_rng(0)
    vroot = root / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (vroot / d).mkdir(parents=True)
    ids = [f"2099_{k:06d}" for k in range(n)]
    for image_id in ids:
        mask = np.zeros((size, size), np.uint8)
        top, left = rng.integers(0, size // 2, 2)
        mask[top:top + size // 2, left:left + size // 2] = 1
        rgb = np.where(mask[..., None] == 1, [220, 30, 30], [30, 30, 220]).astype(np.uint8)
        Image.fromarray(rgb).save(vroot / "JPEGImages" / f"{image_id}.jpg", quality=95)
        save_mask(mask, vroot / "SegmentationClass" / f"{image_id}.png")
    sets = vroot / "ImageSets" / "Segmentation"
    (sets / "train.txt").write_text("\n".join(ids[:4]) + "\n")
    (sets / "val.txt").write_text("\n".join(ids[4:]) + "\n")
    return vroot


def test_colour_models_learn_a_colour_coded_task(tmp_path):
    results = baselines.measure(colour_coded_voc(tmp_path), pixels=4000, passes=30,
                                batch_size=256, lr=1e-2)
    assert results["background everywhere"]["miou"] < 0.4
    for name, s in results.items():
        if "RGB" in name:
            assert s["miou"] > 0.9, (name, s["miou"])


def test_colour_alone_does_not_solve_the_mini_set():
    torch.set_num_threads(1)
    results = baselines.measure(voc.MINI_VOC_DIR, max_images=150, pixels=100_000, passes=3)
    for name, s in results.items():
        assert s["miou"] <= 0.10, (name, s["miou"])


