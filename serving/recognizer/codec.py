"""Request bodies of both protocols -> an [N, H, W, 3] batch of pixel values 0..255 (uint8 from encoded
images, float32 from numeric tensors; the runtime converts to what its model takes), and probabilities ->
response bodies. Every malformed input raises BadRequest with a message a person can act on.

Parsing reads every image's header and stops there (Images, Pending): what decoding the rest will cost is
then known, and the server decodes a cheap request on the spot and sends a costly one to its decode process
(recognizer/decoder.py)."""

from __future__ import annotations

import binascii
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

try:  # libspng: 8-bit RGB(A) PNGs in 2/3 of Pillow's time (see _spng_size)
    import pyspng as _spng
except ImportError:
    _spng = None

try:  # SIMD base64 (0.9 µs for a 9.5 kB PNG's text against 24 µs): the same results and errors as the stdlib's
    from pybase64 import b64decode as _b64decode
except ImportError:
    from base64 import b64decode as _b64decode

ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "BMP", "WEBP"}
FORMATS = sorted(ALLOWED_FORMATS)
MAX_BATCH_IMAGES = 64


# Pillow's decompression-bomb warning is an error here (set once: a catch_warnings() per image cost more than
# the rest of the bookkeeping around the decode).
warnings.simplefilter("error", Image.DecompressionBombWarning)


def stack(images: list[np.ndarray]) -> np.ndarray:
    """np.stack, without its cost for the common single image (a view with a batch axis)."""
    return images[0][None] if len(images) == 1 else np.stack(images)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type, tuple[str, int]]:  # the status too, back from the decode process
        return type(self), (str(self), self.status)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _spng_size(data: bytes, max_pixels: int) -> tuple[int, int] | None:
    """(width, height) of an 8-bit RGB or RGBA PNG that libspng (pyspng) is to decode: the same pixels as
    Pillow's (the PNG format leaves no room for two answers; tests/test_recognizer_decode.py compares them over
    many images), in 2/3 of the time. None for anything else, which Pillow opens or refuses as it always did;
    so does an image over either pixel limit, so that its error is the same."""
    if _spng is None or len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR" \
            or data[24] != 8 or data[25] not in (2, 6):
        return None
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if w * h > min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels):
        return None
    return w, h


def _spng_pixels(data: bytes, w: int, h: int) -> np.ndarray | None:
    """libspng's decode; None for any file it refuses (Pillow then decodes or refuses it)."""
    try:
        a = _spng.load(data)
    except Exception:
        return None
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[:2] != (h, w) or a.shape[2] not in (3, 4):
        return None
    return a if a.shape[2] == 3 else np.ascontiguousarray(a[..., :3])  # RGBA -> RGB drops alpha, as Pillow does


def _png_pixels(data: bytes, max_pixels: int) -> np.ndarray | None:
    """An 8-bit RGB or RGBA PNG decoded by libspng, at full size; None for anything libspng is not given."""
    wh = _spng_size(data, max_pixels)
    return None if wh is None else _spng_pixels(data, *wh)


def _bad_image(exc: Exception) -> BadRequest:
    """Pillow's many errors for a file it cannot take, as the one-line 400 a client gets."""
    if isinstance(exc, BadRequest):
        return exc
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return BadRequest(f"image too large: {exc}".split(", could be")[0])
    if isinstance(exc, UnidentifiedImageError):
        return BadRequest("not an image: expected PNG, JPEG, GIF, BMP or WEBP bytes")
    return BadRequest(f"damaged or truncated image: {exc}")  # PIL raises many types for damaged files


def _pillow_open(data: bytes, size: int, max_pixels: int) -> Image.Image:
    img = Image.open(io.BytesIO(data), formats=FORMATS)
    w, h = img.size
    if w * h > max_pixels:
        raise BadRequest(f"image is {w}x{h}: more than {max_pixels} pixels")
    img.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: cheaper, same result
    return img


