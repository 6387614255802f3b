"""Scenes of the mini data set: where objects go, what occludes what, the void band, rendering;
each image from its own generator (see ``SEED``), so none depends on another or on threads."""

import numpy as np
from scipy import ndimage

from ..voc import NUM_CLASSES, VOC_CLASSES, VOID
from . import shapes

SEED = 2026  # the mini set's seed; image i is drawn from default_rng([SEED, i])
SIZE_RANGE = (96, 256)  # image height and width, each drawn uniformly in this range (px)
VOID_WINDOW = 3  # void = pixels whose 3x3 neighbourhood spans two classes: a ~2 px band
MIN_VISIBLE = 40  # an object with fewer labelled (non-void) pixels is dropped from the scene

# Long-tail class frequency: rank 0 is the most common class; weight ~ (rank + 1) ** -TAIL.
FREQUENCY_ORDER = (
    "person", "car", "dog", "chair", "cat", "bird", "bottle", "tv/monitor", "aeroplane",
    "boat", "horse", "bus", "sofa", "train", "sheep", "motorbike", "cow", "bicycle",
    "diningtable", "potted plant",
)
TAIL = 0.5
CLASS_WEIGHTS = np.array([(1.0 + FREQUENCY_ORDER.index(VOC_CLASSES[c])) ** -TAIL
                          for c in range(1, NUM_CLASSES)])
CLASS_PROBS = CLASS_WEIGHTS / CLASS_WEIGHTS.sum()


# --------------------------------------------------------------------------- scene layout
def _plan(rng, h, w):
    """Random objects for an ``h x w`` image, in drawing order (later ones occlude earlier);
    a third of the images get a *touching pair* of one class, which the class mask cannot split."""
    n = int(min(1 + rng.poisson(1.8), 6))
    objects = []
    for _ in range(n):
        c = int(rng.choice(np.arange(1, NUM_CLASSES), p=CLASS_PROBS))
        objects.append(_place(rng, c, h, w))
    if rng.random() < 0.35:
        first = objects[int(rng.integers(len(objects)))]
        objects.append(_neighbour(rng, first, w))
    order = np.argsort([-o["half_h"] * shapes.ASPECT[o["cls"]] + 6 * rng.standard_normal()
                        for o in objects], kind="stable")
    return [objects[i] for i in order]


def _place(rng, c, h, w):
    """Size and position of one object of class ``c``: it fits the image, an edge may cut it."""
    half_h = rng.uniform(0.16, 0.38) * min(h, w)
    half_h = min(half_h, 0.48 * w / shapes.ASPECT[c], 0.48 * h)
    half_w = half_h * shapes.ASPECT[c]
    cx = rng.uniform(0.75 * half_w, w - 0.75 * half_w) if w > 1.5 * half_w else w / 2
    cy = rng.uniform(0.75 * half_h, h - 0.75 * half_h) if h > 1.5 * half_h else h / 2
    tilt = 25 if c in (1, 3) else 10
    return {"cls": c, "cx": cx, "cy": cy, "half_h": half_h,
            "angle": np.deg2rad(rng.uniform(-tilt, tilt)), "mirror": rng.choice([-1.0, 1.0])}


def _neighbour(rng, obj, w):
    """A second object of the same class touching ``obj`` on its left or right."""
    other = dict(obj)
    side = 1.0 if obj["cx"] < w / 2 else -1.0
    other["half_h"] = obj["half_h"] * rng.uniform(0.85, 1.1)
    aspect = shapes.ASPECT[obj["cls"]]
    width = obj["half_h"] * aspect + other["half_h"] * aspect
    other["cx"] = obj["cx"] + side * width * rng.uniform(0.72, 0.9)
    other["cy"] = obj["cy"] + obj["half_h"] * rng.uniform(-0.15, 0.15)
    other["mirror"] = rng.choice([-1.0, 1.0])
    return other


