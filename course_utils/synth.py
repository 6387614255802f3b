"""The bundled mini data set: a deterministic generator of VOC 2012-format segmentation data.

``python -m course_utils.synth`` writes ``data/voc-mini/VOC2012`` with the exact VOC layout
(``JPEGImages/``, ``SegmentationClass/`` and ``SegmentationObject/`` palette PNGs,
``ImageSets/Segmentation/{train,val,trainval}.txt``) and the 21 VOC classes. ``--check``
regenerates into a temporary folder and compares with the committed files; ``--stats`` prints
the statistics that ``data/README.md`` shows and ``--readme`` writes them there.

Why synthetic, and why this hard: the course must run without the 2 GB VOC download, yet a
set whose classes differ only by colour teaches nothing about segmentation. So every class has
a characteristic *silhouette* (aeroplane = cross, bottle = tall and narrow, car = box on
wheels, tv = framed screen, ...) and a characteristic *texture* (stripes, checks, dots, fur,
spots with class-specific period and angle), while colours come from heavily overlapping
distributions shared by all classes, and the background holds textured clutter with object-like
colours. Classes follow a long-tail frequency (person and car common, potted plant rare), some
objects of one class touch, objects occlude each other, and a 255 "void" band runs along
every class boundary, as in VOC. Two touching objects of the same class share an unmarked
border, so connected components of the class mask merge them (notebook 02 needs that case).

Everything comes from ``numpy.random.default_rng([seed, index])``: image ``index`` is the same
whatever else is generated, and no step depends on the thread count.
"""

from __future__ import annotations

import argparse
import colorsys
import filecmp
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from .voc import MINI_VOC_DIR, NUM_CLASSES, VOC_CLASSES, VOID, image_path, mask_path, save_mask

SEED = 2026
N_TRAIN, N_VAL = 300, 100
ID_PREFIX = "2026_"
SIZE_RANGE = (96, 256)  # image height and width, each drawn uniformly in this range (px)
JPEG_QUALITY = 90
VOID_WINDOW = 3  # void = pixels whose 3x3 neighbourhood spans two classes: a ~2 px band
MIN_VISIBLE = 40  # an object with fewer labelled (non-void) pixels is dropped from the scene

# Long-tail class frequency: rank 0 is the most common class; weight ~ (rank + 1) ** -0.8.
FREQUENCY_ORDER = (
    "person", "car", "dog", "chair", "cat", "bird", "bottle", "tv/monitor", "aeroplane",
    "boat", "horse", "bus", "sofa", "train", "sheep", "motorbike", "cow", "bicycle",
    "diningtable", "potted plant",
)
CLASS_WEIGHTS = np.array([(1.0 + FREQUENCY_ORDER.index(VOC_CLASSES[c])) ** -0.8
                          for c in range(1, NUM_CLASSES)])

# Per class: aspect (width / height of the silhouette box) and texture (kind, period px, angle).
ASPECT = {
    1: 1.6, 2: 1.5, 3: 1.3, 4: 1.6, 5: 0.38, 6: 2.0, 7: 1.8, 8: 1.1, 9: 0.75, 10: 1.5,
    11: 1.6, 12: 1.4, 13: 1.4, 14: 1.5, 15: 0.5, 16: 0.8, 17: 1.3, 18: 1.7, 19: 2.6, 20: 1.3,
}
TEXTURE = {
    1: ("plain", 0, 0), 2: ("plain", 0, 0), 3: ("stripes", 4, 45), 4: ("stripes", 8, 0),
    5: ("stripes", 4, 90), 6: ("grid", 10, 0), 7: ("plain", 0, 0), 8: ("wavy", 6, 90),
    9: ("wavy", 4, 0), 10: ("spots", 0, 0), 11: ("wavy", 9, 0), 12: ("fur", 0, 0),
    13: ("plain", 0, 0), 14: ("checker", 5, 0), 15: ("stripes", 6, 90), 16: ("leaf", 0, 0),
    17: ("dots", 5, 0), 18: ("checker", 10, 0), 19: ("stripes", 12, 0), 20: ("stripes", 3.5, 0),
}
TEXTURE_KINDS = ("plain", "stripes", "wavy", "grid", "checker", "dots", "spots", "fur", "leaf")
HUE_CENTRE = {c: (c * 0.618) % 1.0 for c in range(1, NUM_CLASSES)}  # weak, overlapping prior
HUE_SPREAD = 0.2


