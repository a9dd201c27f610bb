"""The recognizer's servers: TensorFlow Serving REST (v1), Open Inference Protocol (v2) REST with the
binary tensor data extension, health, and Prometheus metrics on one HTTP port (8501); the Open
Inference Protocol over gRPC on its own port (8500, recognizer/grpc_server.py).

HTTP/1.1 is served by an asyncio Protocol on uvloop with httptools (llhttp, the parser uvicorn uses): the
bytes of a connection go through the parser's callbacks into a plain function per route, and an inference
request goes from its last byte, through parsing and decoding, onto the batcher's queue with the
connection's response slot as the place its answer goes: no task, future, request or response object per
request. serving/README.md ("Where a request's time goes") measures what this saves against aiohttp.
Responses leave in the order their requests came (pipelining), keep-alive follows the request
(HTTP/1.1 default, `Connection: close`, HTTP/1.0), bodies over the limit get 413 and are read to their end
and dropped (so the client sees the answer, not a reset), malformed HTTP gets 400 and the connection closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools

from recognizer import codec, metrics, selfcheck
from recognizer.batcher import Batcher, Overloaded
from recognizer.decoder import Decoder
from recognizer.parsing import BINARY_HEADER, loads, orjson
from recognizer.runtime import ModelFiles, Runtime
from recognizer.service import EXTENSIONS, MODEL, SERVER_NAME, State, check_model, model_metadata

log = logging.getLogger("recognizer")
__all__ = ["EXTENSIONS", "MODEL", "SERVER_NAME", "Settings", "State", "loads", "main"]


@dataclass
class Settings:
    model_dir: str = "/model"
    runtime: str = "litert"
    host: str = "0.0.0.0"
    port: int = 8501
    grpc_port: int = 8500  # 0: no gRPC server
    version_labels: str = "stable"  # TF Serving version labels (comma-separated) that name version 1
    threads: int = 1
    max_batch: int = 32
    batch_delay_ms: float = 1.0
    max_queue: int = 256
    max_body_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 40_000_000
    # The request line and headers together, as Node's and h11's 16 KiB: past it, 431 (llhttp has no limit).
    max_head_bytes: int = 16 * 1024
    # A client that takes longer than this to send a request's head, or then its body, gets 408 and is closed:
    # a trickle of bytes held a connection for ever. 8 MiB in 60 s is a 1.1 Mbit/s client.
    head_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 60.0
    decode_processes: int = 1  # costly requests are decoded there (recognizer/decoder.py); 0: on the event loop
    decode_queue: int = 16  # requests waiting for the decode processes before more get 429
    drain_seconds: float = 3.0
    # A client's list of endpoints can lag the drain's start (a balancer's refresh; a loaded machine stalled
    # aitui's traffic 0.66 s in CI and its request after a 0.5 s quiet found the replica gone): wait this long.
    drain_quiet_seconds: float = 1.5
    version: str = "dev"
    model_file: str = "model.tflite"  # in the model directory; model_float.tflite: the float model
    inference_thread: int = 0  # 1: run the model in a thread of its own (see recognizer/batcher.py)
    workers: int = 1  # processes sharing the ports (recognizer/workers.py)
    keepalive_seconds: float = 75.0  # an idle keep-alive connection is closed after this long
    self_check: int = 10  # drawn images (a class each in turn) to answer right before saying ready; 0: none

    @classmethod
    def from_env(cls) -> Settings:
        s = cls()
        for name in cls.__dataclass_fields__:
            raw = os.environ.get(f"RECOGNIZER_{name.upper()}")
            if raw is not None:
                setattr(s, name, type(getattr(s, name))(raw))
        return s


# --- JSON ---------------------------------------------------------------------------------------------------


def dumps(obj: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(obj)
        except TypeError:  # orjson.JSONEncodeError: e.g. an id that is an integer beyond 64 bits
            pass
    return json.dumps(obj).encode()


# --- replies: (status, body, content type, extra headers) ----------------------------------------------------

JSON = "application/json; charset=utf-8"
Reply = tuple[int, bytes, str, Any]


def reply(obj: Any, status: int = 200) -> Reply:
    return status, dumps(obj), JSON, None


def error(status: int, message: str) -> Reply:
    return reply({"error": message}, status)


def exception_reply(exc: BaseException, path: str) -> Reply:
    if isinstance(exc, codec.BadRequest):
        return error(exc.status, str(exc))
    if isinstance(exc, Overloaded):
        return error(429, str(exc))
    log.error("internal error on %s", path, exc_info=exc)  # never a traceback to the client; it goes to the log
    return error(500, "internal error")


REASONS = {s.value: s.phrase for s in HTTPStatus}
SERVER_HEADER = "aitui-recognizer"
_date: list[Any] = [0, b""]  # the second it was made for, and b"\r\nDate: …\r\nServer: …\r\n"
_heads: dict[tuple[int, str], bytes] = {}  # (status, content type) -> the head up to Content-Length's value


def _date_server() -> bytes:
    now = int(time.time())
    if now != _date[0]:
        date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
        _date[0], _date[1] = now, f"\r\nDate: {date}\r\nServer: {SERVER_HEADER}\r\n".encode("latin-1")
    return _date[1]


def response_bytes(r: Reply, close: bool, head_only: bool = False, keep_alive: bool = False) -> bytes:
    """The response's bytes. The head's parts that do not change are made once (per status and content type;
    the Date line once a second) instead of formatting the whole head for every response."""
    status, body, content_type, extra = r
    start = _heads.get((status, content_type))
    if start is None:
        start = _heads[(status, content_type)] = (f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
                                                  f"Content-Type: {content_type}\r\nContent-Length: ").encode("latin-1")
    parts = [start, b"%d" % len(body), _date_server()]
    if extra:
        parts += [f"{k}: {v}\r\n".encode("latin-1") for k, v in extra]
    if close:
        parts.append(b"Connection: close\r\n")
    elif keep_alive:  # an HTTP/1.0 client that asked to keep the connection: it closes otherwise
        parts.append(b"Connection: keep-alive\r\n")
    parts.append(b"\r\n")
    if not head_only:
        parts.append(body)
    return b"".join(parts)


# --- the model and its routes --------------------------------------------------------------------------------


def _protocol(path: str) -> str | None:
    if path.startswith("/v1/models/") and path.endswith(":predict"):
        return "v1"
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        return "v2"
    return None


_BINARY_HEADER = BINARY_HEADER.lower().encode()


class Request:
    __slots__ = ("body", "headers", "match", "method", "path")

    def __init__(self, method: str, path: str, match: dict[str, str], headers: dict[bytes, bytes],
                 body: bytes) -> None:
        self.method, self.path, self.match, self.headers, self.body = method, path, match, headers, body


# A handler answers with a Reply, or returns None once it has put the request on the batcher's queue with
# its slot (whose `build` makes the Reply from the probabilities).
Handler = Callable[[Request, "Slot"], "Reply | None"]


class Router:
    """aiohttp's routing, as the server had it: `{name}` matches one path segment ([^{}/]+); routes are tried
    in the order they were added; a path that matches with another method is a 405 (with Allow), none a 404;
    every GET route answers HEAD too."""

    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []
        self._cache: dict[tuple[str, str], tuple[Handler, dict[str, str]]] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^{}/]+)", re.escape(path)) + "$")
        if self.routes and self.routes[-1][0].pattern == pattern.pattern:
            self.routes[-1][1][method] = handler
        else:
            self.routes.append((pattern, {method: handler}))
        if method == "GET":
            self.routes[-1][1]["HEAD"] = handler

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | tuple[None, set[str]]:
        hit = self._cache.get((method, path))
        if hit is not None:
            return hit
        allowed: set[str] = set()
        for pattern, methods in self.routes:
            m = pattern.match(path)
            if m:
                handler = methods.get(method)
                if handler is not None:
                    found = handler, m.groupdict()
                    if len(self._cache) < 1024:  # the paths clients use are few; a scan's are not kept
                        self._cache[(method, path)] = found
                    return found
                allowed |= methods.keys()
        return None, allowed


def routes(state: State) -> Router:
    r = Router()
    size, labels, name = state.files.input, state.files.labels, state.files.name
    settings = state.settings
    batcher, decoder = state.batcher, state.decoder

    def model_of(req: Request) -> None:
        m = req.match
        check_model(name, m["model"], m.get("version"), m.get("label"), settings.version_labels)

    def v1_answer(probs: Any, columnar: bool) -> Reply:
        return reply(codec.v1_response(probs, labels, columnar))

    def predict(req: Request, slot: Slot) -> None:
        model_of(req)
        batcher.admit()
        slot.build = v1_answer
        decoder.prepare("v1", req.body, None, slot.prepared, slot.decoded)

    r.add("POST", "/v1/models/{model}:predict", predict)
    r.add("POST", "/v1/models/{model}/versions/{version}:predict", predict)
    r.add("POST", "/v1/models/{model}/labels/{label}:predict", predict)

    def v1_status(req: Request, _: Slot) -> Reply:
        model_of(req)
        return reply({"model_version_status": [{
            "version": "1", "state": "AVAILABLE" if state.ready else "UNAVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    r.add("GET", "/v1/models/{model}", v1_status)
    r.add("GET", "/v1/models/{model}/versions/{version}", v1_status)
    r.add("GET", "/v1/models/{model}/labels/{label}", v1_status)

    def v1_metadata(req: Request, _: Slot) -> Reply:
        model_of(req)
        return reply({
            "model_spec": {"name": name, "signature_name": "", "version": "1"},
            "metadata": {"signature_def": {"signature_def": {"serving_default": {
                "inputs": {"image": {"dtype": "DT_FLOAT", "name": "image",
                                     "tensor_shape": {"dim": [{"size": str(d)} for d in (-1, *size.shape)]}}},
                "outputs": {"probabilities": {"dtype": "DT_FLOAT", "name": "probabilities",
                                              "tensor_shape": {"dim": [{"size": "-1"},
                                                                       {"size": str(len(labels))}]}}},
                "method_name": "tensorflow/serving/predict"}}}},
            "labels": list(labels)})

    r.add("GET", "/v1/models/{model}/metadata", v1_metadata)
    r.add("GET", "/v1/models/{model}/versions/{version}/metadata", v1_metadata)
    r.add("GET", "/v1/models/{model}/labels/{label}/metadata", v1_metadata)

    r.add("GET", "/v2/health/live", lambda req, slot: reply({"live": True}))
    def readiness() -> dict[str, Any]:
        return {"ready": state.ready, "reason": state.refusal} if state.refusal else {"ready": state.ready}

    r.add("GET", "/v2/health/ready", lambda req, slot: reply(readiness(), 200 if state.ready else 503))
    r.add("GET", "/v2", lambda req, slot: reply({"name": SERVER_NAME, "version": settings.version,
                                                 "extensions": EXTENSIONS}))

    def v2_model(req: Request, _: Slot) -> Reply:
        model_of(req)
        return reply(model_metadata(state))

    r.add("GET", "/v2/models/{model}", v2_model)
    r.add("GET", "/v2/models/{model}/versions/{version}", v2_model)

    def v2_model_ready(req: Request, _: Slot) -> Reply:
        model_of(req)
        return reply({"name": name, **readiness()}, 200 if state.ready else 503)

    r.add("GET", "/v2/models/{model}/ready", v2_model_ready)
    r.add("GET", "/v2/models/{model}/versions/{version}/ready", v2_model_ready)

    def v2_answer(probs: Any, parsed: codec.V2Request) -> Reply:
        head, data = codec.v2_response(probs, labels, name, "1", parsed.id, parsed.outputs, parsed.binary_outputs)
        text = dumps(head)
        if not data:
            return 200, text, JSON, None
        return 200, text + data, "application/octet-stream", ((BINARY_HEADER, str(len(text))),)

    def infer(req: Request, slot: Slot) -> None:
        model_of(req)
        batcher.admit()
        header = req.headers.get(_BINARY_HEADER)
        slot.build = v2_answer
        decoder.prepare("v2", req.body, None if header is None else header.decode("latin-1"), slot.prepared,
                        slot.decoded)

    r.add("POST", "/v2/models/{model}/infer", infer)
    r.add("POST", "/v2/models/{model}/versions/{version}/infer", infer)

    def prometheus(req: Request, _: Slot) -> Reply:
        return 200, metrics.exposition(), "text/plain; charset=utf-8", None

    r.add("GET", "/metrics", prometheus)
    return r


# --- HTTP/1.1 ---------------------------------------------------------------------------------------------

PAUSE_AT = 64  # pipelined requests waiting for their answer before the connection stops reading
LINGER_SECONDS = 10.0  # how long a refused (413) body is read and dropped before the connection is closed
# After a 431 or a 408, what the client still sends is read and dropped this long before the connection closes:
# closing on unread bytes sends a reset, which can reach the client before it has read the answer.
DISCARD_SECONDS = 2.0
IDLE, HEAD, BODY = 0, 1, 2  # where a connection is in its current request


class Slot:
    """One request's place in its connection's queue of responses; for an inference request, also where the
    batcher delivers its answer (recognizer.batcher.Sink)."""

    __slots__ = ("build", "close", "conn", "ctx", "data", "done", "gone", "head_only", "http10", "path", "proto", "t0")

    def __init__(self, conn: Connection, proto: str | None, t0: float, path: str) -> None:
        self.conn, self.proto, self.t0, self.path = conn, proto, t0, path
        self.data: bytes | None = None
        self.close = self.gone = self.done = self.head_only = self.http10 = False
        self.build: Callable[[Any, Any], Reply] | None = None
        self.ctx: Any = None

    def prepared(self, batch: Any, ctx: Any) -> None:
        """The request's images are decoded: to the batcher (Overloaded, when full, is the caller's 429)."""
        self.ctx = ctx
        self.conn.state.batcher.enqueue(batch, self)

    def decoded(self, value: Any, exc: BaseException | None) -> None:
        """The decode process's answer, on the event loop."""
        if self.gone:
            return
        if exc is None:
            try:
                self.prepared(*value)
                return
            except Exception as e:  # Overloaded: the queue filled while this request was being decoded
                exc = e
        self.fail(exc)

    def deliver(self, probs: Any) -> None:
        try:
            r = self.build(probs, self.ctx)  # type: ignore[misc]
        except Exception as exc:  # e.g. an unknown output name: a 400, found once there is an answer
            r = exception_reply(exc, self.path)
        self.conn.finish(self, r)

    def fail(self, exc: BaseException) -> None:
        self.conn.finish(self, exception_reply(exc, self.path))


