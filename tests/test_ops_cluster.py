"""Operating what is selected on the real cluster (`.ci/cluster up`), by keystrokes, each test in a fresh
namespace that enforces the restricted Pod Security Standard, with manifests/base deployed (its HPA keeps
2..10): the HPA next to the workload and in :hpa, + / - beyond its bounds moving them (confirmed), YAML and
describe of live objects and of a pod deleted while open, a shell through a real pseudo-terminal with
kubectl, a rollback to the previous ReplicaSet's template (and none without one), and the limited user's
403s said in the server's words."""

from __future__ import annotations

import pytest
from cluster import ADMIN, LIMITED, Cluster, on_node
from test_app_actions import traffic, until
from test_ops_local import command, no_shell_image, notices, run_in_tty, said, select_row  # noqa: F401 (a fixture)

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.targets import Forbidden, NoShell, NotFound
from aitui.services.targets.kubernetes import RESTARTED_AT, KubeTarget
from aitui.ui.browser import ResourceTable
from aitui.ui.dialogs import ConfirmScreen
from aitui.ui.yaml_view import ObjectScreen

pytestmark = pytest.mark.docker


def deployed(cluster: Cluster, namespace: str, image: str) -> KubeTarget:
    """manifests/base applied as d does (2 replicas: the HPA's minimum), rolled out."""
    target = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=10), ADMIN, namespace)
    target.deploy(image, 2)
    return target


def app_in(cluster: Cluster, namespace: str, tmp_path, context: str = ADMIN) -> AituiApp:
    return AituiApp(Settings(context=context, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                             prometheus_url=cluster.prometheus_url, timeout=10))


def hpa_bounds(cluster: Cluster, namespace: str) -> tuple[int, int]:
    spec = cluster.get("hpa", WORKLOAD, "-n", namespace)["spec"]
    return spec["minReplicas"], spec["maxReplicas"]


def pod_names(cluster: Cluster, namespace: str) -> set[str]:
    """The namespace's pods as the server has them now (not as aitui's cache says), none being deleted."""
    return {p["metadata"]["name"] for p in cluster.get("pods", "-n", namespace)["items"]
            if not p["metadata"].get("deletionTimestamp")}


def replicas(cluster: Cluster, namespace: str) -> int:
    return int(cluster.get("deployment", WORKLOAD, "-n", namespace)["spec"]["replicas"])


async def test_the_autoscaler_and_the_scale_keys_agree(cluster, namespace, cluster_image, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    deployed(cluster, namespace, cluster_image).close()
    # a ceiling at 2: going beyond it needs no third pod (the node's CPU is shared by every test running)
    cluster.kubectl("patch", "hpa", WORKLOAD, "-n", namespace, "--type=merge", "-p", '{"spec": {"maxReplicas": 2}}')
    app = app_in(cluster, namespace, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: f"{WORKLOAD}: hpa 2..2" in str(table.border_subtitle), 30, "the HPA by the workload")
        await select_row(pilot, table, WORKLOAD)

        await command(pilot, "hpa")  # the real HPA: bounds, its target (no metrics-server here: unknown), why
        hpas = app.query_one("#hpa", ResourceTable)
        await until(pilot, lambda: WORKLOAD in hpas.rows, 30, "the HPA listed")
        row = {c: str(hpas.get_cell(WORKLOAD, c)) for c in ("reference", "targets", "min", "max", "replicas")}
        assert row["reference"] == f"deployment/{WORKLOAD}" and (row["min"], row["max"]) == ("2", "2")
        assert row["targets"].startswith("cpu: <unknown>/70%") and row["replicas"].startswith("2/")
        assert "FailedGetResourceMetric" in str(hpas.border_subtitle)  # why it holds the count
        await pilot.press("escape")

        await pilot.press("plus")  # 3: above the ceiling: asks to raise it
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "the bounds dialog")
        lines = " ".join(app.screen.lines)  # type: ignore[attr-defined]
        assert "between 2 and 2 replicas" in lines and "raise its maximum from 2 to 3" in lines
        await pilot.press("plus")  # again while the question is open: still one question
        assert len(app.screen_stack) == 2
        await pilot.press("n")  # no: nothing changes
        assert hpa_bounds(cluster, namespace) == (2, 2) and replicas(cluster, namespace) == 2

        await pilot.press("s")  # 1 through the dialog: below the floor
        await pilot.press("end", "backspace", "1", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "the bounds dialog")
        assert "lower its minimum from 2 to 1" in " ".join(app.screen.lines)  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: hpa_bounds(cluster, namespace) == (1, 2) and replicas(cluster, namespace) == 1,
                    60, "the floor moved, then the scale")
        await until(pilot, lambda: f"{WORKLOAD}: hpa 1..2" in str(table.border_subtitle)
                    and str(table.get_cell(WORKLOAD, "ready")) == "1/1", 120, "1/1 under hpa 1..2")
        assert said(app, f"hpa/{WORKLOAD}: now keeps {WORKLOAD} between 1 and 2 replicas (was 2..2)")

        await pilot.press("plus")  # 2: within the bounds now, scaled at once (said that the HPA may move it)
        await until(pilot, lambda: replicas(cluster, namespace) == 2, 30, "2 replicas")
        assert said(app, "its autoscaler (hpa 1..2) may move this count again") and not isinstance(app.screen,
                                                                                                    ConfirmScreen)
        await pilot.press("minus")  # 1: within
        await until(pilot, lambda: replicas(cluster, namespace) == 1 and str(table.get_cell(WORKLOAD, "ready"))
                    == "1/1", 120, "back to 1")
        await pilot.press("minus")  # 0: an HPA keeps at least one; said, nothing sent
        await until(pilot, lambda: "its minimum cannot be 0" in notices(app), 10, "0 refused with the reason")
        assert not isinstance(app.screen, ConfirmScreen) and replicas(cluster, namespace) == 1


