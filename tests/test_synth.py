"""Tests of the mini data set generator and of the committed set in data/voc-mini.

The VOC rules are checked with plain numpy and PIL (an oracle independent of the generator):
palette PNGs, values 0-20 and 255, object ids 1..N each over one class, background and void
identical in class and object masks, no two classes meeting without a void band between them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from course_utils.data import voc
from course_utils.data.synth import mini_set as synth
from course_utils.data.synth import scene as synth_scene

COMMITTED = voc.MINI_VOC_DIR
N_TRAIN, N_VAL = 6, 3


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A small set (6 train + 3 val) generated once for the module."""
    return synth.generate(tmp_path_factory.mktemp("mini") / "VOC2012", N_TRAIN, N_VAL)


def _arrays(root: Path, image_id: str):
    """Decoded image, class and object masks (PIL images) of one id."""
    return (Image.open(voc.image_path(root, image_id)),
            Image.open(voc.mask_path(root, image_id, "SegmentationClass")),
            Image.open(voc.mask_path(root, image_id, "SegmentationObject")))


def _problems(root: Path, image_id: str) -> list[str]:
    """Every VOC rule one example breaks (empty when valid)."""
    jpg, cls_im, obj_im = _arrays(root, image_id)
    out = []
    if jpg.format != "JPEG" or jpg.mode != "RGB":
        out.append(f"jpg {jpg.format}/{jpg.mode}")
    for name, im in (("class", cls_im), ("object", obj_im)):
        pal = np.array(im.getpalette() or [], np.uint8).reshape(-1, 3)
        if im.mode != "P" or len(pal) < 256 or not np.array_equal(pal[:256], voc.PALETTE):
            out.append(f"{name} mask is not a VOC palette PNG")
        if im.size != jpg.size:
            out.append(f"{name} size {im.size} != image {jpg.size}")
    cls, obj = np.asarray(cls_im), np.asarray(obj_im)
    if not set(np.unique(cls).tolist()) <= set(range(21)) | {255}:
        out.append(f"class values {np.unique(cls).tolist()}")
    if not (np.array_equal(cls == 0, obj == 0) and np.array_equal(cls == 255, obj == 255)):
        out.append("background/void differ between class and object masks")
    inst = [int(k) for k in np.unique(obj) if k not in (0, 255)]
    if inst != list(range(1, len(inst) + 1)):
        out.append(f"object ids {inst} are not 1..N")
    for k in inst:
        under = np.unique(cls[obj == k])
        if len(under) != 1 or under[0] in (0, 255):
            out.append(f"object {k} lies over classes {under.tolist()}")
    for a, b in ((cls[1:], cls[:-1]), (cls[:, 1:], cls[:, :-1])):
        meet = (a != b) & (a != 255) & (b != 255)
        if meet.any():
            out.append("two classes meet without a void band")
            break
    return out


def _all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _masks(root: Path, split: str = "trainval"):
    for image_id in voc.read_split(root, split):
        _, cls_im, obj_im = _arrays(root, image_id)
        yield image_id, np.asarray(cls_im), np.asarray(obj_im)


# --------------------------------------------------------------------------- generator
def test_generation_is_deterministic(small, tmp_path):
    again = synth.generate(tmp_path / "VOC2012", N_TRAIN, N_VAL)
    first, second = _all_files(small), _all_files(again)
    assert len(first) == 3 * (N_TRAIN + N_VAL) + 3
    assert first == second


def test_an_image_does_not_depend_on_the_others():
    """Image ``index`` comes from ``(seed, index)`` alone, and the seed matters."""
    a = synth.make_example(7)
    for _ in range(2):
        synth.make_example(3)
    b = synth.make_example(7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    other = synth.make_example(7, seed=synth.SEED + 1)
    assert not np.array_equal(a[1], other[1])


def test_layout_and_split_files(small):
    sets = small / "ImageSets" / "Segmentation"
    train, val = voc.read_split(small, "train"), voc.read_split(small, "val")
    assert (len(train), len(val)) == (N_TRAIN, N_VAL)
    assert not set(train) & set(val)
    assert voc.read_split(small, "trainval") == sorted(train + val)
    assert all(len(i) == 11 and i[4] == "_" and i.replace("_", "").isdigit() for i in train + val)
    for name in ("train", "val", "trainval"):
        assert (sets / f"{name}.txt").read_text().endswith("\n")
    for d, ext in (("JPEGImages", "jpg"), ("SegmentationClass", "png"),
                   ("SegmentationObject", "png")):
        assert sorted(p.stem for p in (small / d).glob(f"*.{ext}")) == sorted(train + val)


def test_small_set_follows_voc_rules(small):
    for image_id in voc.read_split(small, "trainval"):
        assert _problems(small, image_id) == [], image_id


def test_void_band_surrounds_every_object(small):
    """Each object borders void: the band runs along its outline, a few px wide."""
    for image_id, cls, obj in _masks(small):
        void = cls == 255
        assert 0.01 < void.mean() < 0.25, image_id
        for k in np.unique(obj):
            if k in (0, 255):
                continue
            grown = ndimage.binary_dilation(obj == k)
            assert (grown & void).any(), (image_id, k)
        widths = ndimage.distance_transform_edt(void)
        assert widths.max() <= 4, image_id  # ~2 px band; a little more where bands meet


def test_rerun_with_fewer_images_removes_stale_files(tmp_path):
    out = synth.generate(tmp_path / "VOC2012", 3, 2)
    synth.generate(out, 2, 1)
    assert sorted(p.stem for p in (out / "JPEGImages").iterdir()) == voc.read_split(out,
                                                                                   "trainval")
    assert len(voc.read_split(out, "trainval")) == 3


def test_an_empty_split_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="n_val=0"):
        synth.generate(tmp_path / "VOC2012", 3, 0)
    assert not (tmp_path / "VOC2012").exists()


