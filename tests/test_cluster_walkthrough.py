"""The README's walkthrough on the real cluster (`.ci/cluster up`), by keystrokes through the Textual pilot:
b builds and loads the image into the node, d applies manifests/base into a namespace that enforces the
restricted Pod Security Standard, t sends traffic through aitui's own port-forwards, + + to 4 pods under
load, p predicts, a change in serving/ then b and d roll it out, - - back to 2 (manifests/base's autoscaler
keeps 2 to 10: a third - asks before lowering its minimum) — zero failed requests and zero retries
throughout; then enter, l, e, r, a 403 for the limited user, :ns and ctrl+d. The charts come from a
Prometheus that found the pods through kubernetes_sd."""

from __future__ import annotations

import shutil
import time

import pytest
from cluster import ADMIN, LIMITED, Cluster
from conftest import ROOT, wait_until
from test_app_actions import building, cell, traffic, until
from test_walkthrough import link_or_copy

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.images import recognizer_tag
from aitui.services.labels import NAME as WORKLOAD
from aitui.ui.browser import ResourceTable
from aitui.ui.charts import Chart
from aitui.ui.dialogs import ConfirmScreen, NumberScreen, PredictionScreen

pytestmark = pytest.mark.docker


async def command(pilot, line: str) -> None:
    await pilot.press("colon", *[ch if ch != " " else "space" for ch in line], "enter")


def pod_images(cluster: Cluster, namespace: str) -> set[str]:
    pods = cluster.get("pods", "-n", namespace, "-l", "app.kubernetes.io/name=recognizer")["items"]
    return {p["spec"]["containers"][0]["image"] for p in pods if not p["metadata"].get("deletionTimestamp")}


