"""The log view and the charts' fallback on the real cluster (issue 14, items 4 and 8): a Deployment's pod
whose container crashed once and was restarted by the kubelet; `l` follows it, `p` shows the previous
container (the kubelet's previous=true), and a pod that never restarted says so. Without metrics-server the
stats fallback says what is missing."""

from __future__ import annotations

import json
import os

import pytest
from cluster import ADMIN
from conftest import wait_until
from test_app_actions import until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.targets import NotFound
from aitui.services.targets.kubernetes import KubeTarget
from aitui.ui.browser import ResourceBrowser
from aitui.ui.logs import PodLog

# first run: two lines and a crash; the kubelet restarts the container, whose emptyDir remembers it ran
SCRIPT = """import os, sys, time
if os.path.exists("/data/ran"):
    print("second run", flush=True)
    i = 0
    while True:
        print(f"tick {i}", flush=True); i += 1; time.sleep(0.5)
open("/data/ran", "w").close()
print("first run", flush=True); print("ERROR boom 42", flush=True); sys.exit(3)
"""


def deployment(name: str, image: str, script: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "securityContext": {"runAsNonRoot": True, "runAsUser": 65532,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "volumes": [{"name": "data", "emptyDir": {}}],
                         "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                         "command": ["python", "-c", script],
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                         "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}]}}}}


async def test_previous_container_on_the_cluster(cluster, namespace, cluster_image, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    name = f"crashy-{os.urandom(3).hex()}"
    calm = f"calm-{os.urandom(3).hex()}"
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(deployment(name, cluster_image, SCRIPT)))
    cluster.kubectl("apply", "-n", namespace, "-f", "-",
                    input=json.dumps(deployment(calm, cluster_image, "import time; print('hi', flush=True); "
                                                                     "time.sleep(600)")))
    settings = Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                        prometheus_url=cluster.prometheus_url, timeout=5)
    target = KubeTarget(settings, ADMIN, namespace)
    try:
        def restarted() -> bool:
            pods = target.pods(name)
            return len(pods) == 1 and pods[0].restarts >= 1 and pods[0].status == "Running"

        wait_until(restarted, 120, "the kubelet to restart the crashed container")
        [pod] = target.pods(name)

        def previous_run() -> list[str]:
            # the kubelet may report the restart before the exited container's log is complete: read it again
            lines = list(target.logs(pod.name, previous=True, timestamps=True))
            if not any(line.endswith("ERROR boom 42") for line in lines):
                raise LookupError(f"previous container's log (restarts {target.pods(name)[0].restarts}): {lines}")
            return lines

        previous = wait_until(previous_run, 30, "the first run's log as the previous container")
        assert isinstance(previous, list) and not any("tick" in line for line in previous), previous
        wait_until(lambda: [p.status for p in target.pods(calm)] == ["Running"], 120, "the calm pod")
        [quiet] = target.pods(calm)
        with pytest.raises(NotFound, match="no previous container: it has not restarted"):
            list(target.logs(quiet.name, previous=True))

        # no metrics-server on this cluster: the charts' fallback says what is missing
        served = cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1", check=False).returncode == 0
        if served:
            assert all(s.source == "metrics-server" for s in target.stats(name))
        else:
            with pytest.raises(NotFound, match=r"no metrics-server on aitui-admin: the metrics\.k8s\.io API is not"):
                target.stats(name)
    finally:
        target.close()

    app = AituiApp(settings)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one(ResourceBrowser).table()
        await until(pilot, lambda: name in table.rows, 30, "the deployment listed")
        table.focus()
        table.move_cursor(row=table.get_row_index(name))
        await pilot.press("l", "z")
        log = app.query_one(PodLog)
        await until(pilot, lambda: any("tick" in line for line in log.lines), 30, "the live log")
        await pilot.press("p")
        await until(pilot, lambda: any("ERROR boom 42" in line for line in log.lines), 30, "the previous container")
        assert not any("tick" in line for line in log.lines)
        assert all(line.startswith(f"{pod.name[-6:]} │ ") for line in log.lines)
        await pilot.press("p")
        await until(pilot, lambda: any("tick" in line for line in log.lines), 30, "the live log again")


async def test_charts_without_prometheus_on_a_cluster_without_metrics_server(cluster, namespace, tmp_path,
                                                                             monkeypatch) -> None:
    """Prometheus down (a dead port) on the real cluster, which serves no metrics.k8s.io: the CPU and memory
    charts say what is missing, and Activity says it once."""
    from conftest import free_port, missing

    from aitui.ui import chart_grid
    from aitui.ui.charts import Chart

    if cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1", check=False).returncode == 0:
        missing("a cluster without metrics.k8s.io (this one serves it, so the fallback has numbers)",
                "the project's own cluster has no metrics-server: ./.ci/cluster up")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(chart_grid, "EVERY", 1.0)
    app = AituiApp(Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                            prometheus_url=f"http://127.0.0.1:{free_port()}", timeout=5))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("c")
        cpu, memory = list(app.query(Chart))[:2]
        missing = "no metrics-server on aitui-admin: the metrics.k8s.io API is not served"
        await until(pilot, lambda: all(c.series and missing in c.series[0].error for c in (cpu, memory)), 30,
                    "the fallback's reason on the CPU and memory charts")
        assert str(cpu.border_title).startswith("CPU cores · fallback")
        said = [str(line) for line in app.query_one("#activity-log").lines]
        assert sum(f"charts: no fallback either: {missing}" in line for line in said) == 1, said
