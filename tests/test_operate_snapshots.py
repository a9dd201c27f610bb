"""SVG snapshots of the screens of issue 14's items 2, 5 and 6 at 80x24 and 120x36 over fixed data: the YAML
of a Deployment (managedFields folded) and a search in it, its describe, the autoscalers (a cluster's, and
the local engine saying it has none), the revisions, and the dialogs of a rollback and of a scale beyond
the autoscaler's bounds. The target is canned, with a cluster's answers (tests/snapshot_app.py's app)."""

from __future__ import annotations

import calendar
from dataclasses import replace

import pytest
from snapshot_app import CannedTarget, SnapshotApp, drawn, settled, workloads

from aitui.models import Autoscaler, Event, Revision, Workload
from aitui.services.describe import describe
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.targets import Unsupported
from aitui.ui.dialogs import ConfirmScreen
from aitui.ui.yaml_view import ObjectScreen

SIZES = [(80, 24), (120, 36)]
NOW = calendar.timegm((2026, 11, 25, 15, 0, 0))  # describe's absolute times: fixed, so the SVG is
IMAGE = "aitui/recognizer:0.1.0-3f2c1a9"


def deployment() -> dict:
    labels = {"app.kubernetes.io/name": WORKLOAD, "app.kubernetes.io/instance": WORKLOAD}
    return {
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": WORKLOAD, "namespace": "default", "uid": "b182cf52-74a3-442b-90a2-2de14c770fe3",
                     "resourceVersion": "145505", "generation": 3, "creationTimestamp": "2026-11-25T14:45:00Z",
                     "labels": {**labels, "app.kubernetes.io/part-of": "aitui"},
                     "annotations": {"deployment.kubernetes.io/revision": "3"},
                     "managedFields": [{"manager": "aitui", "operation": "Apply"},
                                       {"manager": "kube-controller-manager", "operation": "Update"},
                                       {"manager": "aitui", "operation": "Update"}]},
        "spec": {"replicas": 3, "revisionHistoryLimit": 5, "selector": {"matchLabels": labels},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "containers": [{"name": "recognizer", "image": IMAGE,
                                     "ports": [{"name": "http", "containerPort": 8501, "protocol": "TCP"}],
                                     "resources": {"requests": {"cpu": "250m", "memory": "128Mi"},
                                                   "limits": {"cpu": "1", "memory": "512Mi"}},
                                     "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}}}],
                     "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}}},
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                   "observedGeneration": 3,
                   "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                   "message": "Deployment has minimum availability."},
                                  {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                                   "message": 'ReplicaSet "recognizer-6695965f8d" has successfully progressed.'}]}}


EVENTS = [Event(NOW - 840, "Normal", "ScalingReplicaSet", "deployment-controller",
                "Scaled up replica set recognizer-6695965f8d from 0 to 1"),
          Event(NOW - 600, "Normal", "ScalingReplicaSet", "deployment-controller",
                "Scaled up replica set recognizer-6695965f8d from 2 to 3")]


class ClusterTarget(CannedTarget):
    """A cluster's answers: the workload under an HPA (2..10), three revisions, a Deployment to show."""

    name, namespace, where, namespaced = "kind-demo", "default", "kind-demo/default", True

    def workloads(self) -> list[Workload]:
        return [replace(w, autoscaler=(2, 10)) for w in workloads(self.now)]

    def manifest(self, kind: str, name: str) -> dict:
        return deployment()

    def describe(self, kind: str, name: str) -> str:
        return describe(deployment(), EVENTS, now=NOW)

    def autoscalers(self) -> list[Autoscaler]:
        return [Autoscaler(WORKLOAD, WORKLOAD, 2, 10, 3, 3, "cpu: 41%/70%", self.now - 540, self.now - 900)]

    def revisions(self, workload: str | None = None) -> list[Revision]:
        return [Revision(f"{WORKLOAD}-{h}", WORKLOAD, n, f"aitui/recognizer:0.1.0-{tag}", self.now - age, pods,
                         n == 3, cause)
                for n, h, tag, age, pods, cause in (
                    (1, "c97b6f59c", "9ab01c4", 7200, 0, ""), (2, "7d9f8c6b5", "c0ffee1", 3600, 0, ""),
                    (3, "6695965f8d", "3f2c1a9", 900, 3, "aitui deploy"))]


class LocalTarget(CannedTarget):
    def autoscalers(self) -> list[Autoscaler]:
        raise Unsupported("the local Docker engine has no autoscaler: a workload runs the replicas + / - / s ask for")


class ClusterApp(SnapshotApp):
    def __init__(self, cluster: bool = True) -> None:
        super().__init__()
        if cluster:
            self.settings.context, self.settings.namespace = "kind-demo", "default"
        self.target = (ClusterTarget if cluster else LocalTarget)(self.now)  # type: ignore[assignment]




def object_read(app) -> bool:
    return isinstance(app.screen, ObjectScreen) and app.screen.text is not None


def searched(app, needle: str) -> bool:
    """The whole needle searched for, and the text scrolled to its first match (scroll_to waits a refresh)."""
    if not object_read(app) or app.screen.query_one("#find").value != needle or not app.screen.matches:
        return False
    scroll = app.screen.query_one("#text")
    return scroll.scroll_y == min(max(0, app.screen.matches[0][0] - 3), scroll.max_scroll_y)


SCREENS = {
    "yaml": (["y"], object_read),
    "yaml-search": (["y", "slash", "8", "5", "0", "1"], lambda app: searched(app, "8501")),
    "describe": (["i"], object_read),
    "hpa": (["colon", "h", "p", "a", "enter"], lambda app: app.query_one("#hpa").row_count == 1),
    "revisions": (["colon", "r", "s", "enter"], lambda app: app.query_one("#revisions").row_count == 3),
    "rollback": (["u"], lambda app: isinstance(app.screen, ConfirmScreen)),
    "scale-beyond-hpa": (["s", "end", "backspace", "1", "2", "enter"],
                         lambda app: isinstance(app.screen, ConfirmScreen)),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_operate(snap_compare, screen: str, size: tuple[int, int]) -> None:
    keys, ready = SCREENS[screen]

    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press(*keys)
        await drawn(pilot, lambda: ready(pilot.app), screen)

    assert snap_compare(ClusterApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_local_engine_has_no_autoscaler(snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press("colon", "h", "p", "a", "enter")
        await drawn(pilot, lambda: pilot.app.query_one("#hpa").row_count == 1, "the one row")

    assert snap_compare(ClusterApp(cluster=False), terminal_size=size, run_before=run_before)