async def test_yaml_describe_and_a_shell_in_a_pod(cluster, namespace, cluster_image, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    target = deployed(cluster, namespace, cluster_image)
    pods = [p.name for p in target.pods(WORKLOAD)]
    shell = target.shell(pods[0])  # probed through the exec subresource: bash is there
    assert shell.argv[-4:] == ("-it", pods[0], "--", "bash") and f"--namespace={namespace}" in shell.argv
    code, out = run_in_tty(shell.argv, "echo $((6*7)) $(id -u); tty; exit 4\n", timeout=60)
    assert code == 4 and "42 10001" in out and "/dev/pts/" in out, out
    with pytest.raises(NotFound, match="it is gone"):
        target.shell(f"{WORKLOAD}-gone")
    assert target.manifest("models", pods[0])["kind"] == "Pod"  # the models view's rows are pods
    target.close()

    app = app_in(cluster, namespace, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        table = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, table, WORKLOAD)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 30, "yaml")
        screen = app.screen
        assert isinstance(screen, ObjectScreen)
        text = screen.text or ""
        assert text.startswith("kind: Deployment") and "managedFields" not in text
        assert "managedFields folded away" in str(screen.query_one("#what").render())
        await pilot.press("slash", *"maxunavailable", "enter")
        assert len(screen.matches) == 1 and "maxUnavailable: 0" in text
        await pilot.press("i")
        await until(pilot, lambda: "Kind:         Deployment" in (screen.text or ""), 30, "describe")
        assert "Replicas:     2 desired" in (screen.text or "") and "ScalingReplicaSet" in (screen.text or "")
        await pilot.press("escape", "escape")

        await pilot.press("enter")
        table = app.query_one("#pods", ResourceTable)
        await select_row(pilot, table, pods[1])
        await pilot.press("x")  # a pilot cannot hand the terminal over: the command it would run is said
        await until(pilot, lambda: said(app, f"exec -it {pods[1]} -- bash"), 60, "the kubectl command")
        assert said(app, f"--context={ADMIN} --namespace={namespace}")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 30, "yaml")
        screen = app.screen
        assert isinstance(screen, ObjectScreen) and "kind: Pod" in (screen.text or "")
        cluster.kubectl("delete", "pod", pods[1], "-n", namespace, "--wait=true")  # deleted while open
        await until(pilot, lambda: f"pods/{pods[1]} was deleted" in str(screen.query_one("#what").render()), 60,
                    "the deleted line")
        assert "kind: Pod" in (screen.text or "")  # the last YAML stays, under the line
        await pilot.press("escape")
        # x again: on the gone pod if it is still the selected row (its shell says it is gone), else on the
        # row that took its place (a live pod: its command). Either way x answers for the pod it acted on.
        def checks() -> list[str]:
            return [line for line in app.query_one("#activity-log").lines if "shell: checking " in line]

        before = len(checks())
        await pilot.press("x")
        await until(pilot, lambda: len(checks()) > before, 10, "x on the pods view")
        acted_on = checks()[-1].split("shell: checking ", 1)[1].split(" has one", 1)[0]
        if acted_on == pods[1]:
            await until(pilot, lambda: f"shell in pod/{pods[1]} in {ADMIN}/{namespace}: it is gone" in notices(app),
                        60, "x on the gone pod: it is gone")
        else:
            assert acted_on in pod_names(cluster, namespace), acted_on
            await until(pilot, lambda: said(app, f"exec -it {acted_on} -- bash"), 60, "x on the pod in its place")


