"""Keystrokes on a Kubernetes context, through the Textual pilot, against the API-server stand-in:
switching context and namespace, the pods drill-down and its logs, scale through /scale, deploy by
server-side apply, and failures (403, unreachable cluster, unknown context) as messages."""

from __future__ import annotations

import pytest
from conftest import deployment, free_port, kube_client
from test_app_actions import until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.ui.browser import ResourceTable
from aitui.ui.contexts import Contexts
from aitui.ui.dialogs import ConfirmScreen, NumberScreen
from aitui.ui.header import StatusBar
from aitui.ui.images import ImagesTable


@pytest.fixture
def kube_settings(standin, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return Settings(kubeconfig=str(standin.kubeconfig_path), prometheus_url=f"http://127.0.0.1:{free_port()}",
                    timeout=2)


async def command(pilot, line: str) -> None:
    await pilot.press("colon")
    for ch in line:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


def docker_image_id(tag: str) -> str:
    import docker

    return str(docker.from_env().images.get(tag).id).removeprefix("sha256:")[:12]


def notices(app: AituiApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def switch(app: AituiApp, pilot, context: str) -> None:
    await until(pilot, lambda: context in app.query_one(Contexts).contexts, 10, "the kubeconfig's contexts")
    await command(pilot, f"ctx {context}")
    await until(pilot, lambda: app.settings.context == context, 10, f"the switch to {context}")


async def test_context_switch_drill_down_logs_and_scale(standin, kube_settings) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web", replicas=2))
    app = AituiApp(kube_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "web" in table.rows and str(table.get_cell("web", "ready")) == "2/2", 10,
                    "web ready in the workloads")
        status = app.query_one(StatusBar)
        assert (status.context, status.namespace) == ("standin", "default")
        assert "standin/default" in str(table.border_title)

        await pilot.press("enter")  # drill into the pods
        pods = app.query_one("#pods", ResourceTable)
        await until(pilot, lambda: pods.row_count == 2, 10, "two pods listed")
        assert pods.display and not table.display
        first = pods.selected
        assert first is not None and str(pods.get_cell(first, "status")) == "Running"
        await pilot.press("l")
        log = app.query_one("#pod-log")
        await until(pilot, lambda: any("ready on :8501" in line for line in log.lines), 10, "the pod's log")
        assert all(first[-6:] in line for line in log.lines)  # one pod only: its lines

        standin.cluster.log("default", first, "GET /v2/health/ready 200")
        await until(pilot, lambda: any("GET /v2/health" in line for line in log.lines), 10, "a new log line")
        app.screen.action_filter()  # focus moves in the same call: keys typed in a burst after / are not lost
        assert app.focused is app.query_one("#filter")
        await pilot.press("l", "o", "a", "d")  # search the log: only matching lines stay
        await until(pilot, lambda: list(log.lines) and all("load" in line for line in log.lines), 5, "the search")
        assert "1 of 3 lines" in str(log.border_subtitle)
        await pilot.press("escape")  # clears the search: every line is back
        await until(pilot, lambda: len(log.lines) == 3, 5, "all lines back")

        await pilot.press("e")
        events = app.query_one("#events-log")
        await until(pilot, lambda: any("ScalingReplicaSet" in line for line in events.lines), 10, "the events")
        assert all("web" in line for line in events.lines)

        await pilot.press("escape")
        assert table.display and app.focused is table
        await pilot.press("plus")  # how fast is measured by tests/bench/aitui_speed.py, not here
        assert str(table.get_cell("web", "ready")).endswith("/3")  # the new desired count, at once
        await until(pilot, lambda: apps.read_namespaced_deployment("web", "default").spec.replicas == 3, 5,
                    "the scale to reach the cluster")
        assert any(m == "PATCH" and "/deployments/web/scale" in p for m, p, _ in standin.cluster.requests)
        await until(pilot, lambda: str(table.get_cell("web", "ready")) == "3/3", 10, "3/3 from the watch")
        await pilot.press("plus", "plus")  # quicker than a round trip: the second counts from the first
        await until(pilot, lambda: str(table.get_cell("web", "ready")) == "5/5", 10, "5/5 after + +")
        assert apps.read_namespaced_deployment("web", "default").spec.replicas == 5

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, NumberScreen), 5, "the scale dialog")
        assert app.screen.query_one("Input").value == "5"  # prefilled with the current count
        await pilot.press("escape")

        await command(pilot, "scale 1")
        await until(pilot, lambda: str(table.get_cell("web", "ready")) == "1/1", 10, ":scale 1 applied")

        await command(pilot, "ns other")
        await until(pilot, lambda: app.settings.namespace == "other" and table.row_count == 0, 10, "namespace other")
        assert "standin/other" in str(table.border_title)