# --------------------------------------------------------------------------- check path
def test_check_detects_a_changed_mask_and_names_it(small, tmp_path, capsys):
    copy = tmp_path / "VOC2012"
    shutil.copytree(small, copy)
    args = ["--check", "--out", str(copy), "--n-train", str(N_TRAIN), "--n-val", str(N_VAL)]
    assert synth.main(args) == 0
    target = voc.mask_path(copy, voc.read_split(copy, "val")[0], "SegmentationObject")
    mask = np.asarray(Image.open(target)).copy()
    mask[0, 0] = 7
    voc.save_mask(mask, target)
    assert synth.main(args) == 1
    assert target.name in capsys.readouterr().err


def test_check_detects_changed_image_pixels_and_split_files(small, tmp_path):
    copy = tmp_path / "VOC2012"
    shutil.copytree(small, copy)
    jpg = voc.image_path(copy, voc.read_split(copy, "train")[1])
    pixels = np.asarray(Image.open(jpg)).copy()
    pixels[:8, :8] = 255 - pixels[:8, :8]
    Image.fromarray(pixels).save(jpg, quality=synth.JPEG_QUALITY)
    message = synth.check(copy, N_TRAIN, N_VAL)
    assert message is not None and jpg.name in message and "pixels differ" in message
    shutil.copy(small / "ImageSets/Segmentation/train.txt", copy / "ImageSets/Segmentation/val.txt")
    assert "val.txt" in synth.compare(copy, small, ["ImageSets/Segmentation/val.txt"])


def test_compare_names_stray_and_missing_files(small, tmp_path):
    copy = tmp_path / "VOC2012"
    shutil.copytree(small, copy)
    assert synth.compare(copy, small) is None
    stray = copy / "JPEGImages" / "stray.jpg"
    stray.write_bytes(b"")
    assert synth.compare(copy, small) == f"{stray}: not generated (a stray file?)"
    stray.unlink()
    first = voc.image_path(copy, voc.read_split(copy, "train")[0])
    first.unlink()
    assert synth.compare(copy, small) == f"{first}: missing"


# --------------------------------------------------------------------------- committed set
committed = pytest.mark.skipif(not (COMMITTED / "ImageSets/Segmentation/trainval.txt").is_file(),
                               reason="data/voc-mini not generated")


@pytest.fixture(scope="module")
def committed_masks():
    """``(id, class mask, object mask)`` of every committed image, read once."""
    return list(_masks(COMMITTED))


@committed
def test_committed_set_matches_regeneration(tmp_path):
    """Spot check (first and last of each split) plus the split files, byte for byte; the
    full comparison is ``make data`` / ``python -m course_utils.data.synth --check``."""
    for folder in synth.FOLDERS:
        (tmp_path / folder).mkdir()
    for i in [0, 1, synth.N_TRAIN - 1, synth.N_TRAIN, synth.N_TRAIN + synth.N_VAL - 1]:
        synth.write_example(tmp_path, i)
    files = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*")]
    assert len(files) == 15
    assert synth.compare(COMMITTED, tmp_path, files) is None
    for name, ids in synth.split_ids().items():
        path = COMMITTED / "ImageSets" / "Segmentation" / f"{name}.txt"
        assert path.read_text() == "".join(f"{i}\n" for i in ids)


@committed
def test_committed_set_follows_voc_rules():
    ids = voc.read_split(COMMITTED, "trainval")
    assert len(ids) == synth.N_TRAIN + synth.N_VAL
    bad = {i: p for i in ids if (p := _problems(COMMITTED, i))}
    assert bad == {}
    shipped = [*COMMITTED.parent.rglob("*"), *COMMITTED.parent.parent.glob("*.md")]
    assert sum(p.stat().st_size for p in shipped if p.is_file()) < 30e6  # data/ under 30 MB