def _local(obj, h, w):
    """Object-local coordinates: pixel offsets ``x, y`` rotated with the object, and the
    shape units ``u, v`` (``v`` from -1 at the top to 1 at the bottom)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(float) + 0.5
    ca, sa = np.cos(obj["angle"]), np.sin(obj["angle"])
    x = (xx - obj["cx"]) * ca + (yy - obj["cy"]) * sa
    y = -(xx - obj["cx"]) * sa + (yy - obj["cy"]) * ca
    return x, y, obj["mirror"] * x / obj["half_h"], y / obj["half_h"]


def _labels(objects, masks, h, w):
    """Class and object masks with the void band: later objects occlude earlier ones; void is
    every pixel whose 3x3 neighbourhood holds two classes (object ids 1..N in drawing order)."""
    cls = np.zeros((h, w), np.uint8)
    obj = np.zeros((h, w), np.uint8)
    for k, (o, m) in enumerate(zip(objects, masks, strict=True), start=1):
        cls[m], obj[m] = o["cls"], k
    void = (ndimage.maximum_filter(cls, VOID_WINDOW, mode="nearest")
            != ndimage.minimum_filter(cls, VOID_WINDOW, mode="nearest"))
    cls[void], obj[void] = VOID, VOID
    return cls, obj


def _visible(objects, masks, h, w) -> list[int]:
    """Indices of the objects to keep: drop those left with fewer than ``MIN_VISIBLE``
    labelled (non-void) pixels, repeating until every remaining object is visible."""
    keep = list(range(len(objects)))
    while keep:
        _, obj = _labels([objects[i] for i in keep], [masks[i] for i in keep], h, w)
        area = np.bincount(obj.ravel(), minlength=256)[1:len(keep) + 1]
        if (area >= MIN_VISIBLE).all():
            break
        keep = [i for i, a in zip(keep, area, strict=True) if a >= MIN_VISIBLE]
    return keep


# --------------------------------------------------------------------------- rendering
def _background(rng, h, w, noise):
    """A colour gradient with soft blotches and 2-6 textured clutter shapes that are not
    objects (blobs, ellipses, boxes) in the same colours and textures objects use."""
    c1, c2 = shapes.colour(rng, sat=(0.05, 0.6)), shapes.colour(rng, sat=(0.05, 0.6))
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a = rng.uniform(0, 2 * np.pi)
    g = np.clip(0.5 + (xx - 0.5) * np.cos(a) + (yy - 0.5) * np.sin(a) + 0.15 * noise[1], 0, 1)
    img = c1 * (1 - g[..., None]) + c2 * g[..., None]
    for _ in range(int(rng.integers(2, 7))):
        clutter = {"cx": rng.uniform(0, w), "cy": rng.uniform(0, h),
                   "half_h": rng.uniform(0.1, 0.35) * min(h, w),
                   "angle": rng.uniform(0, np.pi), "mirror": 1.0}
        x, y, u, v = _local(clutter, h, w)
        outline = rng.choice(["blob", "ellipse", "box"])
        ar = rng.uniform(0.5, 2.5)
        if outline == "blob":
            mask = shapes.ell(u, v, 0, 0, ar, 1) & (noise[1] > rng.uniform(-0.6, 0.3))
        elif outline == "ellipse":
            mask = shapes.ell(u, v, 0, 0, ar, 1)
        else:
            mask = shapes.box(u, v, -ar, -1, ar, 1)
        kind = str(rng.choice(shapes.TEXTURE_KINDS))
        tex = shapes.texture(kind, rng.uniform(3, 14), rng.uniform(0, 180), x, y, v, noise)
        c = shapes.colour(rng)
        shapes.paint(img, mask, tex, c, c * rng.uniform(0.4, 0.8))
    return img


def _render_object(rng, img, o, body, accent, x, y, v, noise):
    """Paint one object: body in its class texture between two related colours, accent parts
    (wheels, windows, frames) in a dark colour."""
    kind, period, angle = shapes.TEXTURE[o["cls"]]
    period = period * rng.uniform(0.85, 1.15)
    angle = angle + rng.uniform(-10, 10)
    tex = shapes.texture(kind, period, angle, x, y, v, noise)
    c1 = shapes.colour(rng, shapes.HUE_CENTRE[o["cls"]])
    c2 = c1 * rng.uniform(0.35, 0.7) if rng.random() < 0.7 else shapes.colour(rng)
    shapes.paint(img, body, tex, c1, c2)
    dark = shapes.colour(rng, val=(0.08, 0.3))
    shapes.paint(img, accent & body, 0.5 + 0.3 * noise[0], dark, dark * 1.6)


def make_example(index: int, seed: int = SEED):
    """Image ``index`` of the set, from ``(seed, index)`` alone: ``(image (H, W, 3) uint8,
    class mask, object mask)``."""
    rng = np.random.default_rng([seed, index])
    h, w = (int(rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1)) for _ in range(2))
    objects = _plan(rng, h, w)
    noise = shapes.noise_fields(rng, (h, w))
    geometry = [_local(o, h, w) for o in objects]
    parts = [shapes.silhouette(o["cls"], u, v)
             for o, (_, _, u, v) in zip(objects, geometry, strict=True)]
    keep = _visible(objects, [body for body, _ in parts], h, w)
    img = _background(rng, h, w, noise)
    for i in keep:
        x, y, _, v = geometry[i]
        _render_object(rng, img, objects[i], *parts[i], x, y, v, noise)
    cls, obj = _labels([objects[i] for i in keep], [parts[i][0] for i in keep], h, w)
    return _finish(rng, img), cls, obj


def _finish(rng, img):
    """Camera effects: uneven lighting, sensor noise and a mild blur; then 8-bit."""
    h, w, _ = img.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    light = 1 + rng.uniform(-0.15, 0.15) * (xx - 0.5) + rng.uniform(-0.15, 0.15) * (yy - 0.5)
    img = img * light[..., None] + rng.normal(0, rng.uniform(3, 8), img.shape)
    img = ndimage.gaussian_filter(img, (rng.uniform(0.5, 0.9),) * 2 + (0,), mode="nearest")
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
