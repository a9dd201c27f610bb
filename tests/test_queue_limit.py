"""The recognizer's default queue, on its real container (serving/README.md: "429 when the queue is full (256
images)"; "Beyond 256 queued images requests get 429 at once instead of waiting without bound"): a burst of
single-image requests fills it, and each one beyond gets 429 at once, refused while 256 images were queued."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time

import aiohttp
import numpy as np
import pytest
import requests
from conftest import Replica, wait_until
from recognizer import dataset

pytestmark = pytest.mark.docker
V1 = "/v1/models/recognizer:predict"
BURST = 1000  # concurrent requests of one image each: far beyond 256 queued (each connection sends one)


def one_image() -> bytes:
    buf = io.BytesIO()
    dataset.render(3, np.random.default_rng(7), 64).save(buf, format="PNG")
    return json.dumps({"instances": [{"b64": base64.b64encode(buf.getvalue()).decode()}]}).encode()


async def burst(url: str, body: bytes, n: int) -> list[tuple[int, str, float]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=n),
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def one() -> tuple[int, str, float]:
            t0 = time.perf_counter()
            async with session.post(url + V1, data=body, headers={"Content-Type": "application/json"}) as r:
                return r.status, await r.text(), time.perf_counter() - t0
        return await asyncio.gather(*(one() for _ in range(n)))


def test_the_default_queue_sheds_beyond_256_images(run_recognizer) -> None:
    replica: Replica = run_recognizer()  # the image's defaults: no RECOGNIZER_MAX_QUEUE
    body = one_image()
    results = asyncio.run(burst(replica.url, body, BURST))
    statuses = [s for s, _, _ in results]
    shed = [(text, took) for s, text, took in results if s == 429]
    print(f"queue limit: {statuses.count(200)} answered, {len(shed)} shed of {BURST}")
    assert set(statuses) <= {200, 429}, sorted(set(statuses))
    assert shed, "the burst never filled the queue"
    # a one-image request is refused only when one more would pass the limit: 256 queued, the limit 256
    said = {re.sub(r"\s+", " ", json.loads(text)["error"]) for text, _ in shed}
    assert said == {"server overloaded: 256 images queued (limit 256)"}, said
    # and the 256 images it held were answered: every queued image belonged to a request that got its 200
    assert statuses.count(200) >= 256, statuses.count(200)
    took = sorted(t for _, t in shed)
    assert took[len(took) // 2] < 2.0, f"shed answers took median {took[len(took) // 2]:.1f}s"  # at once
    wait_until(lambda: requests.post(replica.url + V1, data=body, timeout=10).status_code == 200, 10,
               "the server to answer normally again")