# --------------------------------------------------------------------------- silhouettes
# Shapes live in isotropic units: v in [-1, 1] top to bottom, u in [-aspect, aspect].
def _ell(u, v, cx, cy, rx, ry):
    return ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1.0


def _disc(u, v, cx, cy, r):
    return _ell(u, v, cx, cy, r, r)


def _box(u, v, x0, y0, x1, y1):
    return (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1)


def _poly(u, v, pts):
    """Inside a convex polygon given by its corners in order (either orientation)."""
    signs = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        signs.append((x1 - x0) * (v - y0) - (y1 - y0) * (u - x0))
    return np.all([s >= 0 for s in signs], axis=0) | np.all([s <= 0 for s in signs], axis=0)


def _seg(u, v, p, q, t):
    """Within distance ``t`` of the segment from ``p`` to ``q`` (a thick line)."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    s = np.clip(((u - p[0]) * dx + (v - p[1]) * dy) / (dx * dx + dy * dy), 0, 1)
    return (u - p[0] - s * dx) ** 2 + (v - p[1] - s * dy) ** 2 <= t * t


def _union(*masks):
    return np.logical_or.reduce(masks)


def _shape(c: int, u, v):
    """Silhouette of class ``c``: ``(body, accent)`` boolean masks (accent = dark parts such
    as wheels, windows, a tv frame or a plant pot, drawn over the body)."""
    no = np.zeros_like(u, dtype=bool)
    if c == 1:  # aeroplane: fuselage crossed by swept wings, tail fin
        body = _union(_ell(u, v, 0, 0, 1.55, 0.2), _poly(u, v, [(0.35, 0), (-0.25, -0.95),
                      (-0.5, -0.95), (-0.15, 0)]), _poly(u, v, [(0.35, 0), (-0.25, 0.95),
                      (-0.5, 0.95), (-0.15, 0)]), _box(u, v, -1.5, -0.45, -1.25, 0.45))
        return body, no
    if c == 2:  # bicycle: two rings joined by a frame
        rings = _union(*[_disc(u, v, x, 0.35, 0.62) & ~_disc(u, v, x, 0.35, 0.36)
                         for x in (-0.9, 0.9)])
        frame = _union(_seg(u, v, (-0.9, 0.35), (-0.1, -0.45), 0.1),
                       _seg(u, v, (-0.1, -0.45), (0.9, 0.35), 0.1),
                       _seg(u, v, (-0.9, 0.35), (0.3, 0.35), 0.1),
                       _seg(u, v, (0.75, -0.2), (0.7, -0.85), 0.1))
        return rings | frame, no
    if c == 3:  # bird: oval body, round head, beak, tail
        body = _union(_ell(u, v, -0.1, 0.15, 0.8, 0.45), _disc(u, v, 0.7, -0.35, 0.32),
                      _poly(u, v, [(0.95, -0.45), (1.3, -0.3), (0.95, -0.2)]),
                      _poly(u, v, [(-0.7, 0.0), (-1.3, -0.3), (-1.3, 0.35), (-0.7, 0.35)]))
        return body, _disc(u, v, 0.8, -0.42, 0.07)
    if c == 4:  # boat: hull and triangular sail on a mast
        hull = _poly(u, v, [(-1.6, 0.35), (1.6, 0.35), (1.1, 1.0), (-1.1, 1.0)])
        sail = _poly(u, v, [(0.05, -0.95), (0.05, 0.25), (1.0, 0.25)])
        return hull | sail | _box(u, v, -0.07, -1.0, 0.03, 0.35), no
    if c == 5:  # bottle: tall body with shoulders and a narrow neck
        body = _union(_box(u, v, -0.38, -0.2, 0.38, 1.0), _ell(u, v, 0, -0.2, 0.38, 0.3),
                      _box(u, v, -0.15, -0.95, 0.15, -0.3))
        return body, _box(u, v, -0.17, -1.0, 0.17, -0.82) | _box(u, v, -0.38, 0.2, 0.38, 0.55)
    if c == 6:  # bus: long box, window row, wheels
        wheels = _union(_disc(u, v, -1.3, 0.72, 0.27), _disc(u, v, 1.3, 0.72, 0.27))
        windows = _union(*[_box(u, v, x, -0.6, x + 0.45, -0.15) for x in (-1.8, -1.2, -0.6,
                                                                             0.0, 0.6, 1.2)])
        return _box(u, v, -2.0, -0.85, 2.0, 0.72) | wheels, wheels | windows
    if c == 7:  # car: wide box, cabin on top, two wheels
        wheels = _union(_disc(u, v, -1.1, 0.62, 0.36), _disc(u, v, 1.1, 0.62, 0.36))
        body = _union(_box(u, v, -1.8, -0.1, 1.8, 0.62),
                      _poly(u, v, [(-1.0, -0.1), (-0.55, -0.8), (0.65, -0.8), (1.1, -0.1)]))
        return body | wheels, wheels | _poly(u, v, [(-0.8, -0.15), (-0.5, -0.65), (0.55, -0.65),
                                                    (0.85, -0.15)])
    if c == 8:  # cat: body, round head with two pointed ears, tail
        body = _union(_ell(u, v, -0.2, 0.35, 0.85, 0.6), _disc(u, v, 0.6, -0.35, 0.4),
                      _poly(u, v, [(0.28, -0.5), (0.38, -1.0), (0.6, -0.7)]),
                      _poly(u, v, [(0.62, -0.7), (0.85, -1.0), (0.95, -0.5)]),
                      _seg(u, v, (-1.0, 0.6), (-1.05, -0.3), 0.1))
        return body, no
    if c == 9:  # chair: back, seat, legs (side view)
        body = _union(_box(u, v, -0.75, -1.0, -0.45, 0.2), _box(u, v, -0.75, 0.0, 0.75, 0.2),
                      _box(u, v, -0.75, 0.2, -0.55, 1.0), _box(u, v, 0.55, 0.2, 0.75, 1.0))
        return body, no
    if c == 10:  # cow: big body, four legs, square head
        legs = _union(*[_box(u, v, x, 0.2, x + 0.2, 1.0) for x in (-1.1, -0.75, 0.45, 0.8)])
        body = _union(_ell(u, v, -0.1, -0.05, 1.1, 0.5), legs, _box(u, v, 0.95, -0.7, 1.5, 0.0))
        return body, _box(u, v, 1.3, -0.3, 1.5, 0.0)
    if c == 11:  # dining table: thick top on two legs
        body = _union(_box(u, v, -1.6, -0.7, 1.6, -0.35), _box(u, v, -1.45, -0.35, -1.15, 1.0),
                      _box(u, v, 1.15, -0.35, 1.45, 1.0))
        return body, no
    if c == 12:  # dog: long body, head with snout, legs, raised tail
        legs = _union(*[_seg(u, v, (x, 0.2), (x + 0.05, 1.0), 0.11) for x in (-0.8, -0.5, 0.4,
                                                                              0.7)])
        body = _union(_ell(u, v, -0.1, 0.0, 0.9, 0.38), _disc(u, v, 0.95, -0.45, 0.32),
                      _ell(u, v, 1.25, -0.35, 0.2, 0.13), legs,
                      _seg(u, v, (-0.95, -0.1), (-1.35, -0.6), 0.08))
        return body, _ell(u, v, 0.8, -0.35, 0.1, 0.22)
    if c == 13:  # horse: body, long neck and head, four long legs
        legs = _union(*[_box(u, v, x, 0.1, x + 0.14, 1.0) for x in (-0.8, -0.55, 0.35, 0.6)])
        body = _union(_ell(u, v, -0.1, -0.1, 0.85, 0.38), legs,
                      _poly(u, v, [(0.45, -0.25), (0.95, -1.0), (1.2, -0.85), (0.8, -0.05)]),
                      _ell(u, v, 1.15, -0.8, 0.28, 0.16))
        return body, _seg(u, v, (0.55, -0.45), (0.95, -1.0), 0.06)
    if c == 14:  # motorbike: two solid wheels, body, seat, handlebar
        wheels = _union(_disc(u, v, -1.0, 0.55, 0.43), _disc(u, v, 1.0, 0.55, 0.43))
        body = _union(_poly(u, v, [(-0.9, 0.3), (0.9, 0.3), (0.2, -0.45)]),
                      _box(u, v, -0.7, -0.5, 0.15, -0.25), _seg(u, v, (0.9, 0.5), (0.7, -0.8),
                                                                0.09))
        return body | wheels, wheels & ~_disc(u, v, -1.0, 0.55, 0.12) & ~_disc(u, v, 1.0,
                                                                                0.55, 0.12)
    if c == 15:  # person: head, torso, arms, two legs
        body = _union(_disc(u, v, 0, -0.78, 0.2), _ell(u, v, 0, -0.2, 0.42, 0.42),
                      _box(u, v, -0.34, 0.15, -0.05, 1.0), _box(u, v, 0.05, 0.15, 0.34, 1.0),
                      _seg(u, v, (-0.35, -0.45), (-0.48, 0.2), 0.08),
                      _seg(u, v, (0.35, -0.45), (0.48, 0.2), 0.08))
        return body, _disc(u, v, 0, -0.78, 0.2)
    if c == 16:  # potted plant: pot with a bushy crown
        pot = _poly(u, v, [(-0.45, 0.35), (0.45, 0.35), (0.32, 1.0), (-0.32, 1.0)])
        crown = _union(_disc(u, v, 0, -0.25, 0.45), _disc(u, v, -0.4, -0.05, 0.35),
                       _disc(u, v, 0.4, -0.05, 0.35), _disc(u, v, -0.22, -0.65, 0.32),
                       _disc(u, v, 0.25, -0.62, 0.32), _box(u, v, -0.05, 0.0, 0.05, 0.4))
        return pot | crown, pot
    if c == 17:  # sheep: fluffy cloud body, dark head and legs
        fluff = _union(*[_disc(u, v, 0.75 * np.cos(a), 0.35 * np.sin(a) - 0.1, 0.38)
                         for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)])
        dark = _union(_ell(u, v, 1.05, -0.25, 0.25, 0.3),
                      *[_box(u, v, x, 0.3, x + 0.14, 0.95) for x in (-0.6, -0.3, 0.25, 0.55)])
        return fluff | dark, dark & ~fluff
    if c == 18:  # sofa: back, seat and two armrests
        body = _union(_box(u, v, -1.35, -1.0, 1.35, 0.0), _box(u, v, -1.7, -0.45, 1.7, 0.65),
                      _box(u, v, -1.6, 0.65, -1.4, 0.95), _box(u, v, 1.4, 0.65, 1.6, 0.95))
        return body, _box(u, v, -1.7, -0.45, -1.35, 0.65) | _box(u, v, 1.35, -0.45, 1.7, 0.65)
    if c == 19:  # train: very long carriage with a slanted front and windows
        body = _box(u, v, -2.6, -0.85, 2.1, 0.75) | _poly(u, v, [(2.1, -0.85), (2.6, 0.2),
                                                                   (2.6, 0.75), (2.1, 0.75)])
        windows = _union(*[_box(u, v, x, -0.6, x + 0.35, -0.1) for x in np.arange(-2.4, 1.9,
                                                                                   0.6)])
        return body | _box(u, v, -2.6, 0.75, 2.6, 0.95), windows | _box(u, v, -2.6, 0.75, 2.6,
                                                                          0.95)
    if c == 20:  # tv/monitor: dark frame around a bright screen, on a stand
        frame = _box(u, v, -1.3, -1.0, 1.3, 0.75) & ~_box(u, v, -1.1, -0.8, 1.1, 0.55)
        stand = _box(u, v, -0.2, 0.75, 0.2, 1.0)
        return _box(u, v, -1.3, -1.0, 1.3, 0.75) | stand, frame | stand
    raise ValueError(f"class {c}: no silhouette (classes are 1-{NUM_CLASSES - 1})")


# --------------------------------------------------------------------------- textures
def _noise_fields(rng, shape):
    """Two unit-variance noise fields, fine (sigma 1 px) and coarse (sigma 4 px)."""
    fields = []
    for sigma in (1.0, 4.0):
        f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
        fields.append(f / f.std())
    return fields


def _texture(kind, period, angle, x, y, v, noise):
    """A texture value in [0, 1] at local pixel coordinates ``x, y`` (rotated with the object).

    ``period`` is in pixels and ``angle`` in degrees; ``v`` (shape units) adds top-to-bottom
    shading; ``noise`` is the (fine, coarse) pair from :func:`_noise_fields`.
    """
    fine, coarse = noise
    a = np.deg2rad(angle)
    s = x * np.cos(a) + y * np.sin(a)
    t_ = -x * np.sin(a) + y * np.cos(a)
    if kind == "plain":
        t = 0.5 + 0.3 * v + 0.08 * coarse
    elif kind == "stripes":
        t = 0.5 + 0.5 * np.sin(2 * np.pi * s / period)
    elif kind == "wavy":
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (s + 0.5 * period * np.sin(t_ / period)) / period)
    elif kind == "grid":
        t = ((np.mod(s, period) < 2) | (np.mod(t_, period) < 2)).astype(float)
    elif kind == "checker":
        t = (np.floor(s / period) + np.floor(t_ / period)) % 2
    elif kind == "dots":
        ds, dt = np.mod(s, period) - period / 2, np.mod(t_, period) - period / 2
        t = (ds * ds + dt * dt <= (0.32 * period) ** 2).astype(float)
    elif kind == "spots":
        t = (coarse > 0.4).astype(float)
    elif kind == "fur":
        t = 0.5 + 0.25 * fine + 0.1 * np.sin(2 * np.pi * s / 3)
    elif kind == "leaf":
        t = (fine > 0.2).astype(float) * 0.8 + 0.1 * coarse
    else:
        raise ValueError(f"unknown texture kind {kind!r} (kinds: {', '.join(TEXTURE_KINDS)})")
    return np.clip(t, 0.0, 1.0)


def _colour(rng, hue=None, sat=(0.25, 0.9), val=(0.35, 0.95)) -> np.ndarray:
    """An RGB colour in [0, 255]; ``hue`` is a centre the draw scatters widely around."""
    h = rng.random() if hue is None else (hue + HUE_SPREAD * rng.standard_normal()) % 1.0
    rgb = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return np.array(rgb) * 255.0


def _paint(img, mask, t, c1, c2):
    """Blend colours ``c1`` (t=0) and ``c2`` (t=1) by texture ``t`` into ``img`` where ``mask``."""
    img[mask] = c1 * (1 - t[mask, None]) + c2 * t[mask, None]


# --------------------------------------------------------------------------- scene layout
def _plan(rng, h, w):
    """Random objects for an ``h x w`` image, in drawing order (later ones occlude earlier).

    Each object is a dict: class, centre, half height (px), rotation, mirror. About a third
    of the images get a *touching pair*: two objects of one class side by side, overlapping
    a little, so the class mask alone cannot tell them apart.
    """
    n = int(min(1 + rng.poisson(1.8), 6))
    probs = CLASS_WEIGHTS / CLASS_WEIGHTS.sum()
    objects = []
    for _ in range(n):
        c = int(rng.choice(np.arange(1, NUM_CLASSES), p=probs))
        objects.append(_place(rng, c, h, w))
    if rng.random() < 0.35:
        first = objects[int(rng.integers(len(objects)))]
        objects.append(_neighbour(rng, first, w))
    order = np.argsort([-o["half_h"] * ASPECT[o["cls"]] + 6 * rng.standard_normal()
                        for o in objects], kind="stable")
    return [objects[i] for i in order]


def _place(rng, c, h, w):
    """Size and position of one object of class ``c``: it fits the image and may be cut off
    at an edge a little."""
    half_h = rng.uniform(0.16, 0.38) * min(h, w)
    half_h = min(half_h, 0.48 * w / ASPECT[c], 0.48 * h)
    half_w = half_h * ASPECT[c]
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
    width = obj["half_h"] * ASPECT[obj["cls"]] + other["half_h"] * ASPECT[obj["cls"]]
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
    c1, c2 = _colour(rng, sat=(0.05, 0.6)), _colour(rng, sat=(0.05, 0.6))
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a = rng.uniform(0, 2 * np.pi)
    g = np.clip(0.5 + (xx - 0.5) * np.cos(a) + (yy - 0.5) * np.sin(a) + 0.15 * noise[1], 0, 1)
    img = c1 * (1 - g[..., None]) + c2 * g[..., None]
    for _ in range(int(rng.integers(2, 7))):
        fake = {"cx": rng.uniform(0, w), "cy": rng.uniform(0, h), "half_h": rng.uniform(0.1, 0.35)
                * min(h, w), "angle": rng.uniform(0, np.pi), "mirror": 1.0}
        x, y, u, v = _local(fake, h, w)
        kind = rng.choice(["blob", "ellipse", "box"])
        ar = rng.uniform(0.5, 2.5)
        if kind == "blob":
            mask = _ell(u, v, 0, 0, ar, 1) & (noise[1] > rng.uniform(-0.6, 0.3))
        elif kind == "ellipse":
            mask = _ell(u, v, 0, 0, ar, 1)
        else:
            mask = _box(u, v, -ar, -1, ar, 1)
        tex = _texture(str(rng.choice(TEXTURE_KINDS)), rng.uniform(3, 14), rng.uniform(0, 180),
                       x, y, v, noise)
        c = _colour(rng)
        _paint(img, mask, tex, c, c * rng.uniform(0.4, 0.8))
    return img


def _render_object(rng, img, o, body, accent, x, y, v, noise):
    """Paint one object: body in its class texture between two related colours, accent parts
    (wheels, windows, frames) in a dark colour."""
    kind, period, angle = TEXTURE[o["cls"]]
    period = period * rng.uniform(0.85, 1.15)
    angle = angle + rng.uniform(-10, 10)
    tex = _texture(kind, period, angle, x, y, v, noise)
    c1 = _colour(rng, HUE_CENTRE[o["cls"]])
    c2 = c1 * rng.uniform(0.35, 0.7) if rng.random() < 0.7 else _colour(rng)
    _paint(img, body, tex, c1, c2)
    dark = _colour(rng, val=(0.08, 0.3))
    _paint(img, accent & body, 0.5 + 0.3 * noise[0], dark, dark * 1.6)


def make_example(index: int, seed: int = SEED):
    """Image ``index`` of the set: ``(image (H, W, 3) uint8, class mask, object mask)``.

    Depends only on ``(seed, index)``, so any image can be regenerated on its own.
    """
    rng = np.random.default_rng([seed, index])
    h, w = (int(rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1)) for _ in range(2))
    objects = _plan(rng, h, w)
    noise = _noise_fields(rng, (h, w))
    geometry = [_local(o, h, w) for o in objects]
    shapes = [_shape(o["cls"], u, v) for o, (_, _, u, v) in zip(objects, geometry, strict=True)]
    keep = _visible(objects, [body for body, _ in shapes], h, w)
    img = _background(rng, h, w, noise)
    for i in keep:
        x, y, _, v = geometry[i]
        _render_object(rng, img, objects[i], *shapes[i], x, y, v, noise)
    cls, obj = _labels([objects[i] for i in keep], [shapes[i][0] for i in keep], h, w)
    return _finish(rng, img), cls, obj


def _finish(rng, img):
    """Camera effects: uneven lighting, sensor noise and a mild blur; then 8-bit."""
    h, w, _ = img.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    light = 1 + rng.uniform(-0.15, 0.15) * (xx - 0.5) + rng.uniform(-0.15, 0.15) * (yy - 0.5)
    img = img * light[..., None] + rng.normal(0, rng.uniform(3, 8), img.shape)
    img = ndimage.gaussian_filter(img, (rng.uniform(0.5, 0.9),) * 2 + (0,), mode="nearest")
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- writing
def image_id(index: int) -> str:
    """VOC-style id of image ``index`` (0-based): ``2026_000001`` for index 0."""
    return f"{ID_PREFIX}{index + 1:06d}"


def write_example(root: Path, index: int, seed: int = SEED) -> str:
    """Generate image ``index`` and write its JPEG and both palette PNGs under ``root``."""
    iid = image_id(index)
    image, cls, obj = make_example(index, seed)
    Image.fromarray(image).save(image_path(root, iid), quality=JPEG_QUALITY)
    save_mask(cls, mask_path(root, iid, "SegmentationClass"))
    save_mask(obj, mask_path(root, iid, "SegmentationObject"))
    return iid


def split_ids(n_train: int = N_TRAIN, n_val: int = N_VAL) -> dict[str, list[str]]:
    """Ids of each split: the first ``n_train`` indices train, the next ``n_val`` val."""
    if n_train < 1 or n_val < 1:
        raise ValueError(f"n_train={n_train}, n_val={n_val}: each split needs an image")
    train = [image_id(i) for i in range(n_train)]
    val = [image_id(i) for i in range(n_train, n_train + n_val)]
    return {"train": train, "val": val, "trainval": sorted(train + val)}


def generate(out: str | os.PathLike = MINI_VOC_DIR, n_train: int = N_TRAIN, n_val: int = N_VAL,
             seed: int = SEED) -> Path:
    """Write the whole set under ``out`` (a ``VOC2012`` folder) and return it.

    ``trainval.txt`` is removed first and written last: its presence means "data ready".
    Files of ids no longer in the set are removed, so a smaller run leaves no strays.
    """
    out = Path(out)
    sets = out / "ImageSets" / "Segmentation"
    (sets / "trainval.txt").unlink(missing_ok=True)
    for d in ("JPEGImages", "SegmentationClass", "SegmentationObject"):
        (out / d).mkdir(parents=True, exist_ok=True)
    sets.mkdir(parents=True, exist_ok=True)
    splits = split_ids(n_train, n_val)
    for i in range(n_train + n_val):
        write_example(out, i, seed)
    wanted = set(splits["trainval"])
    for d in ("JPEGImages", "SegmentationClass", "SegmentationObject"):
        for f in (out / d).iterdir():
            if f.stem not in wanted:
                f.unlink()
    for name in ("train", "val", "trainval"):
        (sets / f"{name}.txt").write_text("".join(f"{i}\n" for i in splits[name]))
    return out


# --------------------------------------------------------------------------- checking
def _relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _differs(a: Path, b: Path) -> str | None:
    """Why files ``a`` (committed) and ``b`` (regenerated) differ, or None when they agree.

    Masks and split files must be byte-identical; JPEGs must decode to the same pixels (their
    bytes may differ with the JPEG library version)."""
    if a.suffix == ".jpg":
        pa, pb = np.asarray(Image.open(a).convert("RGB")), np.asarray(Image.open(b).convert("RGB"))
        if pa.shape != pb.shape:
            return f"image size {pa.shape} != regenerated {pb.shape}"
        diff = np.abs(pa.astype(int) - pb.astype(int))
        return None if not diff.any() else f"pixels differ (max |diff| {diff.max()})"
    if filecmp.cmp(a, b, shallow=False):
        return None
    if a.suffix == ".png" and np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))):
        return "same mask values but different PNG bytes (another zlib/Pillow version?)"
    return "content differs"


def compare(committed: str | os.PathLike, regenerated: str | os.PathLike,
            files: list[str] | None = None) -> str | None:
    """First difference between two generated folders (``files``: relative paths to compare,
    default all, and then the two file lists must agree too), or None."""
    committed, regenerated = Path(committed), Path(regenerated)
    if files is None:
        have, want = _relative_files(committed), _relative_files(regenerated)
        if have != want:
            extra, missing = sorted(set(have) - set(want)), sorted(set(want) - set(have))
            return (f"{committed}: file lists differ (not generated: {extra[:3]}, "
                    f"missing: {missing[:3]})")
        files = want
    for rel in files:
        if not (committed / rel).is_file():
            return f"{committed / rel}: missing"
        why = _differs(committed / rel, regenerated / rel)
        if why:
            return f"{committed / rel}: {why}"
    return None


def check(root: str | os.PathLike = MINI_VOC_DIR, n_train: int = N_TRAIN, n_val: int = N_VAL,
          seed: int = SEED, indices: list[int] | None = None) -> str | None:
    """Regenerate into a temporary folder and compare with ``root``: the first difference as
    a message naming the file, or None when all match. ``indices`` limits the check to those
    images (a quick spot check); by default the whole set, split files included."""
    with tempfile.TemporaryDirectory() as tmp:
        if indices is None:
            return compare(root, generate(Path(tmp) / "VOC2012", n_train, n_val, seed))
        fresh = Path(tmp)
        for d in ("JPEGImages", "SegmentationClass", "SegmentationObject"):
            (fresh / d).mkdir()
        files = []
        for i in indices:
            iid = write_example(fresh, i, seed)
            files += [f"JPEGImages/{iid}.jpg", f"SegmentationClass/{iid}.png",
                      f"SegmentationObject/{iid}.png"]
        return compare(root, fresh, files)


# --------------------------------------------------------------------------- statistics
def stats(root: str | os.PathLike = MINI_VOC_DIR) -> dict:
    """Statistics of a VOC-format folder, computed from its files: split sizes, per-class
    pixels, images and objects, void share, objects per image, image sizes, total bytes."""
    root = Path(root)
    ids = {s: (root / "ImageSets/Segmentation" / f"{s}.txt").read_text().split()
           for s in ("train", "val")}
    pixels = np.zeros(256, np.int64)
    images = np.zeros(NUM_CLASSES, np.int64)
    objects = np.zeros(NUM_CLASSES, np.int64)
    per_image, sizes = [], []
    for iid in ids["train"] + ids["val"]:
        cls = np.asarray(Image.open(mask_path(root, iid, "SegmentationClass")))
        obj = np.asarray(Image.open(mask_path(root, iid, "SegmentationObject")))
        pixels += np.bincount(cls.ravel(), minlength=256)
        images[np.unique(cls[cls != VOID])] += 1
        inst = [int(k) for k in np.unique(obj) if k not in (0, VOID)]
        for k in inst:
            objects[int(cls[obj == k][0])] += 1
        per_image.append(len(inst))
        sizes.append(cls.shape)
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    return {"n_train": len(ids["train"]), "n_val": len(ids["val"]), "pixels": pixels,
            "images": images, "objects": objects, "per_image": np.array(per_image),
            "sizes": np.array(sizes), "bytes": total}


def stats_markdown(s: dict) -> str:
    """:func:`stats` as the markdown tables of ``data/README.md``."""
    labelled = s["pixels"][:NUM_CLASSES].sum()
    allpx = s["pixels"].sum()
    hs, ws = s["sizes"][:, 0], s["sizes"][:, 1]
    per = s["per_image"]
    lines = [
        f"- images: {s['n_train']} train + {s['n_val']} val = {s['n_train'] + s['n_val']}; "
        f"total size {s['bytes'] / 1e6:.1f} MB",
        f"- image sizes: height {hs.min()}-{hs.max()}, width {ws.min()}-{ws.max()} px "
        f"(median {int(np.median(hs))} x {int(np.median(ws))}); {int((hs > ws).sum())} "
        f"portrait, {int((hs < ws).sum())} landscape, {int((hs == ws).sum())} square; "
        f"{int(((hs < 128) | (ws < 128)).sum())} with a side under 128 px, "
        f"{int(((hs < 128) & (ws < 128)).sum())} smaller than 128 x 128",
        f"- objects per image: mean {per.mean():.2f}, min {per.min()}, max {per.max()}; "
        f"images with N objects: " + ", ".join(f"{n}: {int((per == n).sum())}"
                                               for n in range(per.min(), per.max() + 1)),
        f"- void (255) share of all pixels: {100 * s['pixels'][VOID] / allpx:.1f} %",
        "",
        "| class | id | pixel share (of labelled) | images | objects |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in range(NUM_CLASSES):
        lines.append(f"| {VOC_CLASSES[c]} | {c} | {100 * s['pixels'][c] / labelled:.2f} % | "
                     f"{s['images'][c]} | {s['objects'][c] if c else '-'} |")
    return "\n".join(lines)


README = MINI_VOC_DIR.parent.parent / "README.md"
STATS_BEGIN, STATS_END = "<!-- STATS -->", "<!-- /STATS -->"


def update_readme(readme: str | os.PathLike = README, root: str | os.PathLike = MINI_VOC_DIR):
    """Rewrite the statistics between the ``<!-- STATS -->`` markers of ``readme`` from the
    files under ``root``, so the numbers shown are the ones computed from the data."""
    readme = Path(readme)
    text = readme.read_text()
    if STATS_BEGIN not in text or STATS_END not in text:
        raise ValueError(f"{readme}: no {STATS_BEGIN} ... {STATS_END} block to update")
    head, rest = text.split(STATS_BEGIN, 1)
    tail = rest.split(STATS_END, 1)[1]
    readme.write_text(f"{head}{STATS_BEGIN}\n{stats_markdown(stats(root))}\n{STATS_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    """Command line: generate (default), ``--check``, ``--stats`` or ``--readme``."""
    p = argparse.ArgumentParser(prog="python -m course_utils.synth", description=__doc__
                                .split("\n")[0])
    p.add_argument("--out", type=Path, default=MINI_VOC_DIR, help="the VOC2012 folder")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--n-train", type=int, default=N_TRAIN)
    p.add_argument("--n-val", type=int, default=N_VAL)
    p.add_argument("--check", action="store_true",
                   help="regenerate into a temporary folder and compare with --out")
    p.add_argument("--stats", action="store_true", help="print statistics of --out")
    p.add_argument("--readme", type=Path, nargs="?", const=README, default=None,
                   help="rewrite the statistics block of this README (default data/README.md)")
    args = p.parse_args(argv)
    if args.check:
        problem = check(args.out, args.n_train, args.n_val, args.seed)
        if problem:
            print(f"MISMATCH: {problem}\nRegenerate with: python -m course_utils.synth",
                  file=sys.stderr)
            return 1
        print(f"{args.out}: matches regeneration (seed {args.seed})")
        return 0
    if args.stats:
        print(stats_markdown(stats(args.out)))
        return 0
    if args.readme:
        update_readme(args.readme, args.out)
        print(f"updated the statistics in {args.readme}")
        return 0
    out = generate(args.out, args.n_train, args.n_val, args.seed)
    print(f"wrote {args.n_train} train + {args.n_val} val images to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
