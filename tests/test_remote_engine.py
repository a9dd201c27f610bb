"""Remote engines for users on jump hosts (issue 14, item 9): DOCKER_HOST=ssh://root@127.0.0.1:PORT through a
real sshd (tests/sshd.py) to this machine's engine. Images and workloads list through it; a replica's port,
published on the engine machine's 127.0.0.1, is reached through an SSH tunnel of aitui's own (predict
answers through it, not through the published port); a key the server refuses and an unknown host key are
clear messages."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sshd import Sshd
from test_app_actions import until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services import health, images
from aitui.services.predict import predict, samples
from aitui.services.targets import TargetError
from aitui.services.targets.local import WORKLOAD_LABEL, LocalTarget
from aitui.services.targets.tunnel import remote_engine
from aitui.ui import chart_grid
from aitui.ui.browser import ResourceBrowser
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.charts import Chart
from aitui.ui.header import StatusBar

pytestmark = pytest.mark.docker


@pytest.fixture
def sshd(tmp_path, monkeypatch, docker_client) -> Iterator[Sshd]:
    server = Sshd(tmp_path)
    monkeypatch.setenv("HOME", str(server.home))  # the client's ~/.ssh: config, known_hosts
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    images._clients.clear()  # (one client per address is kept: none from another test's HOME)
    yield server
    images._clients.clear()
    server.close()


def remote(sshd: Sshd, settings: Settings) -> Settings:
    return Settings(docker_host=sshd.url, base_image=settings.base_image, timeout=10.0,
                    kubeconfig="/nonexistent", prometheus_url="http://127.0.0.1:9")


def test_which_engines_are_remote() -> None:
    assert remote_engine("ssh://me@jump.example:2222") == "ssh://jump.example:2222"
    assert remote_engine("ssh://root@127.0.0.1:22") == "ssh://127.0.0.1:22"  # its ports are the sshd host's
    assert remote_engine("tcp://10.0.0.5:2376") == "tcp://10.0.0.5:2376"
    assert remote_engine("tcp://127.0.0.1:2375") == remote_engine("unix:///var/run/docker.sock") == ""


def test_images_workloads_and_a_replica_through_ssh(sshd, settings, docker_client, recognizer_image) -> None:
    """A deploy through SSH (the replica's readiness asked through the tunnel), then predict through it."""
    workload = f"remote-{os.urandom(3).hex()}"
    s = remote(sshd, settings)
    target = LocalTarget(s, targets_dir=sshd.dir / "targets")
    try:
        listed = images.list_images(s)
        assert any(recognizer_image in i.tags for i in listed)
        assert health.docker(s).ok
        try:
            assert target.remote == f"ssh://127.0.0.1:{sshd.port}"
            target.deploy(recognizer_image, 1, workload)
            assert [p.ready for p in target.pods(workload)] == [True]
            assert not (sshd.dir / "targets" / "aitui-local.json").exists()  # no scrape list for a remote engine
            [c] = docker_client.containers.list(filters={"label": f"{WORKLOAD_LABEL}={workload}"})
            assert [w.name for w in target.workloads() if w.name == workload] == [workload]
            [endpoint] = target.endpoints(workload)
            c.reload()
            published = int(c.attrs["NetworkSettings"]["Ports"]["8501/tcp"][0]["HostPort"])
            assert endpoint.startswith("127.0.0.1:") and int(endpoint.rsplit(":", 1)[1]) != published
            answer = predict(endpoint, samples()["circle"])  # through the tunnel
            assert not answer.error and answer.labels[0][0] == "circle", answer
            assert f"127.0.0.1:{endpoint.rsplit(':', 1)[1]} -> :{published}" in target.reach(workload)
            assert target.route(endpoint) == f"ssh://127.0.0.1:{sshd.port} :{published} (SSH tunnel {endpoint})"
            assert target.logs(c.name, tail=5)  # logs through ssh too
        finally:
            target.delete(workload)
            assert not target.pods(workload)
    finally:
        target.close()
        for c in docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={workload}"}):
            c.remove(force=True)


def test_a_refused_key_and_an_unknown_host_are_clear_messages(sshd, settings) -> None:
    s = remote(sshd, settings)
    sshd.use_key(sshd.stranger)
    with pytest.raises(TargetError) as refused:
        LocalTarget(s)
    assert "the SSH server refused the key (authentication failed)" in str(refused.value), refused.value
    assert "refused the key" in health.docker(s).detail
    sshd.use_key(sshd.key)
    (sshd.home / ".ssh" / "known_hosts").write_text("")
    with pytest.raises(TargetError) as unknown:
        LocalTarget(s)
    assert f"SSH host key unknown: [127.0.0.1]:{sshd.port} is not in ~/.ssh/known_hosts" in str(unknown.value)


async def test_the_app_on_a_remote_engine(sshd, settings, docker_client, prometheus, monkeypatch) -> None:
    """The lists through SSH; the charts' CPU and memory from the remote engine's stats, since this
    machine's Prometheus (up, here) cannot scrape that machine's 127.0.0.1."""
    monkeypatch.setattr(chart_grid, "EVERY", 1.0)
    workload = f"remote-{os.urandom(3).hex()}"
    c = docker_client.containers.run(settings.base_image, ["sleep", "120"], detach=True,
                                     labels={WORKLOAD_LABEL: workload})
    try:
        s = remote(sshd, settings)
        s.prometheus_url = prometheus.url
        app = AituiApp(s)
        app.store.default = workload  # the charts show it
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one(ResourceBrowser).table()
            await until(pilot, lambda: workload in table.rows, 60, "the remote engine's workload")
            await until(pilot, lambda: app.images, 30, "its images")
            health_ = app.query_one(StatusBar).health["docker"]
            assert health_ is not None and health_.ok
            grid = app.query_one(ChartGrid)
            await pilot.press("c")
            cpu = app.query_one("#chart-requests", Chart)  # the first slot, showing CPU on this page
            await until(pilot, lambda: [x.name for x in cpu.series if x.points] == [c.name], 120,
                        "the remote replica's CPU from the engine's stats")
            assert grid.fallback == f"cannot scrape the replicas on ssh://127.0.0.1:{sshd.port} from this machine"
            assert str(cpu.border_title).startswith("CPU cores · fallback")
    finally:
        c.remove(force=True)
