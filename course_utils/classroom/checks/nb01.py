"""Self-checks for notebook 01 (VOC data): the learner's functions run on inputs of the check's
choosing and are compared with a property (a quarter turn, the same for image and mask) or with
what torchvision or the course's reader make of the same data."""

import re

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from course_utils.data import augment_v2, voc

from . import check_function, close, report


def check_rgb_to_indices(fn) -> None:
    """Exercise 3: ``fn(rgb)`` maps an (H, W, 3) uint8 VOC label image to class indices, void
    255, and raises a ``ValueError`` whose message names a colour that is no class (never
    background)."""
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
    except ValueError as exc:
        report(_names_colour(str(exc), (1, 2, 3)), "rgb_to_indices", "the ValueError must "
               "name the colour it met (its three values), so that the file can be fixed")
    except Exception as exc:  # reported, not raised: a draft may fail in any way
        report(False, "rgb_to_indices", f"an unknown colour raised {type(exc).__name__}; "
               "raise a ValueError that names the colour")
    else:
        report(False, "rgb_to_indices", "a colour that is no class must not become a label "
               "(d2l's mistake turns it into background): raise a ValueError that names it")


def _names_colour(message: str, colour: tuple[int, int, int]) -> bool:
    """Whether ``message`` names ``colour``: its three values in order, in any brackets or
    separators (``(1, 2, 3)``, ``[1 2 3]``, NumPy 2's ``(np.uint8(1), ...)``), or as hex
    (``#010203``)."""
    message = re.sub(r"(?:numpy|np)?\.?u?int(?:8|16|32|64)", "", message)  # NumPy's scalar names
    values = r"\D{1,6}".join(str(v) for v in colour)
    hex_code = "".join(f"{v:02x}" for v in colour)
    return (re.search(rf"(?<!\d){values}(?!\d)", message) is not None
            or hex_code in message.lower())


def _tensor(x):
    """``x`` as a tensor, or None when it is not array-like."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().as_subclass(torch.Tensor)
    try:
        return torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError, RuntimeError, AttributeError):
        return None


def _turns(got, x) -> list[int]:
    """The numbers of quarter turns (0-3, counter-clockwise over the last two dimensions) that
    make ``x`` into ``got``."""
    if got is None:
        return []
    return [k for k in range(4) if got.shape == (turned := torch.rot90(x, k, (-2, -1))).shape
            and torch.equal(got, turned)]


def check_rot90_pair(fn, calls: int = 64) -> None:
    """Exercise 1: ``fn(image, label)`` turns a ``(C, H, W)`` image and its ``(H, W)`` label by
    one random number of quarter turns (0-3). Checked on an oblong pair of the check's own,
    over ``calls`` calls: each output is a quarter turn of its input, the same one for image
    and label, and all four turns come up."""
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 5, 8), generator=g, dtype=torch.uint8)
    label = torch.randint(0, voc.NUM_CLASSES, (5, 8), generator=g)
    label[0, :3] = voc.VOID
    what, seen = "rot90_pair(image, label)", set()
    with torch.random.fork_rng(devices=[]):  # the notebook's random stream is left as it was
        torch.manual_seed(0)
        for _ in range(calls):
            try:
                out = fn(image.clone(), label.clone())
            except Exception as exc:  # a learner's draft may fail in any way: report it
                report(False, what, f"it raised {type(exc).__name__}: {exc}")
                return
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                report(False, what, "return the pair (image, label), both turned")
                return
            image_turns = _turns(_tensor(out[0]), image)
            if not image_turns:
                report(False, what, "the image that comes back is no quarter turn of the one "
                       "given: turn its height and width dimensions, not its channels")
                return
            if image_turns[0] not in _turns(_tensor(out[1]), label):
                report(False, what, "the label is not turned as its image is: draw the number "
                       "of turns once per call and turn both by it")
                return
            seen.add(image_turns[0])
    report(len(seen) == 4, what, f"in {calls} calls only {len(seen)} of the four turns (0, 1, "
           "2 or 3 quarter turns) came up: draw the number anew at every call")


def _sizes(root, split) -> dict[str, tuple[int, int]]:
    """``{image id: (H, W)}`` from the mask files' headers (nothing decoded)."""
    sizes = {}
    for image_id in voc.read_split(root, split):
        with Image.open(voc.mask_path(root, image_id)) as mask:
            sizes[image_id] = mask.size[::-1]  # PIL: (width, height)
    return sizes


def _padding_void_share(root, crop, sizes) -> float | None:
    """The share of padding among the void pixels of the crops of the images ``crop`` holds
    whole, each cropped by v2 as the course crops (``pad_if_needed``, void fill); None when
    these crops hold no void."""
    transform = v2.RandomCrop(crop, pad_if_needed=True, fill=augment_v2.FILL)
    padding = void = 0
    for image_id, (h, w) in sizes.items():
        if h <= crop[0] and w <= crop[1]:
            mask = voc.read_mask(voc.mask_path(root, image_id))
            in_crop = int((transform(tv_tensors.Mask(mask)) == voc.VOID).sum())
            padding += in_crop - int((mask == voc.VOID).sum())
            void += in_crop
    return padding / void if void else None


def check_padding_void_share(fn, root=None, split: str = "val") -> None:
    """Exercise 2: ``fn(root, split, crop)`` is the share of padding among the void pixels of
    the crops (``crop`` = (height, width)) of the split's images that the crop holds whole.
    Checked on ``split`` of ``root`` (by default the data set found) for two crop sizes taken
    from its image sizes, one oblong (height and width swapped is the usual slip), against
    v2.RandomCrop(pad_if_needed=True) with the course's fill applied to the same masks."""
    root = voc.find_voc_root(root)
    sizes = _sizes(root, split)
    heights = sorted(h for h, _ in sizes.values())
    widths = sorted(w for _, w in sizes.values())
    crops = [(heights[3 * len(heights) // 4], widths[3 * len(widths) // 4]),
             (heights[len(heights) // 2], widths[-1])]
    cases = []
    with torch.random.fork_rng(devices=[]):  # v2 draws a window; the notebook's stream stays
        for crop in crops:
            share = _padding_void_share(root, crop, sizes)
            if share is not None:
                cases.append((crop, share))
    hint = ("count only the images the window holds whole (height <= crop[0] and width <= "
            "crop[1]); the void in their crops is their own void plus the padding; return a "
            "share between 0 and 1")
    what = "padding_void_share(root, split, crop)"
    if check_function(lambda crop: fn(root, split, crop), cases, what, hint,
                      same=lambda got, expected: close(got, expected, atol=1e-6, rtol=1e-6)):
        report(True, what)
