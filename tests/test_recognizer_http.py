"""The recognizer's own HTTP/1.1 layer (an asyncio Protocol with httptools, serving/recognizer/server.py) as
clients exercise it on the wire: pipelining, keep-alive and `Connection: close`, HTTP/1.0, `Expect:
100-continue`, HEAD, chunked bodies, bodies over the limit, malformed requests, clients that leave with
requests in flight; and the metrics counting requests that take these paths. A real container from the real
image, on 127.0.0.1, spoken to over raw sockets so that what is on the wire is what is tested."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from conftest import Replica, Replicas, wait_until
from recognizer import dataset
from test_recognizer import b64png, metric

pytestmark = pytest.mark.docker
V1 = "/v1/models/recognizer:predict"
V2 = "/v2/models/recognizer/infer"
MAX_BODY = 200_000  # the replica's RECOGNIZER_MAX_BODY_BYTES: small, so that a body over it is quick to send
PNG = base64.b64decode(b64png(dataset.render(3, np.random.default_rng(7), 64)))
V2_BODY = json.dumps({"inputs": [{"name": "image", "shape": [1, 1], "datatype": "BYTES",
                                  "data": [base64.b64encode(PNG).decode()]}]}).encode()
V1_BODY = json.dumps({"instances": [{"b64": base64.b64encode(PNG).decode()}]}).encode()


@pytest.fixture(scope="module")
def server(docker_client, recognizer_image: str) -> Iterator[Replica]:
    replicas = Replicas(docker_client, recognizer_image)
    yield replicas.run(env={"RECOGNIZER_MAX_BODY_BYTES": str(MAX_BODY)})
    replicas.close()


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n").encode() + body


def get(path: str, extra: str = "", method: str = "GET", version: str = "1.1") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode()


class Wire:
    """One TCP connection to the replica; reads whole responses (Content-Length framed) off it."""

    def __init__(self, r: Replica) -> None:
        self.sock = socket.create_connection(("127.0.0.1", r.port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"connection closed before a response; got {self.buf[:200]!r}"
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        n = 0 if head_only or status == 100 else int(headers["content-length"])
        while len(self.buf) < n:
            assert self._fill(), "connection closed inside a response body"
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, within: float = 5.0) -> bool:
        """Whether the server closes the connection (EOF) within `within` seconds, with nothing more sent."""
        self.sock.settimeout(within)
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def test_pipelined_requests_are_answered_in_order_on_one_connection(server: Replica) -> None:
    w = Wire(server)
    w.send(post(V2, V2_BODY) + get("/v2/health/live") + post(V2, b"{") + post(V1, V1_BODY) + get("/nope")
           + post("/v1/models/nope:predict", V1_BODY) + get(V2) + post(V2, V2_BODY))
    got = [w.response() for _ in range(8)]
    assert [s for s, _, _ in got] == [200, 200, 400, 200, 404, 404, 405, 200]
    assert json.loads(got[0][2])["outputs"][1]["name"] == "labels"
    assert json.loads(got[0][2]) == json.loads(got[7][2])  # the same image, the same answer
    assert "not valid JSON" in json.loads(got[2][2])["error"]
    assert json.loads(got[3][2])["predictions"][0]["labels"][0] == json.loads(got[0][2])["outputs"][1]["data"][0]
    assert got[6][1]["allow"] == "POST"
    assert not any("connection" in h for _, h, _ in got)
    # still open, and still answering
    w.send(get("/v2/health/ready"))
    assert w.response()[0] == 200
    w.close()


def test_many_pipelined_inferences_on_many_connections(server: Replica) -> None:
    """More requests than a batch, pipelined 20 deep on each of 8 connections at once: every answer arrives,
    in order (each carries its request's id)."""
    wires = [Wire(server) for _ in range(8)]
    for i, w in enumerate(wires):
        w.send(b"".join(post(V2, json.dumps({"id": f"{i}-{j}", **json.loads(V2_BODY)}).encode())
                        for j in range(20)))
    for i, w in enumerate(wires):
        ids = []
        for _ in range(20):
            status, _, body = w.response()
            assert status == 200, body
            ids.append(json.loads(body)["id"])
        assert ids == [f"{i}-{j}" for j in range(20)]
        w.close()


def test_keep_alive_connection_close_and_http_1_0(server: Replica) -> None:
    w = Wire(server)  # HTTP/1.1: open after each answer
    for _ in range(3):
        w.send(post(V2, V2_BODY))
        assert w.response()[0] == 200
    assert not w.closed(within=0.3)
    w.send(post(V2, V2_BODY, "Connection: close\r\n") + get("/v2/health/live"))  # the second is never answered
    status, headers, _ = w.response()
    assert status == 200 and headers["connection"] == "close"
    assert w.closed() and w.buf == b""
    w.close()

    w = Wire(server)
    w.send(get("/v2/health/live", version="1.0"))  # HTTP/1.0 without keep-alive: closed after the answer
    assert w.response()[0] == 200 and w.closed()
    w.close()
    w = Wire(server)
    w.send(get("/v2/health/live", "Connection: keep-alive\r\n", version="1.0"))
    assert w.response()[0] == 200 and not w.closed(within=0.3)
    w.close()


def test_expect_100_continue_head_chunked_and_percent_encoded_paths(server: Replica) -> None:
    w = Wire(server)
    w.send(f"POST {V2} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(V2_BODY)}\r\nExpect: 100-continue\r\n\r\n"
           .encode())
    assert w.response()[0] == 100  # what curl waits for before it sends a large body
    w.send(V2_BODY)
    assert w.response()[0] == 200

    w.send(get("/v2", method="HEAD"))
    status, headers, _ = w.response(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0
    w.send(get("/v2"))  # HEAD sent no body: the next answer starts right after its head
    assert json.loads(w.response()[2])["name"] == "aitui-recognizer"

    chunks = [V2_BODY[i:i + 1000] for i in range(0, len(V2_BODY), 1000)]
    w.send(f"POST {V2} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
           + b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + b"0\r\n\r\n")
    assert w.response()[0] == 200
    w.send(get("/v2/models/recogn%69zer/ready"))
    assert w.response()[0] == 200
    w.close()


def test_bodies_over_the_limit_get_413_and_the_client_reads_it(server: Replica) -> None:
    big = b"{" + b" " * (MAX_BODY + 10) + b"}"
    r = requests.post(server.url + V2, data=big, timeout=10)  # declared length over the limit
    assert r.status_code == 413 and "too large" in r.json()["error"]

    w = Wire(server)  # chunked: found to be over the limit as it arrives; the rest is read and dropped
    w.send(f"POST {V1} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    for _ in range(5):
        w.send(f"{60_000:x}\r\n".encode() + b" " * 60_000 + b"\r\n")
    w.send(b"0\r\n\r\n")
    status, headers, body = w.response()
    assert status == 413 and headers["connection"] == "close" and "too large" in json.loads(body)["error"]
    assert w.closed()
    w.close()


@pytest.mark.parametrize("garbage", [b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                                     b"POST /v2/models/recognizer/infer HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                                     b"GET /v2 HTTP/1.1\r\nBad Header\r\n\r\n"],
                         ids=["binary", "version", "length", "header"])
def test_malformed_http_gets_400_and_the_connection_closes(server: Replica, garbage: bytes) -> None:
    w = Wire(server)
    w.send(get("/v2/health/live") + garbage)  # the answer owed before the garbage still comes first
    assert w.response()[0] == 200
    status, headers, body = w.response()
    assert status == 400 and headers["connection"] == "close" and json.loads(body)["error"]
    assert w.closed()
    w.close()
    assert requests.get(f"{server.url}/v2/health/ready", timeout=5).status_code == 200


def test_clients_that_leave_mid_request_leave_nothing_in_flight(server: Replica) -> None:
    """Connections that send an inference (or half of one) and close at once: nothing stays counted in flight
    or queued, and the server keeps answering."""
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(post(V2, V2_BODY)[: None if i % 2 else 300])
        s.close()

    def settled() -> bool:
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        return metric(text, "recognizer_requests_in_flight") == 0 and metric(text, "recognizer_queue_images") == 0

    wait_until(settled, 10, "in-flight and queued to return to 0")
    assert requests.post(server.url + V2, data=V2_BODY, timeout=10).status_code == 200


def test_the_metrics_count_every_request_of_a_pipelined_connection(server: Replica) -> None:
    before = requests.get(f"{server.url}/metrics", timeout=5).text
    w = Wire(server)
    w.send(post(V2, V2_BODY) * 5 + post(V2, b"[1]") * 2 + post(V1, V1_BODY) * 3 + get(V2) + get("/v2/health/live"))
    assert [w.response()[0] for _ in range(12)] == [200] * 5 + [400] * 2 + [200] * 3 + [405, 200]
    w.close()
    after = requests.get(f"{server.url}/metrics", timeout=5).text

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("recognizer_requests_total", protocol="v2", code="200") == 5
    assert delta("recognizer_requests_total", protocol="v2", code="400") == 2
    assert delta("recognizer_requests_total", protocol="v2", code="405") == 1
    assert delta("recognizer_requests_total", protocol="v1", code="200") == 3
    assert delta("recognizer_request_duration_seconds_count", protocol="v2") == 8
    assert delta("recognizer_images_total") == 8
    assert metric(after, "recognizer_requests_in_flight") == 0


def test_idle_keep_alive_connections_are_closed(run_recognizer) -> None:
    r = run_recognizer(env={"RECOGNIZER_KEEPALIVE_SECONDS": "1"})
    w = Wire(r)
    w.send(get("/v2/health/live"))
    assert w.response()[0] == 200
    t0 = time.monotonic()
    assert w.closed(within=5)
    assert time.monotonic() - t0 >= 0.5
    w.close()
    assert re.search(r"serving recognizer", r.container.logs().decode())


def test_an_upgrade_request_is_answered_in_http_1_1_and_the_connection_closes(server: Replica) -> None:
    """h2c or websocket upgrades are declined the HTTP/1.1 way: the request gets its ordinary answer (no 101)."""
    w = Wire(server)
    w.send(get("/v2/health/live", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                                  "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"))
    status, _, body = w.response()
    assert status == 200 and json.loads(body) == {"live": True}
    assert w.closed()
    w.close()
