"""The recognizer's limits against hostile clients (issue 23), on real containers of the real image published on
127.0.0.1: the costliest request the limits allow leaves its health probes answering within a second; JSON
of any nesting depth is a 400; a head over the limit is a 431; clients that trickle their head or body are
dropped with a 408, and 2,000 of them at once do not slow liveness; gRPC refuses calls beyond its bound at
once; a decode process that dies is replaced; and serving/ has no import circle."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import grpc
import pytest
import requests
from conftest import ROOT, Replica, Replicas, wait_until
from PIL import Image
from test_protocols import start
from test_recognizer import metric
from test_recognizer_http import Wire, get, post
from tritonclient.grpc import service_pb2 as pb

pytestmark = pytest.mark.docker
V1 = "/v1/models/recognizer:predict"
V2 = "/v2/models/recognizer/infer"
MAX_BODY = 8 * 1024 * 1024  # the server's default RECOGNIZER_MAX_BODY_BYTES
TOO_DEEP = "request nests too deeply"


def solid_png(w: int, h: int) -> bytes:
    """A one-colour PNG: a few hundred bytes per megapixel on the wire, w x h pixels to decode."""
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 200, 30)).save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


def worst_request(png: bytes, n: int) -> tuple[bytes, dict[str, str]]:
    """`n` copies of `png` as a BYTES input through the binary tensor data extension: (body, headers)."""
    data = b"".join(len(png).to_bytes(4, "little") + png for _ in range(n))
    head = json.dumps({"inputs": [{"name": "image", "shape": [n], "datatype": "BYTES",
                                   "parameters": {"binary_data_size": len(data)}}]}).encode()
    return head + data, {"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"}


@pytest.fixture
def low_soft_limit(docker_client, recognizer_image: str) -> Iterator[Callable[..., Replica]]:
    """Start recognizers as run_recognizer does, but with a soft limit of 1,024 open files under a hard one of
    20,000, as containerd gives a container by default (Docker here gives 20,000 both)."""
    import docker

    replicas = Replicas(docker_client, recognizer_image)

    def run(env: dict[str, str] | None = None) -> Replica:
        c = docker_client.containers.run(recognizer_image, detach=True, read_only=True, environment=env or {},
                                         ports={"8501/tcp": ("127.0.0.1", None)}, labels={"io.aitui.test": "1"},
                                         ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=20000)])
        replicas.started.append(c)

        def ready() -> int:
            c.reload()
            if c.status == "exited":
                raise AssertionError(c.logs().decode()[-2000:])
            binding = (c.attrs["NetworkSettings"]["Ports"] or {}).get("8501/tcp") or [{"HostPort": 0}]
            port = int(binding[0]["HostPort"])
            return port if port and requests.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).ok else 0

        return Replica(c, int(wait_until(ready, 60, "the recognizer to be ready")))  # type: ignore[call-overload]

    yield run
    replicas.close()


def probe(url: str) -> tuple[float, int]:
    """One probe as the kubelet makes it (a new connection each time): (seconds, status); a probe that takes
    over a second fails as the recognizer's readiness probe does (timeoutSeconds: 1)."""
    t0 = time.perf_counter()
    status = requests.get(url, timeout=1, headers={"Connection": "close"}).status_code
    return time.perf_counter() - t0, status


