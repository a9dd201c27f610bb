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
from aitui.services.targets import Forbidden
from aitui.services.targets.kubernetes import KubeTarget
from aitui.ui.browser import ResourceTable

pytestmark = pytest.mark.docker


async def test_nodes_and_events_views_on_the_local_engine(docker_client, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = AituiApp(Settings(kubeconfig=str(tmp_path / "none"), prometheus_url=f"http://127.0.0.1:{free_port()}"))
    info = docker_client.info()
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

        await command(pilot, "ev")  # the workload's events as rows, newest first (none if nothing ran lately)
        events = app.query_one("#ev", ResourceTable)

        def listed() -> bool:
            shown = str(events.border_subtitle)
            return events.display and (shown == "no events in the last hour" if not events.row_count
                                       else shown.endswith(f" of {events.row_count}"))

        await until(pilot, listed, 15, "the events view")
        await pilot.press("escape")  # the views stack: esc pops to the nodes, then to the workloads
        await until(pilot, lambda: nodes.display, 5, "back to the nodes")
        await pilot.press("escape")
        await until(pilot, lambda: app.query_one("#workloads", ResourceTable).display, 5, "back to the workloads")


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
