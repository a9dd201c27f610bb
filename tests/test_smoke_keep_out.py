"""What the smoke test does not do (README, "smoke after d"): when *every* replica answers wrong the image is
wrong, not a replica, so none is touched; and on a read-only context a wrong replica is only flagged. Both by
keystroke (`:smoke`) against the real engine, with replicas whose labels file is reversed and whose self-check
is off (they say ready and answer every sample wrong). Nothing touched means the engine saw nothing: no
container created, renamed, stopped or removed (its events), the same containers serving the same ports."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import pytest
from conftest import free_port, wait_until
from test_app_actions import until
from test_cli_commands import MISLABEL, SELF_CHECK_OFF
from test_ui_operations import activity, select

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.targets.local import QUARANTINED, WORKLOAD_LABEL, LocalTarget

pytestmark = pytest.mark.docker


@pytest.fixture
def settings_(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return Settings(prometheus_url=f"http://127.0.0.1:{free_port()}", kubeconfig=str(tmp_path / "none"))


@pytest.fixture
def workload(settings_: Settings, docker_client) -> Iterator[str]:
    name = f"smoke-{os.urandom(3).hex()}"
    yield name
    for c in docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={name}"}):
        with contextlib.suppress(Exception):
            c.remove(force=True)
    LocalTarget(settings_).delete(name)


def wrong_replica(docker_client, image: str, workload: str, i: int):
    """A replica of `workload` that says ready and answers every sample wrong (as tests/test_ui_operations.py's)."""
    return docker_client.containers.run(
        image, name=f"{workload}-wrong-{i}", detach=True, read_only=True, tmpfs={"/tmp": "size=64m"},
        labels={WORKLOAD_LABEL: workload}, ports={"8501/tcp": ("127.0.0.1", None)}, entrypoint="python",
        command=["-c", MISLABEL], environment=SELF_CHECK_OFF,
        healthcheck={"test": ["CMD", "python", "-m", "recognizer.healthcheck"], "interval": 300_000_000,
                     "start_period": 300_000_000})


def serving(docker_client, workload: str) -> dict[str, str]:
    """The workload's containers: id -> name@status."""
    return {c.id: f"{c.name}@{c.status}" for c in
            docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={workload}"})}


def changes(docker_client, workload: str, since: float) -> list[str]:
    """What the engine did to the workload's containers since `since` (time.time()): its events, but the
    health checks'."""
    events = docker_client.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "label": f"{WORKLOAD_LABEL}={workload}"})
    return [f"{e['Action']} {e['Actor']['Attributes'].get('name')}" for e in events
            if e["timeNano"] >= since * 1e9 and not str(e["Action"]).startswith(("exec_", "health_status"))]


async def smoke(app: AituiApp, pilot, workload: str, verdict: str) -> None:
    """`:smoke` on the workload, until its worker is done (what it would change, it has changed by then)."""
    await until(pilot, lambda: workload in app.workloads, 20, "the workload listed")
    select(app, workload)
    await pilot.press("colon", *"smoke", "enter")
    await until(pilot, lambda: verdict in activity(app), 90, verdict)
    await until(pilot, lambda: not [w for w in app.workers if w.group == "smoke" and not w.is_finished], 30,
                "the smoke worker done")
    await pilot.pause()


async def test_when_every_replica_answers_wrong_none_is_touched(settings_: Settings, workload: str,
                                                                recognizer_image: str, docker_client) -> None:
    for i in range(2):
        wrong_replica(docker_client, recognizer_image, workload, i)
    endpoints = wait_until(lambda: (lambda e: sorted(e) if len(e) == 2 else None)(
        LocalTarget(settings_).endpoints(workload)), 60, "2 ready replicas")
    before, since = serving(docker_client, workload), time.time()
    app = AituiApp(settings_)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await smoke(app, pilot, workload, f"smoke FAIL: 0/2 replicas of {workload}")
        assert (f"smoke: every replica of {workload} answers wrong: the image is wrong, not a replica "
                "(none taken out of traffic; a rollback goes back)") in activity(app), activity(app)
        assert "quarantine:" not in activity(app), activity(app)
        assert sorted(LocalTarget(settings_).endpoints(workload)) == endpoints  # both still take traffic
    assert serving(docker_client, workload) == before  # the same two containers, running, not renamed
    assert not any(QUARANTINED in name for name in before.values())
    assert changes(docker_client, workload, since) == []


async def test_a_read_only_context_only_flags(settings_: Settings, workload: str, recognizer_image: str,
                                              docker_client) -> None:
    target = LocalTarget(settings_)
    target.deploy(recognizer_image, 1, workload)  # one that answers right, as d runs it
    bad = wrong_replica(docker_client, recognizer_image, workload, 0)
    endpoints = wait_until(lambda: (lambda e: sorted(e) if len(e) == 2 else None)(
        LocalTarget(settings_).endpoints(workload)), 60, "2 ready replicas")
    target.close()
    before, since = serving(docker_client, workload), time.time()
    settings_.readonly_contexts = ["local"]
    app = AituiApp(settings_)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await smoke(app, pilot, workload, f"smoke FAIL: 1/2 replicas of {workload}")
        log = activity(app)
        assert f"FLAGGED: {bad.name}" in log, log  # flagged, said
        assert f"smoke: read-only: the flagged replicas of {workload} stay in traffic" in log, log
        assert "quarantine:" not in log, log
        assert sorted(LocalTarget(settings_).endpoints(workload)) == endpoints  # the wrong one still in traffic
    assert serving(docker_client, workload) == before
    assert changes(docker_client, workload, since) == []
