"""The local target on the real Docker engine, watched by a real Prometheus, with traffic running:
deploy, scale up, roll out, scale down, restart aitui — and no request fails, none resent."""

from __future__ import annotations

import json
import time

import pytest
from conftest import wait_until
from recognizer import dataset

from aitui.services.targets.local import LocalTarget, TargetError
from aitui.services.traffic import Traffic

pytestmark = pytest.mark.docker
WORKLOAD = "recognizer-test"


@pytest.fixture
def target(settings, docker_client, prometheus):
    t = LocalTarget(settings, targets_dir=prometheus.targets)
    yield t
    t.delete(WORKLOAD)


def test_scale_rollout_and_scale_down_under_traffic_lose_no_request(target, recognizer_image, docker_client,
                                                                     prometheus) -> None:
    steps: list[str] = []
    started = time.time()
    target.deploy(recognizer_image, 1, WORKLOAD, steps.append)
    [w] = [w for w in target.workloads() if w.name == WORKLOAD]
    assert (w.desired, w.ready, w.image) == (1, 1, recognizer_image)
    pods = target.pods(WORKLOAD)
    assert pods[0].endpoint.startswith("127.0.0.1:")  # published on loopback only
    sd = json.loads((prometheus.targets / "aitui-local.json").read_text())
    assert [g["targets"] for g in sd if g["labels"]["workload"] == WORKLOAD] == [[pods[0].endpoint]]

    images = [dataset.sample_png(label, seed=i) for i, label in enumerate(dataset.LABELS)]
    traffic = Traffic(lambda: target.endpoints(WORKLOAD), images, concurrency=4, duration=300).start()
    try:
        wait_until(lambda: traffic.stats.ok > 50, 30, "traffic to flow")
        target.scale(3, WORKLOAD, steps.append)
        assert len(target.endpoints(WORKLOAD)) == 3
        new_eps = {p.endpoint for p in target.pods(WORKLOAD)} - {pods[0].endpoint}
        wait_until(lambda: all(traffic.stats.per_endpoint[e] > 10 for e in new_eps), 30,
                   "the new replicas to take load")

        docker_client.images.get(recognizer_image).tag("aitui/recognizer", "rollout-test")
        target.rollout("aitui/recognizer:rollout-test", WORKLOAD, steps.append)
        assert {p.image for p in target.pods(WORKLOAD)} == {"aitui/recognizer:rollout-test"}
        assert len(target.endpoints(WORKLOAD)) == 3

        target.scale(1, WORKLOAD, steps.append)
        assert len(target.pods(WORKLOAD)) == 1
        wait_until(lambda: traffic.stats.ok > 0 and traffic.stats.per_endpoint[target.endpoints(WORKLOAD)[0]] > 10,
                   30, "traffic on the last replica")
    finally:
        stats = traffic.stop()
    assert traffic.retries == 0  # every request is sent once: a failure is what a client would have seen
    assert stats.failed == 0, f"{stats.failed} of {stats.sent} requests failed: {dict(stats.errors)}"
    assert stats.retried == 0, stats
    assert stats.ok > 200
    assert any("draining" in s for s in steps) and any("rollout" in s for s in steps)

    # Prometheus scraped the replicas under their replica label
    wait_until(lambda: prometheus.query(f'sum(recognizer_requests_total{{workload="{WORKLOAD}"}}) > 0'), 30,
               "Prometheus to see the workload's requests")

    # aitui restarts: a new target object finds the workload as it was
    again = LocalTarget(target.settings, targets_dir=prometheus.targets)
    [w] = [w for w in again.workloads() if w.name == WORKLOAD]
    assert (w.desired, w.ready, w.image) == (1, 1, "aitui/recognizer:rollout-test")
    assert again.endpoints(WORKLOAD) == target.endpoints(WORKLOAD)
    logs = list(again.logs(again.pods(WORKLOAD)[0].name, tail=20))
    assert any("serving recognizer" in line for line in logs)
    events = [e for e in again.events(WORKLOAD) if e.time >= started]  # this test's, not an earlier run's
    # the engine's own record: 1 + 2 (scale) + 3 (rollout) replicas started; 3 (rollout) + 2 (scale) removed
    assert sum(e.reason == "start" for e in events) == 6 and sum(e.reason == "destroy" for e in events) == 5
    assert all(e.object.startswith(WORKLOAD) for e in events) and events == sorted(events, key=lambda e: e.time)
    docker_client.images.remove("aitui/recognizer:rollout-test")


def test_bad_requests_are_clear_errors(target) -> None:
    with pytest.raises(TargetError, match="deploy it first"):
        target.scale(2, "no-such-workload")
    with pytest.raises(TargetError, match="no workload"):
        target.restart("no-such-workload")
    with pytest.raises(TargetError, match="starting a replica of aitui/does-not-exist:1 failed"):
        target.deploy("aitui/does-not-exist:1", 1, WORKLOAD)


def test_a_replica_another_aitui_started_is_ready_once_it_answers(target, recognizer_image, docker_client) -> None:
    """Another aitui (or `aitui deploy`) started this replica: this one never saw it become ready, and the
    engine's health check has not run yet (here: not for a minute). It takes traffic once it answers ready,
    not when the engine first checks it: traffic through this target must not find "no ready endpoint"."""
    from aitui.services import labels
    from aitui.services.targets.local import WORKLOAD_LABEL

    c = docker_client.containers.run(
        recognizer_image, name=f"{WORKLOAD}-elsewhere", detach=True,
        labels={WORKLOAD_LABEL: WORKLOAD, **labels.SELECTOR_LABELS, **labels.PART_OF},
        ports={f"{labels.SERVING_PORT}/tcp": ("127.0.0.1", None)},
        healthcheck={"test": ["CMD", "true"], "interval": 60 * 10**9, "start_period": 60 * 10**9})
    wait_until(lambda: target.endpoints(WORKLOAD), 60, "the replica to answer ready")
    c.reload()
    assert c.attrs["State"]["Health"]["Status"] == "starting"  # the engine has not checked it: we asked it
    [pod] = target.pods(WORKLOAD)
    assert pod.ready and target.endpoints(WORKLOAD) == [pod.endpoint]
