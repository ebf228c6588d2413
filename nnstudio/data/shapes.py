"""The procedural shapes image set: coloured circles, squares, triangles and crosses as RGB 3×32×32 images.

Made for looking inside a CNN: the label is the shape, while colour, size, position and rotation vary, so
a network has to learn edges and corners (and can ignore colour). Everything comes from one seed, offline,
like the Playground sets. Drawing is vectorised: each shape is a signed distance field, turned into a
one-pixel anti-aliased edge, so 5 000 images take well under a second.

`noise` (0..0.5, the spec's Playground noise) adds Gaussian pixel noise of that standard deviation and, for
noise > 0, background clutter: a few faint random strokes that carry no label information.
"""

from __future__ import annotations

import math

import numpy as np

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")
IMAGE_SIZE = 32
IMAGE_SHAPE = (3, IMAGE_SIZE, IMAGE_SIZE)
# Saturated colours, so that first-layer filters have colour to tell apart (the label ignores colour).
COLOURS = np.array([
    (0.95, 0.20, 0.15),  # red
    (0.20, 0.80, 0.25),  # green
    (0.20, 0.40, 0.95),  # blue
    (0.95, 0.85, 0.15),  # yellow
    (0.85, 0.25, 0.85),  # magenta
    (0.15, 0.85, 0.90),  # cyan
], dtype=np.float32)
COLOUR_NAMES = ("red", "green", "blue", "yellow", "magenta", "cyan")
MIN_RADIUS, MAX_RADIUS = 6.0, 12.0
CLUTTER_STROKES = 3


def _box_sdf(u: np.ndarray, v: np.ndarray, half_u: np.ndarray, half_v: np.ndarray) -> np.ndarray:
    """Signed distance to an axis-aligned box (negative inside), in pixels."""
    du, dv = np.abs(u) - half_u, np.abs(v) - half_v
    outside = np.hypot(np.maximum(du, 0), np.maximum(dv, 0))
    inside = np.minimum(np.maximum(du, dv), 0)
    return outside + inside


def _triangle_sdf(u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Distance-like field of an equilateral triangle with circumradius `radius` (max of its edge planes)."""
    apothem = radius * 0.5
    field = None
    for angle in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3):
        # Each edge's outward normal points away from the vertex opposite it.
        nu, nv = -math.cos(angle), -math.sin(angle)
        d = u * nu + v * nv - apothem
        field = d if field is None else np.maximum(field, d)
    return field


def shape_sdf(kind: np.ndarray, u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Signed distance of each pixel (u, v relative to the centre, already rotated) to each sample's shape."""
    circle = np.hypot(u, v) - radius
    square = _box_sdf(u, v, radius * 0.78, radius * 0.78)
    triangle = _triangle_sdf(u, v, radius * 1.15)
    arm = radius * 0.3
    cross = np.minimum(_box_sdf(u, v, radius, arm), _box_sdf(u, v, arm, radius))
    return np.select([kind == 0, kind == 1, kind == 2], [circle, square, triangle], cross)


def make_shapes(samples: int, noise: float, rng: np.random.Generator,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`samples` images `(n, 3, 32, 32)` float32 in 0..1, shape labels `(n,)` int64 and colour indices `(n,)`.

    Classes are balanced (each appears n // 4 or n // 4 + 1 times) and come in a shuffled order.
    """
    n = int(samples)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    colours = rng.integers(0, len(COLOURS), n)
    radius = rng.uniform(MIN_RADIUS, MAX_RADIUS, n).astype(np.float32)
    margin = radius * 0.9
    cx = rng.uniform(margin, IMAGE_SIZE - margin)
    cy = rng.uniform(margin, IMAGE_SIZE - margin)
    angle = rng.uniform(0, 2 * math.pi, n)
    background = rng.uniform(0.0, 0.18, (n, 3)).astype(np.float32)

    grid = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    px, py = grid[None, None, :], grid[None, :, None]
    du = px - cx[:, None, None].astype(np.float32)
    dv = py - cy[:, None, None].astype(np.float32)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (du * cos + dv * sin).astype(np.float32)
    v = (-du * sin + dv * cos).astype(np.float32)
    r = radius[:, None, None]
    sdf = shape_sdf(labels[:, None, None], u, v, r)
    coverage = np.clip(0.5 - sdf, 0.0, 1.0)[:, None]  # (n, 1, H, W), a one-pixel soft edge
    colour = COLOURS[colours][:, :, None, None]
    images = background[:, :, None, None] * (1 - coverage) + colour * coverage
    if noise > 0:
        images = _add_clutter(images, coverage, noise, rng)
        images = images + rng.normal(0.0, noise, images.shape).astype(np.float32)
    return np.clip(images, 0.0, 1.0).astype(np.float32), labels, colours.astype(np.int64)


def _add_clutter(images: np.ndarray, coverage: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Faint straight strokes behind the shape: texture that carries no information about the label."""
    n = len(images)
    grid = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    px, py = grid[None, None, :], grid[None, :, None]
    for _ in range(CLUTTER_STROKES):
        x0, y0 = rng.uniform(0, IMAGE_SIZE, (2, n, 1, 1)).astype(np.float32)
        theta = rng.uniform(0, math.pi, (n, 1, 1)).astype(np.float32)
        distance = np.abs((px - x0) * np.sin(theta) - (py - y0) * np.cos(theta))
        stroke = np.clip(1.0 - distance, 0.0, 1.0)[:, None] * (1 - coverage)
        tint = rng.uniform(0.2, 0.6, (n, 3, 1, 1)).astype(np.float32) * min(1.0, 2 * noise)
        images = images * (1 - stroke) + tint * stroke
    return images


def preview_grid(images: np.ndarray, columns: int = 8, gap: int = 2) -> np.ndarray:
    """Tile `(n, 3, H, W)` images (0..1) into one `(rows*(H+gap)-gap, columns*(W+gap)-gap, 3)` uint8 picture."""
    images = np.asarray(images)
    n, _, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        tile = np.clip(images[i].transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return out