class Pending:
    """An encoded image whose header has been read (a format the server takes, within the pixel limit) and
    whose pixels are not decoded yet; `cost` is how many pixels decoding it makes (after a JPEG's reduced-scale
    draft), which is what decoding costs. The server decides from a request's total where to decode it
    (recognizer/decoder.py)."""

    __slots__ = ("cost", "data", "img", "max_pixels", "size", "wh")

    def __init__(self, data: bytes, size: int, max_pixels: int) -> None:
        self.data, self.size, self.max_pixels = data, size, max_pixels
        self.img: Image.Image | None = None
        try:
            self.wh = _spng_size(data, max_pixels)
            if self.wh is None:
                self.img = _pillow_open(data, size, max_pixels)
                self.cost = self.img.size[0] * self.img.size[1]
            else:
                self.cost = self.wh[0] * self.wh[1]
        except Exception as exc:
            raise _bad_image(exc) from None

    def decode(self) -> np.ndarray:
        """uint8 [size, size, 3]."""
        size = self.size
        try:
            img = self.img
            if img is None:
                pixels = _spng_pixels(self.data, *self.wh)  # type: ignore[misc]
                if pixels is not None:  # (frombuffer: what fromarray does for an RGB array, without its checks)
                    img = Image.frombuffer("RGB", (pixels.shape[1], pixels.shape[0]), pixels, "raw", "RGB", 0, 1)
                else:
                    img = _pillow_open(self.data, size, self.max_pixels)
            if img.mode != "RGB":
                img = img.convert("RGB")
            # reduce(k) averages k x k blocks: 5x cheaper than a bilinear resize, and exact for the common
            # case of a whole multiple of the input size (64x64 -> 32x32); the rest is resized from there.
            k = min(img.size[0] // size, img.size[1] // size)
            if k >= 2:
                img = img.reduce(k)
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(img)
        except Exception as exc:
            raise _bad_image(exc) from None


def open_image(data: bytes, size: int, max_pixels: int) -> Pending:
    """Encoded image bytes -> a Pending image: the header is read before any pixel is decoded, so a
    decompression bomb is refused for the price of its header."""
    if not data:
        raise BadRequest("empty image")
    return Pending(data, size, max_pixels)


def decode_image(data: bytes, size: int, max_pixels: int) -> np.ndarray:
    """Encoded image bytes of any size -> uint8 [size, size, 3]."""
    return open_image(data, size, max_pixels).decode()


class Images:
    """A request's images: numeric tensors (already checked) and Pending encoded images, in order, or one
    whole numeric batch; `cost` adds up the pixels decoding the encoded ones makes."""

    __slots__ = ("batch", "cost", "items")

    def __init__(self, items: list[np.ndarray | Pending] | None = None, batch: np.ndarray | None = None) -> None:
        self.items = items or []
        self.batch = batch
        self.cost = sum(x.cost for x in self.items if type(x) is Pending)

    def __len__(self) -> int:
        return len(self.batch) if self.batch is not None else len(self.items)

    def decode(self) -> np.ndarray:
        """The [N, size, size, 3] batch."""
        if self.batch is None:
            self.batch = stack([x.decode() if type(x) is Pending else x for x in self.items])  # type: ignore[union-attr]
            self.items = []
        return self.batch


def b64decode(text: Any) -> bytes:
    if not isinstance(text, str):
        raise BadRequest("b64 value must be a string")
    try:
        return _b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("b64 value is not valid base64") from None


def tensor(value: Any, size: int, what: str) -> np.ndarray:
    """A numeric image [size, size, 3] (or a batch of them) of pixel values 0..255."""
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (ValueError, TypeError):
        raise BadRequest(f"{what} is not a rectangular array of numbers") from None
    if arr.shape[-3:] != (size, size, 3):
        raise BadRequest(f"{what} has shape {list(arr.shape)}; expected [{size}, {size}, 3] "
                         f"(pixel values 0..255) or an encoded image as {{\"b64\": ...}}")
    if not np.isfinite(arr).all():
        raise BadRequest(f"{what} contains NaN or infinity")
    if arr.min(initial=0) < 0 or arr.max(initial=0) > 255:
        raise BadRequest(f"{what} has values outside 0..255")
    return arr


def _one(value: Any, size: int, max_pixels: int, what: str) -> np.ndarray | Pending:
    while isinstance(value, dict):  # a loop, not recursion: {"image": {"image": …}} nests as deep as JSON does
        if set(value) == {"b64"}:
            return open_image(b64decode(value["b64"]), size, max_pixels)
        if len(value) != 1:
            raise BadRequest(f"{what}: expected {{\"b64\": …}} or a numeric [H, W, 3] array")
        value = next(iter(value.values()))  # a named input: {"image": …}
    arr = tensor(value, size, what)
    if arr.ndim != 3:
        raise BadRequest(f"{what} has shape {list(arr.shape)}; expected [{size}, {size}, 3]")
    return arr


def _check_count(n: int) -> None:
    if n == 0:
        raise BadRequest("no images in the request")
    if n > MAX_BATCH_IMAGES:
        raise BadRequest(f"{n} images in one request; the limit is {MAX_BATCH_IMAGES}", status=413)


def parse_v1(body: Any, size: int, max_pixels: int) -> tuple[Images, bool]:
    """TF Serving :predict -> (images, columnar?)."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object with \"instances\" or \"inputs\"")
    if ("instances" in body) == ("inputs" in body):
        raise BadRequest("request must contain exactly one of \"instances\" (row format) or \"inputs\" "
                         "(columnar format)")
    columnar = "inputs" in body
    value = body["inputs"] if columnar else body["instances"]
    if isinstance(value, dict):
        if len(value) != 1:
            raise BadRequest(f"the model has one input, \"image\"; got {sorted(value)}")
        value = next(iter(value.values()))
    if isinstance(value, dict):  # a single b64 image
        value = [value]
    if not isinstance(value, list):
        raise BadRequest("instances/inputs must be a list of images")
    if value and not isinstance(value[0], (dict, list)):
        raise BadRequest("instances/inputs must be a list of images")
    _check_count(len(value))
    if value and all(isinstance(v, list) for v in value):
        arr = tensor(value, size, "input")
        if arr.ndim != 4:
            raise BadRequest(f"input has shape {list(arr.shape)}; expected [N, {size}, {size}, 3]")
        return Images(batch=arr), columnar
    return Images([_one(v, size, max_pixels, f"instance {i}") for i, v in enumerate(value)]), columnar


PIXEL_DTYPES = {"FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"), "UINT8": np.dtype("u1"),
                "INT32": np.dtype("<i4"), "INT64": np.dtype("<i8")}


@dataclass
class V2Request:
    """An Open Inference Protocol request after parsing, whatever carried it (JSON, JSON + binary, gRPC)."""

    images: Images
    outputs: list[str] | None = None  # names asked for; None: all
    id: Any = None
    binary_outputs: set[str] = field(default_factory=set)  # outputs to send as binary (REST extension)


def check_shape(shape: Any) -> list[int]:
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise BadRequest("input shape must be a list of non-negative integers")
    return list(shape)


def image_count(dtype: Any, shape: list[int], size: int) -> int:
    """How many images an input of this datatype and shape holds; refuses any other shape
    (and a huge declared batch) before a byte of data is looked at."""
    if not isinstance(dtype, str):
        raise BadRequest("datatype must be a string: BYTES for encoded images, FP32 (or another number type) "
                         "for pixel tensors")
    if dtype == "BYTES":
        if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise BadRequest(f"BYTES input needs shape [N] (one encoded image each); got {shape}")
    elif dtype in PIXEL_DTYPES:
        if len(shape) != 4 or shape[1:] != [size, size, 3]:
            raise BadRequest(f"{dtype} input needs shape [N, {size}, {size}, 3]; got {shape}")
    else:
        raise BadRequest(f"unsupported datatype {dtype[:40]!r}: use FP32 pixel tensors or BYTES images")
    _check_count(shape[0])
    return shape[0]


def images_from_bytes(items: list[bytes], size: int, max_pixels: int) -> Images:
    """Raw encoded images (the binary extension, gRPC). Base64 text is accepted too, as some clients
    send the JSON form's strings unchanged."""
    out: list[np.ndarray | Pending] = []
    for data in items:
        try:
            out.append(open_image(data, size, max_pixels))
        except BadRequest as exc:
            if not str(exc).startswith("not an image"):
                raise
            try:
                decoded = _b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                raise exc from None
            out.append(open_image(decoded, size, max_pixels))
    return Images(out)


def pixels_from_buffer(buf: bytes, dtype: str, shape: list[int], size: int) -> np.ndarray:
    """Raw little-endian tensor bytes -> the checked float32 batch."""
    want = math.prod(shape) * PIXEL_DTYPES[dtype].itemsize
    if len(buf) != want:
        raise BadRequest(f"{dtype} input of shape {shape} needs {want} bytes of data; got {len(buf)}")
    arr = np.frombuffer(buf, dtype=PIXEL_DTYPES[dtype]).reshape(shape)
    return tensor(arr, size, "input")


def split_bytes(buf: bytes, count: int) -> list[bytes]:
    """BYTES tensor data: each element as a 4-byte little-endian length, then its bytes."""
    items, i = [], 0
    while i < len(buf):
        if len(buf) - i < 4:
            raise BadRequest("BYTES data ends inside an element's 4-byte length")
        n = int.from_bytes(buf[i:i + 4], "little")
        if n > len(buf) - i - 4:
            raise BadRequest(f"a BYTES element claims {n} bytes; only {len(buf) - i - 4} remain")
        items.append(bytes(buf[i + 4:i + 4 + n]))
        i += 4 + n
        if len(items) > count:
            break
    if len(items) != count:
        held = f"more than {count}" if len(items) > count else str(len(items))
        raise BadRequest(f"BYTES data holds {held} elements; the shape says {count}")
    return items


def join_bytes(items: list[bytes]) -> bytes:
    return b"".join(len(x).to_bytes(4, "little") + x for x in items)


def _binary_flag(params: Any, key: str) -> bool | None:
    if params is None:
        return None
    if not isinstance(params, dict):
        raise BadRequest("parameters must be an object")
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"parameter {key} must be true or false")
    return value