@committed
def test_committed_sizes_vary(committed_masks):
    sizes = np.array([cls.shape for _, cls, _ in committed_masks])
    h, w = sizes[:, 0], sizes[:, 1]
    low, high = synth_scene.SIZE_RANGE
    assert h.min() >= low and max(h.max(), w.max()) <= high
    assert (h > w).sum() > 50 and (h < w).sum() > 50
    assert ((h < 128) & (w < 128)).sum() >= 5
    assert len({tuple(s) for s in sizes}) > 200


@committed
def test_committed_classes_are_imbalanced(committed_masks):
    counts = sum(np.bincount(cls.ravel(), minlength=256) for _, cls, _ in committed_masks)[:21]
    share = counts / counts.sum()
    assert share[0] > 0.5
    assert (counts[1:] > 0).all()
    assert share[1:].max() / share[1:].min() > 5


@committed
def test_committed_set_has_touching_objects_of_one_class(committed_masks):
    """Touching same-class objects are one connected component of the class mask but two
    objects: the case where connected components fail (notebook 02)."""
    merged = 0
    for _, cls, obj in committed_masks:
        for c in np.unique(cls):
            if c in (0, 255):
                continue
            parts, n = ndimage.label(cls == c)
            for p in range(1, n + 1):
                merged += len(np.unique(obj[parts == p])) > 1
    assert merged >= 40


@committed
def test_committed_colours_do_not_give_away_the_class(committed_masks):
    """An object's mean colour predicts its class no better than always guessing the most
    common class (nearest class-centroid, trainval objects)."""
    feats, labels = [], []
    for image_id, cls, obj in committed_masks:
        rgb = np.asarray(Image.open(voc.image_path(COMMITTED, image_id)), float)
        for k in np.unique(obj):
            if k not in (0, 255):
                feats.append(rgb[obj == k].mean(0))
                labels.append(int(cls[obj == k][0]))
    f, y = np.array(feats), np.array(labels)
    centroids = np.array([f[y == c].mean(0) for c in range(1, 21)])
    pred = 1 + ((f[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)
    assert (pred == y).mean() < np.bincount(y).max() / len(y)


def test_stats_agree_with_independent_counts(small):
    s = synth.stats(small)
    counts = voc.pixel_counts(small, "train") + voc.pixel_counts(small, "val")
    assert s["pixels"][:21].tolist() == counts.tolist()
    objects = sum(len(set(np.unique(obj).tolist()) - {0, 255}) for _, _, obj in _masks(small))
    assert s["objects"].sum() == s["per_image"].sum() == objects
    assert (s["n_train"], s["n_val"]) == (N_TRAIN, N_VAL)
    text = synth.stats_markdown(s)
    assert f"{N_TRAIN} train + {N_VAL} val" in text and "| potted plant | 16 |" in text




# --------------------------------------------------------------------------- the classification set
def test_object_boxes_hand_worked():
    from course_utils.data.synth import objects
    cls = np.zeros((6, 8), np.uint8)
    obj = np.zeros((6, 8), np.uint8)
    cls[1:3, 2:5], obj[1:3, 2:5] = 15, 1  # a person, rows 1-2, columns 2-4
    cls[4, 6], obj[4, 6] = 12, 2  # a one-pixel dog
    cls[0, :], obj[0, :] = 255, 255  # void is never an object
    assert objects.object_boxes(cls, obj) == [(14, (1, 2, 3, 5)), (11, (4, 6, 5, 7))]


def test_square_crop_widens_the_box_and_fills_outside_with_the_mean_colour():
    from course_utils.data.synth import objects
    image = np.zeros((20, 20, 3), np.uint8)
    image[:, :10] = 200  # left half bright, mean colour 100
    crop = objects.square_crop(image, (0, 0, 10, 10), size=20, context=0.5)  # side 20 at -5
    assert crop.shape == (20, 20, 3) and crop.dtype == np.uint8
    assert (crop[0, 0] == 100).all()  # off the image: the mean colour
    assert (crop[10, 8] == 200).all() and (crop[10, 17] == 0).all()  # centred on the box


def test_object_crops_come_from_other_scenes_than_the_mini_set():
    from course_utils.data.synth import objects
    with pytest.raises(ValueError, match="mini set's own scenes"):
        objects.object_crops(synth_scene.SEED, 1)
    assert synth_scene.SEED not in objects.SEEDS.values()
    assert len(set(objects.SEEDS.values())) == len(objects.SEEDS)  # train and held-out apart
    images, labels = objects.object_crops(objects.SEEDS["heldout"], 3, size=24)
    n = sum(len(objects.object_boxes(*synth_scene.make_example(i, objects.SEEDS["heldout"])[1:]))
            for i in range(3))
    assert images.shape == (n, 24, 24, 3) and labels.shape == (n,)
    assert labels.min() >= 0 and labels.max() < objects.CLASSES
    again, _ = objects.object_crops(objects.SEEDS["heldout"], 3, size=24)
    assert np.array_equal(images, again)  # deterministic
