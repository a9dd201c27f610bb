"""Kinds added through the registry alone (a model, a target method, one file in ui/resources, one line):
Nodes and Events as a list, on the real local engine and the real cluster."""

from __future__ import annotations

import os

import pytest
from cluster import ADMIN, LIMITED, Cluster
from conftest import free_port
from test_app_actions import until
from test_app_kube import command, notices

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services import labels
from aitui.services.targets import Forbidden
from aitui.services.targets.kubernetes import KubeTarget
from aitui.services.targets.local import WORKLOAD_LABEL
from aitui.ui.browser import ResourceTable

pytestmark = pytest.mark.docker


async def test_nodes_and_events_views_on_the_local_engine(docker_client, settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    # the events view's workload is this test's own, whose one replica ran and exited 3: its events are known
    workload = f"ev-{os.urandom(3).hex()}"
    monkeypatch.setattr(labels, "NAME", workload)
    replica = docker_client.containers.run(settings.base_image, ["sh", "-c", "exit 3"], detach=True,
                                           name=f"{workload}-0", labels={WORKLOAD_LABEL: workload})
    replica.wait(timeout=30)
    app = AituiApp(Settings(kubeconfig=str(tmp_path / "none"), prometheus_url=f"http://127.0.0.1:{free_port()}"))
    info = docker_client.info()
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await command(pilot, "nodes")
            nodes = app.query_one("#nodes", ResourceTable)
            await until(pilot, lambda: nodes.display and nodes.row_count == 1, 15, "the engine's machine")
            name = info["Name"]
            assert (nodes.get_cell(name, "status"), nodes.get_cell(name, "cpus")) == ("Ready", str(info["NCPU"]))
            assert nodes.get_cell(name, "version") == f"docker {info['ServerVersion']}"
            assert nodes.border_subtitle == "1/1 ready" and nodes.border_title.startswith("Nodes (local)")
            await pilot.press("plus")  # a verb of another view says so and sends nothing
            assert "+ / - does not apply to nodes" in notices(app)

            await command(pilot, "ev")  # the workload's events as rows, newest first
            events = app.query_one("#ev", ResourceTable)
            await until(pilot, lambda: events.display and events.row_count >= 3, 15, "the replica's events")
            rows = [{c: str(events.get_cell(key, c)) for c in ("type", "reason", "object", "message")}
                    for key in list(events.rows)]
            assert [r["reason"] for r in rows[:3]] == ["die", "start", "create"], rows  # newest first
            assert {r["object"] for r in rows} == {replica.name}, rows
            assert (rows[0]["type"], rows[0]["message"]) == ("Warning", "exit code 3"), rows  # a replica that failed
            assert all(r["type"] == "Normal" for r in rows[1:]), rows
            assert str(events.border_subtitle) == f"1 warnings of {events.row_count}"
            await pilot.press("escape")  # the views stack: esc pops to the nodes, then to the workloads
            await until(pilot, lambda: nodes.display, 5, "back to the nodes")
            await pilot.press("escape")
            await until(pilot, lambda: app.query_one("#workloads", ResourceTable).display, 5, "back to the workloads")
    finally:
        replica.remove(force=True)


def test_nodes_on_the_real_cluster_and_the_limited_users_403(cluster: Cluster) -> None:
    settings = Settings(kubeconfig=str(cluster.kubeconfig), timeout=10)
    admin = KubeTarget(settings, ADMIN, "aitui")
    try:
        (node,) = admin.nodes()
        assert (node.name, node.status) == ("localhost", "Ready")
        assert node.version.startswith("v1.37") and node.cpus == os.cpu_count() and node.memory > 1 << 30
    finally:
        admin.close()
    limited = KubeTarget(settings, LIMITED, "aitui")
    try:
        with pytest.raises(Forbidden, match="nodes"):  # cluster-scoped: a namespace reader may not list them
            limited.nodes()
    finally:
        limited.close()
