"""Self-checks for notebook 00 (start here)."""

import torch

from course_utils.data import voc

from . import check_function, check_value, matches, report


def check_val_count(answer) -> None:
    """Exercise 1: the number of images in the val split of the data set found."""
    expected = len(voc.read_split(voc.find_voc_root(), "val"))
    check_value(answer, expected, "images in the val split",
                "read ImageSets/Segmentation/val.txt with voc.read_split")


def check_person_colour(answer) -> None:
    """Exercise 2: the RGB colour VOC uses for the class 'person'."""
    expected = voc.VOC_COLORMAP[voc.VOC_CLASSES.index("person")]
    report(matches(answer, expected, lambda rgb: tuple(int(v) for v in rgb)),
           "the colour of 'person'", "look the class up in voc.VOC_CLASSES, then VOC_COLORMAP")


def check_classes_in(fn) -> None:
    """Exercise 3: ``fn(mask)`` names the classes in a mask in index order, void (255) left out."""
    g = torch.Generator().manual_seed(0)
    masks = [torch.tensor([[0, 15, 15], [255, 5, 0]]), torch.full((2, 2), voc.VOID),
             torch.tensor([[20, 3], [3, 20]])]  # the usual slips: void, order, repeats
    masks += [torch.randint(0, voc.NUM_CLASSES, (6, 7), generator=g) for _ in range(3)]
    cases = [(mask, [voc.VOC_CLASSES[c] for c in sorted(set(mask.flatten().tolist()))
                     if c != voc.VOID]) for mask in masks]
    hint = ("take mask.unique(), drop 255 (void, not a class), and look each index up in "
            "voc.VOC_CLASSES")
    if check_function(fn, cases, "classes_in(mask)", hint,
                      same=lambda got, expected: matches(got, expected, list)):
        report(True, "classes_in(mask)")
