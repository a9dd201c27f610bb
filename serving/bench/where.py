"""Where a request's time goes on one core: each step the recognizer takes for the bench's request (OIP v2, one
64x64 PNG as base64 BYTES in JSON), timed in-process, and two HTTP floors, measured as CPU time per request
under the bench's load (c=32, keep-alive): an asyncio Protocol with httptools on uvloop answering the same POST
with a canned body (the layer the recognizer's HTTP server is built on, with nothing else), and aiohttp + uvloop
doing the same (what the server used before, when the load Python has aiohttp). Prints one JSON line, in
microseconds. serving/bench/peers.py runs it pinned to the servers' core:

    taskset -c 1 PYTHON serving/bench/where.py MODEL_DIR LOAD_PYTHON   (PYTHONPATH: the recognizer package)
"""

from __future__ import annotations

import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from recognizer import codec, dataset, metrics, server
from recognizer.runtime import LiteRT, ModelFiles

HERE = Path(__file__).resolve().parent

FLOOR_HTTPTOOLS = """
import asyncio, sys, httptools, uvloop
CANNED = (b'HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 12\\r\\n\\r\\n'
          b'{"ok": true}')
class Floor(asyncio.Protocol):
    def __init__(self):
        self.parser = httptools.HttpRequestParser(self)
        self.body = []
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.parser.feed_data(data)
    def on_body(self, chunk):
        self.body.append(chunk)
    def on_message_complete(self):
        b"".join(self.body)
        self.body = []
        self.transport.write(CANNED)
async def main():
    server = await asyncio.get_running_loop().create_server(Floor, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
uvloop.run(main())
"""

FLOOR_AIOHTTP = """
import sys, uvloop
from aiohttp import web
async def canned(request):
    await request.read()
    return web.Response(body=b'{"ok": true}', content_type="application/json")
app = web.Application()
app.router.add_post("/v2/models/recognizer/infer", canned)
uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def per_call_us(fn, calls: int, rounds: int = 7) -> float:
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return statistics.median(times) * 1e6


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_floor(body: bytes, load_python: str, code: str) -> float:
    """CPU µs per request of a server that does nothing but HTTP, under the bench's load (c=32, 3 s)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        req = Path(f"/tmp/where-{os.getpid()}.json")
        req.write_bytes(body)
        load = [load_python, str(HERE / "load.py"), f"http://127.0.0.1:{port}/v2/models/recognizer/infer",
                "--body", str(req), "-c", "32", "-d"]
        subprocess.run(["taskset", "-c", "0", *load, "1"], capture_output=True, check=True)
        cpu0 = cpu_seconds(proc.pid)
        out = json.loads(subprocess.run(["taskset", "-c", "0", *load, "3"], capture_output=True, check=True,
                                        text=True).stdout)
        cpu = cpu_seconds(proc.pid) - cpu0
        req.unlink()
        return cpu / out["ok"] * 1e6
    finally:
        proc.terminate()
        proc.wait()


class _Transport:
    """What a Connection writes to, kept in memory."""

    def write(self, data: bytes) -> None:
        self.last = data

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        raise AssertionError("the connection closed")

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Loop:
    """The batcher's loop, for a flush run by hand."""

    def call_soon(self, *args: object) -> None:
        pass

    call_later = call_soon


def whole_request_us(model_dir: str, body: bytes) -> float:
    """A whole request through the server's code without sockets, as at c=32: 32 keep-alive connections each
    get the request's bytes, then one batch answers them all (HTTP parsing, routing, parsing, decode, the
    batch's inference, the answer, metrics and the response's bytes). CPU time per request."""
    state = server.make_state(server.Settings(model_dir=model_dir, grpc_port=0))
    state.ready = True
    state.batcher._loop = _Loop()  # type: ignore[assignment]
    app = server.HttpApp(state)
    wire = (b"POST /v2/models/recognizer/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body
    conns = []
    for _ in range(32):
        c = server.Connection(app)
        c.connection_made(_Transport())  # type: ignore[arg-type]
        conns.append(c)

    def batch() -> None:
        for c in conns:
            c.data_received(wire)
        state.batcher._flush()

    batch()
    assert conns[0].transport.last.startswith(b"HTTP/1.1 200 OK")  # type: ignore[union-attr]
    times = []
    for _ in range(7):
        t0 = time.thread_time()
        for _ in range(20):
            batch()
        times.append((time.thread_time() - t0) / (20 * 32))
    return statistics.median(times) * 1e6


def main() -> None:
    files = ModelFiles.load(sys.argv[1])
    size, labels = files.input, files.labels
    png = dataset.sample_png("star", seed=11, size=64)
    body = json.dumps({"inputs": [{"name": "image", "shape": [1, 1], "datatype": "BYTES",
                                   "data": [base64.b64encode(png).decode()]}]}).encode()
    parsed = json.loads(body)
    text = parsed["inputs"][0]["data"][0]
    rt = LiteRT(files, threads=1, max_batch=32)
    one = codec.decode_image(png, size, 40_000_000)[None]
    probs = rt.predict(one)
    head, _ = codec.v2_response(probs, labels, "recognizer", "1", None, None, set())
    child = metrics.REQUESTS.labels("v2", "200")
    hist = metrics.LATENCY.labels("v2")
    out = {
        "json_parse_us": per_call_us(lambda: server.loads(body), 2000),
        "json_parse_stdlib_us": per_call_us(lambda: json.loads(body), 2000),
        "base64_us": per_call_us(lambda: codec.b64decode(text), 2000),
        "decode_us": per_call_us(lambda: codec.decode_image(png, size, 40_000_000), 500),
        "parse_total_us": per_call_us(lambda: codec.parse_v2(server.loads(body), size, 40_000_000), 500),
        "infer_batch32_us_per_image": per_call_us(lambda: rt.predict(np.repeat(one, 32, axis=0)), 20) / 32,
        "response_us": per_call_us(lambda: codec.v2_response(probs, labels, "recognizer", "1", None, None, set()),
                                   2000),
        "json_dump_us": per_call_us(lambda: server.dumps(head), 2000),
        "json_dump_stdlib_us": per_call_us(lambda: json.dumps(head).encode(), 2000),
        "metrics_us": per_call_us(lambda: (child.inc(), hist.observe(0.01)), 2000),  # what a request updates
        "whole_request_us": whole_request_us(sys.argv[1], body),
    }
    if len(sys.argv) > 2:
        out["http_floor_us"] = http_floor(body, sys.argv[2], FLOOR_HTTPTOOLS)
        try:
            import aiohttp  # noqa: F401

            out["http_floor_aiohttp_us"] = http_floor(body, sys.argv[2], FLOOR_AIOHTTP)
        except ImportError:
            pass
    print(json.dumps({k: round(v, 1) for k, v in out.items()}))


if __name__ == "__main__":
    main()
