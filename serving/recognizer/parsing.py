"""An inference request's bytes -> its images (headers read, pixels not yet decoded) and what its answer needs,
for each protocol. Pure functions of bytes, with no event loop or server state: the same code runs on the event
loop for a cheap request and in the decode process for a costly one (recognizer/decoder.py).

Any nesting depth is a 400: orjson refuses beyond 1,024 levels and the standard library's parser, the fallback,
beyond its recursion limit; whatever a deep but accepted value meets later (a repr, numpy's 64 dimensions)
is a 400 too.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from recognizer import codec

try:
    import orjson
except ImportError:  # the standard library's json is the reference; orjson is only faster
    orjson = None

BINARY_HEADER = "Inference-Header-Content-Length"
TOO_DEEP = "request nests too deeply: arrays and objects inside each other, more than a thousand levels"
# Where a gRPC pixel tensor's values are in InferTensorContents when raw_input_contents is not used.
CONTENTS = {"FP32": "fp32_contents", "FP64": "fp64_contents", "UINT8": "uint_contents",
            "INT32": "int_contents", "INT64": "int64_contents"}


def loads(body: bytes) -> Any:
    """orjson where it can; whatever it refuses (NaN, integers beyond 64 bits, UTF-16…) the standard library
    decides, so the accepted inputs and the error messages are the standard library's. Too deep for orjson is
    too deep: no second parser is asked."""
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if str(exc).startswith(("depth limit", "recursion limit")):
                raise codec.BadRequest(TOO_DEEP) from None
    try:
        return json.loads(body)
    except RecursionError:
        raise codec.BadRequest(TOO_DEEP) from None


def json_body(body: bytes) -> Any:
    if not body:
        raise codec.BadRequest("empty request body")
    try:
        return loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise codec.BadRequest(f"request body is not valid JSON: {exc}") from None


def binary_body(raw: bytes, header: str) -> tuple[Any, bytes]:
    """The binary tensor data extension: the first `header` bytes are the JSON request, the rest
    is tensor data that inputs claim with their binary_data_size."""
    try:
        n = int(header)
    except ValueError:
        raise codec.BadRequest(f"{BINARY_HEADER} must be an integer; got {header[:40]!r}") from None
    if not 0 < n <= len(raw):
        raise codec.BadRequest(f"{BINARY_HEADER} is {n} but the body has {len(raw)} bytes")
    try:
        return loads(raw[:n]), raw[n:]
    except (ValueError, UnicodeDecodeError) as exc:
        raise codec.BadRequest(f"the JSON header (the first {n} bytes) is not valid JSON: {exc}") from None


def message(cls: Any, raw: bytes) -> Any:
    try:
        return cls.FromString(raw)
    except Exception as exc:  # google.protobuf.message.DecodeError, and upb's own errors
        raise codec.BadRequest(f"not a valid {cls.DESCRIPTOR.full_name} message: {exc}") from None


def grpc_request(req: Any, size: int, max_pixels: int) -> codec.V2Request:
    """ModelInferRequest -> the same checked request the REST paths make."""
    if len(req.inputs) != 1:
        raise codec.BadRequest(f"the model has exactly one input, \"image\"; got {len(req.inputs)}")
    inp = req.inputs[0]
    shape = codec.check_shape(list(inp.shape))
    n = codec.image_count(inp.datatype, shape, size)
    if req.raw_input_contents:
        if len(req.raw_input_contents) != 1:
            raise codec.BadRequest(f"raw_input_contents has {len(req.raw_input_contents)} entries; "
                                   "one input needs one")
        if inp.HasField("contents"):
            raise codec.BadRequest("an input must not have contents when raw_input_contents is used")
        buf = req.raw_input_contents[0]
        if inp.datatype == "BYTES":
            images = codec.images_from_bytes(codec.split_bytes(buf, n), size, max_pixels)
        else:
            images = codec.Images(batch=codec.pixels_from_buffer(buf, inp.datatype, shape, size))
    elif inp.datatype == "BYTES":
        items = list(inp.contents.bytes_contents)
        if len(items) != n:
            raise codec.BadRequest(f"bytes_contents has {len(items)} images; the shape says {n}")
        images = codec.images_from_bytes(items, size, max_pixels)
    else:
        values = getattr(inp.contents, CONTENTS[inp.datatype])
        want = int(np.prod(shape))
        if len(values) != want:
            raise codec.BadRequest(f"{CONTENTS[inp.datatype]} has {len(values)} values; shape {shape} needs {want}")
        images = codec.Images(batch=codec.tensor(np.asarray(values, dtype=np.float32).reshape(shape), size, "input"))
    return codec.V2Request(images, [o.name for o in req.outputs] or None, req.id)


def prepare(kind: str, body: bytes, header: str | None, size: int, max_pixels: int) -> tuple[codec.Images, Any]:
    """(the request's images, what its answer needs: `columnar` for v1, the V2Request for v2 and gRPC).
    `header` is v2's Inference-Header-Content-Length, if sent."""
    try:
        if kind == "v1":
            return codec.parse_v1(json_body(body), size, max_pixels)
        if kind == "v2":
            if header is None:
                parsed = codec.parse_v2(json_body(body), size, max_pixels)
            else:
                head, binary = binary_body(body, header)
                parsed = codec.parse_v2(head, size, max_pixels, binary)
        else:
            from recognizer import grpc_predict_v2_pb2 as pb  # type: ignore[attr-defined]

            parsed = grpc_request(message(pb.ModelInferRequest, body), size, max_pixels)
        return parsed.images, parsed
    except RecursionError:  # a value nested as deep as the parser allows, met by a repr or a walk
        raise codec.BadRequest(TOO_DEEP) from None


def decoded(kind: str, body: bytes, header: str | None, size: int, max_pixels: int) -> tuple[np.ndarray, Any]:
    """prepare(), then every image decoded: the [N, size, size, 3] batch and the answer's context (what the
    decode process runs)."""
    images, ctx = prepare(kind, body, header, size, max_pixels)
    return images.decode(), ctx
