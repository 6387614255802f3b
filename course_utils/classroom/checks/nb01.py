"""Self-checks for notebook 01 (VOC data)."""

import numpy as np
import torch

from course_utils.data import voc

from . import check_function, check_value, report


def check_void_count(answer, image_id: str) -> None:
    """Exercise 1: the number of void (255) pixels in the class mask of ``image_id``."""
    root = voc.find_voc_root()
    expected = int((voc.read_mask(voc.mask_path(root, image_id)) == voc.VOID).sum())
    check_value(answer, expected, f"void pixels in {image_id}",
                "read the mask with voc.read_mask and count the pixels equal to 255")


def check_background_share(answer) -> None:
    """Exercise 2: the share of background among the labelled (non-void) train pixels."""
    counts = voc.pixel_counts(voc.find_voc_root(), "train").double()
    check_value(answer, counts[0] / counts.sum(), "background share of the labelled pixels",
                "void pixels are not labelled: leave them out of the total", rtol=1e-3)


def check_rarest_class(answer) -> None:
    """Exercise 3: the name of the object class with the fewest train pixels."""
    counts = voc.pixel_counts(voc.find_voc_root(), "train")
    rarest = voc.VOC_CLASSES[1 + int(torch.argmin(counts[1:]))]
    report(answer == rarest, "the rarest object class",
           "use voc.pixel_counts and skip index 0 (background)")


def check_rgb_to_indices(fn) -> None:
    """Exercise 4: ``fn(rgb)`` maps an (H, W, 3) uint8 VOC label image to class indices, void
    255, and raises ``ValueError`` for a colour that is no class (never background)."""
    rng = np.random.default_rng(0)
    idx = rng.choice(np.r_[np.arange(voc.NUM_CLASSES), voc.VOID], size=(16, 20)).astype(np.uint8)
    rgb = voc.PALETTE[idx]
    if not check_function(fn, [(rgb, idx)], "rgb_to_indices", "map each colour of "
                          "voc.VOC_COLORMAP to its index and voc.VOID_COLOR to 255",
                          same=np.array_equal):
        return
    odd = rgb.copy()
    odd[3, 4] = (1, 2, 3)  # a colour no class has (a JPEG artefact, say)
    try:
        fn(odd)
    except ValueError:
        report(True, "rgb_to_indices")
    except Exception as exc:  # reported, not raised: a draft may fail in any way
        report(False, "rgb_to_indices", f"an unknown colour raised {type(exc).__name__}; "
               "raise a ValueError that names the colour")
    else:
        report(False, "rgb_to_indices", "a colour that is no class must not become a label "
               "(d2l's mistake turns it into background): raise a ValueError that names it")
