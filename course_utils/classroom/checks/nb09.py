"""Self-checks for notebook 09 (capstone)."""

import torch
from torch.utils.data import DataLoader

from course_utils.data import VOCSegDataset, eval_transform
from course_utils.metrics import scores_from_matrix
from course_utils.training import region_matrices

from . import check_value, report


def check_dataset_miou(answer, per_image: torch.Tensor) -> None:
    """Exercise 1: the data-set mIoU from per-image ``(N, C, C)`` confusion matrices."""
    check_value(answer, scores_from_matrix(per_image.sum(0))["miou"],
                "data-set mIoU from the per-image matrices",
                "add the matrices up first, then IoU per class, then the mean over the "
                "classes present (averaging per-image mIoUs is a different number)")


def check_worst_class(answer, per_class_iou, class_names) -> None:
    """Exercise 2: the object class with the lowest IoU (classes present only)."""
    iou = torch.as_tensor(per_class_iou, dtype=torch.float64).nan_to_num(nan=float("inf"))
    iou[0] = float("inf")  # background is not an object class
    expected = list(class_names)[int(iou.argmin())]
    report(answer == expected, "the object class the model finds worst",
           "take the per-class IoU, skip background (index 0) and NaN, find the minimum")


def check_crop_miou(answer, model, root, crop: int = 128) -> None:
    """Exercise 3: the model's val mIoU on ``crop`` x ``crop`` centre crops."""
    loader = DataLoader(VOCSegDataset(root, "val", eval_transform(crop)), batch_size=16)
    expected = region_matrices(model, loader)["all"].compute()["miou"]
    check_value(answer, expected, f"mIoU on {crop} px centre crops",
                "score the centre-crop val set the exercise describes as the whole images "
                "were scored above, and read its 'miou'",
                rtol=1e-6, atol=1e-9)
