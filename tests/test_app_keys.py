"""Every key, pressed through the Textual pilot, with its result checked on the screen and on the engine:
j/k, / on both lists, w and :window, ctrl+p, l (every replica's log merged), e and r on the local context,
b again to cancel a build; on a cluster context, ctrl+d, the scale dialog's bounds, and a context whose
kubeconfig names its own namespace."""

from __future__ import annotations

import os
import re
import time

import pytest
import requests
from conftest import deployment, free_port, kube_client, wait_until
from test_app_actions import app_settings, building, cell, until  # noqa: F401 - app_settings is a fixture
from test_app_kube import command, kube_settings, notices, switch  # noqa: F401 - kube_settings is a fixture
from textual.command import CommandPalette

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services import manifests
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.targets.kubernetes import PATHS, KubeTarget
from aitui.services.targets.local import LocalTarget
from aitui.ui.browser import ResourceTable
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.charts import Chart
from aitui.ui.dialogs import ConfirmScreen, NumberScreen
from aitui.ui.header import StatusBar
from aitui.ui.images import ImagesTable

OTHER = "recognizer-keys"  # a second local workload, so j/k and / have rows to move over and hide


def chart_titles(app: AituiApp) -> list[str]:
    return [str(c.border_title) for c in app.query(Chart)]


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", "/": "slash", ":": "colon", "-": "minus"}.get(ch, ch) for ch in text])


