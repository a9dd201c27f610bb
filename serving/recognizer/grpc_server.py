"""The Open Inference Protocol over gRPC (inference.GRPCInferenceService), on its own port (8500).

Same model, batcher, limits and Prometheus metrics as the HTTP server: requests are counted with
protocol="grpc" and, in the `code` label, the HTTP status the same outcome gets over REST (200, 400,
404, 429, 503, 500), so error-rate queries and alerts cover both transports. The gRPC status is the
one TF Serving maps to that HTTP code (reference: model_servers/http_server.cc).

The message classes come from grpc_predict_v2.proto, compiled when the image is built; the service
is registered with a generic handler, so no generated service stub is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np

from recognizer import codec, metrics
from recognizer import grpc_predict_v2_pb2 as pb  # type: ignore[attr-defined]
from recognizer.batcher import Overloaded

if TYPE_CHECKING:
    from recognizer.server import State

log = logging.getLogger("recognizer.grpc")
SERVICE = "inference.GRPCInferenceService"
STATUS = {400: grpc.StatusCode.INVALID_ARGUMENT, 404: grpc.StatusCode.NOT_FOUND,
          413: grpc.StatusCode.INVALID_ARGUMENT, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
          499: grpc.StatusCode.CANCELLED, 500: grpc.StatusCode.INTERNAL, 503: grpc.StatusCode.UNAVAILABLE}
# Where a pixel tensor's values are in InferTensorContents when raw_input_contents is not used.
CONTENTS = {"FP32": "fp32_contents", "FP64": "fp64_contents", "UINT8": "uint_contents",
            "INT32": "int_contents", "INT64": "int64_contents"}


def parse_request(req: Any, size: int, max_pixels: int) -> codec.V2Request:
    """ModelInferRequest -> the same checked batch the REST paths make."""
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
            batch = codec.images_from_bytes(codec.split_bytes(buf, n), size, max_pixels)
        else:
            batch = codec.pixels_from_buffer(buf, inp.datatype, shape, size)
    elif inp.datatype == "BYTES":
        items = list(inp.contents.bytes_contents)
        if len(items) != n:
            raise codec.BadRequest(f"bytes_contents has {len(items)} images; the shape says {n}")
        batch = codec.images_from_bytes(items, size, max_pixels)
    else:
        values = getattr(inp.contents, CONTENTS[inp.datatype])
        want = int(np.prod(shape))
        if len(values) != want:
            raise codec.BadRequest(f"{CONTENTS[inp.datatype]} has {len(values)} values; shape {shape} needs {want}")
        batch = codec.tensor(np.asarray(values, dtype=np.float32).reshape(shape), size, "input")
    return codec.V2Request(batch, [o.name for o in req.outputs] or None, req.id)


def decode(cls: Any, raw: bytes) -> Any:
    try:
        return cls.FromString(raw)
    except Exception as exc:  # google.protobuf.message.DecodeError, and upb's own errors
        raise codec.BadRequest(f"not a valid {cls.DESCRIPTOR.full_name} message: {exc}") from None


class Servicer:
    def __init__(self, state: State) -> None:
        self.state = state

    def _model(self, name: str, version: str) -> None:
        from recognizer.server import check_model

        check_model(name, version)

    async def server_live(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=self.state.ready)

    async def model_ready(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        await self._guard(ctx, lambda: self._model(req.name, req.version))
        return pb.ModelReadyResponse(ready=self.state.ready)

    async def server_metadata(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        from recognizer.server import EXTENSIONS, SERVER_NAME

        return pb.ServerMetadataResponse(name=SERVER_NAME, version=self.state.settings.version,
                                         extensions=EXTENSIONS)

    async def model_metadata(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        from recognizer.server import model_metadata

        await self._guard(ctx, lambda: self._model(req.name, req.version))
        meta = model_metadata(self.state)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"], versions=meta["versions"], platform=meta["platform"],
            inputs=[tensor(**t) for t in meta["inputs"]], outputs=[tensor(**t) for t in meta["outputs"]])

    async def _guard(self, ctx: grpc.aio.ServicerContext, check: Callable[[], None]) -> None:
        try:
            check()
        except codec.BadRequest as exc:
            await ctx.abort(STATUS.get(exc.status, grpc.StatusCode.INVALID_ARGUMENT), str(exc))

    async def model_infer(self, raw: bytes, ctx: grpc.aio.ServicerContext) -> Any:
        state = self.state
        t0 = time.perf_counter()
        state.in_flight += 1
        if metrics.PUSH_GAUGES:
            metrics.IN_FLIGHT.inc()
        code, message = 200, ""
        try:
            req = decode(pb.ModelInferRequest, raw)
            self._model(req.model_name, req.model_version)
            state.batcher.admit()
            parsed = parse_request(req, state.files.input, state.settings.max_pixels)
            probs = await state.batcher.submit(parsed.batch)
            resp = pb.ModelInferResponse(model_name=req.model_name, model_version="1", id=req.id)
            for name, datatype, shape, value in codec.v2_outputs(probs, state.files.labels, parsed.outputs):
                resp.outputs.add(name=name, datatype=datatype, shape=shape)
                resp.raw_output_contents.append(codec.raw_bytes(datatype, value))
            return resp
        except codec.BadRequest as exc:
            code, message = exc.status, str(exc)
        except Overloaded as exc:
            code, message = 429, str(exc)
        except asyncio.CancelledError:  # the client went away
            code = 499
            raise
        except Exception:  # never a traceback to the client; it goes to the log
            log.exception("internal error in ModelInfer")
            code, message = 500, "internal error"
        finally:
            state.in_flight -= 1
            state.last_done = time.monotonic()
            if metrics.PUSH_GAUGES:
                metrics.IN_FLIGHT.dec()
            metrics.REQUESTS.labels("grpc", str(code)).inc()
            metrics.LATENCY.labels("grpc").observe(time.perf_counter() - t0)
        await ctx.abort(STATUS.get(code, grpc.StatusCode.UNKNOWN), message)

    def handler(self) -> grpc.GenericRpcHandler:
        """Requests arrive as bytes and are decoded here, so a message that is not valid protobuf gets
        INVALID_ARGUMENT with a reason (gRPC's own deserializer would answer INTERNAL)."""
        def unary(fn: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], request: Any,
                  response: Any) -> grpc.RpcMethodHandler:
            async def call(raw: bytes, ctx: grpc.aio.ServicerContext) -> Any:
                if fn == self.model_infer:  # decodes in its own try: counted in the metrics
                    return await fn(raw, ctx)
                try:
                    msg = decode(request, raw)
                except codec.BadRequest as exc:
                    await ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                return await fn(msg, ctx)

            return grpc.unary_unary_rpc_method_handler(call, response_serializer=response.SerializeToString)

        return grpc.method_handlers_generic_handler(SERVICE, {
            "ServerLive": unary(self.server_live, pb.ServerLiveRequest, pb.ServerLiveResponse),
            "ServerReady": unary(self.server_ready, pb.ServerReadyRequest, pb.ServerReadyResponse),
            "ModelReady": unary(self.model_ready, pb.ModelReadyRequest, pb.ModelReadyResponse),
            "ServerMetadata": unary(self.server_metadata, pb.ServerMetadataRequest, pb.ServerMetadataResponse),
            "ModelMetadata": unary(self.model_metadata, pb.ModelMetadataRequest, pb.ModelMetadataResponse),
            "ModelInfer": unary(self.model_infer, pb.ModelInferRequest, pb.ModelInferResponse),
        })


async def start(state: State, host: str, port: int) -> grpc.aio.Server:
    limit = state.settings.max_body_bytes
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", limit),
                                      ("grpc.max_send_message_length", limit),
                                      # on only when workers share the port: otherwise a second
                                      # server on the same port must fail, not split the traffic
                                      ("grpc.so_reuseport", int(state.settings.workers > 1))])
    server.add_generic_rpc_handlers((Servicer(state).handler(),))
    address = f"{host}:{port}"
    if not server.add_insecure_port(address):
        raise OSError(f"gRPC: cannot listen on {address}")
    await server.start()
    return server
