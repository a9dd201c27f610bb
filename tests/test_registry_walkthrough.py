"""The cluster walkthrough through the registry, by keystrokes through the Textual pilot: a context whose images
go to the real registry (.ci/registry); b builds and pushes with Docker's credentials (each layer said in
Activity), d deploys by digest and makes the namespace's pull secret (said), the node pulls from the registry
through it, t sends traffic through aitui's port-forwards; a change in serving/ then b and d roll the new digest
out — zero failed requests and zero retries throughout."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from cluster import ADMIN, Cluster
from conftest import ROOT
from test_app_actions import building, cell, traffic, until
from test_walkthrough import link_or_copy

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services import registry as reg
from aitui.services.images import recognizer_tag
from aitui.services.labels import NAME as WORKLOAD
from aitui.ui.dialogs import ConfirmScreen, NumberScreen

pytestmark = pytest.mark.docker
PATH = "aitui-walk"


def pod_images(cluster: Cluster, namespace: str) -> set[str]:
    pods = cluster.get("pods", "-n", namespace, "-l", "app.kubernetes.io/name=recognizer")["items"]
    return {p["spec"]["containers"][0]["image"] for p in pods if not p["metadata"].get("deletionTimestamp")}


@pytest.mark.timeout(1500)
async def test_the_walkthrough_through_the_registry_loses_no_request(cluster, namespace, registry, docker_config,
                                                                    recognizer_image, settings, tmp_path,
                                                                    monkeypatch) -> None:
    serving = tmp_path / "serving"
    shutil.copytree(ROOT / "serving", serving, copy_function=link_or_copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    docker_config({registry.host: (registry.user, registry.password)})  # `docker login`'s
    repository = f"{registry.host}/{PATH}/recognizer"
    app = AituiApp(Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                            prometheus_url=cluster.prometheus_url, base_image=settings.base_image,
                            serving_dir=str(serving), timeout=5,
                            cluster_images={ADMIN: f"registry://{registry.host}/{PATH}"}))
    marks: dict[str, float] = {}
    t0 = time.monotonic()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        activity = app.query_one("#activity-log")

        def said(pattern: str) -> bool:
            return any(re.search(pattern, line) for line in activity.lines)

        # 1. b builds (cached) and pushes: each layer, then the digest
        await until(pilot, lambda: app.images, 30, "the image list")
        await pilot.press("b")
        tag = recognizer_image.rsplit(":", 1)[1]
        await until(pilot, lambda: building(app) is None and said(rf"^pushed {re.escape(repository)}:{tag} in "), 600,
                    "the build and the push")
        assert said(r"^push [0-9a-f]{12}: (pushed \([\d.]+ MB\)|layer already exists)$")
        first = registry.digest(f"{PATH}/recognizer", tag)
        marks["1 build + push"] = time.monotonic() - t0

        # 2. d: the plan names the registry; the pods pull by digest through the pull secret aitui makes
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert any(line.startswith(f"push:      to {registry.host}/{PATH} ") for line in app.screen.lines)
        await pilot.press("y")
        await until(pilot, lambda: WORKLOAD in app.workloads and cell(app, "ready") == "2/2", 300, "2/2 ready")
        assert said(rf"deploy: created secret/{reg.secret_name(registry.host)} in {namespace}: the pods pull from ")
        assert app.workloads[WORKLOAD].image == f"{repository}@{first}"
        assert cell(app, "image") == f"recognizer@{first[:19]}"
        assert pod_images(cluster, namespace) == {f"{repository}@{first}"}
        marks["2 deploy by digest"] = time.monotonic() - t0

        # 3. t: traffic through aitui's port-forwards
        await pilot.press("t")
        assert isinstance(app.screen, NumberScreen)
        await pilot.press("enter")
        await until(pilot, lambda: traffic(app) is not None and traffic(app).stats.ok > 50, 60, "answered requests")
        stats = traffic(app).stats

        # 4. a change in serving/, b pushes the new image (the base's layers already there), d rolls it out
        server = serving / "recognizer" / "server.py"
        text = server.read_text()
        server.unlink()  # a new file, not a write through the hard link to the repository's copy
        server.write_text(text + f"\n# registry walkthrough change {time.time()}\n")
        await pilot.press("b")
        new = recognizer_tag(serving)
        new_tag = new.rsplit(":", 1)[1]
        await until(pilot, lambda: building(app) is None and said(rf"^pushed {re.escape(repository)}:{new_tag} in .*"
                                                                  r"[1-9]\d* of \d+ layers already there"), 900,
                    "the rebuild and its push")
        second = registry.digest(f"{PATH}/recognizer", new_tag)
        assert second != first
        app.query_one("#workloads").focus()
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen) and any("rollout from" in line for line in app.screen.lines)
        await pilot.press("y")
        await until(pilot, lambda: pod_images(cluster, namespace) == {f"{repository}@{second}"}
                    and cell(app, "ready") == "2/2" and app.workloads[WORKLOAD].image == f"{repository}@{second}",
                    300, "the rollout to the new digest")
        marks["4 rollout by digest"] = time.monotonic() - t0
        assert (stats.failed, stats.retried) == (0, 0) and stats.ok > 100, stats
        await pilot.press("t")
        assert said(f"traffic: stopped after {stats.sent} requests, {stats.ok} ok, 0 failed, 0 retried")
        dep = cluster.get("deployment", WORKLOAD, "-n", namespace)
        assert dep["metadata"]["annotations"]["kubernetes.io/change-cause"] == f"aitui deploy {repository}:{new_tag}"
        await pilot.press("q")
    assert app.return_code == 0
    print("registry walkthrough:", ", ".join(f"{k} {v:.1f}s" for k, v in marks.items()),
          f"requests {stats.ok} ok, 0 failed, 0 retried")
