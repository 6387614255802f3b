"""Pictures for the notebooks: image grids, colourised masks, overlays, legends.

Everything draws with matplotlib into PNG (the notebooks' inline backend), never SVG, so
nbval compares only the text around the figures. Images may be ``(3, H, W)`` tensors (uint8
or float in [0, 1]), ``(H, W, 3)`` arrays, or ``(H, W)`` index masks (colourised with the VOC
palette; void (255) in VOC's cream colour, so it stands out from every class).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from course_utils.data import NUM_CLASSES, PALETTE, VOC_CLASSES, VOID
from course_utils.metrics import normalize_matrix


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def to_numpy_image(image) -> np.ndarray:
    """``(3, H, W)`` tensor or ``(H, W, 3)`` array -> ``(H, W, 3)`` array ready for imshow."""
    if isinstance(image, torch.Tensor) and image.ndim == 3 and image.shape[0] in (1, 3):
        image = image.permute(1, 2, 0)
    image = _numpy(image)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


def colorize(mask, outline: bool = False) -> np.ndarray:
    """An ``(H, W)`` index mask as an ``(H, W, 3)`` uint8 RGB image in the VOC palette;
    ``outline`` draws every label change in black, so regions of similar colours (VOC puts
    red next to green) stay apart for every reader, and void keeps its cream colour."""
    m = _numpy(mask)
    if m.ndim != 2:
        raise ValueError(f"colorize: expected an (H, W) index mask, got shape {m.shape}")
    rgb = PALETTE[m.astype(np.int64).clip(0, 255)]
    if outline:
        rgb = np.where(_outline(m)[..., None], 0, rgb).astype(np.uint8)
    return rgb


def _outline(m: np.ndarray) -> np.ndarray:
    """The pixels :func:`colorize` draws black: each one whose upper or left neighbour differs."""
    edge = np.zeros(m.shape, bool)
    edge[1:] |= m[1:] != m[:-1]
    edge[:, 1:] |= m[:, 1:] != m[:, :-1]
    return edge


def visible_classes(mask) -> set[int]:
    """The labels of ``mask`` that keep some colour once outlined (a region one pixel thin can
    be all outline): the classes a legend should list."""
    m = _numpy(mask)
    return {int(v) for v in np.unique(m[~_outline(m)])}


MIN_LABELLED = 0.005  # a region under this share of the mask's pixels gets no name


def label_regions(ax, mask, fontsize: float = 8, wrap: bool = False) -> list:
    """Write each object class's name on its largest region of ``mask``, white on a black
    outline, so the figure reads without telling colours apart: at the point deepest inside the
    region where the name stays inside the image and clears the names already written (else
    unnamed; the legend lists it). ``wrap``: one word a line, for small masks. Background, void
    and regions under ``MIN_LABELLED`` of the mask get no name. Returns the text artists."""
    from matplotlib import patheffects

    m = _numpy(mask).astype(np.int64)
    char_w, line_h = _text_size_in_pixels(ax, m.shape[1], fontsize)
    texts, placed = [], []
    for c in sorted(set(np.unique(m).tolist()) - {0, VOID}):
        name = VOC_CLASSES[c] if c < NUM_CLASSES else str(c)
        lines = name.replace(" ", "\n").replace("/", "/\n").split("\n") if wrap else [name]
        where = _label_point(m == c, m.size, max(map(len, lines)) * char_w,
                             len(lines) * line_h, placed, fit_height=len(lines) > 1)
        if where is None:
            continue
        y, x, align, box = where
        placed.append(box)
        texts.append(ax.text(x, y, "\n".join(lines), fontsize=fontsize, color="white",
                             ha=align, va="center", clip_on=True, path_effects=[
                                 patheffects.withStroke(linewidth=2, foreground="black")]))
    return texts


def _text_size_in_pixels(ax, width: int, fontsize: float) -> tuple[float, float]:
    """About how many image pixels one character is wide and one line is high in ``ax``."""
    points = ax.get_position().width * ax.figure.get_figwidth() * 72  # the axes' width in points
    per_point = width / max(points, 1.0)
    return 0.6 * fontsize * per_point, 1.3 * fontsize * per_point


def _text_boxes(y: int, x: int, text_w: float, width: int) -> list[tuple[str, tuple]]:
    """The alignments that keep a name ``text_w`` pixels wide, written at ``(y, x)``, inside an
    image ``width`` pixels wide (centred first), each with the ``(y, x0, x1)`` it covers."""
    boxes = [("center", (y, x - text_w / 2, x + text_w / 2)), ("right", (y, x - text_w, x)),
             ("left", (y, x, x + text_w))]
    return [(a, b) for a, b in boxes if b[1] >= 0 and b[2] <= width]


def _label_point(region: np.ndarray, size: int, text_w: float, text_h: float, placed,
                 fit_height: bool = False):
    """``(y, x, align, box)`` for a name ``text_w`` x ``text_h`` pixels on the largest part of
    ``region``: the deepest point where it fits inside the image (in height too when
    ``fit_height``) and clears every box in ``placed``. None when the part is under
    ``MIN_LABELLED`` of ``size`` or no point will do (a name over another helps no one)."""
    from scipy import ndimage

    parts, n = ndimage.label(region)
    sizes = ndimage.sum(np.ones(region.shape), parts, range(1, n + 1)) if n else np.zeros(1)
    if sizes.max() < MIN_LABELLED * size:
        return None
    largest = np.pad(parts == 1 + int(np.argmax(sizes)), 1)  # the border counts as edge
    depth = ndimage.distance_transform_edt(largest)[1:-1, 1:-1]
    ys, xs = np.nonzero(depth)
    for k in np.argsort(-depth[ys, xs], kind="stable"):
        y, x = int(ys[k]), int(xs[k])
        if fit_height and not text_h / 2 <= y <= region.shape[0] - text_h / 2:
            continue
        for align, box in _text_boxes(y, x, text_w, region.shape[1]):
            if all(abs(y - py) >= (text_h + ph) / 2 or box[2] <= p0 or p1 <= box[1]
                   for py, p0, p1, ph in placed):
                return y, x, align, (*box, text_h)
    return None


def show_images(images, titles=None, ncols: int = 4, scale: float = 2.5, cmap=None):
    """Show images and/or masks (2-D integer, colourised) in a grid; returns the axes array."""
    images = list(images)
    ncols = max(1, min(ncols, len(images)))
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            arr = _numpy(images[k])
            is_mask = arr.ndim == 2 and not np.issubdtype(arr.dtype, np.floating)
            ax.imshow(colorize(arr) if is_mask else to_numpy_image(images[k]), cmap=cmap)
            if titles is not None and k < len(titles):
                ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return axes


def overlay(image, mask, alpha: float = 0.6, dim: float = 0.55) -> np.ndarray:
    """Blend the colourised ``mask`` over ``image``: object pixels take ``alpha`` of their
    class colour; background and void are dimmed (times ``dim``), so the objects stand out."""
    img = to_numpy_image(image).astype(np.float32)
    if img.max() > 1.0:
        img = img / 255.0
    m = _numpy(mask)
    colour = colorize(m).astype(np.float32) / 255.0
    objects = ((m > 0) & (m != VOID))[..., None]
    blend = np.where(objects, (1 - alpha) * img + alpha * colour, dim * img)
    return blend.clip(0, 1)


def legend_handles(labels) -> list[Patch]:
    """Coloured patches for the given class indices (void included when present)."""
    handles = []
    for c in sorted({int(v) for v in labels}):
        name = "void" if c == VOID else VOC_CLASSES[c] if c < NUM_CLASSES else str(c)
        handles.append(Patch(facecolor=PALETTE[c] / 255.0, edgecolor="black", label=f"{c} {name}"))
    return handles


def add_legend(ax, labels, **kwargs) -> None:
    """A legend of the classes in ``labels`` (e.g. ``mask.unique()``) beside the axes."""
    opts = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    opts.update(kwargs)
    ax.legend(handles=legend_handles(labels), **opts)


def show_segmentation(images, masks, preds=None, titles=None, scale: float = 2.3):
    """Rows of image | ground truth | prediction(s), with a legend of the classes shown; masks
    are outlined and their regions named (:func:`label_regions`), so no colour needs to be told
    apart (normalised images: pass them through ``course_utils.data.denormalize``). ``preds``:
    one list of label maps, or a dict ``{column title: list}`` to set models side by side."""
    if preds is None:
        columns = {}
    else:
        columns = dict(preds) if isinstance(preds, dict) else {"prediction": preds}
    cols = 2 + len(columns)
    n = len(images)
    aspect = float(np.mean([m.shape[-2] / m.shape[-1] for m in masks]))  # rows sized to fit
    width, legend_width = cols * scale, 1.8  # the legend gets its own strip on the right
    fig, axes = plt.subplots(n, cols, figsize=(width + legend_width, n * scale * aspect + 0.4),
                             squeeze=False)
    heads = ["image", "ground truth", *columns]
    present = set()
    for i in range(n):
        labels = [masks[i], *(column[i] for column in columns.values())]
        present |= set().union(*(visible_classes(m) for m in labels))
        row = [to_numpy_image(images[i])] + [colorize(m, outline=True) for m in labels]
        for j, (ax, pic) in enumerate(zip(axes[i], row, strict=True)):
            ax.imshow(pic)
            ax.axis("off")
            if j > 0:
                label_regions(ax, labels[j - 1], fontsize=9)
            if i == 0:
                ax.set_title(heads[j], fontsize=10)
        if titles is not None:
            axes[i, 0].set_title(titles[i], fontsize=10)
    right = width / (width + legend_width)
    # fixed margins (tight_layout lets axes without ticks overlap); the legend gets the strip
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.01, right=right - 0.01, bottom=0.01, top=1 - 0.3 / height,
                        wspace=0.04, hspace=0.3 if titles is not None else 0.12)
    fig.legend(handles=legend_handles(present), loc="upper left", bbox_to_anchor=(right, 0.98),
               fontsize=9, frameon=False)
    return axes


def plot_history(history, ax=None, label: str | None = None, scored_on: str = "validation"):
    """Training curves from ``fit``'s history: loss (left), pixel accuracy and mIoU (right).
    ``scored_on`` names what the right panel's scores were measured on (``fit`` scores the
    validation loader; the reference runs score their own training crops). Returns the pair of
    axes; pass it again as ``ax``, with a ``label``, to compare runs."""
    history = list(history)
    if not history:
        raise ValueError("plot_history: the history is empty (did fit run any epoch?)")
    missing = {"epoch", "loss", "pixel_acc", "miou"} - set(history[0])
    if missing:
        raise ValueError(f"plot_history: history entries lack {sorted(missing)}")
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = [e["epoch"] for e in history]
    prefix = f"{label}: " if label else ""
    ax[0].plot(epochs, [e["loss"] for e in history], "o-", label=f"{prefix}loss")
    ax[1].plot(epochs, [e["pixel_acc"] for e in history], "o-", label=f"{prefix}pixel accuracy")
    ax[1].plot(epochs, [e["miou"] for e in history], "s--", label=f"{prefix}mIoU")
    titles = ("training loss", f"pixel accuracy and mIoU on {scored_on}")
    for a, title, ylabel in zip(ax, titles, ("loss", "score"), strict=True):
        a.set_xlabel("epoch")
        a.set_ylabel(ylabel)
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        a.set_title(title, fontsize=10)
        a.legend(fontsize=9)
    ax[0].figure.tight_layout()
    return ax


def plot_confusion(cm, class_names=None, normalize: str | None = "true", ax=None,
                   annotate: bool | None = None, log: bool = False, annotate_top: int = 0):
    """Heatmap of a confusion matrix (a ``metrics.ConfusionMatrix`` or a ``(C, C)`` array):
    rows ground truth, columns prediction, normalised by ``metrics.normalize_matrix`` (with
    ``"true"`` the diagonal is each class's accuracy). Cells carry their numbers when
    ``annotate`` (default: up to 12 classes). ``log``: a logarithmic colour scale (fractions
    from 0.001; zero cells stay white), so that confusions of a few percent are not lost next to
    the diagonal; ``annotate_top``: write the value of the largest off-diagonal cells. Returns
    the axes.
    """
    matrix = torch.as_tensor(getattr(cm, "matrix", cm))
    m = normalize_matrix(matrix, normalize).numpy()
    n = m.shape[0]
    names = list(class_names) if class_names is not None else (
        list(VOC_CLASSES) if n == NUM_CLASSES else [str(i) for i in range(n)])
    if len(names) != n:
        raise ValueError(f"plot_confusion: {len(names)} class_names for a {n}x{n} matrix")
    if ax is None:
        side = min(9.0, 1.6 + 0.36 * n)
        _, ax = plt.subplots(figsize=(side + 1.2, side))
    top = 1.0 if normalize else max(float(m.max()), 1.0)  # fractions up to 1, counts to the max
    if log:
        floor = 1e-3 if normalize else 1.0
        image = ax.imshow(np.ma.masked_less_equal(m, 0), cmap="Blues",
                          norm=LogNorm(vmin=floor, vmax=top))
    else:
        image = ax.imshow(m, cmap="Blues", vmin=0.0, vmax=top)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label({"true": "share of the true class's pixels", "pred": "share of the predictions",
                   "all": "share of all pixels", None: "pixels"}[normalize], fontsize=9)
    ax.set_xticks(range(n), names, rotation=90, fontsize=9)
    ax.set_yticks(range(n), names, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title({"true": "confusion (each row sums to 1)", "pred": "confusion (columns sum to 1)",
                  "all": "confusion (fraction of all pixels)", None: "confusion (pixels)"}
                 [normalize], fontsize=10)
    if annotate is None:
        annotate = n <= 12
    cells = list(np.ndindex(m.shape)) if annotate else []
    if annotate_top and not annotate:
        off = [(i, j) for i, j in np.ndindex(m.shape) if i != j and np.isfinite(m[i, j])]
        cells = sorted(off, key=lambda ij: -m[ij])[:annotate_top]
    for i, j in cells:
        v = m[i, j]
        if np.isfinite(v):
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            dark = v > (top * 0.1 if log else 0.6 * top)  # the colour scale's dark end
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if dark else "black")
    return ax
