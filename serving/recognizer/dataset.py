"""A seeded synthetic image dataset: ten shape classes drawn with random colours,
sizes, positions, rotations and noise. Nothing is downloaded; the same seed gives
the same images on every machine."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw

LABELS = (
    "circle", "square", "triangle", "diamond", "plus",
    "cross", "ring", "star", "hbars", "vbars",
)
SIZE = 32  # model input is SIZE x SIZE RGB
_CANVAS = 96  # draw large, then downsample: anti-aliased edges like a photo


def _polygon(cx: float, cy: float, r: float, n: int, rot: float) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(rot + 2 * math.pi * i / n), cy + r * math.sin(rot + 2 * math.pi * i / n))
            for i in range(n)]


def _star(cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.42
        a = rot + math.pi * i / 5
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def _bars(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fg: tuple, vertical: bool,
          rng: np.random.Generator) -> None:
    n = int(rng.integers(2, 4))
    thick = 2 * r / (2 * n - 1)
    for i in range(n):
        a = (cx if vertical else cy) - r + 2 * i * thick
        box = (a, cy - r, a + thick, cy + r) if vertical else (cx - r, a, cx + r, a + thick)
        draw.rectangle(box, fill=fg)


def render(label: int, rng: np.random.Generator, size: int = SIZE) -> Image.Image:
    """Draw one example of class `label` as a size x size RGB image."""
    bg = rng.integers(0, 256, 3)
    fg = rng.integers(0, 256, 3)
    while np.abs(fg.astype(int) - bg.astype(int)).sum() < 200:  # keep the shape visible
        fg = rng.integers(0, 256, 3)
    img = Image.new("RGB", (_CANVAS, _CANVAS), tuple(int(v) for v in bg))
    d = ImageDraw.Draw(img)
    c = tuple(int(v) for v in fg)
    r = float(rng.uniform(0.22, 0.42) * _CANVAS)
    cx = float(rng.uniform(r + 2, _CANVAS - r - 2))
    cy = float(rng.uniform(r + 2, _CANVAS - r - 2))
    rot = float(rng.uniform(-0.3, 0.3))
    w = max(4.0, r * float(rng.uniform(0.3, 0.45)))  # stroke width of plus, cross and ring
    name = LABELS[label]
    if name == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
    elif name == "square":
        d.polygon(_polygon(cx, cy, r * 1.2, 4, math.pi / 4 + rot), fill=c)
    elif name == "triangle":
        d.polygon(_polygon(cx, cy, r * 1.1, 3, -math.pi / 2 + rot), fill=c)
    elif name == "diamond":
        d.polygon([(cx, cy - r * 1.1), (cx + r * 0.7, cy), (cx, cy + r * 1.1), (cx - r * 0.7, cy)], fill=c)
    elif name in ("plus", "cross"):
        base = rot if name == "plus" else math.pi / 4 + rot
        for k in range(2):
            a = base + k * math.pi / 2
            dx, dy = math.cos(a), math.sin(a)
            px, py = -dy * w / 2, dx * w / 2
            d.polygon([(cx - dx * r + px, cy - dy * r + py), (cx + dx * r + px, cy + dy * r + py),
                       (cx + dx * r - px, cy + dy * r - py), (cx - dx * r - px, cy - dy * r - py)], fill=c)
    elif name == "ring":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=c, width=int(w))
    elif name == "star":
        d.polygon(_star(cx, cy, r * 1.15, -math.pi / 2 + rot), fill=c)
    elif name in ("hbars", "vbars"):
        _bars(d, cx, cy, r, c, name == "vbars", rng)
    img = img.resize((size, size), Image.Resampling.BILINEAR)
    arr = np.asarray(img).astype(np.int16)
    arr += rng.normal(0, rng.uniform(0, 12), arr.shape).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def generate(n: int, seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """n images (uint8, n x size x size x 3) with balanced labels, reproducible from seed."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(LABELS)
    rng.shuffle(y)
    x = np.stack([np.asarray(render(int(k), rng, size)) for k in y])
    return x, y.astype(np.int64)


def sample_png(label: int | str, seed: int = 0, size: int = 96) -> bytes:
    """A PNG of one class, for demos and tests (drawn larger than the model input)."""
    idx = LABELS.index(label) if isinstance(label, str) else label
    buf = io.BytesIO()
    render(idx, np.random.default_rng(seed), size).save(buf, format="PNG")
    return buf.getvalue()
