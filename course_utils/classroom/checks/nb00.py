"""Self-checks for notebook 00 (start here)."""

import numpy as np
import torch
from PIL import Image

from course_utils.data import voc
from course_utils.viz import colorize

from . import check_function, matches, report


def _masks() -> list[torch.Tensor]:
    """Small class masks with the usual slips in them: void, repeated and unordered classes."""
    g = torch.Generator().manual_seed(0)
    masks = [torch.tensor([[0, 15, 15], [255, 5, 0]]), torch.full((2, 2), voc.VOID),
             torch.tensor([[20, 3], [3, 20]])]
    masks += [torch.randint(0, voc.NUM_CLASSES, (6, 7), generator=g) for _ in range(3)]
    with_void = torch.randint(0, voc.NUM_CLASSES, (5, 4), generator=g)
    with_void[torch.rand(5, 4, generator=g) < 0.3] = voc.VOID
    return masks + [with_void]


def _same_bool_mask(got, expected: torch.Tensor, values: bool = True) -> bool:
    """True when ``got`` (a tensor or array) is a bool mask of ``expected``'s shape and, with
    ``values``, equal to it."""
    try:
        arr = torch.as_tensor(np.asarray(got.cpu() if isinstance(got, torch.Tensor) else got))
    except (TypeError, ValueError, RuntimeError, AttributeError):
        return False
    if arr.shape != expected.shape or arr.dtype != torch.bool:
        return False
    return torch.equal(arr, expected) if values else True


def _drawn_outline(mask: torch.Tensor) -> torch.Tensor:
    """The pixels ``viz.colorize(mask, outline=True)`` outlines, whatever colour it draws them
    in: the labels renumbered 1, 2, ... (the same label changes, and palette colours that are
    neither black nor white), then the pixels whose colour the outline changed."""
    relabelled = (torch.unique(mask, return_inverse=True)[1] + 1).numpy()
    return torch.from_numpy((colorize(relabelled, outline=True) != colorize(relabelled)).any(-1))


def check_outline(fn) -> None:
    """Exercise 1: ``fn(mask)`` is the ``(H, W)`` bool outline of a class mask, True where a
    pixel's label differs from the one above it or to its left: the outline
    ``viz.colorize(mask, outline=True)`` draws, compared on masks of the check's own."""
    cases = [(mask, _drawn_outline(mask)) for mask in _masks()]
    shaped = lambda got, expected: _same_bool_mask(got, expected, values=False)  # noqa: E731
    if not check_function(fn, cases, "outline(mask)", "return a bool tensor of the mask's "
                          "shape, (H, W), True or False for every pixel", same=shaped):
        return
    hint = ("compare your outline with the drawn one on a small mask of two classes: which "
            "side of each label change should be True?")
    if check_function(fn, cases, "outline(mask)", hint, same=_same_bool_mask):
        report(True, "outline(mask)")


def check_smaller_than(fn, root=None) -> None:
    """Exercise 2: ``fn(root, split, crop)`` lists the ids of the split's images whose height is
    under ``crop[0]`` or whose width is under ``crop[1]``; checked on the val split of ``root``
    (by default the data set found) against the sizes in the JPEG headers, for a square and an
    oblong crop (height and width swapped is the usual slip)."""
    root = voc.find_voc_root(root)
    sizes = {}
    for image_id in voc.read_split(root, "val"):
        with Image.open(voc.image_path(root, image_id)) as image:
            sizes[image_id] = image.size  # PIL: (width, height)
    cases = [(crop, {i for i, (w, h) in sizes.items() if h < crop[0] or w < crop[1]})
             for crop in ((128, 128), (150, 110))]
    hint = ("crop is (height, width); voc.read_image gives (3, H, W), while PIL's Image.size is "
            "(width, height); an image is kept when either side is too small")
    if check_function(lambda crop: fn(root, "val", crop), cases, "smaller_than(root, split, crop)",
                      hint, same=lambda got, expected: matches(
                          got, expected, lambda ids: {str(i) for i in ids})):
        report(True, "smaller_than(root, split, crop)")


def check_classes_in(fn) -> None:
    """Exercise 3: ``fn(mask)`` names the classes in a mask in index order, void (255) left out."""
    cases = [(mask, [voc.VOC_CLASSES[c] for c in sorted(set(mask.flatten().tolist()))
                     if c != voc.VOID]) for mask in _masks()]
    hint = ("a mask holds each class at many pixels, but the list names each class once; is "
            "every value in a mask a class?")
    if check_function(fn, cases, "classes_in(mask)", hint,
                      same=lambda got, expected: matches(got, expected, list)):
        report(True, "classes_in(mask)")

