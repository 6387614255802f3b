"""Self-checks for notebook 02 (segmentation tasks): the learner's functions are run on images
(or segments) of the check's choosing and compared with the course's own functions."""

from fractions import Fraction

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
    hint = ("which values of the object mask are objects, and which mask knows what each object "
            "is? return {class name: count}")
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


def check_counted_right(fn, root, image_ids) -> None:
    """Exercise 3: ``fn(class_mask, objects)`` is the set of the names of the classes (of
    ``objects``) whose 4-connected components of the class mask are exactly as many as their
    objects, checked on ``image_ids`` against ``instances.instances_from_semantic``."""
    cases = []
    for image_id in image_ids:
        cls = voc.read_mask(voc.mask_path(root, image_id))
        objs = instances.read_instances(root, image_id)
        truth = instances.count_by_class(objs)
        found = instances.count_by_class(instances.instances_from_semantic(cls))
        cases.append(((cls, objs), {name for name, n in truth.items() if found.get(name) == n}))
    hint = ("a class's components are those of its own binary mask, 4-connected (pixels that "
            "share an edge); return a set of class names")
    if check_function(lambda x: fn(*x), cases, "counted_right(class_mask, objects)", hint,
                      same=lambda got, expected: not isinstance(got, str)
                      and matches(got, expected, set)):
        report(True, "counted_right(class_mask, objects)")


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


def _id_map(x):
    """An ``(H, W)`` int64 id map from the learner's answer, or None."""
    try:
        t = torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError):
        return None
    if t.ndim != 2 or t.dtype.is_floating_point or t.dtype == torch.bool or (t < 0).any():
        return None
    return t.long()


def _iou_above(p: torch.Tensor, t: torch.Tensor, threshold: float) -> bool:
    """IoU(p, t) > threshold, exactly (in floats an IoU of 2/5 would pass 0.4)."""
    return Fraction(int((p & t).sum()), int((p | t).sum())) > Fraction(str(threshold))


def check_two_matches(pred_ids, true_ids, threshold: float = 0.4) -> None:
    """Exercise 5: ``pred_ids`` and ``true_ids``, id maps of one thing class (0: background),
    in which two predicted segments each have an IoU above ``threshold`` with one true
    segment: at 0.4 the matching is no longer unique."""
    what = f"two predicted segments with an IoU above {threshold} with one true segment"
    pred, true = _id_map(pred_ids), _id_map(true_ids)
    if pred is None or true is None or pred.shape != true.shape:
        report(False, what, "give two (H, W) integer id maps of the same size, 0 for "
                            "background and 1, 2, ... for the segments")
        return
    cls = 8
    segments = [[m for (c, _), m in panoptic_segments(torch.where(ids > 0, cls, 0), ids).items()
                 if c == cls] for ids in (pred, true)]
    crowded = any(sum(_iou_above(p, t, threshold) for p in segments[0]) >= 2
                  for t in segments[1])
    report(crowded, what, "IoU(p, g) is at most |p & g| / |g|: how much of g must each of the "
                          "two predicted segments cover, and can they both?")
