"""Request bodies of both protocols -> a float32 [N, H, W, 3] batch, and probabilities ->
response bodies. Every malformed input raises BadRequest with a message a person can act on."""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "BMP", "WEBP"}
MAX_BATCH_IMAGES = 64


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_image(data: bytes, size: int, max_pixels: int) -> np.ndarray:
    """Encoded image bytes of any size -> float32 [size, size, 3]. The header is read
    before any pixel is decoded, so a decompression bomb is refused for the price of its header."""
    if not data:
        raise BadRequest("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
            w, h = img.size
            if w * h > max_pixels:
                raise BadRequest(f"image is {w}x{h}: more than {max_pixels} pixels")
            img.draft("RGB", (size, size))  # JPEG decodes at a reduced scale: cheaper, same result
            img = img.convert("RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return np.asarray(img, dtype=np.float32)
    except BadRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadRequest(f"image too large: {exc}".split(", could be")[0]) from None
    except UnidentifiedImageError:
        raise BadRequest("not an image: expected PNG, JPEG, GIF, BMP or WEBP bytes") from None
    except Exception as exc:  # PIL raises many types for damaged files
        raise BadRequest(f"damaged or truncated image: {exc}") from None


def b64decode(text: Any) -> bytes:
    if not isinstance(text, str):
        raise BadRequest("b64 value must be a string")
    try:
        return base64.b64decode(text, validate=True)
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


def _one(value: Any, size: int, max_pixels: int, what: str) -> np.ndarray:
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return decode_image(b64decode(value["b64"]), size, max_pixels)
        if len(value) == 1:  # a named input: {"image": …}
            return _one(next(iter(value.values())), size, max_pixels, what)
        raise BadRequest(f"{what}: expected {{\"b64\": …}} or a numeric [H, W, 3] array")
    return tensor(value, size, what)


def _check_count(n: int) -> None:
    if n == 0:
        raise BadRequest("no images in the request")
    if n > MAX_BATCH_IMAGES:
        raise BadRequest(f"{n} images in one request; the limit is {MAX_BATCH_IMAGES}", status=413)


def parse_v1(body: Any, size: int, max_pixels: int) -> tuple[np.ndarray, bool]:
    """TF Serving :predict -> (batch, columnar?)."""
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
        return tensor(value, size, "input"), columnar
    return np.stack([_one(v, size, max_pixels, f"instance {i}") for i, v in enumerate(value)]), columnar


def parse_v2(body: Any, size: int, max_pixels: int) -> tuple[np.ndarray, list[str] | None, Any]:
    """Open Inference Protocol /infer -> (batch, requested output names or None, request id)."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise BadRequest("request body must be a JSON object with a non-empty \"inputs\" list")
    if len(body["inputs"]) != 1:
        raise BadRequest("the model has exactly one input, \"image\"")
    inp = body["inputs"][0]
    if not isinstance(inp, dict):
        raise BadRequest("each input must be an object with name, shape, datatype and data")
    shape, dtype, data = inp.get("shape"), inp.get("datatype"), inp.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise BadRequest("input shape must be a list of non-negative integers")
    if dtype == "BYTES":
        if len(shape) != 1 or not isinstance(data, list) or len(data) != shape[0]:
            raise BadRequest("BYTES input needs shape [N] and N base64-encoded images in data")
        _check_count(len(data))
        batch = np.stack([decode_image(b64decode(d), size, max_pixels) for d in data])
    elif dtype in ("FP32", "FP64", "UINT8", "INT32", "INT64"):
        if len(shape) != 4 or shape[1:] != [size, size, 3]:
            raise BadRequest(f"{dtype} input needs shape [N, {size}, {size}, 3]; got {shape}")
        _check_count(shape[0])
        flat = tensor_data(data)
        if flat.size != math.prod(shape):
            raise BadRequest(f"data has {flat.size} values; shape {shape} needs {math.prod(shape)}")
        batch = tensor(flat.reshape(shape), size, "input")
    else:
        raise BadRequest(f"unsupported datatype {dtype!r}: use FP32 pixel tensors or BYTES images")
    outputs = body.get("outputs")
    names = None
    if outputs is not None:
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and "name" in o for o in outputs):
            raise BadRequest("outputs must be a list of {\"name\": …}")
        names = [str(o["name"]) for o in outputs]
    return batch, names, body.get("id")


def tensor_data(data: Any) -> np.ndarray:
    try:
        arr = np.asarray(data, dtype=np.float32).reshape(-1)
    except (ValueError, TypeError):
        raise BadRequest("input data is not a list of numbers") from None
    return arr


OUTPUTS = ("probabilities", "labels", "scores")


def top_k(probs: np.ndarray, labels: tuple[str, ...], k: int) -> tuple[list[list[str]], list[list[float]]]:
    idx = np.argsort(-probs, axis=1)[:, :k]
    return ([[labels[j] for j in row] for row in idx],
            [[round(float(probs[i, j]), 6) for j in row] for i, row in enumerate(idx)])


def v1_response(probs: np.ndarray, labels: tuple[str, ...], columnar: bool, k: int = 5) -> dict:
    names, scores = top_k(probs, labels, k)
    p = np.round(probs.astype(np.float64), 6).tolist()
    if columnar:
        return {"outputs": {"probabilities": p, "labels": names, "scores": scores}}
    return {"predictions": [{"probabilities": p[i], "labels": names[i], "scores": scores[i]}
                            for i in range(len(p))]}


def v2_response(probs: np.ndarray, labels: tuple[str, ...], model: str, version: str, request_id: Any,
                wanted: list[str] | None, k: int = 5) -> dict:
    names, scores = top_k(probs, labels, k)
    n, c = probs.shape
    k = len(names[0]) if names else k
    all_outputs = {
        "probabilities": {"name": "probabilities", "shape": [n, c], "datatype": "FP32",
                          "data": np.round(probs.astype(np.float64), 6).reshape(-1).tolist()},
        "labels": {"name": "labels", "shape": [n, k], "datatype": "BYTES", "data": [s for row in names for s in row]},
        "scores": {"name": "scores", "shape": [n, k], "datatype": "FP32", "data": [s for row in scores for s in row]},
    }
    unknown = [w for w in (wanted or []) if w not in all_outputs]
    if unknown:
        raise BadRequest(f"unknown output {unknown[0]!r}; outputs are {list(OUTPUTS)}")
    out: dict[str, Any] = {"model_name": model, "model_version": version,
                           "outputs": [all_outputs[w] for w in (wanted or OUTPUTS)]}
    if request_id is not None:
        out["id"] = request_id
    return out
