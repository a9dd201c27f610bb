"""Generated hostile input against a running recognizer, at scale: prints figures, and exits 1 on any 5xx.

    .venv/bin/python serving/bench/fuzz.py --image aitui/recognizer:TAG [--count 100000] [--seed 1]
    .venv/bin/python serving/bench/fuzz.py --url http://127.0.0.1:8501 --grpc 127.0.0.1:8500

With --image it starts the image as aitui's local target runs a replica (non-root, read-only root, ports on
127.0.0.1) and reads the container's memory from the engine; with --url, the server's own
process_resident_memory_bytes (its decode process included).

Every input is drawn from a seeded generator (the same seed, the same inputs), across
  - v1 JSON (TF Serving :predict) and v2 JSON (Open Inference Protocol /infer): valid requests with images in
    every format the server takes, then mutated (a node replaced by random JSON, images with flipped or cut
    bytes, base64 spoiled, shapes and datatypes changed), and random JSON;
  - the v2 binary tensor extension: lying Inference-Header-Content-Length, binary_data_size and BYTES
    element lengths, cut and padded tensor data;
  - deep nesting, up to 100,000 levels, at the top or anywhere inside a valid request;
  - HTTP itself: a Content-Length that says less or more than is sent, chunked bodies with lying chunk sizes,
    random and huge header lines, request lines of every kind, unknown models and versions;
  - gRPC (inference.GRPCInferenceService): ModelInferRequest messages mutated field by field and byte by byte,
    lying raw_input_contents, and random bytes to every method.
An answer passes when it is not a 5xx (HTTP) or INTERNAL/UNKNOWN/DATA_LOSS (gRPC), and arrives within
--timeout; a connection the server closes without an answer passes only where the input asked for it (a
request cut off by the client's half-close). Printed: counts by family and by outcome, the first failures,
memory at the start (after a warm-up) and at the end, duration, and the server's own 5xx counters.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import io
import json
import random
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

V1 = "/v1/models/recognizer:predict"
V2 = "/v2/models/recognizer/infer"
SIZE = 32
GRPC_METHODS = ("ModelInfer", "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata")
GRPC_FAIL = {"INTERNAL", "UNKNOWN", "DATA_LOSS"}


@dataclass
class Case:
    family: str
    http: bytes = b""  # the whole request, on its own connection's turn
    half_close: bool = False  # shut the write side after sending: the request is cut off on purpose
    method: str = ""  # gRPC method
    message: bytes = b""  # gRPC request bytes


@dataclass
class Report:
    count: int = 0
    families: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    fivexx: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    memory: list[tuple[int, float]] = field(default_factory=list)  # (inputs sent, bytes)

    def fail(self, what: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(what[:300])


# --- materials ---------------------------------------------------------------------------------------------


def _encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def materials(seed: int) -> list[bytes]:
    """Images in every format and mode the server meets: RGB, RGBA, palette, grayscale, 16-bit PNGs; JPEG
    (baseline and progressive), GIF, BMP, WEBP; sizes from 1x1 to 256x192."""
    rng = np.random.default_rng(seed)
    out = []
    for w, h in ((64, 64), (1, 1), (33, 17), (256, 192)):
        rgb = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        out += [_encode(rgb, "PNG"), _encode(rgb.convert("RGBA"), "PNG"), _encode(rgb.convert("P"), "PNG"),
                _encode(rgb.convert("L"), "PNG"), _encode(rgb, "JPEG", quality=80),
                _encode(rgb, "JPEG", progressive=True), _encode(rgb, "GIF"), _encode(rgb, "BMP"),
                _encode(rgb, "WEBP", quality=70)]
    out.append(_encode(Image.fromarray(rng.integers(0, 65535, (40, 40), dtype=np.uint16)), "PNG"))
    return out


# --- random values -----------------------------------------------------------------------------------------

SCALARS: list[Callable[[random.Random], Any]] = [
    lambda r: None, lambda r: r.random() < 0.5, lambda r: r.randint(-3, 300), lambda r: r.randint(-2**70, 2**70),
    lambda r: r.uniform(-1e308, 1e308), lambda r: r.choice([float("nan"), float("inf"), -float("inf"), -0.0]),
    lambda r: "".join(r.choice(string.printable) for _ in range(r.randint(0, 12))),
    lambda r: r.choice(["", "b64", "image", "BYTES", "FP32", "UINT8", "INT8", "\u2603\ud83d\ude00\u0000", "%%%"]),
]


def rand_json(r: random.Random, budget: int = 30) -> Any:
    if budget <= 1 or r.random() < 0.4:
        return r.choice(SCALARS)(r)
    n = r.randint(0, 5)
    if r.random() < 0.5:
        return [rand_json(r, budget // max(n, 1)) for _ in range(n)]
    keys = ["instances", "inputs", "outputs", "name", "shape", "datatype", "data", "b64", "parameters", "id",
            "binary_data_size", "binary_data", "binary_data_output", "image"]
    return {r.choice(keys) if r.random() < 0.7 else SCALARS[6](r): rand_json(r, budget // max(n, 1)) for _ in range(n)}


def deep(r: random.Random) -> tuple[bytes, bytes]:
    """(opening, closing) of a nesting 900 to 100,000 levels deep, of arrays, objects or both."""
    d = r.choice([900, 1023, 1025, 1100, 5000, 20000, 100000, r.randint(900, 100000)])
    kind = r.choice(["[", '{"a":', "mix"])
    if kind == "[":
        return b"[" * d, b"]" * d
    if kind == '{"a":':
        return b'{"a":' * d, b"}" * d
    bits = r.getrandbits(d)
    parts = [b"[" if bits >> i & 1 else b'{"image":' for i in range(min(d, 2000))] * (d // 2000 + 1)
    parts = parts[:d]
    return b"".join(parts), b"".join(b"]" if p == b"[" else b"}" for p in reversed(parts))


def mutate_bytes(r: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(r.randint(1, 8)):
        op = r.random()
        if op < 0.5 and raw:
            raw[r.randrange(len(raw))] = r.randrange(256)
        elif op < 0.7:
            raw = raw[:r.randint(0, len(raw))]
        elif op < 0.85:
            at = r.randint(0, len(raw))
            raw[at:at] = r.randbytes(r.randint(1, 16))
        elif raw:
            at = r.randrange(len(raw))
            del raw[at:at + r.randint(1, 64)]
    return bytes(raw)


def replace_somewhere(r: random.Random, value: Any, new: Callable[[], Any]) -> Any:
    """`value` with one node (chosen by a random walk) replaced by new()."""
    if not isinstance(value, (dict, list)) or not value or r.random() < 0.25:
        return new()
    if isinstance(value, list):
        i = r.randrange(len(value))
        return [*value[:i], replace_somewhere(r, value[i], new), *value[i + 1:]]
    k = r.choice(list(value))
    return {**value, k: replace_somewhere(r, value[k], new)}


def dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


# --- requests ----------------------------------------------------------------------------------------------


def http(path: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST",
         length: int | None = None) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    n = len(body) if length is None else length
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {n}\r\n\r\n".encode("latin-1") + body


class Generator:
    def __init__(self, seed: int, pb: Any) -> None:
        self.r = random.Random(seed)
        self.images = materials(seed)
        self.pb = pb
        self.families: list[tuple[str, float, Callable[[], Case]]] = [
            ("v1", 0.17, self.v1), ("v2", 0.17, self.v2), ("binary", 0.16, self.binary), ("deep", 0.12, self.deep),
            ("http", 0.12, self.http_lies), ("grpc", 0.22, self.grpc), ("random", 0.04, self.random_body)]

    def image(self) -> bytes:
        img = self.r.choice(self.images)
        return mutate_bytes(self.r, img) if self.r.random() < 0.35 else img

    def b64(self) -> str:
        text = base64.b64encode(self.image()).decode()
        if self.r.random() < 0.08:
            text = text[: self.r.randint(0, len(text))] + self.r.choice(["", "=", "%", " ", "\n", "é"])
        return text

    def pixels(self, n: int) -> list:
        fill = self.r.choice([0.0, 1.5, 255.0, 256.0, -1.0, float("nan"), 1e308])
        if self.r.random() < 0.5:  # not always a whole image: a shape the server must refuse, cheaper to make
            return np.full((n, self.r.choice([1, 2, SIZE]), SIZE, 3), fill).tolist()
        return np.full((n, SIZE, SIZE, 3), fill).tolist()

    def v1_body(self) -> dict:
        n = self.r.choice([1, 1, 2, 5, 64, 65])
        if self.r.random() < 0.8:
            images: Any = [{"b64": self.b64()} for _ in range(min(n, 8))]
        else:
            images = self.pixels(min(n, 3))
        if self.r.random() < 0.2:
            images = [{"image": i} for i in images]
        return {"inputs": images} if self.r.random() < 0.3 else {"instances": images}

    def v2_body(self) -> dict:
        r = self.r
        n = r.choice([1, 1, 2, 3])
        if r.random() < 0.8:
            inp = {"name": "image", "shape": r.choice([[n], [n, 1]]), "datatype": "BYTES",
                   "data": [self.b64() for _ in range(n)]}
        else:
            inp = {"name": "image", "shape": [n, SIZE, SIZE, 3], "datatype": r.choice(["FP32", "UINT8", "INT64"]),
                   "data": np.asarray(self.pixels(n)).reshape(-1).tolist()}
        body: dict = {"inputs": [inp]}
        if r.random() < 0.3:
            body["outputs"] = [{"name": r.choice(["labels", "scores", "probabilities", "logits"]),
                                "parameters": {"binary_data": r.random() < 0.5}}]
        if r.random() < 0.3:
            body["id"] = r.choice(SCALARS)(r)
        if r.random() < 0.2:
            body["parameters"] = {"binary_data_output": r.random() < 0.5}
        return body

    def mutated(self, body: dict) -> dict:
        for _ in range(self.r.choice([0, 1, 1, 2, 3])):
            body = replace_somewhere(self.r, body, lambda: rand_json(self.r))
        return body

    def v1(self) -> Case:
        body = dump(self.mutated(self.v1_body()) if self.r.random() < 0.9 else rand_json(self.r))
        return Case("v1", http(self.path(V1), body, {"Content-Type": "application/json"}))

    def v2(self) -> Case:
        body = dump(self.mutated(self.v2_body()) if self.r.random() < 0.9 else rand_json(self.r))
        return Case("v2", http(self.path(V2), body, {"Content-Type": "application/json"}))

    def path(self, default: str) -> str:
        x = self.r.random()
        if x < 0.9:
            return default
        return self.r.choice(["/v1/models/nope:predict", "/v1/models/recognizer/versions/7:predict",
                              "/v1/models/recognizer/labels/canary:predict", "/v2/models/recognizer/versions/2/infer",
                              "/v2/models/%2e%2e/infer", "/v2/models/recognizer/infer?x=" + "y" * 50, "/v2", "/"])

    def binary(self) -> Case:
        r = self.r
        n = r.choice([1, 1, 2, 3])
        if r.random() < 0.7:
            items = [self.image() for _ in range(n)]
            data = b"".join(len(x).to_bytes(4, "little") + x for x in items)
            if r.random() < 0.3:  # an element's length that lies
                at = r.randrange(len(items))
                off = sum(4 + len(x) for x in items[:at])
                fake = r.choice([0, 1, len(items[at]) + 1, len(items[at]) - 1, 2**32 - 1, r.randrange(2**32)])
                data = data[:off] + (fake % 2**32).to_bytes(4, "little") + data[off + 4:]
            inp = {"name": "image", "shape": [n], "datatype": "BYTES"}
        else:
            dtype = r.choice(["FP32", "UINT8", "INT32", "INT64", "FP64"])
            width = {"FP32": 4, "UINT8": 1, "INT32": 4, "INT64": 8, "FP64": 8}[dtype]
            data = r.randbytes(n * SIZE * SIZE * 3 * width)
            inp = {"name": "image", "shape": [n, SIZE, SIZE, 3], "datatype": dtype}
        if r.random() < 0.3:
            data = mutate_bytes(r, data)
        size = len(data) if r.random() < 0.7 else r.choice([0, len(data) + 1, len(data) - 1, -1, 2**63, "12"])
        inp["parameters"] = {"binary_data_size": size}
        body: dict = {"inputs": [inp]}
        if r.random() < 0.3:
            body["parameters"] = {"binary_data_output": True}
        head = dump(self.mutated(body) if r.random() < 0.3 else body)
        header = str(len(head)) if r.random() < 0.7 else r.choice(
            ["0", "-5", str(len(head) + len(data) + 1), str(len(head) - 1), "1", "x", " 12", "99999999999999999999",
             str(r.randint(0, len(head) + len(data)))])
        return Case("binary", http(self.path(V2), head + data, {"Inference-Header-Content-Length": header,
                                                                "Content-Type": "application/octet-stream"}))

    def deep(self) -> Case:
        r = self.r
        opening, closing = deep(r)
        where = r.random()
        if where < 0.35:
            body = opening + closing
        else:  # inside a valid request: where a value, an image, an id, an output name, parameters go
            marker = "\u0001DEEP\u0001"
            template = self.v1_body() if r.random() < 0.4 else self.v2_body()
            text = dump(replace_somewhere(r, template, lambda: marker))
            quoted = json.dumps(marker).encode()
            body = text.replace(quoted, opening + b"1" + closing, 1) if quoted in text else opening + closing
        path = r.choice([V1, V2])
        if path == V2 and r.random() < 0.3:  # in the binary extension's JSON header
            return Case("deep", http(V2, body + b"\0\0\0\0", {"Inference-Header-Content-Length": str(len(body))}))
        return Case("deep", http(path, body, {"Content-Type": "application/json"}))

    def http_lies(self) -> Case:
        r = self.r
        body = dump(self.v2_body() if r.random() < 0.5 else self.v1_body())
        path = r.choice([V1, V2])
        x = r.random()
        if x < 0.2:  # says less than is sent: the rest reads as the next request
            return Case("http", http(path, body, length=r.randint(0, len(body))))
        if x < 0.35:  # says more than is sent, and the client stops there
            return Case("http", http(path, body, length=len(body) + r.randint(1, 10**6)), half_close=True)
        if x < 0.5:  # chunked, with chunk sizes that may lie
            chunks, i = [], 0
            while i < len(body):
                n = r.randint(1, 4096)
                told = n if r.random() < 0.9 else r.choice([n + 1, max(n - 1, 0), 0, 2**40])
                chunks.append(b"%x\r\n" % told + body[i:i + n] + b"\r\n")
                i += n
            raw = (f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").encode() + \
                b"".join(chunks) + b"0\r\n\r\n"
            return Case("http", raw, half_close=True)  # a lying size leaves the server waiting for the rest
        if x < 0.6:  # lengths the parser must refuse
            length = r.choice(["-1", "abc", "1e3", "99999999999999999999999", "10, 10", "0x10", ""])
            raw = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode() + body
            return Case("http", raw, half_close=True)
        if x < 0.7:  # Content-Length and chunked together, or two Content-Lengths
            raw = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                   + r.choice(["Transfer-Encoding: chunked\r\n", f"Content-Length: {len(body) + 3}\r\n"])
                   + "\r\n").encode() + body
            return Case("http", raw, half_close=True)
        if x < 0.85:  # header lines: random, huge, many, folded
            heads = []
            for _ in range(r.randint(1, 20)):
                name = "".join(r.choice(string.ascii_letters + "-_:") for _ in range(r.randint(1, 20)))
                value = "".join(r.choice(string.printable) for _ in range(r.randint(0, 40)))
                heads.append(f"{name}: {value}")
            if r.random() < 0.3:
                heads.append("X-Big: " + "a" * r.choice([1000, 16000, 17000, 200000]))
            if r.random() < 0.1:
                heads.append(" folded")
            raw = (f"POST {path} HTTP/1.1\r\n" + "\r\n".join(heads) + f"\r\nContent-Length: {len(body)}\r\n\r\n"
                   ).encode("latin-1", "replace") + body
            return Case("http", raw, half_close=True)
        line = r.choice([f"GET {'/' + 'x' * 20000} HTTP/1.1", "GET / HTTP/9.9", "BREW /coffee HTCPCP/1.0",
                         f"POST {V1} HTTP/1.0", "GET\t/\tHTTP/1.1", "\x00\x01\x02", f"HEAD {V2} HTTP/1.1",
                         "OPTIONS * HTTP/1.1", f"DELETE {V1} HTTP/1.1",
                         f"GET {V2}?{'&'.join(['a=b'] * 100)} HTTP/1.1"])
        return Case("http", f"{line}\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode("latin-1") + body,
                    half_close=True)

    def random_body(self) -> Case:
        raw = self.r.randbytes(self.r.randint(0, 2048))
        headers = {"Inference-Header-Content-Length": str(self.r.randint(0, 2048))} if self.r.random() < 0.3 else {}
        return Case("random", http(self.r.choice([V1, V2]), raw, headers))

    def grpc(self) -> Case:
        r, pb = self.r, self.pb
        if r.random() < 0.1:
            return Case("grpc", method=r.choice(GRPC_METHODS), message=r.randbytes(r.randint(0, 512)))
        if r.random() < 0.05:
            return Case("grpc", method=r.choice(GRPC_METHODS[1:]), message=b"")
        req = pb.ModelInferRequest(model_name="recognizer" if r.random() < 0.9 else r.choice(["", "x", "é" * 50]),
                                   model_version=r.choice(["", "", "1", "2"]), id=SCALARS[6](r))
        n = r.choice([1, 1, 2, 65, 0])
        kind = r.random()
        inp = req.inputs.add(name="image", datatype="BYTES", shape=[n])
        if kind < 0.4:
            items = [self.image() for _ in range(min(n, 4))]
            req.raw_input_contents.append(b"".join(len(x).to_bytes(4, "little") + x for x in items))
        elif kind < 0.7:
            inp.contents.bytes_contents.extend(self.image() for _ in range(min(n, 4)))
        else:
            inp.datatype = r.choice(["FP32", "UINT8", "INT32", "INT64", "FP64", "BOOL"])
            inp.ClearField("shape")
            inp.shape.extend([n, SIZE, SIZE, 3])
            count = min(n, 2) * SIZE * SIZE * 3
            if r.random() < 0.5:
                req.raw_input_contents.append(r.randbytes(r.choice([count * 4, 7, 0])))
            else:
                inp.contents.fp32_contents.extend([r.choice([0.0, 255.0, 300.0, float("nan")])] * count)
        for _ in range(r.choice([0, 0, 1, 3])):  # a field mutated: shape, datatype, another input, outputs
            m = r.random()
            if m < 0.25:
                inp.ClearField("shape")
                inp.shape.extend(r.randint(-2**62, 2**62) if r.random() < 0.2 else r.randint(0, 70)
                                 for _ in range(r.randint(0, 6)))
            elif m < 0.45:
                inp.datatype = r.choice(["", "BYTES", "FP16", "STRING", "\u2603"])
            elif m < 0.6:
                req.inputs.add(name="image2", datatype="FP32", shape=[1])
            elif m < 0.75:
                req.outputs.add(name=r.choice(["labels", "logits", "", "scores"]))
            elif m < 0.9:
                req.raw_input_contents.append(b"\xff" * r.randint(0, 20))
            else:
                inp.contents.int_contents.extend([1, 2, 3])
        raw = req.SerializeToString()
        if r.random() < 0.2:
            raw = mutate_bytes(r, raw)
        return Case("grpc", method="ModelInfer", message=raw)

    def __iter__(self) -> Iterator[Case]:
        names = [f for _, _, f in self.families]
        weights = [w for _, w, _ in self.families]
        while True:
            yield self.r.choices(names, weights)[0]()


# --- sending -----------------------------------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if status >= 200:
            return status, body


class HttpClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, case: Case) -> str:
        """The outcome: an HTTP status, "closed" (no answer before the server closed) or "timeout"."""
        try:
            async with asyncio.timeout(self.timeout):
                fresh = self.writer is None or case.half_close
                if case.half_close:
                    self.drop()
                if self.writer is None:
                    try:
                        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=2**24)
                    except OSError as exc:
                        return f"connect error {type(exc).__name__}"
                assert self.reader is not None
                try:
                    self.writer.write(case.http)
                    if case.half_close:
                        self.writer.write_eof()
                    status, _ = await read_response(self.reader)
                except (asyncio.IncompleteReadError, OSError):  # closed, or reset on bytes it did not read
                    self.drop()
                    if not fresh:  # a keep-alive connection the server had just closed: once more, afresh
                        return await self.send(case)
                    return "closed"
                if case.family in ("http", "random", "deep") or status in (400, 408, 413, 431):
                    self.drop()  # whatever follows on this connection is not the next case's
                return str(status)
        except TimeoutError:
            self.drop()
            return "timeout"


async def run(url: str, grpc_target: str, count: int, seed: int = 1, concurrency: int = 16,
              timeout: float = 30.0, memory: Callable[[], float] | None = None, warmup: int = 2000,
              progress: bool = False, pb: Any = None) -> Report:
    """`count` generated inputs (after `warmup` more, not counted, so that the memory at the start is the
    server's warm state), `concurrency` at a time; `memory()` is read at the start, every 10% and at the end."""
    import grpc

    if pb is None:
        from tritonclient.grpc import service_pb2 as pb
    host, port = re.match(r"https?://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    report = Report()
    cases = iter(Generator(seed, pb))
    channel = grpc.aio.insecure_channel(grpc_target, options=[("grpc.max_send_message_length", 64 * 2**20),
                                                              ("grpc.max_receive_message_length", 64 * 2**20)])
    calls = {m: channel.unary_unary(f"/inference.GRPCInferenceService/{m}") for m in GRPC_METHODS}
    sent = 0
    limit = warmup

    async def worker() -> None:
        nonlocal sent
        client = HttpClient(host, int(port), timeout)
        while sent < limit:
            sent += 1
            counted = sent > warmup
            case = next(cases)
            if case.method:
                try:
                    await calls[case.method](case.message, timeout=timeout)
                    outcome = "grpc OK"
                except grpc.aio.AioRpcError as exc:
                    outcome = f"grpc {exc.code().name}"
                    if exc.code().name in GRPC_FAIL and counted:
                        report.fail(f"{outcome} {exc.details()!r} for {case.method} {case.message[:120]!r}")
                    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                        outcome = "timeout"
            else:
                outcome = await client.send(case)
                if counted and (outcome[:1] == "5" or outcome.startswith("connect")):
                    report.fail(f"HTTP {outcome} for {case.http[:300]!r}")
            if not counted:
                continue
            report.count += 1
            report.families[case.family] += 1
            report.outcomes[outcome] += 1
            if outcome[:1] == "5" or outcome.split()[-1] in GRPC_FAIL:
                report.fivexx += 1
            if outcome == "timeout":
                report.timeouts += 1
                report.fail(f"timeout for {case.family} {(case.http or case.message)[:200]!r}")
            if memory is not None and report.count % max(1, count // 10) == 0:
                report.memory.append((report.count, memory()))
                if progress:
                    print(f"  {report.count:,} inputs, {report.fivexx} 5xx, memory {report.memory[-1][1] / 2**20:.1f} "
                          f"MiB", file=sys.stderr, flush=True)
        client.drop()

    await asyncio.gather(*(worker() for _ in range(concurrency)))  # the warm-up: allocator pools, caches
    if memory is not None:
        report.memory.append((0, memory()))
    t0 = time.monotonic()
    limit = warmup + count
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    report.seconds = time.monotonic() - t0
    if memory is not None and report.memory[-1][0] != report.count:
        report.memory.append((report.count, memory()))
    await channel.close()
    return report


# --- the container and the figures -------------------------------------------------------------------------


def container_memory(container: Any) -> float:
    """The container's resident memory (every process in it), from the engine: cgroup v2's anon, v1's rss."""
    stats = container.stats(stream=False)["memory_stats"]
    s = stats.get("stats", {})
    return float(s.get("anon") or s.get("total_rss") or s.get("rss") or stats.get("usage", 0))


def server_counters(url: str) -> dict[str, float]:
    import requests

    text = requests.get(url + "/metrics", timeout=10).text
    out: dict[str, float] = {}
    for m in re.finditer(r'^recognizer_requests_total\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out[f"{labels.get('protocol')} {labels.get('code')}"] = float(m.group(2))
    return out


def start(image: str, env: dict[str, str] | None = None) -> tuple[Any, str, str]:
    """The image as aitui's local target runs a replica, with both ports on 127.0.0.1: (container, url, grpc)."""
    import docker
    import requests

    client = docker.from_env()
    c = client.containers.run(image, detach=True, read_only=True, environment=env or {},
                              ports={"8501/tcp": ("127.0.0.1", None), "8500/tcp": ("127.0.0.1", None)},
                              labels={"io.aitui.test": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        c.reload()
        ports = c.attrs["NetworkSettings"]["Ports"] or {}
        if c.status == "exited":
            raise RuntimeError(c.logs().decode()[-2000:])
        if ports.get("8501/tcp") and ports.get("8500/tcp"):
            url = f"http://127.0.0.1:{ports['8501/tcp'][0]['HostPort']}"
            try:
                if requests.get(url + "/v2/health/ready", timeout=1).status_code == 200:
                    return c, url, f"127.0.0.1:{ports['8500/tcp'][0]['HostPort']}"
            except requests.RequestException:
                pass
        time.sleep(0.2)
    c.remove(force=True)
    raise RuntimeError(f"{image} never became ready")


def print_report(r: Report, command: str, before: dict[str, float], after: dict[str, float]) -> None:
    mib = [m / 2**20 for _, m in r.memory]
    server_5xx = sum(v - before.get(k, 0) for k, v in after.items() if k.split()[-1].startswith("5"))
    print(f"fuzz: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, `{command}`")
    print(f"  {r.count:,} inputs in {r.seconds:.0f} s ({r.count / max(r.seconds, 1e-9):,.0f}/s); 5xx: {r.fivexx}; "
          f"timeouts: {r.timeouts}; the server's own 5xx counters: {server_5xx:.0f}")
    print("  families: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.families.items())))
    print("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in r.outcomes.most_common()))
    if mib:
        print(f"  memory (MiB): start {mib[0]:.1f}, end {mib[-1]:.1f}, highest {max(mib):.1f} "
              f"({(mib[-1] - mib[0]) / mib[0]:+.1%}); every 10%: " + " ".join(f"{m:.1f}" for m in mib))
    for f in r.failures:
        print("  FAILED:", f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", help="start this recognizer image (read-only, non-root, ports on 127.0.0.1)")
    p.add_argument("--url", help="or fuzz this running server's HTTP port, e.g. http://127.0.0.1:8501")
    p.add_argument("--grpc", help="and its gRPC port, e.g. 127.0.0.1:8500")
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-c", "--concurrency", type=int, default=16)
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()
    if not a.image and not (a.url and a.grpc):
        p.error("--image, or --url and --grpc")
    command = " ".join(["serving/bench/fuzz.py", *sys.argv[1:]])
    container = None
    if a.image:
        container, url, target = start(a.image)
        memory = lambda: container_memory(container)  # noqa: E731
    else:
        url, target = a.url, a.grpc

        def memory() -> float:
            import requests

            text = requests.get(url + "/metrics", timeout=10).text
            return float(re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
    try:
        before = server_counters(url)
        report = asyncio.run(run(url, target, a.count, a.seed, a.concurrency, a.timeout, memory, progress=True))
        after = server_counters(url)
        print_report(report, command, before, after)
        if container is not None:
            container.reload()
            print(f"  container: restarts {container.attrs['RestartCount']}, status {container.status}, "
                  f"OOM-killed {container.attrs['State']['OOMKilled']}")
    finally:
        if container is not None:
            container.remove(force=True)
    sys.exit(1 if report.fivexx or report.timeouts else 0)


if __name__ == "__main__":
    main()