async def test_window_keys_command_and_palette(tmp_path, monkeypatch) -> None:
    """w cycles the charts' window 5m -> 15m -> 1h -> 5m; :window and the ctrl+p palette set it too. Each
    chart's title says the window, and the next Prometheus query uses it (the app's window)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = AituiApp(Settings(kubeconfig=str(tmp_path / "none"), docker_host="unix:///nonexistent", timeout=1,
                            prometheus_url=f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        for name, seconds in (("15m", 900), ("1h", 3600), ("5m", 300)):
            await pilot.press("w")
            grid = app.query_one(ChartGrid)
            assert grid.window == seconds and all(t.endswith(f"· {name}") for t in chart_titles(app)), chart_titles(app)
            assert f"charts: last {name}" in notices(app)
        await command(pilot, "window 1h")
        assert app.query_one(ChartGrid).window == 3600 and all(t.endswith("· 1h") for t in chart_titles(app))

        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), 5, "the command palette")
        await type_text(pilot, "charts: last 15m")
        palette = app.screen
        await until(pilot, lambda: palette.query_one("CommandList").option_count > 0, 5, "the palette's hits")
        await pilot.press("down", "enter")  # the first hit, the best match
        await until(pilot, lambda: app.query_one(ChartGrid).window == 900, 5, "the palette's choice applied")
        assert not isinstance(app.screen, CommandPalette)
        assert all(t.endswith("· 15m") for t in chart_titles(app))


@pytest.mark.docker
async def test_list_keys_logs_events_and_restart_on_local(app_settings, recognizer_image, docker_client,  # noqa: F811
                                                          prometheus) -> None:
    target = LocalTarget(app_settings)
    target.deploy(recognizer_image, 2, WORKLOAD)
    target.deploy(recognizer_image, 1, OTHER)
    before = {p.name for p in target.pods(WORKLOAD)}
    app = AituiApp(app_settings)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            table = app.query_one("#workloads", ResourceTable)
            images = app.query_one(ImagesTable)
            await until(pilot, lambda: {WORKLOAD, OTHER} <= set(table.rows) and cell(app, "ready") == "2/2"
                        and images.row_count >= 2, 30, "both workloads ready and the images listed")

            # j / k move the focused list's cursor, in the workloads and in the images
            assert app.focused is table
            table.move_cursor(row=0)
            first = table.selected
            await pilot.press("j")
            assert table.cursor_row == 1 and table.selected != first
            await pilot.press("k")
            assert table.cursor_row == 0 and table.selected == first
            images.focus()
            await pilot.pause()
            images.move_cursor(row=0)
            await pilot.press("j")
            assert images.cursor_row == 1
            await pilot.press("k")
            assert images.cursor_row == 0

            # / filters both lists as it is typed; esc brings every row back
            await pilot.press("slash")
            await type_text(pilot, "keys")
            await until(pilot, lambda: list(table.rows) == [OTHER], 5, "only the matching workload")
            assert images.row_count == 0  # no image is named like that
            await pilot.press("escape")
            await until(pilot, lambda: {WORKLOAD, OTHER} <= set(table.rows), 5, "every workload back")
            await pilot.press("slash")
            await type_text(pilot, "aitui/recognizer:")
            await until(pilot, lambda: images.row_count > 0 and all(  # the recognizer's: a ★ and its hash
                str(images.get_cell(k, "name")).startswith("★ ") for k in images.rows), 5, "recognizer images")
            assert table.row_count == 0
            await pilot.press("escape")
            await until(pilot, lambda: table.row_count >= 2 and images.row_count >= 2, 5, "all rows back")

            # l on the workloads list: every replica's log, merged, each line prefixed by its replica
            table.focus()
            await pilot.pause()
            table.move_cursor(row=table.get_row_index(WORKLOAD))
            await pilot.press("l")
            log = app.query_one("#pod-log")
            await until(pilot, lambda: {line.split(" │ ")[0] for line in log.lines} == {n[-6:] for n in before}, 20,
                        "both replicas' lines in the merged log")
            assert str(app.query_one("#bottom").get_tab("logs").label).endswith(f"{WORKLOAD} (all replicas)")

            # e on local: the engine's events for the selected workload's containers
            await pilot.press("e")
            events = app.query_one("#events-log")
            await until(pilot, lambda: sum(" start " in f" {line} " for line in events.lines) >= 2, 20,
                        "the replicas' start events")
            assert all(WORKLOAD in line for line in events.lines) and not any(OTHER in line for line in events.lines)

            # :svc, from the registry: each workload's published ports, its endpoints ready; enter: its pods;
            # a verb of another view is refused and says why; esc esc: back to the workloads
            await command(pilot, "svc")
            services = app.query_one("#services", ResourceTable)
            ports = sorted(e.rsplit(":", 1)[1] for e in target.endpoints(WORKLOAD))
            await until(pilot, lambda: WORKLOAD in services.rows and str(services.get_cell(WORKLOAD, "endpoints"))
                        == "2/2", 10, "the services view")
            assert str(services.get_cell(WORKLOAD, "ports")) == "8501->" + ",".join(ports)
            assert str(services.get_cell(OTHER, "type")) == "published" and services.border_title.startswith("Services")
            await pilot.press("plus")
            assert "+ / - does not apply to services" in notices(app)
            services.move_cursor(row=services.get_row_index(WORKLOAD))
            await pilot.press("enter")
            pods = app.query_one("#pods", ResourceTable)
            await until(pilot, lambda: pods.display and set(pods.rows) == before, 10, "the service's pods")
            await pilot.press("escape", "escape")
            await until(pilot, lambda: table.display and app.focused is table, 5, "back to the workloads")

            # r: a rollout restart, confirmed; every replica replaced, one at a time, and the count kept
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the restart dialog")
            await pilot.press("y")
            activity = app.query_one("#activity-log")
            await until(pilot, lambda: any(f"rollout {WORKLOAD}: 2 replicas on {recognizer_image}" in line
                                           for line in activity.lines), 120, "the rollout to finish")
            after = {p.name for p in target.pods(WORKLOAD)}
            assert len(after) == 2 and not after & before
            await until(pilot, lambda: cell(app, "ready") == "2/2", 20, "2/2 after the restart")
            assert all(requests.get(f"http://{e}/v2/health/ready", timeout=5).ok for e in target.endpoints(WORKLOAD))
    finally:
        target.delete(OTHER)


@pytest.mark.docker
async def test_b_again_cancels_the_build(docker_client, settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    slow = tmp_path / "slow"
    (slow / "recognizer").mkdir(parents=True)
    marker = os.urandom(8).hex()  # a new step each run (never cached), and a way to find its container
    (slow / "Dockerfile").write_text(f"FROM {settings.base_image}\nRUN echo {marker} && sleep 60\n")
    (slow / "recognizer" / "__init__.py").write_text('__version__ = "0.0.0-cancel"\n')
    app = AituiApp(Settings(serving_dir=str(slow), base_image=settings.base_image, timeout=2,
                            prometheus_url=f"http://127.0.0.1:{free_port()}", kubeconfig=str(tmp_path / "none")))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await until(pilot, lambda: app.images, 20, "the image list")
        await pilot.press("b")
        await until(pilot, lambda: any(marker in line for line in app.query_one("#build-log").lines), 60,
                    "the build to reach its slow step")
        tag = building(app).tag
        started = time.monotonic()
        await pilot.press("b")
        await until(pilot, lambda: building(app) is None, 20, "the build to stop")
        assert time.monotonic() - started < 50  # it stopped, rather than ending its 60 s step
        activity = list(app.query_one("#activity-log").lines)
        assert "build: cancelling" in activity and "build: build cancelled" in activity, activity
        assert "cancelled" in str(app.query_one("#bottom").get_tab("build").label)
    assert not docker_client.images.list(filters={"reference": tag})  # a cancelled build tags nothing
    wait_until(lambda: not [c for c in docker_client.containers.list(all=True)
                            if marker in " ".join(c.attrs["Config"].get("Cmd") or [])], 30,
               "the cancelled step's container to be removed")


IMAGE = "registry.example/aitui/recognizer:0.3.0-keys"


def served(standin) -> list[str]:
    """The objects deploy applies that the API server still has."""
    api = kube_client(standin)[0].api_client
    paths = ["{}/namespaces/default/{}/".format(*PATHS[f"{d['apiVersion']}/{d['kind']}"]) + d["metadata"]["name"]
             for d in manifests.render(Settings(), IMAGE, 1, "default")]
    return [p for p in paths if api.call_api(*api.param_serialize(
        "GET", p, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])[:4]).status != 404]


async def test_cluster_keys_scale_bounds_delete_and_the_contexts_namespace(standin, kube_settings) -> None:  # noqa: F811
    kube = KubeTarget(Settings(kubeconfig=str(standin.kubeconfig_path), timeout=3), "standin", "default")
    kube.deploy(IMAGE, 1)
    kube.close()
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("other", deployment("web-other", replicas=1))
    app = AituiApp(kube_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: WORKLOAD in table.rows and re.fullmatch(r"(\d+)/\1", cell(app, "ready")), 10,
                    "the recognizer listed, ready")
        table.move_cursor(row=table.get_row_index(WORKLOAD))

        # s: the dialog refuses what is out of its bounds and says why; a number within them scales
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, NumberScreen), 5, "the scale dialog")
        dialog = app.screen
        for wrong in ("65", "100"):
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, wrong)
            await pilot.press("enter")
            assert app.screen is dialog
            assert "enter a whole number from 0 to 64" in str(dialog.query_one("#why").render())
        await pilot.press("ctrl+a", "ctrl+k", "minus", "1", "enter")
        assert app.screen is dialog
        await pilot.press("ctrl+a", "ctrl+k", "3", "enter")
        assert app.screen is not dialog
        await until(pilot, lambda: apps.read_namespaced_deployment(WORKLOAD, "default").spec.replicas == 3, 10,
                    "3 replicas asked of the cluster")
        await until(pilot, lambda: cell(app, "ready") == "3/3", 10, "3/3 from the watch")

        # ctrl+d on a cluster: confirmed, every object deploy applied is deleted, the list follows
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the delete dialog")
        assert any("standin" in line and WORKLOAD in line for line in app.screen.lines)
        await pilot.press("y")
        await until(pilot, lambda: f"delete: {WORKLOAD} is gone" in app.query_one("#activity-log").lines, 15,
                    "the delete said")
        wait_until(lambda: not served(standin), 10, "every applied object gone from the API server")
        await until(pilot, lambda: WORKLOAD not in table.rows, 10, "the workload gone from the list")

        # a context whose kubeconfig names its own namespace: switching to it lands there
        await switch(app, pilot, "other")
        await until(pilot, lambda: list(table.rows) == ["web-other"], 10, "the other namespace's workloads")
        assert app.settings.namespace == "other" and app.query_one(StatusBar).namespace == "other"
        assert re.search(r"other/other\b", str(table.border_title)), table.border_title
