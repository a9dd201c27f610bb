"""The recognizer's servers: TensorFlow Serving REST (v1), Open Inference Protocol (v2) REST with the
binary tensor data extension, health, and Prometheus metrics on one HTTP port (8501); the Open
Inference Protocol over gRPC on its own port (8500, recognizer/grpc_server.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from recognizer import codec, metrics
from recognizer.batcher import Batcher, Overloaded
from recognizer.runtime import ModelFiles, Runtime

log = logging.getLogger("recognizer")
MODEL = "recognizer"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    drain_seconds: float = 3.0
    version: str = "dev"
    model_file: str = "model.tflite"  # in the model directory; model_float.tflite: the float model
    inference_thread: int = 0  # 1: run the model in a thread of its own (see recognizer/batcher.py)
    workers: int = 1  # processes sharing the ports (recognizer/workers.py)

    @classmethod
    def from_env(cls) -> Settings:
        s = cls()
        for name in cls.__dataclass_fields__:
            raw = os.environ.get(f"RECOGNIZER_{name.upper()}")
            if raw is not None:
                setattr(s, name, type(getattr(s, name))(raw))
        return s


@dataclass
class State:
    settings: Settings
    files: ModelFiles
    runtime: Runtime
    batcher: Batcher
    ready: bool = False
    in_flight: int = 0
    last_done: float = 0.0  # time.monotonic() when an inference request last finished (the drain's quiet check)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _protocol(path: str) -> str | None:
    if path.startswith("/v1/models/") and path.endswith(":predict"):
        return "v1"
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        return "v2"
    return None


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error is {"error": …} with TF Serving's status codes; inference requests are counted."""
    proto = _protocol(request.path)
    state: State = request.app["state"]
    t0 = time.perf_counter()
    if proto:
        state.in_flight += 1
        metrics.IN_FLIGHT.inc()
    try:
        resp = await handler(request)
    except web.HTTPException as exc:  # 404, 405, 413 from aiohttp itself
        reason = "request body too large" if exc.status == 413 else exc.reason
        resp = error(exc.status, f"{reason}: {request.method} {request.path}" if exc.status in (404, 405)
                     else reason)
    except codec.BadRequest as exc:
        resp = error(exc.status, str(exc))
    except Overloaded as exc:
        resp = error(429, str(exc))
    except Exception:  # never a traceback to the client; it goes to the log
        log.exception("internal error on %s", request.path)
        resp = error(500, "internal error")
    finally:
        if proto:
            state.in_flight -= 1
            state.last_done = time.monotonic()
            metrics.IN_FLIGHT.dec()
    if proto:
        metrics.REQUESTS.labels(proto, str(resp.status)).inc()
        metrics.LATENCY.labels(proto).observe(time.perf_counter() - t0)
    if not state.ready:  # draining: tell keep-alive clients to move on
        resp.force_close()
    return resp


async def _json(request: web.Request) -> Any:
    body = await request.read()
    if not body:
        raise codec.BadRequest("empty request body")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise codec.BadRequest(f"request body is not valid JSON: {exc}") from None


def check_model(name: str, version: str | None = None, label: str | None = None, labels: str = "") -> None:
    """One model, version 1, which the TF Serving version labels in `labels` also name."""
    if name != MODEL:
        raise codec.BadRequest(f"Servable not found for request: Latest({name})", status=404)
    if version not in (None, "", "1"):
        raise codec.BadRequest(f"Servable not found for request: Specific({name}, {version})", status=404)
    if label is not None and label not in [x.strip() for x in labels.split(",") if x.strip()]:
        raise codec.BadRequest(f"Unrecognized servable version label: {label}", status=404)


def _check_model(request: web.Request) -> None:
    m = request.match_info
    check_model(m["model"], m.get("version"), m.get("label"), request.app["state"].settings.version_labels)