async def test_rollback_and_the_limited_users_refusals(cluster, namespace, cluster_image, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    deployed(cluster, namespace, cluster_image).close()
    app = app_in(cluster, namespace, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        table = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, table, WORKLOAD)
        await pilot.press("u")  # one ReplicaSet: nothing to go back to
        await until(pilot, lambda: f"rollback {WORKLOAD}: no previous revision to go back to (only revision 1"
                    in notices(app), 30, "no previous revision")

        await pilot.press("t", "enter")  # traffic through aitui's port-forwards during the restart and rollback
        await until(pilot, lambda: traffic(app) is not None and traffic(app).stats.ok > 20, 60, "traffic")
        await pilot.press("r")  # a restart is a new revision (the template's restartedAt)
        await pilot.press("y")
        await until(pilot, lambda: said(app, f'restart {WORKLOAD}: deployment "{WORKLOAD}" successfully rolled out'),
                    180, "the restart")
        await command(pilot, "rs")
        revisions = app.query_one("#revisions", ResourceTable)
        await until(pilot, lambda: revisions.row_count == 2, 30, "two revisions")
        def current() -> list[str]:
            return [str(getattr(k, "value", k)) for k in revisions.rows
                    if str(revisions.get_cell(k, "revision")) == "2 (current)"]

        await until(pilot, lambda: len(current()) == 1 and str(revisions.get_cell(current()[0], "pods")) == "2", 30,
                    "revision 2 current with the 2 pods")  # (its status follows the rollout a moment later)
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the rollback dialog")
        assert "from revision 2:" in " ".join(app.screen.lines)  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: said(app, f'rollback {WORKLOAD}: deployment "{WORKLOAD}" successfully rolled out'),
                    180, "the rollback")
        stats = traffic(app).stats
        await until(pilot, lambda: stats.ok > 100, 60, "traffic after the rollback")
        await pilot.press("t")  # stop
        assert (stats.failed, stats.retried) == (0, 0), stats  # the rollback lost no request, as deploy does
        template = cluster.get("deployment", WORKLOAD, "-n", namespace)["spec"]["template"]
        assert RESTARTED_AT not in (template["metadata"].get("annotations") or {})  # revision 1's template
        await until(pilot, lambda: any(str(revisions.get_cell(k, "revision")) == "3 (current)"
                                       for k in revisions.rows) and revisions.row_count == 2, 30,
                    "revision 1 back as revision 3")
        await pilot.press("escape")

        # the limited user reads (y works) but may not roll back, exec or move the autoscaler's bounds
        await command(pilot, f"ctx {LIMITED}")
        await until(pilot, lambda: app.settings.context == LIMITED, 10, "the limited context")
        await command(pilot, f"ns {namespace}")
        await until(pilot, lambda: app.settings.namespace == namespace and WORKLOAD in app.workloads, 30,
                    "the limited user's view")
        table = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, table, WORKLOAD)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 30, "yaml")
        await pilot.press("escape")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the rollback dialog")
        await pilot.press("y")
        await until(pilot, lambda: "rollback deployments/recognizer: forbidden (RBAC)" in notices(app), 30, "403")
        await pilot.press("x")
        await until(pilot, lambda: "forbidden (RBAC)" in notices(app) and "shell in pod/" in notices(app), 60,
                    "403 on exec")
        await pilot.press("minus")  # 1 is below the floor (2): the dialog, then the server's 403 on the HPA
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the bounds dialog")
        await pilot.press("y")
        await until(pilot, lambda: "patch horizontalpodautoscalers/recognizer: forbidden (RBAC)" in notices(app), 30,
                    "403 on the HPA")
    target = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=10), LIMITED, namespace)
    with pytest.raises(Forbidden):
        target.rollback()
    target.close()