@pytest.mark.timeout(1500)  # two builds (one retrains) and rollouts: ~2 min here, 10+ under load
async def test_the_cluster_walkthrough_loses_no_request(cluster, namespace, cluster_image, settings, tmp_path,
                                                        monkeypatch) -> None:
    serving = tmp_path / "serving"
    shutil.copytree(ROOT / "serving", serving, copy_function=link_or_copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = AituiApp(Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                            prometheus_url=cluster.prometheus_url, base_image=settings.base_image,
                            serving_dir=str(serving), timeout=5))
    marks: dict[str, float] = {}
    t0 = time.monotonic()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        activity = app.query_one("#activity-log")

        def said(text: str) -> bool:
            return any(text in line for line in activity.lines)

        # 1. b builds (the layers are cached) and loads the image into the node's containerd
        await until(pilot, lambda: app.images, 30, "the image list")
        await pilot.press("b")
        await until(pilot, lambda: building(app) is None and said(f"build: {cluster_image} ("), 600, "the build")
        await until(pilot, lambda: said(f"publish: {cluster_image} is already on the node")
                    or said(f"publish: load {cluster_image}: "), 120, "the image on the node")
        marks["1 build + load"] = time.monotonic() - t0

        # 2. d applies manifests/base; the real admission accepts it; the pod turns Ready by its probes
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert any("applies manifests/base server-side" in line for line in app.screen.lines)
        await pilot.press("y")
        # (manifests/base's autoscaler keeps 2 to 10: the deploy says so and starts with 2)
        await until(pilot, lambda: WORKLOAD in app.workloads and cell(app, "ready") == "2/2", 180, "2/2 ready")
        assert said(f'deployment "{WORKLOAD}" successfully rolled out')
        assert said("deploy: 1 replica(s) is below the autoscaler's minimum: 2")
        marks["2 deploy"] = time.monotonic() - t0

        # 3. t: traffic through aitui's port-forwards (no kubectl); the charts come from kubernetes_sd
        await pilot.press("t")
        assert isinstance(app.screen, NumberScreen)
        await pilot.press("enter")
        await until(pilot, lambda: said("traffic: port-forward through the API server: 127.0.0.1:"), 30,
                    "which pod and port the traffic uses")
        charts = {c.query_name: c for c in app.query(Chart)}
        await until(pilot, lambda: any(s.points for s in charts["requests"].series)
                    and any(s.points for s in charts["latency"].series), 60, "requests/s and latency charted")
        marks["3 traffic charted"] = time.monotonic() - t0

        # 4. + + to 4 pods under load; a line per pod in the requests chart
        await pilot.press("plus", "plus")
        await until(pilot, lambda: cell(app, "ready") == "4/4", 180, "4/4 ready")
        await until(pilot, lambda: len({s.name for s in charts["requests"].series if s.points} - {"all"}) == 4, 60,
                    "a line per pod in the requests chart")
        assert traffic(app) is not None
        stats = traffic(app).stats
        assert (stats.failed, stats.retried) == (0, 0), stats
        marks["4 scaled to 4"] = time.monotonic() - t0

        # 5. p predicts through a port-forward
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30, "the prediction")
        assert isinstance(app.screen, PredictionScreen) and app.screen.labels[0][0] == app.screen.sample
        assert app.screen.detail.startswith("pod/recognizer-")
        await pilot.press("escape")

        # 6. a change in serving/, b (loads the new image), d: a rolling update with no failed request
        server = serving / "recognizer" / "server.py"
        text = server.read_text()
        server.unlink()  # a new file, not a write through the hard link to the repository's copy
        server.write_text(text + f"\n# cluster walkthrough change {time.time()}\n")
        await pilot.press("b")
        new = recognizer_tag(serving)
        assert new != cluster_image
        await until(pilot, lambda: building(app) is None and said(f"publish: load {new}: "), 900, "rebuild and load")
        await until(pilot, lambda: any(new in i.tags for i in app.images), 30, "the new image in Images")
        app.query_one("#workloads").focus()
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen) and any("rollout from" in line for line in app.screen.lines)
        await pilot.press("y")
        await until(pilot, lambda: pod_images(cluster, namespace) == {new} and cell(app, "ready") == "4/4"
                    and said(f'deployment "{WORKLOAD}" successfully rolled out') and app.workloads[WORKLOAD].image
                    == new, 300, "the rollout to the new image")
        assert (stats.failed, stats.retried) == (0, 0), stats
        marks["6 rollout"] = time.monotonic() - t0

        # 7. - - back to 2: the leaving pods drain; nothing fails. A third - is below the autoscaler's minimum:
        # aitui asks before lowering it (ui/operations.py); n leaves everything as it is
        await pilot.press("minus", "minus")
        await until(pilot, lambda: cell(app, "ready") == "2/2" and len(app.target.pods(WORKLOAD)) == 2, 180,  # type: ignore[union-attr]
                    "back to 2")
        await pilot.press("minus")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the autoscaler's question")
        assert any("lower its minimum from 2 to 1" in line for line in app.screen.lines)  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: cell(app, "ready") == "2/2", 10, "the count shown as it is")
        assert (stats.failed, stats.retried) == (0, 0) and stats.ok > 200, stats
        await pilot.press("t")
        assert said(f"traffic: stopped after {stats.sent} requests, {stats.ok} ok, 0 failed, 0 retried")
        marks["7 scaled to 2"] = time.monotonic() - t0

        # enter: the pods; l: that pod's log, followed through the kubelet; e: the real Events
        await pilot.press("enter")
        pods = app.query_one("#pods", ResourceTable)
        await until(pilot, lambda: pods.display and pods.row_count == 2, 30, "the pods view")
        await pilot.press("l")
        log = app.query_one("#pod-log")
        await until(pilot, lambda: log.line_count > 0, 30, "the pod's log")
        await pilot.press("escape", "e")
        events = app.query_one("#events-log")
        await until(pilot, lambda: any("Scheduled" in line for line in events.lines)
                    and any("ScalingReplicaSet" in line for line in events.lines), 30, "the cluster's events")

        # :svc: the real Service, its cluster IP and endpoints counted from the pods; esc esc: the workloads
        await pilot.press("escape")
        await command(pilot, "svc")
        services = app.query_one("#services", ResourceTable)
        await until(pilot, lambda: WORKLOAD in services.rows and str(services.get_cell(WORKLOAD, "endpoints")) == "2/2",
                    30, "the Service with 2 ready endpoints")
        assert str(services.get_cell(WORKLOAD, "type")) == "ClusterIP"
        assert str(services.get_cell(WORKLOAD, "address")).count(".") == 3
        assert "8501/TCP" in str(services.get_cell(WORKLOAD, "ports"))
        await pilot.press("escape", "escape")

        # r: a rollout restart, the pod replaced
        before = {p.name for p in app.target.pods(WORKLOAD)}  # type: ignore[union-attr]
        await pilot.press("r")  # it asks first: every replica is replaced
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "the restart's question")
        assert any(f"Replace every replica of {WORKLOAD} on {ADMIN}," in line
                   for line in app.screen.lines), app.screen.lines  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: said(f"restart {WORKLOAD}: deployment \"{WORKLOAD}\" successfully rolled out"),
                    180, "the restart")
        def serving_pods() -> set[str]:  # the pods watch may show the old pods' deletion a moment after
            return {p.name for p in app.target.pods(WORKLOAD) if p.status != "Terminating"}  # type: ignore[union-attr]

        await until(pilot, lambda: len(serving_pods()) == 2 and not before & serving_pods(), 30,
                    "only new pods serving")

        async def as_user(context: str) -> None:  # :ctx, then :ns to the walkthrough's namespace
            await command(pilot, f"ctx {context}")
            await until(pilot, lambda: app.settings.context == context, 10, f"the switch to {context}")
            await command(pilot, f"ns {namespace}")
            await until(pilot, lambda: app.settings.namespace == namespace and WORKLOAD in app.workloads, 30,
                        f"{context}'s view of the workload")

        # the limited user reads but may not scale: the server's 403, in its words
        await as_user(LIMITED)
        await pilot.press("plus")
        await until(pilot, lambda: said("forbidden (RBAC)") and said('User "aitui-limited" cannot patch'), 30,
                    "the 403")
        # back as the admin: ctrl+d deletes what deploy applied
        await as_user(ADMIN)
        await pilot.press("ctrl+d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: WORKLOAD not in app.workloads, 60, "the workload deleted")
        def gone(kind: str) -> bool:  # the server says NotFound: not any kubectl failure (a restart, a timeout)
            done = cluster.kubectl("get", kind, WORKLOAD, "-n", namespace, check=False)
            said = f'Error from server (NotFound): {kind} "{WORKLOAD}" not found'
            return done.returncode != 0 and said in done.stderr

        wait_until(lambda: gone("deployments.apps"), 30, "the Deployment gone from the server")
        for kind in ("services", "horizontalpodautoscalers.autoscaling", "poddisruptionbudgets.policy",
                     "networkpolicies.networking.k8s.io", "serviceaccounts"):  # the rest of manifests/base
            wait_until(lambda kind=kind: gone(kind), 30, f"{kind}/{WORKLOAD} gone from the server")
        await pilot.press("q")
    assert app.return_code == 0
    print("cluster walkthrough:", ", ".join(f"{k} {v:.1f}s" for k, v in marks.items()),
          f"requests {stats.ok} ok, 0 failed, 0 retried")