def model_metadata(state: State) -> dict[str, Any]:
    """OIP model metadata, the same over REST and gRPC."""
    size, labels = state.files.input_size, state.files.labels
    return {
        "name": MODEL, "versions": ["1"], "platform": f"{state.runtime.name}",
        "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, size, size, 3]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, len(labels)]},
                    {"name": "labels", "datatype": "BYTES", "shape": [-1, 5]},
                    {"name": "scores", "datatype": "FP32", "shape": [-1, 5]}],
        "parameters": {"labels": list(labels), "accuracy": state.files.accuracy(state.settings.model_file)}}


SERVER_NAME = "aitui-recognizer"
EXTENSIONS = ["binary_tensor_data"]
BINARY_HEADER = "Inference-Header-Content-Length"


async def _binary_body(request: web.Request, header: str) -> tuple[Any, bytes]:
    """The binary tensor data extension: the first `header` bytes are the JSON request, the rest
    is tensor data that inputs claim with their binary_data_size."""
    try:
        n = int(header)
    except ValueError:
        raise codec.BadRequest(f"{BINARY_HEADER} must be an integer; got {header[:40]!r}") from None
    raw = await request.read()
    if not 0 < n <= len(raw):
        raise codec.BadRequest(f"{BINARY_HEADER} is {n} but the body has {len(raw)} bytes")
    try:
        return json.loads(raw[:n]), raw[n:]
    except (ValueError, UnicodeDecodeError) as exc:
        raise codec.BadRequest(f"the JSON header (the first {n} bytes) is not valid JSON: {exc}") from None


async def _classify(state: State, batch: np.ndarray) -> np.ndarray:
    # While draining, requests still routed here are answered: they are what the drain is for.
    return await state.batcher.submit(batch)