_ONE_IMAGE = ([1, 1], [1])


def _one_b64(body: Any) -> str | None:
    """The base64 text of the common request (one BYTES input of shape [1] or [1, 1] holding one image, no
    parameters, every output), or None for any other request: those take parse_v2's general path."""
    if type(body) is not dict or body.get("outputs") is not None or body.get("parameters") is not None:
        return None
    inputs = body.get("inputs")
    if type(inputs) is not list or len(inputs) != 1:
        return None
    inp = inputs[0]
    if type(inp) is not dict or inp.get("datatype") != "BYTES" or inp.get("parameters") is not None:
        return None
    shape, data = inp.get("shape"), inp.get("data")
    if type(shape) is not list or shape not in _ONE_IMAGE or type(shape[0]) is not int or type(shape[-1]) is not int \
            or type(data) is not list or len(data) != 1:  # (the types: True == 1 and 1.0 == 1, but neither is valid)
        return None
    text = data[0]
    if type(text) is list and len(text) == 1:
        text = text[0]
    return text if type(text) is str else None


def request_id(body: dict) -> Any:
    """The request's id, echoed in the answer: a string as the protocol has it (or, as clients send them, a
    number or a boolean); never an array or object, which could nest deeper than the answer's encoder goes."""
    rid = body.get("id")
    if isinstance(rid, (list, dict)):
        raise BadRequest("id must be a string")
    return rid


