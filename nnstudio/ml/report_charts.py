"""Pictures for the training report without Qt or a plotting library: PNG bytes from arrays, SVG charts as text.

Charts are small inline SVGs (curves, confusion matrix, bars, scatter); images (kernels, feature maps,
samples) are PNGs written with zlib and embedded as data URIs, so the report is one self-contained file.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from collections.abc import Sequence

import numpy as np

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def encode_png(rgb: np.ndarray) -> bytes:
    """An `(H, W, 3)` array (uint8, or float in 0..1) as PNG bytes (8-bit RGB, no interlace)."""
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        a = np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[row].tobytes() for row in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def png_data_uri(rgb: np.ndarray, scale: int = 1) -> str:
    a = np.asarray(rgb)
    if scale > 1:
        a = a.repeat(scale, axis=0).repeat(scale, axis=1)
    return "data:image/png;base64," + base64.b64encode(encode_png(a)).decode("ascii")


def heat_rgb(values: np.ndarray) -> np.ndarray:
    """A 2-D array as a picture: its own min..max mapped from dark blue through white to orange."""
    v = np.asarray(values, dtype=np.float64)
    low, high = float(v.min()), float(v.max())
    t = (v - low) / (high - low) if high > low else np.zeros_like(v)
    dark, light, warm = np.array([0.05, 0.1, 0.3]), np.array([0.95, 0.95, 0.95]), np.array([1.0, 0.5, 0.05])
    t = t[..., None]
    return np.where(t < 0.5, dark + (light - dark) * (t * 2), light + (warm - light) * (t * 2 - 1))


def tile(images: Sequence[np.ndarray], columns: int, gap: int = 1, background: float = 1.0) -> np.ndarray:
    """`(h, w, 3)` pictures of one size in a grid."""
    h, w = images[0].shape[:2]
    rows = math.ceil(len(images) / columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), background, dtype=np.float64)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = img
    return out


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / count))
    for m in (1, 2, 5, 10):
        if (high - low) / (step * m) <= count:
            step *= m
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def line_chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str, x_label: str,
               width: int = 460, height: int = 260, log_y: bool = False) -> str:
    """Curves as an SVG string; NaN / None values are left out."""
    left, right, top, bottom = 56, 12, 28, 40
    pts = {name: [(float(x), float(y)) for x, y in zip(xs, ys, strict=False)
                  if y is not None and math.isfinite(float(y)) and (not log_y or float(y) > 0)]
           for name, (xs, ys) in series.items()}
    every = [p for v in pts.values() for p in v]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{_esc(title)}"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">'
             f'{_esc(title)}</text>']
    if not every:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">no data</text></svg>')
        return "".join(parts)
    fy = (lambda y: math.log10(y)) if log_y else (lambda y: y)
    x0, x1 = min(p[0] for p in every), max(p[0] for p in every)
    y0, y1 = min(fy(p[1]) for p in every), max(fy(p[1]) for p in every)
    if x1 <= x0:
        x1 = x0 + 1
    if y1 <= y0:
        y1 = y0 + 1
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (fy(y) - y0) / (y1 - y0) * ph

    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>')
    for t in _ticks(y0, y1):
        y = top + ph - (t - y0) / (y1 - y0) * ph
        label = f"{10 ** t:.3g}" if log_y else f"{t:.3g}"
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{label}</text>')
    for t in _ticks(x0, x1):
        x = sx(t)
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle" font-size="10">{t:g}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" font-size="11">'
                 f'{_esc(x_label)}</text>')
    for i, (name, p) in enumerate(pts.items()):
        if not p:
            continue
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in p)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        parts.append(f'<text x="{left + pw - 4}" y="{top + 14 + 13 * i}" text-anchor="end" font-size="11" '
                     f'fill="{colour}">{_esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def confusion_svg(matrix: np.ndarray, names: Sequence[str], *, normalised: bool, cell: int = 44) -> str:
    """A confusion matrix as an SVG table of shaded cells (rows: true class, columns: predicted)."""
    m = np.asarray(matrix, dtype=np.float64)
    k = len(m)
    shares = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    label_w = 14 + 7 * max(len(str(n)) for n in names)
    width = max(label_w + k * cell + 10, 300)
    height = label_w + k * cell + 10
    title = "Confusion matrix (share of each true class)" if normalised else "Confusion matrix (counts)"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" role="img" '
             f'aria-label="{title}"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="4" y="14" font-size="12" font-weight="bold">{title}</text>']
    oy = 20
    for i, name in enumerate(names):
        y = oy + label_w + i * cell + cell / 2 + 4
        x = label_w + i * cell + cell / 2
        parts.append(f'<text x="{label_w - 4}" y="{y:.1f}" text-anchor="end" font-size="11">{_esc(name)}</text>')
        parts.append(f'<text x="{x:.1f}" y="{oy + label_w - 6}" text-anchor="middle" font-size="11">'
                     f'{_esc(name)}</text>')
    for i in range(k):
        for j in range(k):
            share = shares[i, j]
            base = (44, 160, 44) if i == j else (214, 39, 40)
            rgb = tuple(int(255 - (255 - c) * share) for c in base)
            text = f"{share:.2f}" if normalised else f"{int(m[i, j])}"
            ink = "white" if share > 0.6 else "black"
            x, y = label_w + j * cell, oy + label_w + i * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="rgb{rgb}"/>'
                         f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                         f'font-size="11" fill="{ink}">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(values: dict[str, float], *, title: str, log: bool = True, width: int = 460) -> str:
    """Horizontal bars (log scale by default), one per name, e.g. per-layer gradient norms."""
    row = 20
    names = list(values)
    height = 34 + row * max(1, len(names))
    label_w = 14 + 7 * max((len(n) for n in names), default=4)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{_esc(title)}"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="4" y="16" font-size="12" font-weight="bold">{_esc(title)}</text>']
    finite = [v for v in values.values() if v > 0 and math.isfinite(v)]
    if finite:
        lo = math.log10(min(finite)) - 1 if log else 0.0
        hi = math.log10(max(finite)) if log else max(finite)
        span = max(hi - lo, 1e-12)
        bar_w = width - label_w - 70
        for i, name in enumerate(names):
            v = values[name]
            t = ((math.log10(v) if log else v) - lo) / span if v > 0 and math.isfinite(v) else 0.0
            y = 26 + i * row
            parts.append(f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end" font-size="11">{_esc(name)}</text>'
                         f'<rect x="{label_w}" y="{y + 2}" width="{max(1.0, t * bar_w):.1f}" height="{row - 6}" '
                         f'fill="{PALETTE[0]}"/><text x="{label_w + max(1.0, t * bar_w) + 4:.1f}" y="{y + 13}" '
                         f'font-size="10">{v:.2e}</text>')
    parts.append("</svg>")
    return "".join(parts)


def scatter_svg(xs: Sequence[float], ys: Sequence[float], *, title: str, x_label: str, y_label: str,
                diagonal: bool = False, zero_line: bool = False, size: int = 300) -> str:
    """Points as an SVG scatter plot, with the y = x diagonal or the y = 0 line if asked."""
    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    m = 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
             f'aria-label="{_esc(title)}"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{size / 2}" y="16" text-anchor="middle" font-size="12" font-weight="bold">{_esc(title)}</text>']
    if len(x):
        lo_x, hi_x = float(x.min()), float(x.max())
        lo_y, hi_y = float(y.min()), float(y.max())
        if diagonal:
            lo_x = lo_y = min(lo_x, lo_y)
            hi_x = hi_y = max(hi_x, hi_y)
        if zero_line:
            lo_y, hi_y = min(lo_y, 0.0), max(hi_y, 0.0)
        hi_x, hi_y = max(hi_x, lo_x + 1e-9), max(hi_y, lo_y + 1e-9)
        p = size - 2 * m

        def sx(v: float) -> float:
            return m + (v - lo_x) / (hi_x - lo_x) * p

        def sy(v: float) -> float:
            return m + p - (v - lo_y) / (hi_y - lo_y) * p

        parts.append(f'<rect x="{m}" y="{m}" width="{p}" height="{p}" fill="none" stroke="#bbb"/>')
        if diagonal:
            parts.append(f'<line x1="{sx(lo_x):.1f}" y1="{sy(lo_x):.1f}" x2="{sx(hi_x):.1f}" '
                         f'y2="{sy(hi_x):.1f}" stroke="#999"/>')
        if zero_line:
            parts.append(f'<line x1="{m}" y1="{sy(0):.1f}" x2="{m + p}" y2="{sy(0):.1f}" stroke="#999"/>')
        for a, b in zip(x[:2000], y[:2000], strict=True):
            parts.append(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="2" fill="{PALETTE[0]}" fill-opacity="0.6"/>')
        parts.append(f'<text x="{m}" y="{size - 22}" font-size="10">{lo_x:.3g}</text>'
                     f'<text x="{m + p}" y="{size - 22}" font-size="10" text-anchor="end">{hi_x:.3g}</text>'
                     f'<text x="{m - 4}" y="{m + p}" font-size="10" text-anchor="end">{lo_y:.3g}</text>'
                     f'<text x="{m - 4}" y="{m + 8}" font-size="10" text-anchor="end">{hi_y:.3g}</text>')
    parts.append(f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle" font-size="11">{_esc(x_label)}</text>'
                 f'<text x="12" y="{size / 2}" font-size="11" transform="rotate(-90 12 {size / 2})" '
                 f'text-anchor="middle">{_esc(y_label)}</text></svg>')
    return "".join(parts)
