"""Named queries against a real Prometheus scraping a real replica; and what a dead or slow
Prometheus looks like (a message, never an exception)."""

from __future__ import annotations

import json
import re
import socket
import time

import numpy as np
import pytest
import requests
from conftest import free_port, wait_until
from recognizer import metrics as server_metrics

from aitui.config import Settings
from aitui.services import metrics

QUERIED_NAMES = sorted({n for q in metrics.QUERIES.values() for _, promql in q.lines
                        for n in re.findall(r"\b(recognizer_[a-z_]+|process_[a-z_]+)\b", promql)})


def test_every_queried_recognizer_name_is_one_the_server_defines() -> None:
    exported = set(server_metrics.EXPORTED.values())
    for name in QUERIED_NAMES:
        if name.startswith("recognizer_"):
            assert re.sub(r"_(bucket|sum|count)$", "", name) in exported, name


@pytest.mark.docker
def test_every_queried_name_is_exported_by_a_running_server(replica) -> None:
    requests.post(f"{replica.url}/v1/models/recognizer:predict",
                  json={"instances": [np.zeros((32, 32, 3)).tolist()]}, timeout=10).raise_for_status()
    text = requests.get(f"{replica.url}/metrics", timeout=5).text
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert set(QUERIED_NAMES) <= exposed, set(QUERIED_NAMES) - exposed


@pytest.mark.docker
def test_named_queries_return_series_from_real_scrapes(replica, prometheus) -> None:
    target = prometheus.targets / "metrics-test.json"
    target.write_text(json.dumps([{"targets": [f"127.0.0.1:{replica.port}"], "labels": {"replica": "m1"}}]))
    s = Settings(prometheus_url=prometheus.url)
    body = {"instances": [np.full((32, 32, 3), 100.0).tolist()]}
    try:
        def requests_seen() -> bool:
            for _ in range(20):
                requests.post(f"{replica.url}/v1/models/recognizer:predict", json=body, timeout=10)
            got = metrics.fetch(s, "requests", window=120, width=60, selector='job="recognizer",replica="m1"')
            return any(not x.error and x.points[-1][1] > 0 for x in got)

        wait_until(requests_seen, 60, "a non-zero requests/s series", interval=1.0)
        sel = 'job="recognizer",replica="m1"'
        latency = metrics.fetch(s, "latency", 120, 60, sel)
        assert {x.name for x in latency} == {"p50", "p95", "p99"}
        assert all(0 < x.points[-1][1] < 5 for x in latency)
        per_replica = metrics.fetch(s, "requests", 120, 60, sel)
        assert {x.name for x in per_replica} == {"all", "m1"}
        assert metrics.fetch(s, "replicas", 120, 60, sel)[0].points[-1][1] == 1
        assert len(per_replica[0].points) <= 61  # about one point per column
    finally:
        target.unlink()


def test_a_dead_prometheus_is_no_data_with_the_reason() -> None:
    s = Settings(prometheus_url=f"http://127.0.0.1:{free_port()}", timeout=1)
    [series] = metrics.fetch(s, "latency", 300, 80)
    assert series.error.startswith("no data:") and "connection refused" in series.error


def test_a_slow_prometheus_times_out_quickly() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        s = Settings(prometheus_url=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=1)
        t0 = time.monotonic()
        [series] = metrics.fetch(s, "requests", 300, 80)
        assert "timed out" in series.error
        assert time.monotonic() - t0 < 10