def parse_v2(body: Any, size: int, max_pixels: int, binary: bytes = b"") -> V2Request:
    """Open Inference Protocol /infer. `binary` is what follows the JSON header when the binary tensor
    data extension is used (Inference-Header-Content-Length); inputs with a binary_data_size take their
    data from it, in order."""
    text = None if binary else _one_b64(body)
    if text is not None:  # what the general path does for this request, without its checks that cannot fail
        return V2Request(Images([open_image(b64decode(text), size, max_pixels)]), None, request_id(body), set())
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise BadRequest("request body must be a JSON object with a non-empty \"inputs\" list")
    if len(body["inputs"]) != 1:
        raise BadRequest("the model has exactly one input, \"image\"")
    inp = body["inputs"][0]
    if not isinstance(inp, dict):
        raise BadRequest("each input must be an object with name, shape, datatype and data")
    shape, dtype, data = check_shape(inp.get("shape")), inp.get("datatype"), inp.get("data")
    n = image_count(dtype, shape, size)
    params = inp.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise BadRequest("parameters must be an object")
    raw_size = (params or {}).get("binary_data_size")
    if raw_size is not None:
        if not isinstance(raw_size, int) or isinstance(raw_size, bool) or raw_size < 0:
            raise BadRequest("binary_data_size must be a non-negative integer")
        if raw_size != len(binary):
            raise BadRequest(f"binary_data_size is {raw_size} but {len(binary)} bytes follow the JSON header")
        if data is not None:
            raise BadRequest("an input with binary_data_size must not also have \"data\"")
        if dtype == "BYTES":
            images = images_from_bytes(split_bytes(binary, n), size, max_pixels)
        else:
            images = Images(batch=pixels_from_buffer(binary, dtype, shape, size))
    else:
        if binary:
            raise BadRequest(f"{len(binary)} bytes follow the JSON header but no input has binary_data_size")
        if dtype == "BYTES":
            if not isinstance(data, list) or len(data) != n:
                raise BadRequest("BYTES input needs shape [N] and N base64-encoded images in data")
            images = Images([open_image(b64decode(d[0] if isinstance(d, list) and len(d) == 1 else d),
                                        size, max_pixels) for d in data])
        else:
            flat = tensor_data(data)
            if flat.size != math.prod(shape):
                raise BadRequest(f"data has {flat.size} values; shape {shape} needs {math.prod(shape)}")
            images = Images(batch=tensor(flat.reshape(shape), size, "input"))
    outputs = body.get("outputs")
    names = None
    default_binary = bool(_binary_flag(body.get("parameters"), "binary_data_output"))
    binary_outputs = set(OUTPUTS) if default_binary else set()
    if outputs is not None:
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and "name" in o for o in outputs):
            raise BadRequest("outputs must be a list of {\"name\": …}")
        names = [str(o["name"]) for o in outputs]
        for o in outputs:
            flag = _binary_flag(o.get("parameters"), "binary_data")
            if flag is not None:
                (binary_outputs.add if flag else binary_outputs.discard)(str(o["name"]))
    return V2Request(images, names, request_id(body), binary_outputs)