def routes(state: State) -> web.RouteTableDef:
    r = web.RouteTableDef()
    size, labels = state.files.input_size, state.files.labels

    async def predict(request: web.Request) -> web.Response:
        _check_model(request)
        state.batcher.admit()
        batch, columnar = codec.parse_v1(await _json(request), size, state.settings.max_pixels)
        return web.json_response(codec.v1_response(await _classify(state, batch), labels, columnar))

    r.post("/v1/models/{model}:predict")(predict)
    r.post("/v1/models/{model}/versions/{version}:predict")(predict)
    r.post("/v1/models/{model}/labels/{label}:predict")(predict)

    async def v1_status(request: web.Request) -> web.Response:
        _check_model(request)
        return web.json_response({"model_version_status": [{
            "version": "1", "state": "AVAILABLE" if state.ready else "UNAVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    r.get("/v1/models/{model}")(v1_status)
    r.get("/v1/models/{model}/versions/{version}")(v1_status)
    r.get("/v1/models/{model}/labels/{label}")(v1_status)

    async def v1_metadata(request: web.Request) -> web.Response:
        _check_model(request)
        return web.json_response({
            "model_spec": {"name": MODEL, "signature_name": "", "version": "1"},
            "metadata": {"signature_def": {"signature_def": {"serving_default": {
                "inputs": {"image": {"dtype": "DT_FLOAT", "name": "image",
                                     "tensor_shape": {"dim": [{"size": "-1"}, {"size": str(size)},
                                                              {"size": str(size)}, {"size": "3"}]}}},
                "outputs": {"probabilities": {"dtype": "DT_FLOAT", "name": "probabilities",
                                              "tensor_shape": {"dim": [{"size": "-1"},
                                                                       {"size": str(len(labels))}]}}},
                "method_name": "tensorflow/serving/predict"}}}},
            "labels": list(labels)})

    r.get("/v1/models/{model}/metadata")(v1_metadata)
    r.get("/v1/models/{model}/versions/{version}/metadata")(v1_metadata)
    r.get("/v1/models/{model}/labels/{label}/metadata")(v1_metadata)

    async def live(_: web.Request) -> web.Response:
        return web.json_response({"live": True})

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"ready": state.ready}, status=200 if state.ready else 503)

    r.get("/v2/health/live")(live)
    r.get("/v2/health/ready")(ready)

    async def v2_server(_: web.Request) -> web.Response:
        return web.json_response({"name": SERVER_NAME, "version": state.settings.version,
                                  "extensions": EXTENSIONS})

    r.get("/v2")(v2_server)

    async def v2_model(request: web.Request) -> web.Response:
        _check_model(request)
        return web.json_response(model_metadata(state))

    r.get("/v2/models/{model}")(v2_model)
    r.get("/v2/models/{model}/versions/{version}")(v2_model)

    async def v2_model_ready(request: web.Request) -> web.Response:
        _check_model(request)
        return web.json_response({"name": MODEL, "ready": state.ready}, status=200 if state.ready else 503)

    r.get("/v2/models/{model}/ready")(v2_model_ready)
    r.get("/v2/models/{model}/versions/{version}/ready")(v2_model_ready)

    async def infer(request: web.Request) -> web.Response:
        _check_model(request)
        state.batcher.admit()
        header = request.headers.get(BINARY_HEADER)
        body, binary = (await _json(request), b"") if header is None else await _binary_body(request, header)
        req = codec.parse_v2(body, size, state.settings.max_pixels, binary)
        probs = await _classify(state, req.batch)
        head, data = codec.v2_response(probs, labels, MODEL, "1", req.id, req.outputs, req.binary_outputs)
        if not data:
            return web.json_response(head)
        text = json.dumps(head).encode()
        return web.Response(body=text + data, content_type="application/octet-stream",
                            headers={BINARY_HEADER: str(len(text))})

    r.post("/v2/models/{model}/infer")(infer)
    r.post("/v2/models/{model}/versions/{version}/infer")(infer)

    async def prometheus(_: web.Request) -> web.Response:
        resp = web.Response(body=metrics.exposition())
        resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return resp

    r.get("/metrics")(prometheus)
    return r


def build_app(settings: Settings, runtime: Runtime | None = None) -> web.Application:
    from recognizer import runtime as runtimes

    files = ModelFiles.load(settings.model_dir)
    rt = runtime or runtimes.load(files, settings.runtime, settings.threads, settings.max_batch, settings.model_file)
    batcher = Batcher(rt, settings.max_batch, settings.batch_delay_ms / 1000, settings.max_queue,
                      inline=not settings.inference_thread)
    state = State(settings, files, rt, batcher)
    app = web.Application(middlewares=[errors_and_metrics], client_max_size=settings.max_body_bytes)
    app["state"] = state
    app.add_routes(routes(state))
    metrics.model_info(name=MODEL, version=settings.version, runtime=rt.name,
                       accuracy=str(files.accuracy(settings.model_file)))

    async def lifecycle(app: web.Application) -> Any:
        batcher.start()
        state.ready = True
        yield
        await batcher.stop()

    app.cleanup_ctx.append(lifecycle)
    return app


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT, then drain: readiness turns false at once (so load balancers
    and aitui stop routing here), requests keep being answered for `drain_seconds` or until
    none are in flight, and only then does the listener close."""
    app = build_app(settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    # Workers share the port: the kernel spreads new connections over their sockets (SO_REUSEPORT).
    await web.TCPSite(runner, settings.host, settings.port, backlog=1024,
                      reuse_port=settings.workers > 1 or None).start()
    state: State = app["state"]
    grpc_server = None
    if settings.grpc_port:
        from recognizer import grpc_server as grpc_oip

        grpc_server = await grpc_oip.start(state, settings.host, settings.grpc_port)
    log.info("serving %s (%s runtime, accuracy %s) on %s:%d%s", MODEL, state.runtime.name,
             state.files.accuracy(settings.model_file), settings.host, settings.port,
             f" (gRPC on {settings.grpc_port})" if grpc_server else "")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    state.ready = False
    log.info("draining: readiness is false; up to %.1fs for in-flight requests", settings.drain_seconds)
    deadline = time.monotonic() + settings.drain_seconds
    # Stop early once no request has been in flight for half a second: not sampled (a sample can fall
    # between the requests of busy clients) but from when the last one finished.
    state.last_done = max(state.last_done, time.monotonic())
    while time.monotonic() < deadline:
        if not state.in_flight and time.monotonic() - state.last_done >= 0.5:
            break
        await asyncio.sleep(0.05)
    if grpc_server is not None:
        await grpc_server.stop(grace=1.0)
    await runner.cleanup()
    log.info("stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(settings))
