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
from typing import Any

import grpc

from recognizer import codec, metrics
from recognizer import grpc_predict_v2_pb2 as pb  # type: ignore[attr-defined]
from recognizer.batcher import Overloaded
from recognizer.parsing import grpc_request, message
from recognizer.service import EXTENSIONS, SERVER_NAME, State, check_model, model_metadata

log = logging.getLogger("recognizer.grpc")
SERVICE = "inference.GRPCInferenceService"
STATUS = {400: grpc.StatusCode.INVALID_ARGUMENT, 404: grpc.StatusCode.NOT_FOUND,
          413: grpc.StatusCode.INVALID_ARGUMENT, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
          499: grpc.StatusCode.CANCELLED, 500: grpc.StatusCode.INTERNAL, 503: grpc.StatusCode.UNAVAILABLE}
parse_request = grpc_request  # ModelInferRequest -> V2Request (recognizer/parsing.py, where the decode process has it)
decode = message


class Servicer:
    def __init__(self, state: State) -> None:
        self.state = state

    def _model(self, name: str, version: str) -> None:
        check_model(self.state.files.name, name, version)

    async def server_live(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def server_ready(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=self.state.ready)

    async def model_ready(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        await self._guard(ctx, lambda: self._model(req.name, req.version))
        return pb.ModelReadyResponse(ready=self.state.ready)

    async def server_metadata(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=self.state.settings.version,
                                         extensions=EXTENSIONS)

    async def model_metadata(self, req: Any, ctx: grpc.aio.ServicerContext) -> Any:
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
            batch, parsed = await state.decoder.prepared("grpc", raw)  # costly ones in the decode process
            probs = await state.batcher.submit(batch)
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
    # RPCs at once (each a request of at least one image) bounded as the batcher's queue is: beyond it gRPC
    # answers RESOURCE_EXHAUSTED at once instead of holding every call it is sent.
    server = grpc.aio.server(maximum_concurrent_rpcs=state.settings.max_queue,
                             options=[("grpc.max_receive_message_length", limit),
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
