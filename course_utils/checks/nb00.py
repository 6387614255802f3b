"""Self-checks for notebook 00 (start here)."""

from __future__ import annotations

from .. import runtime, voc
from . import check_value, report


def check_val_count(answer) -> None:
    """Exercise 1: the number of images in the val split of the data set found."""
    expected = len(voc.read_split(voc.find_voc_root(), "val"))
    check_value(answer, expected, "images in the val split",
                "read ImageSets/Segmentation/val.txt with voc.read_split")


def check_person_colour(answer) -> None:
    """Exercise 2: the RGB colour VOC uses for the class 'person'."""
    expected = voc.VOC_COLORMAP[voc.VOC_CLASSES.index("person")]
    ok = answer is not None and tuple(int(v) for v in answer) == expected
    report(ok, "the colour of 'person'", "look the class up in voc.VOC_CLASSES, then VOC_COLORMAP")


def check_choose(answer) -> None:
    """Exercise 3: the batch size runtime.choose picks here for fast=4, full=16."""
    check_value(answer, runtime.choose(fast=4, full=16), "batch size for the active profile",
                "call runtime.choose(fast=4, full=16)")
