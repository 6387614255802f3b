"""Self-checks for notebook 02 (segmentation tasks): the learner's functions are run on images
(or segments) of the check's choosing and compared with the course's own functions."""

import torch

from course_utils.data import instances, voc
from course_utils.metrics import panoptic_quality, panoptic_segments

from . import check_function, matches, report


def _pairs(pairs) -> set:
    return {tuple(sorted(int(v) for v in pair)) for pair in pairs}


def check_count_objects(fn, root, image_ids) -> None:
    """Exercise 1: ``fn(object_mask, class_mask)`` is ``{class name: number of objects}``,
    checked on ``image_ids`` against ``instances.count_by_class``."""
    cases = []
    for image_id in image_ids:
        obj = voc.read_object_mask(voc.mask_path(root, image_id, "SegmentationObject"))
        cls = voc.read_mask(voc.mask_path(root, image_id))
        cases.append(((obj, cls), instances.count_by_class(instances.instances_from_masks(obj,
                                                                                          cls))))
    hint = ("each object id (not 0 or 255) of the object mask is one object; its class is the "
            "class mask's value under it; keys are names from voc.VOC_CLASSES")
    if check_function(lambda masks: fn(*masks), cases, "count_objects(object_mask, class_mask)",
                      hint, same=lambda got, expected: matches(
                          got, expected, lambda d: {k: int(v) for k, v in d.items()})):
        report(True, "count_objects(object_mask, class_mask)")


def _scene() -> list:
    """Objects drawn for the check: cats 1 and 2 share an edge, cat 2 touches dog 3 and cat 1
    dog 4 (other classes: in the mini set the void band always parts those), dogs 3 and 5
    meet at a corner only (no shared edge)."""
    obj = torch.zeros(6, 9, dtype=torch.int64)
    obj[1:4, 1:3], obj[1:4, 3:5], obj[1:4, 5:7], obj[4:6, 1:3], obj[4:6, 7:9] = 1, 2, 3, 4, 5
    labels = {1: 8, 2: 8, 3: 12, 4: 12, 5: 12}
    return [instances.make_instance(i, c, obj == i) for i, c in labels.items()]


def check_touching_pairs(fn, root, image_ids) -> None:
    """Exercise 2: ``fn(objects)`` lists the pairs of ids of same-class objects that share an
    edge, checked on objects drawn for the check and on those of ``image_ids`` against
    ``instances.touching_pairs``."""
    cases = []
    for objs in [_scene()] + [instances.read_instances(root, i) for i in image_ids]:
        label = {inst.id: inst.label for inst in objs}
        cases.append((objs, {(a, b) for a, b in instances.touching_pairs(objs)
                             if label[a] == label[b]}))
    hint = ("shift each object's mask one pixel up/down/left/right (not diagonally) and look for "
            "overlap with another object of the same class")
    if check_function(fn, cases, "touching_same_class(objects)", hint,
                      same=lambda got, expected: matches(got, expected, _pairs)):
        report(True, "touching_same_class(objects)")


def check_components_ok(answer, root, image_id: str) -> None:
    """Exercise 3: the class names of ``image_id`` whose 4-connected components of the class
    mask are exactly as many as its objects (connected components count them right)."""
    truth = instances.count_by_class(instances.read_instances(root, image_id))
    cls = voc.read_mask(voc.mask_path(root, image_id))
    found = instances.count_by_class(instances.instances_from_semantic(cls))
    expected = {name for name, n in truth.items() if found.get(name) == n}
    report(not isinstance(answer, str) and matches(answer, expected, set),
           f"classes whose components count the objects of {image_id} right",
           "compare, class by class, scipy.ndimage.label's count with the number of objects")


def _pq_case(pred_ids: torch.Tensor, true_ids: torch.Tensor, cls: int = 8):
    """``(ious, PQ)`` for one thing class drawn as id maps (0: background): the ``(P, T)`` IoU
    matrix of its predicted and true segments, and its PQ by ``metrics.panoptic_quality``."""
    pred_c, true_c = torch.where(pred_ids > 0, cls, 0), torch.where(true_ids > 0, cls, 0)
    pred = [m for (c, _), m in panoptic_segments(pred_c, pred_ids).items() if c == cls]
    true = [m for (c, _), m in panoptic_segments(true_c, true_ids).items() if c == cls]
    ious = torch.tensor([[float((p & t).sum() / (p | t).sum()) for t in true] for p in pred],
                        dtype=torch.float64).reshape(len(pred), len(true))
    scores = panoptic_quality(pred_c, pred_ids, true_c, true_ids).per_class.get(cls)
    return ious, scores.pq


def _pq_cases() -> list:
    """Hand-made cases (a perfect match, an IoU of exactly 1/2, nothing predicted, nothing
    there) and random ones: truth in blocks, the prediction a noisy copy of it."""
    row = lambda *v: torch.tensor([v])  # noqa: E731
    cases = [_pq_case(row(1, 1, 0), row(1, 1, 0)), _pq_case(row(1, 1, 1, 1, 0), row(1, 1, 0, 0, 0)),
             _pq_case(row(0, 0, 0), row(1, 0, 2)), _pq_case(row(1, 0, 2), row(0, 0, 0))]
    g = torch.Generator().manual_seed(0)
    for noise in (0.05, 0.15, 0.3, 0.3, 0.5):
        true = torch.randint(0, 4, (3, 4), generator=g).repeat_interleave(3, 0).repeat_interleave(
            3, 1)
        flip = torch.rand(true.shape, generator=g) < noise
        pred = torch.where(flip, torch.randint(0, 5, true.shape, generator=g), true)
        if (true > 0).any() or (pred > 0).any():
            cases.append(_pq_case(pred, true))
    return cases


def check_pq_of_class(fn) -> None:
    """Exercise 4: ``fn(ious)`` is one class's PQ from the ``(P, T)`` IoU matrix of its
    predicted and true segments, checked against ``metrics.panoptic_quality`` on segments
    of the check's own."""
    hint = ("a pair counts only when its IoU is above 0.5 (strictly); a predicted segment left "
            "without a match is a false positive, a true one a false negative")
    if check_function(fn, _pq_cases(), "pq_of_class(ious)", hint):
        report(True, "pq_of_class(ious)")