class HttpApp:
    """What every connection shares: the state, the routes, the metrics' children, the open connections."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.router = routes(state)
        self.max_body = state.settings.max_body_bytes
        self.max_head = state.settings.max_head_bytes
        self.connections: set[Connection] = set()
        self._requests: dict[tuple[str, int], Any] = {}
        self._latency = {p: metrics.LATENCY.labels(p) for p in ("v1", "v2")}

    def count(self, proto: str, status: int, seconds: float) -> None:
        child = self._requests.get((proto, status))
        if child is None:
            child = self._requests[(proto, status)] = metrics.REQUESTS.labels(proto, str(status))
        child.inc()
        self._latency[proto].observe(seconds)

    def close_idle(self, idle_for: float) -> None:
        now = time.monotonic()
        for c in list(self.connections):
            if not c.pending and now - c.last >= idle_for and c.transport is not None:
                c.transport.close()

    def sweep(self) -> None:
        """Once a second: idle keep-alive connections are closed; a request whose head or body is overdue
        gets 408."""
        now, s = time.monotonic(), self.state.settings
        for c in list(self.connections):
            if c.transport is None:
                continue
            if c.phase == HEAD and now - c.since > s.head_timeout_seconds:
                c.overdue(f"the request's head (its line and headers) took over {s.head_timeout_seconds:g} s")
            elif c.phase == BODY and not c.skip and now - c.since > s.body_timeout_seconds:
                c.overdue(f"the request's body took over {s.body_timeout_seconds:g} s")
            elif not c.pending and c.phase == IDLE and now - c.last >= s.keepalive_seconds:
                c.transport.close()


class Connection(asyncio.Protocol):
    def __init__(self, app: HttpApp) -> None:
        self.app = app
        self.state = app.state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: deque[Slot] = deque()
        self.last = time.monotonic()
        self.closing = False  # a response that closes the connection is queued: ignore what follows
        self.reading = True
        self.read_paused = self.write_paused = False
        self.close_when_read = False  # the closing response is out; close once its request's body is read
        self.close_when_flushed = False  # close once every owed response is written
        self.discard = False  # after a 431 or 408: what arrives is dropped, then the connection closes
        self.phase = IDLE
        self.since = self.last  # when the current phase (HEAD, BODY) began
        self.head_fed = 0  # bytes fed while the head is incomplete, after the chunk it began in
        self.head_began = False  # the head began in the chunk being fed
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.size = 0
        self.skip = False  # the body is refused (413): read and dropped
        self.t0 = 0.0
        self.head = 0  # bytes of the request line and the headers, as the parser hands them over

    # asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.app.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.app.connections.discard(self)
        self.transport = None
        self.closing = True
        for s in self.pending:  # the client went away: the batcher skips its images
            if not s.done:
                s.gone = s.done = True
                self._finished(s)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        if self.closing and not self.skip:
            return
        self.last = time.monotonic()
        try:
            self.parser.feed_data(data)
            if self.phase == HEAD:
                # A header still incomplete is buffered inside the parser, out of on_header's sight: count the
                # chunks instead (not the one the head began in, which can hold the previous request's body).
                if self.head_began:
                    self.head_began = False
                else:
                    self.head_fed += len(data)
                    if self.head_fed > self.app.max_head:
                        self._head_too_large()
        except httptools.HttpParserUpgrade:
            # `Upgrade:` (h2c, websocket) is declined by answering in HTTP/1.1 (no 101); the parser cannot go
            # on after such a request, so the connection closes once what is owed is written.
            self.closing = self.close_when_flushed = True
            self.flush()
        except httptools.HttpParserError as exc:
            self._refuse(f"malformed HTTP request: {exc}")

    def eof_received(self) -> bool | None:
        """The client shut its side: the answers it is owed are still written, then the connection closes."""
        if not self.pending:
            return None  # the transport closes
        self.closing = self.close_when_flushed = True
        return True

    def pause_writing(self) -> None:  # the client does not read its answers: stop taking requests
        self.write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._resume()

    def _pause(self) -> None:
        if not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self.read_paused and not self.write_paused and len(self.pending) < PAUSE_AT // 2 \
                and self.transport is not None and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset()
        self.t0 = time.perf_counter()
        self.phase, self.since, self.head_fed, self.head_began = HEAD, self.last, 0, True

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head += len(url)
        if self.head > self.app.max_head:
            self._head_too_large()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value
        self.head += len(name) + len(value) + 4
        if self.head > self.app.max_head:
            self._head_too_large()

    def on_headers_complete(self) -> None:
        self.phase, self.since = BODY, self.last
        if self.closing:
            return
        length = self.headers.get(b"content-length")
        if length is not None and int(length) > self.app.max_body:
            self._too_large()
        elif self.headers.get(b"expect", b"").lower() == b"100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        if self.skip or self.closing:
            return
        self.size += len(chunk)
        if self.size > self.app.max_body:
            self._too_large()
        else:
            self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.phase = IDLE
        if self.skip:  # the refused body has been read to its end
            self.skip = False
            if self.close_when_read and self.transport is not None:
                self.transport.close()
            return
        if self.closing:
            return
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = []
        self.dispatch(self.parser.get_method().decode("latin-1"), body, not self.parser.should_keep_alive())

    # requests and responses
    def _path(self) -> str:
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        if "%" in path:
            from urllib.parse import unquote

            path = unquote(path.encode("latin-1").decode("utf-8", "surrogateescape"))
        return path

    def _slot(self, path: str, close: bool) -> Slot:
        proto = _protocol(path)
        slot = Slot(self, proto, self.t0 or time.perf_counter(), path)
        slot.close = close
        if close:
            self.closing = True
        if proto:
            self.state.in_flight += 1
            if metrics.PUSH_GAUGES:
                metrics.IN_FLIGHT.inc()
        self.pending.append(slot)
        if len(self.pending) >= PAUSE_AT:
            self._pause()
        return slot

    def dispatch(self, method: str, body: bytes, close: bool) -> None:
        path = self._path()
        slot = self._slot(path, close)
        slot.head_only = method == "HEAD"
        slot.http10 = self.parser.get_http_version() == "1.0"
        try:
            handler, found = self.app.router.resolve(method, path)
            if handler is None:
                if found:
                    r = error(405, f"Method Not Allowed: {method} {path}")
                    r = (r[0], r[1], r[2], (("Allow", ",".join(sorted(found))),))
                else:
                    r = error(404, f"Not Found: {method} {path}")
            else:
                r = handler(Request(method, path, found, self.headers, body), slot)  # type: ignore[arg-type]
        except Exception as exc:
            r = exception_reply(exc, path)
        if r is not None:
            self.finish(slot, r)

    def _too_large(self) -> None:
        self.skip = True
        self.body = []
        slot = self._slot(self._path(), close=True)
        self.finish(slot, error(413, "request body too large"))

    def _head_too_large(self) -> None:
        if self.closing:
            return
        self.discard = True
        self.finish(self._slot("", close=True), error(431, f"request line and headers over {self.app.max_head} bytes"))

    def overdue(self, message: str) -> None:
        """A slow client: 408, then the connection closes (the sweep found its head or body overdue)."""
        path = self._path() if self.phase == BODY else ""
        self.phase = IDLE
        if self.closing:  # an answer that closes the connection is already owed
            if self.transport is not None and not self.discard:
                self.transport.close()
            return
        self.skip, self.discard = False, True
        self.finish(self._slot(path, close=True), error(408, message))

    def _refuse(self, message: str) -> None:
        """Malformed HTTP: a 400 after the answers already owed, then the connection closes."""
        if self.closing:
            if self.transport is not None and not self.pending:
                self.transport.close()
            return
        self.skip, self.discard = False, True
        self.finish(self._slot("", close=True), error(400, message))

    def _finished(self, slot: Slot) -> None:
        if slot.proto:
            self.state.in_flight -= 1
            self.state.last_done = time.monotonic()
            if metrics.PUSH_GAUGES:
                metrics.IN_FLIGHT.dec()

    def finish(self, slot: Slot, r: Reply) -> None:
        if slot.done:
            return
        slot.done = True
        self._finished(slot)
        if slot.proto:
            self.app.count(slot.proto, r[0], time.perf_counter() - slot.t0)
        if not self.state.ready:  # draining: tell keep-alive clients to move on
            slot.close = True
            self.closing = True
        slot.data = response_bytes(r, slot.close, slot.head_only, slot.http10)
        self.flush()

    def flush(self) -> None:
        pending, transport = self.pending, self.transport
        while pending and pending[0].data is not None:
            slot = pending.popleft()
            if transport is None:
                return
            transport.write(slot.data)  # type: ignore[arg-type]
            if slot.close:
                for s in pending:
                    s.gone = True
                    if not s.done:
                        s.done = True
                        self._finished(s)
                pending.clear()
                if self.skip:  # a refused body is still arriving: read it to its end first (bounded)
                    self.close_when_read = True
                    asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)
                elif self.discard:
                    asyncio.get_running_loop().call_later(DISCARD_SECONDS, transport.close)
                else:
                    transport.close()
                return
        if self.close_when_flushed and not pending and transport is not None:
            transport.close()
        elif self.read_paused:
            self._resume()


# --- the process ----------------------------------------------------------------------------------------


def make_state(settings: Settings, runtime: Runtime | None = None) -> State:
    from recognizer import runtime as runtimes

    files = ModelFiles.load(settings.model_dir)
    rt = runtime or runtimes.load(files, settings.runtime, settings.threads, settings.max_batch, settings.model_file)
    batcher = Batcher(rt, settings.max_batch, settings.batch_delay_ms / 1000, settings.max_queue,
                      inline=not settings.inference_thread)
    metrics.model_info(name=files.name, version=settings.version, runtime=rt.name,
                       accuracy=str(files.accuracy(settings.model_file)))
    decoder = Decoder(files.input, settings.max_pixels, settings.decode_processes, settings.decode_queue)
    state = State(settings, files, rt, batcher, decoder)
    metrics.follow(lambda: state.in_flight, lambda: batcher.queued)
    return state


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT, then drain: readiness turns false at once (so load balancers
    and aitui stop routing here), requests keep being answered for `drain_seconds` or until
    none are in flight, and only then does the listener close."""
    state = make_state(settings)
    metrics.count_descendants()
    check = selfcheck.run(state.runtime.predict, state.files, settings.self_check)
    state.self_check = check.summary()
    if check.passed:
        log.info("self-check: %s", state.self_check)
    else:  # it serves (live, metrics, answers for a look), but never says ready
        state.refusal = check.reason()
        log.error("not ready: %s", state.refusal)
    app = HttpApp(state)
    loop = asyncio.get_running_loop()
    state.batcher.start()
    # Workers share the port: the kernel spreads new connections over their sockets (SO_REUSEPORT). The backlog
    # is the kernel's largest (net.core.somaxconn caps it): 2,000 clients that reconnect at once overflowed 1,024,
    # and a probe whose SYN is dropped waits a second for its retry.
    server = await loop.create_server(lambda: Connection(app), settings.host, settings.port, backlog=socket.SOMAXCONN,
                                      reuse_port=settings.workers > 1 or None)
    state.ready = check.passed
    await state.decoder.start()  # after ready: its start (~0.2 s of imports) is no part of start-to-ready
    grpc_server = None
    if settings.grpc_port:
        from recognizer import grpc_server as grpc_oip

        grpc_server = await grpc_oip.start(state, settings.host, settings.grpc_port)
    log.info("serving %s (%s runtime, accuracy %s) on %s:%d%s", state.files.name, state.runtime.name,
             state.files.accuracy(settings.model_file), settings.host, settings.port,
             f" (gRPC on {settings.grpc_port})" if grpc_server else "")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def sweep() -> None:  # idle keep-alive connections (as aiohttp did, after 75 s) and slow clients
        while True:
            await asyncio.sleep(min(1.0, settings.keepalive_seconds))
            app.sweep()

    sweeper = loop.create_task(sweep())
    await stop.wait()
    state.ready = False
    log.info("draining: readiness is false; up to %.1fs for in-flight requests", settings.drain_seconds)
    deadline = time.monotonic() + settings.drain_seconds
    # Stop early once no request has been in flight for `drain_quiet_seconds`: not sampled (a sample can fall
    # between the requests of busy clients) but from when the last one finished.
    state.last_done = max(state.last_done, time.monotonic())
    while time.monotonic() < deadline:
        if not state.in_flight and time.monotonic() - state.last_done >= settings.drain_quiet_seconds:
            break
        await asyncio.sleep(0.05)
    sweeper.cancel()
    if grpc_server is not None:
        await grpc_server.stop(grace=1.0)
    server.close()
    app.close_idle(0)
    for c in list(app.connections):  # whatever is still open once the drain is over
        if c.transport is not None:
            c.transport.close()
    await state.batcher.stop()
    state.decoder.stop()
    log.info("stopped")


def open_files() -> None:
    """As many open files as the hard limit allows: a soft limit of 1,024 (containerd's default) is 1,000
    connections, and one more fails every accept, health probes' included."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    open_files()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(settings))
