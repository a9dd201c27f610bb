"""The stand-in behaves as the Kubernetes API server does on the wire (../shared/reference/k8s_wire.md),
seen through the real `kubernetes` client and through kubectl. If these pass, tests that use it mean
something about real clusters."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest
from conftest import deployment, kube_client, wait_until
from kubernetes import watch
from kubernetes.client.exceptions import ApiException


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_errors_are_status_bodies_with_the_servers_words(standin) -> None:
    apps, core = kube_client(standin)
    with pytest.raises(ApiException) as e:
        apps.read_namespaced_deployment("missing", "default")
    body = status_of(e.value)
    assert (e.value.status, e.value.reason) == (404, "Not Found")
    assert body["message"] == 'deployments.apps "missing" not found' and body["details"]["kind"] == "deployments"
    apps.create_namespaced_deployment("default", deployment())
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment("default", deployment())
    assert e.value.status == 409 and status_of(e.value)["reason"] == "AlreadyExists"
    bad = deployment("bad")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment("default", bad)
    assert e.value.status == 422 and "selector` does not match template `labels`" in status_of(e.value)["message"]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod("default", field_selector="spec.foo=bar")
    assert e.value.status == 400 and '"spec.foo" is not a known field selector' in status_of(e.value)["message"]
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment("nowhere", deployment())
    assert status_of(e.value)["message"] == 'namespaces "nowhere" not found'


def test_resource_versions_conflicts_and_generation(standin) -> None:
    apps, _ = kube_client(standin)
    created = apps.create_namespaced_deployment("default", deployment())
    assert created.metadata.generation == 1
    stale = created.metadata.resource_version
    apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"tier": "x"}}})
    body = deployment()
    body["metadata"]["resourceVersion"] = stale
    with pytest.raises(ApiException) as e:
        apps.replace_namespaced_deployment("web", "default", body)
    assert e.value.status == 409 and "the object has been modified" in status_of(e.value)["message"]
    patched = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 5}})
    assert patched.metadata.generation == 2 and int(patched.metadata.resource_version) > int(stale)
    listed = apps.list_namespaced_deployment("default")
    assert int(listed.metadata.resource_version) >= int(patched.metadata.resource_version)


def test_patch_kinds_strategic_merge_json(standin) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment())
    # strategic merge: containers merge by name (the image changes, the container stays one)
    d = apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "aitui/recognizer:2"}]}}}})
    assert [(c.name, c.image) for c in d.spec.template.spec.containers] == [("main", "aitui/recognizer:2")]
    d = apps.patch_namespaced_deployment("web", "default", [{"op": "replace", "path": "/spec/replicas", "value": 4}])
    assert d.spec.replicas == 4
    d = apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"app": None, "x": "y"}}},
                                         _content_type="application/merge-patch+json")
    assert d.metadata.labels == {"x": "y"}
    kinds = {ct for m, _p, ct in standin.cluster.requests if m == "PATCH"}
    assert kinds == {"application/strategic-merge-patch+json", "application/json-patch+json",
                     "application/merge-patch+json"}


def test_scale_subresource(standin) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment(replicas=1))
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 1 and scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 3
    wait_until(lambda: apps.read_namespaced_deployment_scale("web", "default").status.replicas == 3, 10,
               "the controller to run 3 pods")
    stale = scale.to_dict()
    stale["spec"]["replicas"] = 7
    with pytest.raises(ApiException) as e:
        apps.replace_namespaced_deployment_scale("web", "default", stale)
    assert e.value.status == 409


def test_server_side_apply_owns_fields_and_reports_conflicts(standin) -> None:
    apps, _ = kube_client(standin)
    body = deployment(replicas=2)
    apps.patch_namespaced_deployment("web", "default", body, field_manager="aitui",
                                     _content_type="application/apply-patch+yaml")
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}}, field_manager="kubectl")
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("web", "default", body, field_manager="aitui",
                                         _content_type="application/apply-patch+yaml")
    status = status_of(e.value)
    assert e.value.status == 409 and status["details"]["causes"][0]["reason"] == "FieldManagerConflict"
    assert 'conflict with "kubectl"' in status["message"] and ".spec.replicas" in status["message"]
    d = apps.patch_namespaced_deployment("web", "default", body, field_manager="aitui", force=True,
                                         _content_type="application/apply-patch+yaml")
    assert d.spec.replicas == 2
    managers = {m.manager: m.operation for m in d.metadata.managed_fields}
    assert managers["aitui"] == "Apply"
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("web", "default", body, _content_type="application/apply-patch+yaml")
    assert e.value.status == 422 and "fieldManager: Required value" in status_of(e.value)["message"]


def test_watch_from_zero_then_changes_with_selectors(standin) -> None:
    apps, _core = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web"))
    apps.create_namespaced_deployment("default", deployment("db"))
    seen: list[tuple[str, str]] = []
    w = watch.Watch()

    def later() -> None:
        wait_until(lambda: len(seen) >= 1, 5, "the synthetic ADDED")
        apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"team": "a"}}})
        apps.patch_namespaced_deployment("db", "default", {"metadata": {"labels": {"team": "a"}}})
        apps.delete_namespaced_deployment("web", "default")

    threading.Thread(target=later).start()
    for ev in w.stream(apps.list_namespaced_deployment, "default", label_selector="app in (web)",
                       timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    # the controller's status writes are MODIFIED events too; "db" never matches the selector
    assert {name for _t, name in seen} == {"web"}
    assert seen[0][0] == "ADDED" and seen[-1][0] == "DELETED" and {t for t, _n in seen[1:-1]} == {"MODIFIED"}


def test_watch_resumes_from_a_resource_version_and_sends_bookmarks(standin) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web"))
    rv = apps.list_namespaced_deployment("default").metadata.resource_version
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    events = list(watch.Watch().stream(apps.list_namespaced_deployment, "default", resource_version=rv,
                                       allow_watch_bookmarks=True, timeout_seconds=2))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "MODIFIED" and "ADDED" not in kinds and "BOOKMARK" in kinds
    bookmark = next(e for e in events if e["type"] == "BOOKMARK")
    assert set(bookmark["raw_object"]["metadata"]) == {"resourceVersion"}


def test_watch_from_a_compacted_version_is_410_expired(standin) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web"))
    rv = apps.list_namespaced_deployment("default").metadata.resource_version
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 2}})
    standin.cluster.compact()
    with pytest.raises(ApiException) as e:  # the client retries once silently, then raises (reference §5)
        list(watch.Watch().stream(apps.list_namespaced_deployment, "default", resource_version=rv,
                                  timeout_seconds=2))
    assert e.value.status == 410 and "too old resource version" in str(e.value)


def test_list_pages_with_limit_and_continue(standin) -> None:
    _, core = kube_client(standin)
    for i in range(5):
        core.create_namespaced_service_account("default", {"metadata": {"name": f"sa-{i}"}})
    first = core.list_namespaced_service_account("default", limit=2)
    assert len(first.items) == 2 and first.metadata.remaining_item_count == 3
    names = [s.metadata.name for s in first.items]
    token = first.metadata.var_continue
    while token:
        page = core.list_namespaced_service_account("default", limit=2, _continue=token)
        names += [s.metadata.name for s in page.items]
        token = page.metadata.var_continue
    assert names == [f"sa-{i}" for i in range(5)]


def test_pod_logs_tail_timestamps_follow(standin) -> None:
    apps, core = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment(replicas=1))
    pod = wait_until(lambda: core.list_namespaced_pod("default").items, 10, "a pod")[0].metadata.name  # type: ignore[index]
    wait_until(lambda: len(standin.cluster.logs.get(("default", pod), [])) >= 2, 10, "the pod's log")
    raw = core.read_namespaced_pod_log(pod, "default", tail_lines=1, timestamps=True, _preload_content=False)
    stamp, _, text = raw.data.decode().strip().partition(" ")
    assert text == "recognizer: ready on :8501" and len(stamp) == len("2016-10-06T00:17:09.669794202Z")
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log(pod, "default", container="sidecar")
    assert e.value.status == 400 and f"container sidecar is not valid for pod {pod}" in status_of(e.value)["message"]
    lines: list[str] = []
    w = watch.Watch()
    # bounded: a line that never comes fails the test instead of hanging it
    for line in w.stream(core.read_namespaced_pod_log, pod, "default", tail_lines=1, _request_timeout=(5, 10)):
        lines.append(line)
        if len(lines) == 1:  # the tail arrived, so the stream is live: a line logged now must come through it
            standin.cluster.log("default", pod, "GET /v2/health/ready 200")
        else:
            w.stop()
    assert lines == ["recognizer: ready on :8501", "GET /v2/health/ready 200"]


def test_rbac_denial_uses_the_authorizers_words(standin) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment())
    standin.cluster.deny("patch", "deployments/scale")
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    assert e.value.status == 403 and status_of(e.value)["message"] == (
        'deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments/scale" '
        'in API group "apps" in the namespace "default"')
    apps.read_namespaced_deployment_scale("web", "default")  # other verbs still work


def test_kubectl_get_scale_rollout_status_and_restart(tmp_path) -> None:
    """kubectl is the reference client: it must read, scale and wait on the stand-in as on a cluster.
    kubectl sends no bearer token over plain HTTP, so this server takes anonymous requests."""
    from apiserver import StandIn

    with StandIn(token="", ready_after=0.05, terminate_after=0.05) as s:
        env = {**os.environ, "KUBECONFIG": str(s.kubeconfig(tmp_path / "kc"))}

        def kubectl(*args: str) -> str:
            done = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=60)
            assert done.returncode == 0, done.stderr
            return done.stdout

        kube_client_for = __import__("kubernetes").config.new_client_from_config(env["KUBECONFIG"])
        __import__("kubernetes").client.AppsV1Api(kube_client_for).create_namespaced_deployment(
            "default", deployment("web", replicas=1))
        assert "web" in kubectl("get", "deployments")
        assert kubectl("scale", "deployment/web", "--replicas=3").strip() == "deployment.apps/web scaled"
        out = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
        assert 'deployment "web" successfully rolled out' in out
        assert json.loads(kubectl("get", "deployment", "web", "-o", "json"))["status"]["availableReplicas"] == 3
        kubectl("rollout", "restart", "deployment/web")
        assert "successfully rolled out" in kubectl("rollout", "status", "deployment/web", "--timeout=30s")
        pods = json.loads(kubectl("get", "pods", "-o", "json"))["items"]
        live = [p for p in pods if "deletionTimestamp" not in p["metadata"]]
        assert len(live) == 3 and all("kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"]
                                      for p in live)
