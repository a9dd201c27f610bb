"""The recognizer under hostile input and load, on real containers published on 127.0.0.1 (issue #8):
generated garbage for every parser and decoder (hypothesis), a 100,000-request soak of mixed good and bad
input with bounded memory, and overload that is shed quickly and recovered from."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Iterator

import aiohttp
import numpy as np
import pytest
import requests
from conftest import Replica, Replicas, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recognizer import dataset
from test_recognizer import b64png

pytestmark = pytest.mark.docker
V1 = "/v1/models/recognizer:predict"
V2 = "/v2/models/recognizer/infer"
GOOD_PNG = base64.b64decode(b64png(dataset.render(3, np.random.default_rng(7), 64)))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=20)
    | st.floats(allow_nan=True, allow_infinity=True),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=40)


@pytest.fixture(scope="module")
def replica(docker_client, recognizer_image: str) -> Iterator[Replica]:
    """The fuzzed recognizer, restarted by the engine if it dies, as aitui's local target runs replicas:
    a crash shows as a restart, not only as a moment of unreadiness."""
    replicas = Replicas(docker_client, recognizer_image)
    r = replicas.run(restart="unless-stopped")
    r.container.reload()
    r.started_at = r.container.attrs["State"]["StartedAt"]  # type: ignore[attr-defined]
    yield r
    replicas.close()


def mutated_png(data: st.DataObject) -> str:
    raw = bytearray(GOOD_PNG)
    cut = data.draw(st.integers(0, len(raw)))
    for _ in range(data.draw(st.integers(0, 8))):  # flip some bytes, header included
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return base64.b64encode(bytes(raw[:cut] if data.draw(st.booleans()) else raw)).decode()


def post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)


def assert_clean(r: requests.Response, what: object) -> None:
    """Never a 500 and never a crash: either an answer, or a 4xx with a JSON error that says why."""
    assert r.status_code < 500, (r.status_code, r.text[:200], repr(what)[:300])
    if r.status_code >= 400:
        assert r.json()["error"].strip(), r.text


@FUZZ
@given(body=json_values)
def test_any_json_to_either_protocol(replica, body) -> None:
    for path in (V1, V2):
        assert_clean(post(replica.url + path, json.dumps(body, allow_nan=True).encode()), body)


@FUZZ
@given(raw=st.binary(max_size=2048) | st.text(max_size=512).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_as_a_body(replica, raw) -> None:
    for path in (V1, V2):
        assert_clean(post(replica.url + path, raw), raw)


@FUZZ
@given(data=st.data())
def test_broken_images_and_tensors(replica, data) -> None:
    shape = data.draw(st.lists(st.integers(0, 40), min_size=0, max_size=4))
    fill = data.draw(st.sampled_from([0.0, 1.5, -1.0, 255.0, 1e308, float("nan"), float("inf")]))
    size = int(np.prod(shape)) if shape else 1
    bodies = [
        {"instances": [{"b64": mutated_png(data)}]},
        {"inputs": {"b64": mutated_png(data)}},
        {"instances": np.full(shape, fill).tolist() if size <= 20000 else []},
        {"inputs": [{"name": "image", "shape": shape, "datatype": data.draw(st.sampled_from(["FP32", "BYTES", "INT8"])),
                     "data": [fill] * min(size, 5000)}]},
        {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [mutated_png(data)]}]},
    ]
    for body in bodies:
        path = V2 if isinstance(body.get("inputs"), list) else V1
        assert_clean(post(replica.url + path, json.dumps(body, allow_nan=True).encode()), body)


def test_the_server_is_still_ready_after_the_fuzzing(replica) -> None:
    replica.container.reload()  # the engine's state now, not the one read when the replica started
    state = replica.container.attrs["State"]
    assert replica.container.attrs["RestartCount"] == 0 and state["StartedAt"] == replica.started_at, state
    assert state["Status"] == "running" and not state["OOMKilled"], state
    assert requests.get(f"{replica.url}/v2/health/ready", timeout=5).status_code == 200


def rss(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=5).text
    return float(re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]


async def hammer(url: str, bodies: list[tuple[bytes, bool]], total: int, concurrency: int) -> dict[str, int]:
    """Send `total` requests cycling through `bodies` (body, good?); count outcomes."""
    counts = {"good_ok": 0, "good_failed": 0, "bad_4xx": 0, "bad_other": 0}
    sent = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker() -> None:
            nonlocal sent
            while sent < total:
                body, good = bodies[sent % len(bodies)]
                sent += 1
                async with session.post(url + V1, data=body, headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    key = ("good_ok" if r.status == 200 else "good_failed") if good else \
                        ("bad_4xx" if 400 <= r.status < 500 else "bad_other")
                    counts[key] += 1
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


def test_soak_100k_mixed_requests_with_bounded_memory(run_recognizer) -> None:
    replica = run_recognizer()
    good = json.dumps({"instances": [{"b64": base64.b64encode(GOOD_PNG).decode()}]}).encode()
    bodies = [(good, True)] * 3 + [(b"{nope", False), (json.dumps({"instances": [[[1, 2, 3]]]}).encode(), False),
                                   (json.dumps({"instances": [{"b64": "%%%"}]}).encode(), False),
                                   (good[: len(good) // 2], False)]
    asyncio.run(hammer(replica.url, bodies, 5_000, 16))  # warm up: allocator pools, caches
    before = rss(replica.url)
    t0 = time.monotonic()
    counts = asyncio.run(hammer(replica.url, bodies, 100_000, 32))
    seconds = time.monotonic() - t0
    after = rss(replica.url)
    growth = (after - before) / before
    print(f"soak: 100,000 requests in {seconds:.0f}s ({100_000 / seconds:.0f}/s via docker-proxy): {counts}; "
          f"RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MB ({growth:+.1%})")
    assert counts["good_failed"] == 0 and counts["bad_other"] == 0, counts
    assert counts["good_ok"] + counts["bad_4xx"] == 100_000
    assert growth < 0.10


def test_overload_is_shed_fast_and_recovered_from(run_recognizer) -> None:
    """A small queue (as an operator may set it) and 400 concurrent requests: the surplus gets 429 at once
    instead of waiting; afterwards the server answers normally."""
    replica = run_recognizer(env={"RECOGNIZER_MAX_QUEUE": "8", "RECOGNIZER_MAX_BATCH": "8"})
    good = json.dumps({"instances": [{"b64": base64.b64encode(GOOD_PNG).decode()}] * 8}).encode()

    async def burst() -> list[tuple[int, float]]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=400),
                                         timeout=aiohttp.ClientTimeout(total=30)) as session:
            async def one() -> tuple[int, float]:
                t0 = time.perf_counter()
                async with session.post(replica.url + V1, data=good,
                                        headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    return r.status, time.perf_counter() - t0
            return await asyncio.gather(*(one() for _ in range(400)))

    results = asyncio.run(burst())
    statuses = [s for s, _ in results]
    shed = sorted(t for s, t in results if s in (429, 503))
    assert set(statuses) <= {200, 429, 503}, set(statuses)
    assert shed and statuses.count(200) > 0, statuses
    print(f"overload: {statuses.count(200)} answered, {len(shed)} shed; shed answers took "
          f"median {shed[len(shed) // 2] * 1000:.0f} ms")
    assert shed[len(shed) // 2] < 2.0  # shed quickly, not after a timeout
    wait_until(lambda: post(replica.url + V1, good).status_code == 200, 10, "the server to answer normally again")