def test_health_answers_within_a_second_while_the_worst_allowed_request_is_decoded(run_recognizer) -> None:
    """63 solid 6300x6300 PNGs (under the 40 MP limit each) in one request under 8 MiB: tens of seconds of
    decoding. Liveness and readiness answer within a second all along, and the request gets its answer."""
    r = run_recognizer()
    n = 63
    body, headers = worst_request(solid_png(6300, 6300), n)
    assert len(body) <= MAX_BODY and 6300 * 6300 <= 40_000_000, len(body)
    w = Wire(r)
    w.sock.settimeout(600)
    t0 = time.monotonic()
    w.send(post(V2, body, "".join(f"{k}: {v}\r\n" for k, v in headers.items())))  # all of it, in the kernel's hands
    answer: dict[str, object] = {}

    def receive() -> None:
        answer["response"] = w.response()
        answer["seconds"] = time.monotonic() - t0

    receiver = threading.Thread(target=receive)
    receiver.start()
    probes: list[float] = []
    while receiver.is_alive():
        for path in ("/v2/health/live", "/v2/health/ready"):
            seconds, status = probe(r.url + path)
            assert status == 200, (path, status)
            probes.append(seconds)
        if len(probes) == 2:  # the request is being worked on, not still on its way
            assert metric(requests.get(f"{r.url}/metrics", timeout=1).text, "recognizer_requests_in_flight") == 1
        time.sleep(0.2)
    receiver.join()
    w.close()
    status, _, answered = answer["response"]  # type: ignore[misc]
    print(f"worst request: {len(body) / 2**20:.2f} MiB, {n} x 6300x6300, answered {status} after "
          f"{answer['seconds']:.1f} s; {len(probes)} probes, slowest {max(probes) * 1000:.0f} ms")
    assert status == 200, answered[:300]
    assert json.loads(answered)["outputs"][0]["shape"] == [n, 10]
    assert len(probes) >= 10 and max(probes) < 1.0


def deep(levels: int, opening: bytes = b"[", closing: bytes = b"]") -> bytes:
    return opening * levels + closing * levels


DEEP_BODIES = [  # (name, path, body, headers, words in the error)
    ("[ x 5000 to v2", V2, deep(5000), {}, TOO_DEEP),
    ("[ x 5000 to v1", V1, deep(5000), {}, TOO_DEEP),
    ("[ x 5000 to a version's v1", "/v1/models/recognizer/versions/1:predict", deep(5000), {}, TOO_DEEP),
    ("{ x 100000 to v2", V2, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, {}, TOO_DEEP),
    ("unclosed [ x 1,000,000", V1, b"[" * 1_000_000, {}, TOO_DEEP),
    ("deep inside instances", V1, b'{"instances": [' + deep(3000) + b"]}", {}, TOO_DEEP),
    ("deep in the binary header", V2, deep(5000) + b"\0\0\0\0", {"Inference-Header-Content-Length": "10000"},
     TOO_DEEP),
    ("a named input 1,000 deep", V1, b'{"instances": [' + b'{"image": ' * 1000 + b'{"b64": "AAAA"}' + b"}" * 1000
     + b"]}", {}, "not an image"),
    ("an output name 1,000 deep", V2, b'{"inputs": [{"name": "image", "shape": [1, 32, 32, 3], "datatype": "FP32", '
     b'"data": [' + b"0," * 3071 + b'0]}], "outputs": [{"name": ' + deep(1000) + b"}]}", {}, TOO_DEEP),
    ("an id 1,000 deep", V2, b'{"id": ' + deep(1000) + b', "inputs": [{"name": "image", "shape": [1, 32, 32, 3], '
     b'"datatype": "FP32", "data": [' + b"0," * 3071 + b"0]}]}", {}, "id must be a string"),
    ("a datatype that is an array", V2, b'{"inputs": [{"name": "image", "shape": [1], "datatype": [1], "data": []}]}',
     {}, "datatype must be a string"),
]


@pytest.mark.parametrize(("name", "path", "body", "headers", "words"), DEEP_BODIES, ids=[b[0] for b in DEEP_BODIES])
def test_any_nesting_depth_is_a_400(replica, name, path, body, headers, words) -> None:
    r = requests.post(replica.url + path, data=body, headers={"Content-Type": "application/json", **headers},
                      timeout=30)
    assert r.status_code == 400, (name, r.status_code, r.text[:300])
    assert words in r.json()["error"], r.json()