async def test_a_pod_without_a_shell_is_said_not_waited_for(cluster, namespace, no_shell_image, tmp_path,  # noqa: F811
                                                            monkeypatch) -> None:
    import json

    from aitui.services import images

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    socket = str(cluster.dir / "containerd" / "containerd.sock")
    for _ in images.load_into_containerd(Settings(), no_shell_image, socket):
        pass
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "noshell"}, "spec": {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "recognizer", "image": no_shell_image, "imagePullPolicy": "Never",
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
        "volumes": [{"name": "tmp", "emptyDir": {}}]}}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(pod))
    cluster.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/noshell", "--timeout=120s", timeout=150)
    target = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=10), ADMIN, namespace)
    with pytest.raises(NoShell, match="its image has no shell"):
        target.shell("noshell")
    target.close()
    app = app_in(cluster, namespace, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await command(pilot, "pods")
        await select_row(pilot, app.query_one("#pods", ResourceTable), "noshell")
        await pilot.press("x")
        await until(pilot, lambda: "shell in pod/noshell" in notices(app) and "its image has no shell" in notices(app),
                    60, "no shell, said")


def test_a_quarantined_pod_leaves_its_service_and_is_replaced(cluster, namespace, cluster_image) -> None:
    """What the smoke test does to a replica that answers wrong while others answer right: the pod leaves
    the Service's endpoints and its ReplicaSet (which starts a replacement), keeps running to be looked at,
    is still listed under its workload, and `delete` removes it with the rest."""
    from conftest import wait_until

    from aitui.services.labels import QUARANTINE_LABEL

    target = deployed(cluster, namespace, cluster_image)
    try:
        victim = target.pods(WORKLOAD)[0].name
        assert target.quarantine(victim, WORKLOAD) == victim

        def endpoint_pods() -> set[str]:
            slices = cluster.get("endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={WORKLOAD}")
            return {e["targetRef"]["name"] for s in slices["items"] for e in s.get("endpoints") or []
                    if (e.get("conditions") or {}).get("ready")}

        wait_until(lambda: len(endpoint_pods()) == 2 and victim not in endpoint_pods(), 120,
                   "the Service's endpoints: two pods, the quarantined one not among them")
        pod = cluster.get("pod", victim, "-n", namespace)
        assert pod["status"]["phase"] == "Running" and pod["metadata"]["labels"][QUARANTINE_LABEL] == WORKLOAD
        assert not pod["metadata"].get("ownerReferences")  # its ReplicaSet let it go
        wait_until(lambda: {p.name: p.status for p in target.pods(WORKLOAD)}.get(victim) == "Quarantined", 30,
                   "the pod listed under its workload as Quarantined")
        assert [w.ready for w in target.workloads() if w.name == WORKLOAD] == [2]
        assert victim not in [p for p, _ in target.replica_endpoints(WORKLOAD).items()]
        target.delete(WORKLOAD)
        wait_until(lambda: not cluster.get("pods", "-n", namespace, "-l", f"{QUARANTINE_LABEL}={WORKLOAD}")["items"],
                   120, "the quarantined pod deleted with its workload")
    finally:
        target.close()


def test_a_rollout_whose_new_pods_fail_their_self_check_says_why(cluster, namespace, cluster_image,
                                                                  mislabelled_image) -> None:
    """An image whose labels file is not its model's: its pods run but never say ready (the recognizer's
    self-check), so the Service keeps sending to the old pods; aitui's rollout asks a stuck pod why (the
    kubelet's probe event has only "503") and says it within seconds, not after the 600 s deadline."""
    import time

    from conftest import wait_until

    from aitui.services.targets import TargetError

    on_node(cluster, mislabelled_image)
    target = deployed(cluster, namespace, cluster_image)
    try:
        before = {p.name for p in target.pods(WORKLOAD) if p.ready}
        steps: list[str] = []
        started = time.monotonic()
        with pytest.raises(TargetError, match="refused to become ready: self-check failed: 0 of 10") as err:
            target.deploy(mislabelled_image, 2, progress=steps.append)
        took = time.monotonic() - started
        assert took < 90, f"said after {took:.0f}s"
        assert "u rolls back" in str(err.value) and mislabelled_image in str(err.value), err.value
        stuck = [p for p in target.pods(WORKLOAD) if p.image == mislabelled_image]
        assert stuck and not any(p.ready for p in stuck)  # running, never ready: no traffic reaches them
        assert {p.name for p in target.pods(WORKLOAD) if p.ready} == before  # the old pods serve on
        slices = cluster.get("endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={WORKLOAD}")
        assert {e["targetRef"]["name"] for s in slices["items"] for e in s.get("endpoints") or []
                if (e.get("conditions") or {}).get("ready")} == before
        target.rollback(WORKLOAD)  # u: back to the template that passed
        wait_until(lambda: not [p for p in target.pods(WORKLOAD) if p.image == mislabelled_image], 120,
                   "the stuck pods gone after the rollback")
    finally:
        target.close()