def tensor_data(data: Any) -> np.ndarray:
    try:
        arr = np.asarray(data, dtype=np.float32).reshape(-1)
    except (ValueError, TypeError):
        raise BadRequest("input data is not a list of numbers") from None
    return arr


OUTPUTS = ("probabilities", "labels", "scores")


def ranked(probs: np.ndarray, k: int) -> tuple[list[list[float]], list[list[int]]]:
    """(rows of probabilities as Python floats, each row's k best class indices). Python lists, not numpy:
    for a few rows of ten classes numpy's per-call overhead costs more than the work. Ties (common with the
    int8 model's 1/256 steps) go to the lower index, the same on every protocol."""
    rows = probs.tolist()
    k = min(k, probs.shape[1])
    return rows, [sorted(range(len(r)), key=r.__getitem__, reverse=True)[:k] for r in rows]


def top_k(probs: np.ndarray, labels: tuple[str, ...], k: int) -> tuple[list[list[str]], list[list[float]]]:
    rows, idx = ranked(probs, k)
    return ([[labels[j] for j in row] for row in idx],
            [[round(r[j], 6) for j in row] for r, row in zip(rows, idx, strict=True)])


def v1_response(probs: np.ndarray, labels: tuple[str, ...], columnar: bool, k: int = 5) -> dict:
    names, scores = top_k(probs, labels, k)
    p = [[round(v, 6) for v in r] for r in probs.tolist()]
    if columnar:
        return {"outputs": {"probabilities": p, "labels": names, "scores": scores}}
    return {"predictions": [{"probabilities": p[i], "labels": names[i], "scores": scores[i]}
                            for i in range(len(p))]}