def test_a_head_over_the_limit_gets_431_and_one_under_it_an_answer(replica) -> None:
    big = requests.get(f"{replica.url}/v2/health/live", headers={"X-Big": "a" * 200_000}, timeout=10)
    assert big.status_code == 431 and "request line and headers over 16384 bytes" in big.json()["error"], big.text
    long_url = requests.get(f"{replica.url}/v2/health/live?" + "a" * 200_000, timeout=10)
    assert long_url.status_code == 431, long_url.text
    many = requests.get(f"{replica.url}/v2/health/live", headers={f"X-{i}": "b" * 100 for i in range(200)}, timeout=10)
    assert many.status_code == 431, many.text
    under = requests.get(f"{replica.url}/v2/health/live", headers={"X-Big": "a" * 15_000}, timeout=10)
    assert under.status_code == 200 and under.json() == {"live": True}
    w = Wire(replica)  # the 431 closes the connection, after the client could read it
    w.send(get("/v2/health/live", "X-Big: " + "a" * 100_000 + "\r\n"))
    status, headers, _ = w.response()
    assert status == 431 and headers["connection"] == "close"
    assert w.closed()
    w.close()


def trickle(sock: socket.socket, data: bytes, every: float, until: float) -> tuple[bytes, float]:
    """Send `data` a byte at a time, `every` seconds apart, until the server answers or `until`
    (time.monotonic()) passes: (what the server sent, when its first byte came)."""
    sock.setblocking(False)
    for b in data:
        if time.monotonic() > until:
            break
        try:
            sock.send(bytes([b]))
        except OSError:
            break
        deadline = time.monotonic() + every
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            except OSError:
                return b"", time.monotonic()
            when = time.monotonic()
            sock.settimeout(5)
            try:
                while b"\r\n\r\n" not in chunk and (more := sock.recv(65536)):
                    chunk += more
            except OSError:
                pass
            return chunk, when
    return b"", time.monotonic()


def test_clients_that_trickle_their_head_or_body_get_408_and_are_dropped(run_recognizer) -> None:
    r = run_recognizer(env={"RECOGNIZER_HEAD_TIMEOUT_SECONDS": "2", "RECOGNIZER_BODY_TIMEOUT_SECONDS": "3"})
    before = requests.get(f"{r.url}/metrics", timeout=5).text
    head = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000 + b"\r\n\r\n"
    for what, data, limit in (("head", head, 2), ("body", post(V1, b'{"instances": [' + b" " * 1000 + b"]}"), 3)):
        s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
        if what == "body":  # the head at once, then the body a byte at a time
            cut = data.index(b"\r\n\r\n") + 4
            s.sendall(data[:cut])
            data = data[cut:]
        t0 = time.monotonic()
        got, when = trickle(s, data, 0.1, t0 + limit + 8)
        took = when - t0
        s.close()
        assert got.startswith(b"HTTP/1.1 408 "), (what, took, got[:200])
        assert b"Connection: close" in got and b"took over" in got, got
        assert limit <= took < limit + 2.5, (what, took)  # the deadline, and the once-a-second sweep after it
    after = requests.get(f"{r.url}/metrics", timeout=5).text
    delta = metric(after, "recognizer_requests_total", protocol="v1", code="408") - \
        metric(before, "recognizer_requests_total", protocol="v1", code="408")
    assert delta == 1  # the body's (the head's had no path yet)
    assert requests.get(f"{r.url}/v2/health/ready", timeout=5).status_code == 200


TRICKLE = r"""
import asyncio, contextlib, json, sys, time

host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
opened = 0


async def one(i, stop):
    # a request head sent a byte a second and never finished; one the server drops is opened anew
    global opened
    await asyncio.sleep(i / n)  # the openings and the bytes spread over a second
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        opened += 1
        try:
            writer.write(b"GET /v2/health/live HTTP/1.1\r\nX-Trickle: ")
            while time.monotonic() < stop and not reader.at_eof():
                writer.write(b"a")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(65536), 1.0)
        except OSError:
            pass
        writer.close()


async def main():
    stop = time.monotonic() + seconds
    await asyncio.gather(*(one(i, stop) for i in range(n)))
    print(json.dumps({"opened": opened}))

asyncio.run(main())
"""


