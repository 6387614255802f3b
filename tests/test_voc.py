"""The VOC reader: palette indices kept (void 255), RGB labels, data roots, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from voc_fixtures import SHARED_VOC, make_voc

from course_utils.data import voc
from course_utils.data.voc import VOCDataError


# ------------------------------------------------------------------ palette and colour route
def test_palette_matches_the_devkit_values():
    # Published VOC devkit colours (VOClabelcolormap.m): independent of our bit-twiddling.
    assert voc.VOC_COLORMAP[1] == (128, 0, 0)
    assert voc.VOC_COLORMAP[12] == (64, 0, 128)
    assert voc.VOC_COLORMAP[15] == (192, 128, 128)
    assert voc.VOC_COLORMAP[20] == (0, 64, 128)
    assert tuple(voc.PALETTE[255]) == voc.VOID_COLOR
    assert len(set(voc.VOC_COLORMAP)) == voc.NUM_CLASSES


def test_rgb_labels_map_through_the_colormap_with_void(tmp_path):
    idx = np.array([[0, 1, 15], [255, 20, 0]], np.uint8)
    rgb_path = tmp_path / "rgb.png"
    Image.fromarray(voc.PALETTE[idx]).save(rgb_path)
    np.testing.assert_array_equal(voc.read_mask(rgb_path).numpy(), idx)


def test_unknown_rgb_colour_names_file_and_colour(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[1, 2] = (1, 2, 3)
    path = tmp_path / "odd.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(VOCDataError, match=r"odd\.png.*\(1, 2, 3\)"):
        voc.read_mask(path)


def test_save_mask_round_trip_keeps_indices_and_palette(tmp_path):
    mask = np.random.default_rng(1).choice([0, 3, 7, 255], size=(17, 23)).astype(np.uint8)
    path = tmp_path / "m.png"
    voc.save_mask(mask, path)
    img = Image.open(path)
    assert img.mode == "P"
    assert img.getpalette()[: 3 * 256] == voc.PALETTE.flatten().tolist()
    np.testing.assert_array_equal(voc.read_mask(path).numpy(), mask)


# ------------------------------------------------------------------ real VOC files
needs_real = pytest.mark.skipif(not SHARED_VOC.is_dir(), reason="../shared/voc2012-sample absent")


@needs_real
def test_real_voc_masks_are_exactly_the_palette_indices_pil_reads():
    ids = voc.read_split(SHARED_VOC, "trainval")
    assert len(ids) == 39
    for image_id in ids:
        image, mask = voc.read_example(SHARED_VOC, image_id)
        raw = np.array(Image.open(voc.mask_path(SHARED_VOC, image_id)))
        np.testing.assert_array_equal(mask.numpy(), raw)
        assert image.dtype == torch.uint8 and image.shape[0] == 3
        assert (mask == 255).any(), f"{image_id}: void border lost"


@needs_real
def test_real_voc_2007_000032_pixel_counts_match_keras_cv_oracle():
    mask = voc.read_mask(voc.mask_path(SHARED_VOC, "2007_000032"))
    assert int((mask == 1).sum()) == 4734
    assert int((mask == 15).sum()) == 866
    assert sorted(mask.unique().tolist()) == [0, 1, 15, 255]


@needs_real
def test_real_voc_object_masks_keep_ids_and_void():
    obj = voc.read_object_mask(voc.mask_path(SHARED_VOC, "2007_000063", "SegmentationObject"))
    cls = voc.read_mask(voc.mask_path(SHARED_VOC, "2007_000063"))
    assert sorted(obj.unique().tolist()) == [0, 1, 2, 255]
    assert torch.equal(obj == 255, cls == 255)


@needs_real
def test_real_voc_pixel_counts_agree_with_bincount_over_pil():
    counts = voc.pixel_counts(SHARED_VOC, "val")
    expected = np.zeros(21, np.int64)
    for image_id in voc.read_split(SHARED_VOC, "val"):
        raw = np.array(Image.open(voc.mask_path(SHARED_VOC, image_id))).ravel()
        expected += np.bincount(raw[raw != 255], minlength=21)
    np.testing.assert_array_equal(counts.numpy(), expected)


# ------------------------------------------------------------------ finding the data
def test_find_voc_root_prefers_explicit_then_env_then_real_then_mini(tmp_path, monkeypatch):
    a = make_voc(tmp_path / "a")
    b = make_voc(tmp_path / "b")
    real = make_voc(tmp_path / "data" / "VOCdevkit")
    monkeypatch.setattr(voc, "REAL_VOC_DIR", real)
    monkeypatch.setenv(voc.ENV_VAR, str(b.parent))  # a VOCdevkit-style parent is accepted
    assert voc.find_voc_root(a) == a
    assert voc.find_voc_root() == b
    monkeypatch.delenv(voc.ENV_VAR)
    assert voc.find_voc_root() == real
    mini = make_voc(tmp_path / "mini")
    monkeypatch.setattr(voc, "REAL_VOC_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(voc, "MINI_VOC_DIR", mini)
    assert voc.find_voc_root() == mini
    assert voc.is_mini(mini) and not voc.is_mini(real)


def test_wrong_root_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(VOCDataError, match="not a VOC 2012 folder.*JPEGImages"):
        voc.find_voc_root(tmp_path)
    monkeypatch.setenv(voc.ENV_VAR, str(tmp_path / "typo"))
    with pytest.raises(VOCDataError, match="typo"):
        voc.find_voc_root()


# ------------------------------------------------------------------ bad input
def test_missing_and_empty_split_files(tmp_path):
    root = make_voc(tmp_path)
    with pytest.raises(VOCDataError, match=r"val\.txt: split file not found"):
        voc.read_split(root, "val")
    (root / "ImageSets/Segmentation/val.txt").write_text("\n\n")
    with pytest.raises(VOCDataError, match=r"val\.txt: split 'val' lists no images"):
        voc.read_split(root, "val")


def test_listed_id_missing_on_disk(tmp_path):
    root = make_voc(tmp_path)
    (root / "JPEGImages" / "2099_000001.jpg").unlink()
    with pytest.raises(VOCDataError, match=r"2099_000001\.jpg: file not found"):
        voc.read_example(root, "2099_000001")


@pytest.mark.parametrize("which", ["JPEGImages/2099_000000.jpg",
                                   "SegmentationClass/2099_000000.png"])
def test_truncated_or_corrupt_files(tmp_path, which):
    root = make_voc(tmp_path)
    path = root / which
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(VOCDataError, match=path.name + ": cannot decode image"):
        voc.read_example(root, "2099_000000")
    path.write_bytes(b"this is not an image")
    with pytest.raises(VOCDataError, match=path.name):
        voc.read_example(root, "2099_000000")


def test_size_mismatch_names_both_files(tmp_path):
    root = make_voc(tmp_path)
    voc.save_mask(np.zeros((10, 10), np.uint8), root / "SegmentationClass" / "2099_000000.png")
    msg = r"2099_000000\.png: mask size \(10, 10\).*2099_000000\.jpg"
    with pytest.raises(VOCDataError, match=msg):
        voc.read_example(root, "2099_000000")


def test_mask_values_outside_the_classes(tmp_path):
    path = tmp_path / "bad.png"
    voc.save_mask(np.array([[0, 21], [100, 255]], np.uint8), path)
    with pytest.raises(VOCDataError, match=r"bad\.png: mask values \[21, 100\]"):
        voc.read_mask(path)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grayscale_and_cmyk_jpegs_are_read_as_rgb(tmp_path, mode):
    rng = np.random.default_rng(0)
    shape = (12, 9) if mode == "L" else (12, 9, 4)
    img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode)
    path = tmp_path / "x.jpg"
    img.save(path)
    expected = np.array(Image.open(path).convert("RGB"))
    got = voc.read_image(path)
    assert got.shape == (3, 12, 9) and got.dtype == torch.uint8
    np.testing.assert_array_equal(got.permute(1, 2, 0).numpy(), expected)


def test_data_tag_tells_the_mini_set_from_other_voc_folders(tmp_path):
    assert voc.data_tag(voc.MINI_VOC_DIR) == "mini"
    a = make_voc(tmp_path / "a")
    b = make_voc(tmp_path / "b")
    tag = voc.data_tag(a)
    assert tag.startswith("voc-") and len(tag) == 12 and tag == voc.data_tag(a)
    assert voc.data_tag(b) != tag  # same name VOC2012, another folder
    (a / "ImageSets/Segmentation/train.txt").write_text("2099_000000\n")
    assert voc.data_tag(a) != tag  # same folder, other splits


def test_voc_root_pointing_nowhere_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(voc.ENV_VAR, str(tmp_path / "typo"))
    with pytest.raises(VOCDataError, match=r"VOC_ROOT points at .*typo, which does not exist"):
        voc.find_voc_root()
    with pytest.raises(VOCDataError, match="does not exist"):
        voc.find_voc_root(tmp_path / "nowhere")


def test_split_file_with_a_byte_order_mark(tmp_path):
    root = make_voc(tmp_path)
    path = root / "ImageSets/Segmentation/train.txt"
    ids = voc.read_split(root, "train")
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(ids).encode() + b"\r\n")
    assert voc.read_split(root, "train") == ids
    image, mask = voc.read_example(root, voc.read_split(root, "train")[0])
    assert image.shape[1:] == mask.shape