def v2_outputs(probs: np.ndarray, labels: tuple[str, ...], wanted: list[str] | None,
               k: int = 5) -> list[tuple[str, str, list[int], Any]]:
    """The outputs asked for, in order: (name, datatype, shape, value); value is a flat list of float
    (FP32) or of str (BYTES)."""
    unknown = [w for w in (wanted or []) if w not in OUTPUTS]
    if unknown:
        raise BadRequest(f"unknown output {unknown[0]!r}; outputs are {list(OUTPUTS)}")
    n, c = probs.shape
    rows, idx = ranked(probs, k)
    k = min(k, c)
    every = {
        "probabilities": ("FP32", [n, c], [v for r in rows for v in r]),
        "labels": ("BYTES", [n, k], [labels[j] for row in idx for j in row]),
        "scores": ("FP32", [n, k], [r[j] for r, row in zip(rows, idx, strict=True) for j in row]),
    }
    return [(name, *every[name]) for name in (wanted or OUTPUTS)]  # type: ignore[misc]


def raw_bytes(datatype: str, value: Any) -> bytes:
    if datatype == "BYTES":
        return join_bytes([s.encode() for s in value])
    return np.ascontiguousarray(value, dtype="<f4").tobytes()


def _all_outputs_json(probs: np.ndarray, labels: tuple[str, ...], k: int = 5) -> list[dict[str, Any]]:
    """v2_response's outputs for the common request (every output, as JSON), built in one pass: the same
    values as v2_outputs + rounding, in a third of the time (it ran once per request)."""
    n, c = probs.shape
    k = min(k, c)
    rows = probs.tolist()
    idx = [sorted(range(c), key=r.__getitem__, reverse=True)[:k] for r in rows]  # as ranked(): ties to the lower index
    # round(v, 6) as the general path does; a zero (most of the int8 model's outputs) is its own rounding
    rounded = [[v if v == 0.0 else round(v, 6) for v in r] for r in rows]
    if n == 1:
        r, top = rounded[0], idx[0]
        flat, names, scores = r, [labels[j] for j in top], [r[j] for j in top]
    else:
        flat = [v for r in rounded for v in r]
        names = [labels[j] for top in idx for j in top]
        scores = [r[j] for r, top in zip(rounded, idx, strict=True) for j in top]
    return [{"name": "probabilities", "datatype": "FP32", "shape": [n, c], "data": flat},
            {"name": "labels", "datatype": "BYTES", "shape": [n, k], "data": names},
            {"name": "scores", "datatype": "FP32", "shape": [n, k], "data": scores}]


def v2_response(probs: np.ndarray, labels: tuple[str, ...], model: str, version: str, request_id: Any,
                wanted: list[str] | None, binary: set[str] | None = None) -> tuple[dict, bytes]:
    """(JSON header, binary data). Outputs named in `binary` carry binary_data_size instead of data,
    and their bytes follow the header in order (the binary tensor data extension)."""
    if wanted is None and not binary:
        out: dict[str, Any] = {"model_name": model, "model_version": version,
                               "outputs": _all_outputs_json(probs, labels)}
        if request_id is not None:
            out["id"] = request_id
        return out, b""
    out = {"model_name": model, "model_version": version, "outputs": []}
    chunks = []
    for name, datatype, shape, value in v2_outputs(probs, labels, wanted):
        o: dict[str, Any] = {"name": name, "datatype": datatype, "shape": shape}
        if binary and name in binary:
            raw = raw_bytes(datatype, value)
            o["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        elif datatype == "BYTES":
            o["data"] = value
        else:
            o["data"] = [round(v, 6) for v in value]
        out["outputs"].append(o)
    if request_id is not None:
        out["id"] = request_id
    return out, b"".join(chunks)
