"""Self-checks for notebook 08 (metrics)."""

import torch

from course_utils.metrics import scores_from_matrix

from . import check_function, check_value, close, report

SHIFTS = (1, 2, 4, 8)


def shifted(masks: torch.Tensor, s: int) -> torch.Tensor:
    """Section 5's "sloppy" segmenter: the true masks rolled ``s`` pixels down and right, the
    void carried along read as background."""
    rolled = torch.roll(masks, shifts=(s, s), dims=(1, 2))
    return rolled.masked_fill(rolled == 255, 0)


def check_shift_curves(answer, masks: torch.Tensor, shifts=SHIFTS) -> None:
    """Exercise 1: ``(mious, boundary_ious)`` of the sloppy segmenter at each shift, on
    ``masks``; also that boundary IoU loses a larger share of its value than mIoU does."""
    from course_utils.metrics import ConfusionMatrix, boundary_iou

    what = f"mIoU and boundary IoU for shifts {', '.join(map(str, shifts))}"
    miou = [float(ConfusionMatrix().update(shifted(masks, s), masks).compute()["miou"])
            for s in shifts]
    biou = [float(boundary_iou(shifted(masks, s), masks).nanmean()) for s in shifts]
    try:
        got_m, got_b = ([float(v) for v in part] for part in answer)
    except (TypeError, ValueError):
        report(False, what, "give (mious, boundary_ious), two lists with one value per shift")
        return
    ok = close(got_m, miou, atol=1e-4) and close(got_b, biou, atol=1e-4)
    report(ok and biou[-1] / biou[0] < miou[-1] / miou[0], what,
           "roll the masks by (s, s) on the last two axes, void -> 0; data-set mIoU from one "
           "ConfusionMatrix, boundary IoU from metrics.boundary_iou(...).nanmean()")


def most_confused(matrix: torch.Tensor, class_names) -> tuple[str, str]:
    """``(true, predicted)`` names of the largest off-diagonal cell of ``matrix``."""
    m = torch.as_tensor(matrix).clone()
    m.fill_diagonal_(-1)
    i, j = divmod(int(m.argmax()), m.shape[1])
    return class_names[i], class_names[j]


def check_most_confused(answer, matrix, class_names) -> None:
    """Exercise 2: the (ground truth, prediction) pair of different classes with most pixels."""
    expected = most_confused(matrix, list(class_names))
    report(isinstance(answer, tuple | list) and tuple(answer) == expected,
           "the most confused pair of classes",
           "answer (true class name, predicted class name): the largest cell off the diagonal")


def check_miou_function(fn) -> None:
    """Exercise 3: ``fn(matrix)`` returns the mIoU, leaving classes absent from both out."""
    g = torch.Generator().manual_seed(7)
    probes = [torch.tensor([[5200, 90, 60, 150], [40, 610, 230, 0], [70, 170, 801, 10],
                            [120, 0, 25, 940]]),
              torch.tensor([[5, 2, 0], [1, 0, 0], [0, 0, 0]])]
    for _ in range(3):
        m = torch.randint(0, 50, (5, 5), generator=g)
        m[3, :] = 0
        m[:, 3] = 0  # class 3 absent from both: must be left out of the mean
        probes.append(m)
    cases = [(m, scores_from_matrix(m)["miou"]) for m in probes]
    hint = ("IoU = TP / (row + column - TP); skip the classes whose row and column are both "
            "empty (0 / 0), do not count them as 0")
    if check_function(fn, cases, "miou(matrix)", hint):
        report(True, "miou(matrix)")


def check_accuracy_for_micro_iou(answer, micro_iou: float) -> None:
    """Exercise 4: the pixel accuracy at which the "micro" IoU equals ``micro_iou``."""
    check_value(answer, 2 * micro_iou / (1 + micro_iou), f"accuracy giving micro IoU {micro_iou}",
                "solve micro IoU = acc / (2 - acc) for acc")
