"""Panoptic quality (PQ; Kirillov et al., *Panoptic Segmentation*, CVPR 2019), as COCO's
reference code (``panopticapi``) computes it, for one image.

A panoptic label gives every pixel a class and, for a *thing* class, an instance id; the pixels
of a *stuff* class form one segment per image (their ids are ignored). A predicted and a true
segment of one class **match** when their IoU is above 0.5; segments do not overlap, so each
segment matches at most one other. Per class, with TP the matched pairs, FP the predicted
segments left over and FN the true ones left over,

    PQ = sum of the matched IoUs / (TP + FP/2 + FN/2) = SQ x RQ,

SQ the mean IoU of the matches and RQ = TP / (TP + FP/2 + FN/2). The image's PQ, SQ and RQ are
each the mean over the classes with any TP, FP or FN. Ground-truth void is ignored as in
panopticapi: a predicted segment's pixels on it leave its IoU, and a predicted segment left over
that lies mostly (more than half) on it is no false positive. Predicted void is no segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from course_utils.data import VOID


@dataclass(frozen=True)
class ClassPQ:
    """One class's counts: matched pairs (``tp``), predicted and true segments left over
    (``fp``, ``fn``) and the sum of the matched IoUs; ``sq``, ``rq`` and ``pq`` follow."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    iou_sum: float = 0.0

    @property
    def sq(self) -> float:
        return self.iou_sum / self.tp if self.tp else 0.0

    @property
    def rq(self) -> float:
        return self.tp / (self.tp + self.fp / 2 + self.fn / 2)

    @property
    def pq(self) -> float:
        return self.iou_sum / (self.tp + self.fp / 2 + self.fn / 2)


@dataclass(frozen=True)
class PanopticScores:
    """PQ of one image: ``per_class`` counts (classes with any TP, FP or FN) and ``matches``,
    ``(class, predicted id, true id, IoU)`` for every matched pair; ``pq``, ``sq`` and ``rq``
    are the means over the classes (so ``pq`` is in general not ``sq * rq``)."""

    per_class: dict[int, ClassPQ]
    matches: list[tuple[int, int, int, float]] = field(default_factory=list)

    def _mean(self, score: str) -> float:
        if not self.per_class:
            raise ValueError("no segment to score: both labels are void everywhere")
        return sum(getattr(c, score) for c in self.per_class.values()) / len(self.per_class)

    @property
    def pq(self) -> float:
        return self._mean("pq")

    @property
    def sq(self) -> float:
        return self._mean("sq")

    @property
    def rq(self) -> float:
        return self._mean("rq")


def _labels(classes, ids, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two ``(H, W)`` int64 tensors from a class map and an id map, or a ValueError."""
    c, i = torch.as_tensor(classes), torch.as_tensor(ids)
    for what, x in ((f"{name}_classes", c), (f"{name}_ids", i)):
        if x.ndim != 2 or x.dtype.is_floating_point or x.dtype == torch.bool:
            raise ValueError(f"{what}: expected an (H, W) integer map, got shape "
                             f"{tuple(x.shape)} and dtype {x.dtype}")
    if c.shape != i.shape:
        raise ValueError(f"{name}_classes {tuple(c.shape)} and {name}_ids {tuple(i.shape)} "
                         "differ in size")
    return c.long(), i.long()


def panoptic_segments(classes, ids, stuff=(0,), void: int = VOID) -> dict[tuple[int, int],
                                                                          torch.Tensor]:
    """The segments of a panoptic label: ``{(class, id): (H, W) bool mask}``, one per thing
    instance and one per stuff class present (id 0: a stuff class's ids are ignored); pixels of
    class ``void`` belong to none. VOC's pair (class mask, object mask) is such a label."""
    c, i = _labels(classes, ids, "label")
    i = torch.where(torch.isin(c, torch.tensor(list(stuff), dtype=torch.long)), 0, i)
    keys = torch.stack([c, i], -1)[c != void].unique(dim=0).tolist()
    return {(k, n): (c == k) & (i == n) for k, n in keys}


def panoptic_quality(pred_classes, pred_ids, true_classes, true_ids, stuff=(0,),
                     void: int = VOID) -> PanopticScores:
    """PQ, SQ and RQ of one predicted panoptic label against the true one (see the module):
    class maps and instance-id maps, ``(H, W)`` each, all four the same size. ``stuff`` lists
    the stuff classes (VOC: background, 0); every other class is a thing."""
    pred_c, pred_i = _labels(pred_classes, pred_ids, "pred")
    true_c, true_i = _labels(true_classes, true_ids, "true")
    if pred_c.shape != true_c.shape:
        raise ValueError(f"pred {tuple(pred_c.shape)} and true {tuple(true_c.shape)} labels "
                         "differ in size")
    pred = panoptic_segments(pred_c, pred_i, stuff, void)
    true = panoptic_segments(true_c, true_i, stuff, void)
    on_void = true_c == void
    counts: dict[int, dict] = {}
    matches, pred_matched, true_matched = [], set(), set()
    for (c, t_id), t in true.items():
        for (pc, p_id), p in pred.items():
            inter = int((p & t).sum())
            if pc != c or inter == 0:
                continue
            iou = inter / (int((p & ~on_void).sum()) + int(t.sum()) - inter)
            if iou > 0.5:  # unique: see the module's docstring
                matches.append((c, p_id, t_id, iou))
                pred_matched.add((pc, p_id))
                true_matched.add((c, t_id))
                cls = counts.setdefault(c, dict(tp=0, fp=0, fn=0, iou_sum=0.0))
                cls["tp"] += 1
                cls["iou_sum"] += iou
    for key, p in pred.items():
        if key not in pred_matched and int((p & on_void).sum()) <= int(p.sum()) / 2:
            counts.setdefault(key[0], dict(tp=0, fp=0, fn=0, iou_sum=0.0))["fp"] += 1
    for key in true.keys() - true_matched:
        counts.setdefault(key[0], dict(tp=0, fp=0, fn=0, iou_sum=0.0))["fn"] += 1
    return PanopticScores({c: ClassPQ(**counts[c]) for c in sorted(counts)}, sorted(matches))
