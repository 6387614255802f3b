"""The look of the mini data set's objects: a silhouette and a texture per class, while colours
overlap across classes (a set whose classes differ only by colour would teach nothing)."""

import colorsys

import numpy as np
from scipy import ndimage

from ..voc import NUM_CLASSES

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
def ell(u, v, cx, cy, rx, ry):
    return ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1.0


def disc(u, v, cx, cy, r):
    return ell(u, v, cx, cy, r, r)


def box(u, v, x0, y0, x1, y1):
    return (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1)


def poly(u, v, pts):
    """Inside a convex polygon given by its corners in order (either orientation)."""
    edges = zip(pts, pts[1:] + pts[:1], strict=True)
    signs = [(x1 - x0) * (v - y0) - (y1 - y0) * (u - x0) for (x0, y0), (x1, y1) in edges]
    return np.all([s >= 0 for s in signs], axis=0) | np.all([s <= 0 for s in signs], axis=0)


def seg(u, v, p, q, t):
    """Within distance ``t`` of the segment from ``p`` to ``q`` (a thick line)."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    s = np.clip(((u - p[0]) * dx + (v - p[1]) * dy) / (dx * dx + dy * dy), 0, 1)
    return (u - p[0] - s * dx) ** 2 + (v - p[1] - s * dy) ** 2 <= t * t


def union(*masks):
    return np.logical_or.reduce(masks)


def silhouette(c: int, u, v):
    """Silhouette of class ``c``: ``(body, accent)`` boolean masks (accent = dark parts such
    as wheels, windows, a tv frame or a plant pot, drawn over the body)."""
    no = np.zeros_like(u, dtype=bool)
    if c == 1:  # aeroplane: fuselage crossed by swept wings, tail fin
        wings = [poly(u, v, [(0.35, 0), (-0.25, y), (-0.5, y), (-0.15, 0)]) for y in (-0.95, 0.95)]
        body = union(ell(u, v, 0, 0, 1.55, 0.2), *wings, box(u, v, -1.5, -0.45, -1.25, 0.45))
        return body, no
    if c == 2:  # bicycle: two rings joined by a frame
        rings = union(*[disc(u, v, x, 0.35, 0.62) & ~disc(u, v, x, 0.35, 0.36)
                         for x in (-0.9, 0.9)])
        frame = union(seg(u, v, (-0.9, 0.35), (-0.1, -0.45), 0.1),
                       seg(u, v, (-0.1, -0.45), (0.9, 0.35), 0.1),
                       seg(u, v, (-0.9, 0.35), (0.3, 0.35), 0.1),
                       seg(u, v, (0.75, -0.2), (0.7, -0.85), 0.1))
        return rings | frame, no
    if c == 3:  # bird: oval body, round head, beak, tail
        body = union(ell(u, v, -0.1, 0.15, 0.8, 0.45), disc(u, v, 0.7, -0.35, 0.32),
                      poly(u, v, [(0.95, -0.45), (1.3, -0.3), (0.95, -0.2)]),
                      poly(u, v, [(-0.7, 0.0), (-1.3, -0.3), (-1.3, 0.35), (-0.7, 0.35)]))
        return body, disc(u, v, 0.8, -0.42, 0.07)
    if c == 4:  # boat: hull and triangular sail on a mast
        hull = poly(u, v, [(-1.6, 0.35), (1.6, 0.35), (1.1, 1.0), (-1.1, 1.0)])
        sail = poly(u, v, [(0.05, -0.95), (0.05, 0.25), (1.0, 0.25)])
        return hull | sail | box(u, v, -0.07, -1.0, 0.03, 0.35), no
    if c == 5:  # bottle: tall body with shoulders and a narrow neck
        body = union(box(u, v, -0.38, -0.2, 0.38, 1.0), ell(u, v, 0, -0.2, 0.38, 0.3),
                      box(u, v, -0.15, -0.95, 0.15, -0.3))
        return body, box(u, v, -0.17, -1.0, 0.17, -0.82) | box(u, v, -0.38, 0.2, 0.38, 0.55)
    if c == 6:  # bus: long box, window row, wheels
        wheels = union(disc(u, v, -1.3, 0.72, 0.27), disc(u, v, 1.3, 0.72, 0.27))
        windows = union(*[box(u, v, x, -0.6, x + 0.45, -0.15)
                          for x in (-1.8, -1.2, -0.6, 0.0, 0.6, 1.2)])
        return box(u, v, -2.0, -0.85, 2.0, 0.72) | wheels, wheels | windows
    if c == 7:  # car: wide box, cabin on top, two wheels
        wheels = union(disc(u, v, -1.1, 0.62, 0.36), disc(u, v, 1.1, 0.62, 0.36))
        body = union(box(u, v, -1.8, -0.1, 1.8, 0.62),
                      poly(u, v, [(-1.0, -0.1), (-0.55, -0.8), (0.65, -0.8), (1.1, -0.1)]))
        glass = poly(u, v, [(-0.8, -0.15), (-0.5, -0.65), (0.55, -0.65), (0.85, -0.15)])
        return body | wheels, wheels | glass
    if c == 8:  # cat: body, round head with two pointed ears, tail
        body = union(ell(u, v, -0.2, 0.35, 0.85, 0.6), disc(u, v, 0.6, -0.35, 0.4),
                      poly(u, v, [(0.28, -0.5), (0.38, -1.0), (0.6, -0.7)]),
                      poly(u, v, [(0.62, -0.7), (0.85, -1.0), (0.95, -0.5)]),
                      seg(u, v, (-1.0, 0.6), (-1.05, -0.3), 0.1))
        return body, no
    if c == 9:  # chair: back, seat, legs (side view)
        body = union(box(u, v, -0.75, -1.0, -0.45, 0.2), box(u, v, -0.75, 0.0, 0.75, 0.2),
                      box(u, v, -0.75, 0.2, -0.55, 1.0), box(u, v, 0.55, 0.2, 0.75, 1.0))
        return body, no
    if c == 10:  # cow: big body, four legs, square head
        legs = union(*[box(u, v, x, 0.2, x + 0.2, 1.0) for x in (-1.1, -0.75, 0.45, 0.8)])
        body = union(ell(u, v, -0.1, -0.05, 1.1, 0.5), legs, box(u, v, 0.95, -0.7, 1.5, 0.0))
        return body, box(u, v, 1.3, -0.3, 1.5, 0.0)
    if c == 11:  # dining table: thick top on two legs
        body = union(box(u, v, -1.6, -0.7, 1.6, -0.35), box(u, v, -1.45, -0.35, -1.15, 1.0),
                      box(u, v, 1.15, -0.35, 1.45, 1.0))
        return body, no
    if c == 12:  # dog: long body, head with snout, legs, raised tail
        legs = union(*[seg(u, v, (x, 0.2), (x + 0.05, 1.0), 0.11) for x in (-0.8, -0.5, 0.4, 0.7)])
        body = union(ell(u, v, -0.1, 0.0, 0.9, 0.38), disc(u, v, 0.95, -0.45, 0.32),
                      ell(u, v, 1.25, -0.35, 0.2, 0.13), legs,
                      seg(u, v, (-0.95, -0.1), (-1.35, -0.6), 0.08))
        return body, ell(u, v, 0.8, -0.35, 0.1, 0.22)
    if c == 13:  # horse: body, long neck and head, four long legs
        legs = union(*[box(u, v, x, 0.1, x + 0.14, 1.0) for x in (-0.8, -0.55, 0.35, 0.6)])
        body = union(ell(u, v, -0.1, -0.1, 0.85, 0.38), legs,
                      poly(u, v, [(0.45, -0.25), (0.95, -1.0), (1.2, -0.85), (0.8, -0.05)]),
                      ell(u, v, 1.15, -0.8, 0.28, 0.16))
        return body, seg(u, v, (0.55, -0.45), (0.95, -1.0), 0.06)
    if c == 14:  # motorbike: two solid wheels, body, seat, handlebar
        wheels = union(disc(u, v, -1.0, 0.55, 0.43), disc(u, v, 1.0, 0.55, 0.43))
        hubs = disc(u, v, -1.0, 0.55, 0.12) | disc(u, v, 1.0, 0.55, 0.12)
        body = union(poly(u, v, [(-0.9, 0.3), (0.9, 0.3), (0.2, -0.45)]),
                     box(u, v, -0.7, -0.5, 0.15, -0.25), seg(u, v, (0.9, 0.5), (0.7, -0.8), 0.09))
        return body | wheels, wheels & ~hubs
    if c == 15:  # person: head, torso, arms, two legs
        body = union(disc(u, v, 0, -0.78, 0.2), ell(u, v, 0, -0.2, 0.42, 0.42),
                      box(u, v, -0.34, 0.15, -0.05, 1.0), box(u, v, 0.05, 0.15, 0.34, 1.0),
                      seg(u, v, (-0.35, -0.45), (-0.48, 0.2), 0.08),
                      seg(u, v, (0.35, -0.45), (0.48, 0.2), 0.08))
        return body, disc(u, v, 0, -0.78, 0.2)
    if c == 16:  # potted plant: pot with a bushy crown
        pot = poly(u, v, [(-0.45, 0.35), (0.45, 0.35), (0.32, 1.0), (-0.32, 1.0)])
        crown = union(disc(u, v, 0, -0.25, 0.45), disc(u, v, -0.4, -0.05, 0.35),
                       disc(u, v, 0.4, -0.05, 0.35), disc(u, v, -0.22, -0.65, 0.32),
                       disc(u, v, 0.25, -0.62, 0.32), box(u, v, -0.05, 0.0, 0.05, 0.4))
        return pot | crown, pot
    if c == 17:  # sheep: fluffy cloud body, dark head and legs
        fluff = union(*[disc(u, v, 0.75 * np.cos(a), 0.35 * np.sin(a) - 0.1, 0.38)
                         for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)])
        dark = union(ell(u, v, 1.05, -0.25, 0.25, 0.3),
                      *[box(u, v, x, 0.3, x + 0.14, 0.95) for x in (-0.6, -0.3, 0.25, 0.55)])
        return fluff | dark, dark & ~fluff
    if c == 18:  # sofa: back, seat and two armrests
        body = union(box(u, v, -1.35, -1.0, 1.35, 0.0), box(u, v, -1.7, -0.45, 1.7, 0.65),
                      box(u, v, -1.6, 0.65, -1.4, 0.95), box(u, v, 1.4, 0.65, 1.6, 0.95))
        return body, box(u, v, -1.7, -0.45, -1.35, 0.65) | box(u, v, 1.35, -0.45, 1.7, 0.65)
    if c == 19:  # train: very long carriage with a slanted front and windows
        front = poly(u, v, [(2.1, -0.85), (2.6, 0.2), (2.6, 0.75), (2.1, 0.75)])
        rail = box(u, v, -2.6, 0.75, 2.6, 0.95)
        windows = union(*[box(u, v, x, -0.6, x + 0.35, -0.1) for x in np.arange(-2.4, 1.9, 0.6)])
        return box(u, v, -2.6, -0.85, 2.1, 0.75) | front | rail, windows | rail
    if c == 20:  # tv/monitor: dark frame around a bright screen, on a stand
        frame = box(u, v, -1.3, -1.0, 1.3, 0.75) & ~box(u, v, -1.1, -0.8, 1.1, 0.55)
        stand = box(u, v, -0.2, 0.75, 0.2, 1.0)
        return box(u, v, -1.3, -1.0, 1.3, 0.75) | stand, frame | stand


# --------------------------------------------------------------------------- textures
def noise_fields(rng, shape):
    """Two unit-variance noise fields, fine (sigma 1 px) and coarse (sigma 4 px)."""
    fields = [ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
              for sigma in (1.0, 4.0)]
    return [f / f.std() for f in fields]


def texture(kind, period, angle, x, y, v, noise):
    """A texture value in [0, 1] at object-local pixel coordinates ``x, y``; ``period`` in px,
    ``angle`` in degrees, ``v`` shades top to bottom, ``noise`` from :func:`noise_fields`."""
    fine, coarse = noise
    a = np.deg2rad(angle)
    along = x * np.cos(a) + y * np.sin(a)
    across = -x * np.sin(a) + y * np.cos(a)
    if kind == "plain":
        t = 0.5 + 0.3 * v + 0.08 * coarse
    elif kind == "stripes":
        t = 0.5 + 0.5 * np.sin(2 * np.pi * along / period)
    elif kind == "wavy":
        phase = along + 0.5 * period * np.sin(across / period)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * phase / period)
    elif kind == "grid":
        t = ((np.mod(along, period) < 2) | (np.mod(across, period) < 2)).astype(float)
    elif kind == "checker":
        t = (np.floor(along / period) + np.floor(across / period)) % 2
    elif kind == "dots":
        ds, dt = np.mod(along, period) - period / 2, np.mod(across, period) - period / 2
        t = (ds * ds + dt * dt <= (0.32 * period) ** 2).astype(float)
    elif kind == "spots":
        t = (coarse > 0.4).astype(float)
    elif kind == "fur":
        t = 0.5 + 0.25 * fine + 0.1 * np.sin(2 * np.pi * along / 3)
    elif kind == "leaf":
        t = (fine > 0.2).astype(float) * 0.8 + 0.1 * coarse
    return np.clip(t, 0.0, 1.0)


def colour(rng, hue=None, sat=(0.25, 0.9), val=(0.35, 0.95)) -> np.ndarray:
    """An RGB colour in [0, 255]; ``hue`` is a centre the draw scatters widely around."""
    h = rng.random() if hue is None else (hue + HUE_SPREAD * rng.standard_normal()) % 1.0
    rgb = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return np.array(rgb) * 255.0


def paint(img, mask, t, c1, c2):
    """Blend colours ``c1`` (t=0) and ``c2`` (t=1) by texture ``t`` into ``img`` where ``mask``."""
    img[mask] = c1 * (1 - t[mask, None]) + c2 * t[mask, None]

