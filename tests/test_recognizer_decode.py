"""PNG decoding in the recognizer's image: 8-bit RGB and RGBA PNGs go through libspng (pyspng), everything else
through Pillow as before (serving/recognizer/codec.py). libspng must give exactly Pillow's pixels, at full size
and after the reduction to the model's input, for PNGs written by Pillow (adaptive filters, every compression
level), unfiltered and Adam7-interlaced ones written here, noise and smooth images, odd sizes, and the
dataset's own images; damaged files get the same answer or error either way. Runs inside the real image."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.docker

SCRIPT = r'''
import io, json, struct, zlib
import numpy as np
from PIL import Image
from recognizer import codec

rng = np.random.default_rng(1234)


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(a, interlace=False):
    """A PNG written here, unfiltered rows (filter 0), Adam7-interlaced when asked."""
    h, w, c = a.shape
    ihdr = struct.pack(">IIBBBBB", w, h, 8, {3: 2, 4: 6}[c], 0, 0, int(interlace))
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] \
        if interlace else [(0, 0, 1, 1)]
    rows = b""
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.size:
            rows += b"".join(b"\x00" + r.tobytes() for r in sub)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pillow_png(a, **kw):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", **kw)
    return buf.getvalue()


cases = []
for h, w in [(1, 1), (7, 13), (32, 32), (64, 64), (100, 37), (96, 96), (33, 200)]:
    for c in (3, 4):
        for kind in ("noise", "smooth"):
            if kind == "noise":
                a = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
            else:
                y, x = np.mgrid[0:h, 0:w]
                a = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), (x + y) % 256,
                              np.full_like(x, 200)][:c], axis=-1).astype(np.uint8)
            cases += [(f"{kind} {h}x{w}x{c} pillow", pillow_png(a)),
                      (f"{kind} {h}x{w}x{c} pillow level 0", pillow_png(a, compress_level=0)),
                      (f"{kind} {h}x{w}x{c} unfiltered", raw_png(a)),
                      (f"{kind} {h}x{w}x{c} adam7", raw_png(a, interlace=True))]
from recognizer import dataset
cases += [(f"dataset {i}", dataset.sample_png(name, seed=i, size=64)) for i, name in enumerate(dataset.LABELS)]
fast = skipped = 0
for name, data in cases:
    want_full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    full = codec._png_pixels(data, 40_000_000)
    assert full is not None, name
    assert full.shape == want_full.shape and (full == want_full).all(), name
    fast_small = codec.decode_image(data, 32, 40_000_000)
    spng, codec._spng = codec._spng, None
    try:
        slow_small = codec.decode_image(data, 32, 40_000_000)
    finally:
        codec._spng = spng
    assert fast_small.shape == slow_small.shape == (32, 32, 3) and (fast_small == slow_small).all(), name
    fast += 1
# what takes Pillow's path: other PNG kinds, other formats, damaged files (the same answer or error as before)
others = [pillow_png(rng.integers(0, 256, (20, 20), dtype=np.uint8)),  # grayscale
          pillow_png(np.asarray(Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).convert("P")))]
buf = io.BytesIO(); Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(buf, format="JPEG")
others.append(buf.getvalue())
for data in others:
    assert codec._png_pixels(data, 40_000_000) is None
good = cases[-1][1]
errors = {}
for name, data in {"truncated": good[: len(good) // 2], "bad crc": good[:-8] + b"\0\0\0\0" + good[-4:],
                   "lying size": good[:16] + struct.pack(">II", 60000, 60000) + good[24:]}.items():
    got = []
    for spng in (codec._spng, None):
        keep, codec._spng = codec._spng, spng
        try:
            got.append(("ok", codec.decode_image(data, 32, 40_000_000).tobytes()))
        except codec.BadRequest as exc:
            got.append(("error", str(exc).split(":")[0]))
        finally:
            codec._spng = keep
    errors[name] = got[0][0]
    assert got[0] == got[1], (name, got)
print(json.dumps({"compared": fast, "spng": codec._spng is not None, "damaged": errors}))
'''


def test_libspng_gives_pillows_pixels_and_pillow_takes_the_rest(docker_client, recognizer_image) -> None:
    out = docker_client.containers.run(recognizer_image, entrypoint=["python", "-c", SCRIPT], remove=True,
                                       read_only=True, network_disabled=True, stderr=True).decode()
    got = json.loads(out.strip().splitlines()[-1])
    assert got["spng"] is True  # the image has pyspng: the fast path is the one that serves
    assert got["compared"] >= 120
    assert got["damaged"]["truncated"] == "error" and got["damaged"]["lying size"] == "error"