async def test_deploy_to_a_cluster_is_server_side_apply(standin, kube_settings, recognizer_image) -> None:
    app = AituiApp(kube_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        images = app.query_one(ImagesTable)
        await until(pilot, lambda: images.row_count > 0, 20, "the local images")
        images.focus()  # the image to deploy is the one the user selects
        images.move_cursor(row=images.get_row_index(docker_image_id(recognizer_image)))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the deploy dialog")
        text = " ".join(str(label.render()) for label in app.screen.query("Label"))
        assert "target:    standin" in text and "namespace: default" in text and recognizer_image in text
        await pilot.press("y")
        activity = app.query_one("#activity-log")
        await until(pilot, lambda: any("successfully rolled out" in line for line in activity.lines), 20,
                    "the rollout to finish")
        apps, _ = kube_client(standin)
        dep = apps.read_namespaced_deployment("recognizer", "default")
        assert dep.spec.template.spec.containers[0].image == recognizer_image
        assert "aitui" in {m.manager for m in dep.metadata.managed_fields}
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "recognizer" in table.rows, 10, "the workload listed")


async def test_cluster_failures_are_messages_and_the_app_keeps_working(standin, kube_settings, tmp_path) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web", replicas=1))
    standin.cluster.deny("patch", "deployments/scale")
    app = AituiApp(kube_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await command(pilot, "ctx nope")
        await until(pilot, lambda: "no context 'nope'" in notices(app), 5, "unknown context refused")
        assert app.settings.context == "local"
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "web" in table.rows, 10, "web listed")
        await pilot.press("plus")
        await until(pilot, lambda: "forbidden (RBAC)" in notices(app), 10, "the 403 as a message")
        assert 'cannot patch resource "deployments/scale"' in notices(app)
        await until(pilot, lambda: str(table.get_cell("web", "ready")) == "1/1", 5, "the count back to the truth")
        assert standin.token not in notices(app)

        standin.cluster.deny("list", "pods")  # the pods cache fails; the screen says so, nothing crashes
        await command(pilot, "ns other")
        await until(pilot, lambda: "forbidden" in str(table.border_subtitle), 10, "the list failure shown")
        standin.cluster.clear_faults()


async def test_read_only_context_refuses_changes(standin, kube_settings) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web", replicas=1))
    kube_settings.readonly_contexts = ["standin"]
    writes = [r for r in standin.cluster.requests if r[0] != "GET"]
    app = AituiApp(kube_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "web" in table.rows, 10, "web listed")
        assert app.query_one(StatusBar).readonly
        refusal = "read-only: 'standin' is not changed by aitui"

        def said_now(before: set[str]) -> list[str]:  # the notifications that came since `before`
            return [str(n.message) for n in app._notifications if n.identity not in before]

        for key in ("plus", "minus", "r", "ctrl+d", "d", "b", ":scale 4"):  # each refused on its own
            before = {n.identity for n in app._notifications}
            if key.startswith(":"):
                await command(pilot, key[1:])
            else:
                await pilot.press(key)
            await pilot.pause()
            assert said_now(before) == [refusal], (key, said_now(before))
            assert not isinstance(app.screen, ConfirmScreen), key
        assert [r for r in standin.cluster.requests if r[0] != "GET"] == writes  # nothing was sent