def test_two_thousand_trickling_connections_do_not_slow_liveness(low_soft_limit) -> None:
    """2,000 connections that trickle a byte a second each (from a process of their own, so that the probes
    measure the server, not the GIL of this one), to a container whose soft limit is 1,024 open files (the
    server raises its own to the hard limit, 20,000): liveness, probed the kubelet's way (on the container's
    own address, as the kubelet probes a pod's: docker-proxy relaying 2,000 connections would be measured
    too), answers as fast as without them, within noise, and never near its one-second timeout; the 5 s head
    deadline drops them and they come back."""
    r = low_soft_limit(env={"RECOGNIZER_HEAD_TIMEOUT_SECONDS": "5"})
    r.container.reload()
    ip = next(iter(r.container.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    url = f"http://{ip}:8501"
    n = 2000
    baseline = sorted(probe(url + "/v2/health/live")[0] for _ in range(100))
    clients = subprocess.Popen([sys.executable, "-c", TRICKLE, ip, "8501", str(n), "40"], stdout=subprocess.PIPE,
                               text=True)
    try:
        def fds() -> float:
            return metric(requests.get(f"{url}/metrics", timeout=5).text, "process_open_fds")

        wait_until(lambda: fds() >= n, 30, f"{n} connections open at the server")
        loaded = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 15:  # past the head deadline: connections are dropped and made again
            seconds, status = probe(url + "/v2/health/live")
            assert status == 200
            loaded.append(seconds)
            time.sleep(0.05)
        open_at_end = fds()
        opened = json.loads(clients.communicate(timeout=60)[0])["opened"]
    finally:
        if clients.poll() is None:
            clients.kill()
            clients.wait()
    loaded.sort()
    q = lambda xs, f: xs[min(len(xs) - 1, int(f * len(xs)))] * 1000  # noqa: E731
    print(f"liveness with {n} trickling connections ({opened} opened in all, {open_at_end:.0f} fds open at the "
          f"end): p50 {q(loaded, 0.5):.1f} ms, p99 {q(loaded, 0.99):.1f} ms, max {loaded[-1] * 1000:.1f} ms over "
          f"{len(loaded)} probes; without them p50 {q(baseline, 0.5):.1f} ms, p99 {q(baseline, 0.99):.1f} ms")
    assert opened > n  # the head deadline dropped them, and they came back
    assert q(loaded, 0.5) < q(baseline, 0.5) * 3 + 10 and q(loaded, 0.99) < 500 and loaded[-1] < 1.0


def test_grpc_refuses_calls_beyond_its_bound_at_once_with_resource_exhausted(docker_client, recognizer_image) -> None:
    """maximum_concurrent_rpcs from the queue bound (RECOGNIZER_MAX_QUEUE, here 4): 24 calls at once, each a
    costly image, and the 20 beyond the bound come back RESOURCE_EXHAUSTED at once instead of waiting."""
    replicas = Replicas(docker_client, recognizer_image)
    try:
        server = start(replicas, env={"RECOGNIZER_MAX_QUEUE": "4"})
        png = solid_png(5000, 5000)
        req = pb.ModelInferRequest(model_name="recognizer")
        req.inputs.add(name="image", datatype="BYTES", shape=[1]).contents.bytes_contents.append(png)
        raw = req.SerializeToString()

        async def burst() -> list[tuple[str, str, float]]:
            async with grpc.aio.insecure_channel(server.grpc) as channel:
                call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")

                async def one() -> tuple[str, str, float]:
                    t0 = time.perf_counter()
                    try:
                        await call(raw, timeout=120)
                        return "OK", "", time.perf_counter() - t0
                    except grpc.aio.AioRpcError as exc:
                        return exc.code().name, exc.details() or "", time.perf_counter() - t0

                return await asyncio.gather(*(one() for _ in range(24)))

        results = asyncio.run(burst())
        refused = [(d, t) for code, d, t in results if code == "RESOURCE_EXHAUSTED"]
        answered = [t for code, _, t in results if code == "OK"]
        print(f"gRPC: {len(answered)} answered (slowest {max(answered):.1f} s), {len(refused)} refused "
              f"(slowest {max(t for _, t in refused):.2f} s): {refused[0][0]!r}")
        assert len(answered) + len(refused) == 24 and len(answered) <= 4 and len(refused) >= 20, results
        assert all(t < 1.0 for _, t in refused), refused
        assert not any("server overloaded" in d for d, _ in refused)  # gRPC's own bound, not the batcher's 429
    finally:
        replicas.close()


def test_a_decode_process_that_dies_is_replaced(run_recognizer) -> None:
    r = run_recognizer()
    body, headers = worst_request(solid_png(2000, 2000), 2)  # costly: the decode process takes it
    assert requests.post(r.url + V2, data=body, headers=headers, timeout=60).status_code == 200
    kill = ("import os, signal\n"
            "for p in os.listdir('/proc'):\n"
            "    if p.isdigit() and b'recognizer.decoder' in open(f'/proc/{p}/cmdline', 'rb').read():\n"
            "        os.kill(int(p), signal.SIGKILL); print(p)\n")
    killed = r.container.exec_run(["python", "-c", kill]).output.decode().split()
    assert len(killed) == 1, killed
    wait_until(lambda: requests.post(r.url + V2, data=body, headers=headers, timeout=60).status_code == 200, 20,
               "a costly request answered by the new decode process")
    logs = r.container.logs().decode()
    assert f"the decode process (pid {killed[0]}) exited" in logs and "starting another" in logs, logs[-2000:]
    assert requests.get(f"{r.url}/v2/health/ready", timeout=5).status_code == 200


def test_a_client_that_shuts_its_side_still_gets_its_answer(replica) -> None:
    """A request the decode process takes (its answer comes later than the client's FIN), then a half-close:
    the answer still arrives, then the connection closes."""
    w = Wire(replica)
    body, headers = worst_request(solid_png(2000, 2000), 2)
    w.send(post(V2, body, "".join(f"{k}: {v}\r\n" for k, v in headers.items())))
    w.sock.shutdown(socket.SHUT_WR)
    status, _, answer = w.response()
    assert status == 200 and json.loads(answer)["outputs"][0]["shape"] == [2, 10]
    assert w.closed()
    w.close()


def test_the_import_graph_of_serving_has_no_circle() -> None:
    """Every import between serving/'s modules (function-level ones too, which are edges all the same)."""
    files = {p: p.relative_to(ROOT / "serving").with_suffix("").as_posix().replace("/", ".")
             for p in (ROOT / "serving").rglob("*.py") if "wheels" not in p.parts}
    names = set(files.values())
    graph: dict[str, set[str]] = {}
    for path, name in files.items():
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            edges |= {t for t in targets if t in names and t != name}
    assert "recognizer.server" in graph and "recognizer.grpc_server" in graph["recognizer.server"]
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join([*path[path.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_server_raises_its_open_file_limit(low_soft_limit) -> None:
    """The container's soft limit is 1,024; the server's own, once it runs, is the hard limit."""
    r = low_soft_limit()
    read = ("import os\n"
            "for p in os.listdir('/proc'):\n"
            "    if p.isdigit() and open(f'/proc/{p}/cmdline', 'rb').read().split(b'\\0')[:3] == "
            "[b'python', b'-m', b'recognizer']:\n"
            "        print(*[ln.split()[3:5] for ln in open(f'/proc/{p}/limits')\n"
            "                if ln.startswith('Max open files')][0])\n")
    assert r.container.exec_run(["sh", "-c", "ulimit -Sn; ulimit -Hn"]).output.decode().split() == ["1024", "20000"]
    assert r.container.exec_run(["python", "-c", read]).output.decode().split() == ["20000", "20000"]
