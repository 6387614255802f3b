"""Instances from VOC object + class masks, conversions both ways, boxes, Mask R-CNN targets.

Oracles: hand-built masks, torchvision.ops.masks_to_boxes, a breadth-first flood fill for
connected components, the instance->class table of ../shared/voc2012-sample/SOURCE.md, and
torchvision's Mask R-CNN itself (it must accept the target and return finite losses).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from torchvision.ops import masks_to_boxes
from voc_fixtures import SHARED_VOC

from course_utils.data import instances as I
from course_utils.data import voc
from course_utils.data.voc import VOID, VOCDataError


def two_objects():
    """A 10x12 scene: a cat (id 1, class 8) and a dog (id 2, class 12), void around both."""
    obj = torch.zeros(10, 12, dtype=torch.int64)
    cls = torch.zeros_like(obj)
    obj[1:5, 1:6], cls[1:5, 1:6] = 1, 8
    obj[6:9, 4:11], cls[6:9, 4:11] = 2, 12
    obj[5, 1:11] = cls[5, 1:11] = VOID      # void band between them
    obj[0, 1:6] = cls[0, 1:6] = VOID
    return obj, cls


# ------------------------------------------------------------------ make_instance
def test_make_instance_area_and_box_by_hand():
    mask = torch.zeros(6, 8, dtype=torch.bool)
    mask[2:5, 3:7] = True
    mask[1, 4] = True
    inst = I.make_instance(3, 15, mask)
    assert (inst.id, inst.label, inst.class_name, inst.area) == (3, 15, "person", 13)
    assert inst.box.tolist() == [3.0, 1.0, 6.0, 4.0]   # x1, y1, x2, y2, inclusive
    assert "person" in repr(inst) and "area=13" in repr(inst)


# ------------------------------------------------------------------ instances_from_masks
def test_instances_from_hand_built_masks():
    obj, cls = two_objects()
    cat, dog = I.instances_from_masks(obj, cls)
    assert (cat.id, cat.label, cat.area) == (1, 8, 20)
    assert (dog.id, dog.label, dog.area) == (2, 12, 21)
    assert cat.box.tolist() == [1.0, 1.0, 5.0, 4.0]
    assert dog.box.tolist() == [4.0, 6.0, 10.0, 8.0]
    assert torch.equal(cat.mask, obj == 1) and cat.mask.dtype == torch.bool


def test_void_of_either_mask_is_never_inside_an_instance():
    obj, cls = two_objects()
    cls[2, 2] = VOID                         # void only in the class mask
    obj[7, 5] = VOID                         # void only in the object mask
    cat, dog = I.instances_from_masks(obj, cls)
    assert not cat.mask[2, 2] and not dog.mask[7, 5]
    assert (cat.area, dog.area) == (19, 20)
    for inst in (cat, dog):
        assert not inst.mask[(obj == VOID) | (cls == VOID)].any()


def test_instances_accept_numpy_masks_and_an_empty_image():
    obj, cls = two_objects()
    assert [i.id for i in I.instances_from_masks(obj.numpy(), cls.numpy().astype(np.uint8))] \
        == [1, 2]
    assert I.instances_from_masks(np.zeros((3, 3), int), np.zeros((3, 3), int)) == []


def test_object_over_two_classes_names_the_file_object_and_classes():
    obj, cls = two_objects()
    cls[1, 1] = 12
    with pytest.raises(VOCDataError, match=r"x\.png: object 1 lies on classes \[8, 12\]"):
        I.instances_from_masks(obj, cls, source="x.png")


def test_object_on_background_is_an_error():
    obj, cls = two_objects()
    obj[9, 0] = 3
    with pytest.raises(VOCDataError, match=r"object 3 lies on classes \[0\]"):
        I.instances_from_masks(obj, cls)


def test_class_pixels_outside_every_object_are_an_error():
    obj, cls = two_objects()
    cls[9, 0] = 15
    with pytest.raises(VOCDataError, match=r"y\.png: 1 pixels of classes \[15\] belong to no"):
        I.instances_from_masks(obj, cls, source="y.png")


def test_size_mismatch_and_non_integer_masks_are_errors():
    obj, cls = two_objects()
    with pytest.raises(VOCDataError, match=r"z\.png: object mask size \(10, 12\) differs"):
        I.instances_from_masks(obj, cls[:, :-1], source="z.png")
    with pytest.raises(ValueError, match="integer mask"):
        I.instances_from_masks(obj.float(), cls)


def test_read_instances_from_files_and_errors_name_the_file(tmp_path):
    obj, cls = two_objects()
    for d in ("SegmentationClass", "SegmentationObject"):
        (tmp_path / d).mkdir()
    voc.save_mask(cls, tmp_path / "SegmentationClass" / "a.png")
    voc.save_mask(obj, tmp_path / "SegmentationObject" / "a.png")
    assert [(i.id, i.label) for i in I.read_instances(tmp_path, "a")] == [(1, 8), (2, 12)]
    voc.save_mask(obj[:, :-2], tmp_path / "SegmentationObject" / "a.png")
    with pytest.raises(VOCDataError, match=r"SegmentationObject/a\.png: object mask size"):
        I.read_instances(tmp_path, "a")
    with pytest.raises(VOCDataError, match=r"SegmentationObject/b\.png: file not found"):
        I.read_instances(tmp_path, "b")


# ------------------------------------------------------------------ conversions
def test_round_trips_back_to_the_class_and_object_masks():
    obj, cls = two_objects()
    insts = I.instances_from_masks(obj, cls)
    assert torch.equal(I.semantic_from_instances(insts, void=cls == VOID), cls)
    merged = I.semantic_from_instances(insts)
    assert set(merged.unique().tolist()) == {0, 8, 12}


def test_semantic_from_no_instances_needs_a_size():
    assert torch.equal(I.semantic_from_instances([], size=(2, 3)), torch.zeros(2, 3).long())
    with pytest.raises(ValueError, match="size"):
        I.semantic_from_instances([])
    obj, cls = two_objects()
    with pytest.raises(IndexError, match="shape of the mask"):
        I.semantic_from_instances(I.instances_from_masks(obj, cls), size=(4, 4))


def test_connected_components_recover_separate_objects_and_merge_touching_ones():
    cls = torch.zeros(8, 12, dtype=torch.int64)
    cls[1:4, 1:4] = 3                        # bird A
    cls[1:4, 6:9] = 3                        # bird B, apart from A: recovered
    cls[5:8, 1:5] = 17                       # sheep A
    cls[5:8, 5:9] = 17                       # sheep B touches sheep A: merged into one
    found = I.instances_from_semantic(cls)
    assert [(i.id, i.label, i.area) for i in found] == [(1, 3, 9), (2, 3, 9), (3, 17, 24)]
    assert found[2].box.tolist() == [1.0, 5.0, 8.0, 7.0]


def test_void_separates_components_and_connectivity_decides_diagonals():
    cls = torch.zeros(5, 6, dtype=torch.int64)
    cls[0:2, 0:2] = 9
    cls[2:4, 2:4] = 9                        # meets the first square only at a corner
    cls[:, 4] = VOID                         # a void band ...
    cls[:, 5] = 9                            # ... between the squares and a strip of chair
    assert len(I.instances_from_semantic(cls, connectivity=1)) == 3
    assert len(I.instances_from_semantic(cls, connectivity=2)) == 2
    assert len(I.instances_from_semantic(torch.where(cls == VOID, 9, cls))) == 2
    with pytest.raises(ValueError, match="connectivity"):
        I.instances_from_semantic(cls, connectivity=4)


def test_min_area_drops_specks_and_renumbers():
    cls = torch.zeros(6, 6, dtype=torch.int64)
    cls[0, 0] = 5
    cls[2:6, 2:6] = 5
    assert [(i.id, i.area) for i in I.instances_from_semantic(cls)] == [(1, 1), (2, 16)]
    assert [(i.id, i.area) for i in I.instances_from_semantic(cls, min_area=2)] == [(1, 16)]


def flood_fill_components(cls: np.ndarray) -> list[tuple[int, frozenset]]:
    """Oracle: 4-connected regions of equal object class, by breadth-first search."""
    h, w = cls.shape
    seen = np.zeros_like(cls, dtype=bool)
    regions = []
    for y in range(h):
        for x in range(w):
            c = int(cls[y, x])
            if seen[y, x] or c in (0, VOID):
                continue
            pixels, queue = set(), deque([(y, x)])
            seen[y, x] = True
            while queue:
                py, px = queue.popleft()
                pixels.add((py, px))
                for ny, nx in ((py + 1, px), (py - 1, px), (py, px + 1), (py, px - 1)):
                    if 0 <= ny < h and 0 <= nx < w and not seen[ny, nx] and cls[ny, nx] == c:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
            regions.append((c, frozenset(pixels)))
    return regions


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9)),
              elements=st.sampled_from([0, 0, 4, 4, 11, VOID])))
def test_components_match_a_flood_fill(cls):
    found = I.instances_from_semantic(torch.from_numpy(cls.astype(np.int64)))
    got = {(i.label, frozenset(map(tuple, i.mask.nonzero().tolist()))) for i in found}
    assert got == set(flood_fill_components(cls))
    assert [i.id for i in found] == list(range(1, len(found) + 1))
    for inst in found:
        assert torch.equal(inst.box, masks_to_boxes(inst.mask[None])[0])


def test_count_by_class():
    cls = torch.zeros(8, 12, dtype=torch.int64)
    cls[1:4, 1:4] = cls[1:4, 6:9] = 15
    cls[5:8, 1:5] = 2
    assert I.count_by_class(I.instances_from_semantic(cls)) == {"bicycle": 1, "person": 2}
    assert I.count_by_class([]) == {}


def test_touching_pairs_by_hand():
    obj = torch.zeros(6, 12, dtype=torch.int64)
    obj[0:3, 0:3] = 1
    obj[0:3, 3:5] = 2                        # shares an edge with 1
    obj[0:3, 7:9] = 3                        # 2 void/background pixels away from 2
    obj[3:5, 9:11] = 4                       # only diagonal to 3
    cls = (obj > 0).long() * 8
    insts = I.instances_from_masks(obj, cls)
    assert I.touching_pairs(insts) == [(1, 2)]
    assert I.touching_pairs(insts, gap=1) == [(1, 2), (3, 4)]
    assert I.touching_pairs(insts, gap=2) == [(1, 2), (2, 3), (3, 4)]
    with pytest.raises(ValueError, match="gap"):
        I.touching_pairs(insts, gap=-1)


# ------------------------------------------------------------------ Mask R-CNN target
def test_maskrcnn_target_fields():
    obj, cls = two_objects()
    insts = I.instances_from_masks(obj, cls)
    t = I.maskrcnn_target(insts, image_id=4)
    assert set(t) == {"boxes", "labels", "masks", "area", "iscrowd", "image_id"}
    assert t["boxes"].dtype == torch.float32 and t["boxes"].shape == (2, 4)
    inclusive = masks_to_boxes(torch.stack([obj == 1, obj == 2]))
    assert torch.equal(t["boxes"], inclusive + torch.tensor([0.0, 0.0, 1.0, 1.0]))  # pixel edges
    thin = torch.zeros(10, 12, dtype=torch.int64)
    thin[2:7, 5] = 1  # one column wide: an inclusive box without width
    box = I.maskrcnn_target(I.instances_from_masks(thin, thin * 3))["boxes"][0]
    assert box.tolist() == [5.0, 2.0, 6.0, 7.0]
    assert t["labels"].tolist() == [8, 12] and t["labels"].dtype == torch.int64
    assert t["masks"].dtype == torch.uint8 and t["masks"].shape == (2, 10, 12)
    assert torch.equal(t["masks"][1].bool(), obj == 2)
    assert t["area"].tolist() == [20.0, 21.0] and t["iscrowd"].tolist() == [0, 0]
    empty = I.maskrcnn_target([], size=(10, 12))
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 10, 12)
    assert "image_id" not in empty


def test_maskrcnn_accepts_the_target_and_returns_the_documented_outputs():
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    torch.manual_seed(0)
    obj = torch.zeros(64, 80, dtype=torch.int64)
    obj[8:40, 6:30], obj[20:60, 40:76] = 1, 2
    insts = I.instances_from_masks(obj, torch.where(obj == 1, 8, obj * 6))
    image = torch.rand(3, 64, 80)
    net = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=21,
                                min_size=64, max_size=80)
    net.train()
    losses = net([image], [I.maskrcnn_target(insts)])
    assert {"loss_classifier", "loss_box_reg", "loss_mask"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())


# ------------------------------------------------------------------ real VOC object masks
# instance -> class, from the table in ../shared/voc2012-sample/SOURCE.md
SOURCE_TABLE = {
    "2007_000042": {1: 19, 2: 19},
    "2007_000063": {1: 12, 2: 9},
    "2007_000068": {1: 3},
    "2007_000121": {1: 20, 2: 20},
}


@pytest.fixture(scope="module")
def real():
    if not (SHARED_VOC / "SegmentationObject").is_dir():
        pytest.skip("../shared/voc2012-sample absent")
    out = {}
    for image_id in SOURCE_TABLE:
        obj = voc.read_object_mask(voc.mask_path(SHARED_VOC, image_id, "SegmentationObject"))
        cls = voc.read_mask(voc.mask_path(SHARED_VOC, image_id))
        out[image_id] = (obj, cls, I.read_instances(SHARED_VOC, image_id))
    return out


@pytest.mark.parametrize("image_id", sorted(SOURCE_TABLE))
def test_real_voc_instance_classes_match_source_md(real, image_id):
    _, _, insts = real[image_id]
    assert {i.id: i.label for i in insts} == SOURCE_TABLE[image_id]


@pytest.mark.parametrize("image_id", sorted(SOURCE_TABLE))
def test_real_voc_boxes_void_and_round_trip(real, image_id):
    obj, cls, insts = real[image_id]
    void = cls == VOID
    masks = torch.stack([i.mask for i in insts])
    assert torch.equal(torch.stack([i.box for i in insts]), masks_to_boxes(masks))
    assert torch.equal(masks, torch.stack([obj == i.id for i in insts]))
    assert not masks[:, void].any()
    assert torch.equal(I.semantic_from_instances(insts, void=void), cls)


def test_real_voc_void_band_keeps_touching_monitors_apart(real):
    # The two monitors of 2007_000121 are 2 void pixels apart: on the label mask the void band
    # separates them, so components find both; without void they would be one region.
    obj, cls, insts = real["2007_000121"]
    assert I.touching_pairs(insts, gap=1) == [] and I.touching_pairs(insts, gap=3) == [(1, 2)]
    found = I.instances_from_semantic(cls, min_area=100)
    assert sorted(i.area for i in found) == sorted(i.area for i in insts)
    filled = torch.where(cls == VOID, 20, cls)
    assert len(I.instances_from_semantic(filled, min_area=100)) == 1


# ------------------------------------------------------------------ notebook 02 self-checks
@pytest.fixture
def scene_root(tmp_path):
    """A VOC folder with one image 'a': cats 1 and 2 touching, dog 3 touching cat 2."""
    obj = torch.zeros(8, 12, dtype=torch.int64)
    obj[1:4, 1:4], obj[1:4, 4:7], obj[4:7, 4:7] = 1, 2, 3
    obj[1:4, 9:11] = 4                       # a second dog, apart
    cls = torch.tensor([0, 8, 8, 12, 12])[obj]
    for d in ("SegmentationClass", "SegmentationObject"):
        (tmp_path / d).mkdir()
    voc.save_mask(cls, tmp_path / "SegmentationClass" / "a.png")
    voc.save_mask(obj, tmp_path / "SegmentationObject" / "a.png")
    return tmp_path


def same_class_pairs(objects):
    label = {inst.id: inst.label for inst in objects}
    return [(a, b) for a, b in I.touching_pairs(objects) if label[a] == label[b]]


@pytest.mark.parametrize("check, right, wrong", [
    ("check_count_objects", lambda obj, cls: {"cat": 2, "dog": 2},
     lambda obj, cls: {"cat": 1, "dog": 2}),
    ("check_touching_pairs", lambda objs: [(2, 1)], I.touching_pairs),  # cat 2 touches dog 3
    # the cats touch (one component for two), the dogs do not: dog alone is counted right
    ("check_counted_right", lambda cls, objs: {"dog"}, lambda cls, objs: {"cat", "dog"}),
])
def test_nb02_function_checks_accept_the_right_answer_only(scene_root, capsys, check, right,
                                                            wrong):
    from course_utils.classroom.checks import nb02

    fn = getattr(nb02, check)
    for answer, verdict in ((right, "Correct:"), (wrong, "Not yet:"), (lambda *a: None, "Not yet:"),
                            (lambda *a: "cat", "Not yet:"), (lambda *a: 1 / 0, "Not yet:")):
        fn(answer, scene_root, ["a"])
        assert capsys.readouterr().out.startswith(verdict), (answer, verdict)


def test_nb02_function_checks_run_the_answer_on_every_image(capsys):
    # counts that are right for the first image only must fail on the next one
    from course_utils.classroom.checks import nb02

    root, ids = voc.MINI_VOC_DIR, ["2026_000030", "2026_000053"]
    first = I.count_by_class(I.read_instances(root, ids[0]))
    nb02.check_count_objects(lambda obj, cls: first, root, ids)
    assert capsys.readouterr().out.startswith("Not yet:")
    nb02.check_count_objects(lambda obj, cls: I.count_by_class(I.instances_from_masks(obj, cls)),
                             root, ids)
    assert capsys.readouterr().out.startswith("Correct:")
    nb02.check_touching_pairs(same_class_pairs, root, ["2026_000053", "2026_000082"])
    assert capsys.readouterr().out.startswith("Correct:")
    # in the mini set a void band parts objects of different classes, so only the check's own
    # objects catch a draft that forgets the class, or that counts a touch at a corner
    nb02.check_touching_pairs(lambda objs: I.touching_pairs(objs), root, ["2026_000053"])
    assert capsys.readouterr().out.startswith("Not yet:")
    def with_corners(objs):  # 8-neighbours: a touch at a corner counts, wrongly
        grown = {a.id: ndimage.binary_dilation(a.mask.numpy(), np.ones((3, 3))) for a in objs}
        return [(a.id, b.id) for a in objs for b in objs
                if a.id < b.id and a.label == b.label and grown[a.id][b.mask.numpy()].any()]

    nb02.check_touching_pairs(with_corners, root, ["2026_000053"])
    assert capsys.readouterr().out.startswith("Not yet:")
