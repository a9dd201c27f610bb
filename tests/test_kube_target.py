"""The Kubernetes target against the API-server stand-in, through the real client: deploy is server-side
apply of manifests/base, scale uses /scale, restart sets restartedAt, the caches follow watches and relist
after 410, and failures are typed messages that name the verb and the resource and never a credential."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, deployment, kube_client, wait_until

from aitui.config import Settings
from aitui.services import labels, manifests
from aitui.services.targets import Forbidden, NotFound, TargetError
from aitui.services.targets.kubernetes import PATHS, KubeTarget

IMAGE = "registry.example/aitui/recognizer:0.3.0-abc123"


@pytest.fixture
def target(standin):
    t = KubeTarget(Settings(kubeconfig=str(standin.kubeconfig_path), timeout=3), "standin", "default")
    t.watch()
    assert t.synced(), t.errors
    yield t
    t.close()


def test_render_matches_kubectl_kustomize(tmp_path: Path) -> None:
    """What aitui applies is what `kubectl apply -k` would apply with the same image, replicas, namespace."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    name, tag = IMAGE.rsplit(":", 1)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": [os.path.relpath(ROOT / "manifests" / "base", overlay)], "namespace": "team-a",
        "images": [{"name": "aitui/recognizer", "newName": name, "newTag": tag}],
        "replicas": [{"name": "recognizer", "count": 4}]}))
    done = subprocess.run(["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(overlay)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    by_kubectl = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(done.stdout)}
    by_aitui = {(d["kind"], d["metadata"]["name"]): d for d in manifests.render(Settings(), IMAGE, 4, "team-a")}
    assert by_aitui == by_kubectl


def test_deploy_is_server_side_apply_and_waits_for_the_rollout(standin, target: KubeTarget) -> None:
    standin.cluster.ready_after = 0.5  # slow enough that the rollout's steps are seen
    said: list[str] = []
    target.deploy(IMAGE, 3, labels.NAME, said.append)
    applies = [(path, ct) for m, path, ct in standin.cluster.requests if m == "PATCH"]
    assert len(applies) == 6 and all(ct == "application/apply-patch+yaml" and "fieldManager=aitui" in path
                                     and "force=true" in path.lower() for path, ct in applies)
    assert said[-1] == f'deploy {labels.NAME}: deployment "{labels.NAME}" successfully rolled out'
    assert any("of 3 updated replicas are available" in s or "new replicas have been updated" in s for s in said), said
    apps, _core = kube_client(standin)
    dep = apps.read_namespaced_deployment(labels.NAME, "default")
    assert dep.spec.template.spec.containers[0].image == IMAGE and dep.spec.replicas == 3
    assert {m.manager for m in dep.metadata.managed_fields} >= {"aitui"}
    for kind in ("services", "serviceaccounts", "horizontalpodautoscalers", "poddisruptionbudgets",
                 "networkpolicies"):
        assert standin.cluster.items(kind, "default"), kind
    [w] = target.workloads()
    assert (w.name, w.desired, w.ready, w.available, w.image) == (labels.NAME, 3, 3, 3, IMAGE)
    pods = target.pods(labels.NAME)
    assert len(pods) == 3 and all(p.ready and p.status == "Running" and p.node for p in pods)
    generation = dep.metadata.generation
    target.deploy(IMAGE, 3, labels.NAME)  # the same apply again changes nothing
    assert apps.read_namespaced_deployment(labels.NAME, "default").metadata.generation == generation


def test_scale_uses_the_scale_subresource_and_the_cache_follows(standin, target: KubeTarget) -> None:
    target.deploy(IMAGE, 1)
    target.scale(4)
    assert any(m == "PATCH" and path.startswith(f"/apis/apps/v1/namespaces/default/deployments/{labels.NAME}/scale")
               for m, path, _ in standin.cluster.requests)
    wait_until(lambda: target.workloads()[0].ready == 4, 10, "4 ready replicas in the cache")
    target.scale(2)
    wait_until(lambda: len([p for p in target.pods(labels.NAME) if p.status == "Running"]) == 2, 10,
               "2 running pods")
    with pytest.raises(TargetError, match="replicas must be 0 or more"):
        target.scale(-1)


def test_scale_takes_the_autoscalers_bounds_from_its_watch_not_a_request(standin, target: KubeTarget) -> None:
    from kubernetes import client, config

    target.deploy(IMAGE, 2)  # manifests/base's HPA keeps it between 2 and 10
    asked = len(standin.cluster.requests)
    with pytest.raises(TargetError, match=f"hpa/{labels.NAME} keeps it between 2 and 10 replicas"):
        target.scale(11)
    target.scale(10)
    api = config.new_client_from_config(str(standin.kubeconfig_path), context="standin", persist_config=False)
    client.AutoscalingV2Api(api).patch_namespaced_horizontal_pod_autoscaler(
        labels.NAME, "default", {"spec": {"maxReplicas": 12}})  # moved by someone else: the watch says so
    wait_until(lambda: [(a.low, a.high) for a in target.autoscalers()] == [(2, 12)], 10, "the new bounds cached")
    target.scale(12)
    with pytest.raises(TargetError, match="keeps it between 2 and 12 replicas"):
        target.scale(13)
    gets = [p for m, p, _ in standin.cluster.requests[asked:]
            if m == "GET" and "horizontalpodautoscalers" in p and "watch" not in p.lower()]
    assert gets == []


def test_restart_replaces_every_pod_through_the_restarted_at_annotation(standin, target: KubeTarget) -> None:
    target.deploy(IMAGE, 2)
    before = {p.name for p in target.pods(labels.NAME)}
    said: list[str] = []
    target.restart(labels.NAME, said.append)
    apps, _ = kube_client(standin)
    annotations = apps.read_namespaced_deployment(labels.NAME, "default").spec.template.metadata.annotations
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert said[-1].endswith("successfully rolled out")
    wait_until(lambda: {p.name for p in target.pods(labels.NAME) if p.status == "Running"}.isdisjoint(before)
               and len(target.pods(labels.NAME)) == 2, 10, "every pod replaced")


def test_delete_removes_what_deploy_applied(standin, target: KubeTarget) -> None:
    target.deploy(IMAGE, 1)
    api = kube_client(standin)[0].api_client

    def present() -> list[str]:  # what the API server still serves of what deploy applied
        paths = ["{}/namespaces/default/{}/".format(*PATHS[f"{d['apiVersion']}/{d['kind']}"]) + d["metadata"]["name"]
                 for d in manifests.render(Settings(), IMAGE, 1, "default")]
        return [p for p in paths if api.call_api(*api.param_serialize(
            "GET", p, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])[:4]).status != 404]

    assert len(present()) == 6
    target.delete(labels.NAME)
    wait_until(lambda: not present(), 10, "every applied object gone from the API server")
    wait_until(lambda: not target.workloads(), 10, "the workload gone from the cache")
    target.delete(labels.NAME)  # deleting again: everything is already gone, no error


def test_rbac_and_missing_objects_are_typed_errors(standin, target: KubeTarget) -> None:
    with pytest.raises(NotFound, match=r"scale deployments/recognizer: not found: deployments.apps \"recognizer\""):
        target.scale(3)
    target.deploy(IMAGE, 1)
    standin.cluster.deny("patch", "deployments/scale")
    with pytest.raises(Forbidden) as e:
        target.scale(3)
    assert str(e.value).startswith("scale deployments/recognizer: forbidden (RBAC): ")
    assert 'cannot patch resource "deployments/scale"' in str(e.value)
    standin.cluster.deny("patch", "deployments")
    with pytest.raises(Forbidden, match="restart deployments/recognizer"):
        target.restart()
    with pytest.raises(Forbidden, match="apply deployments/recognizer"):
        target.deploy(IMAGE, 1)
    assert standin.token not in str(e.value)


def test_cache_relists_after_410_and_catches_up(standin, target: KubeTarget) -> None:
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web"))
    wait_until(lambda: [w.name for w in target.workloads()] == ["web"], 5, "web in the cache")
    standin.cluster.expire_watches()  # open watches get ERROR 410; resuming from their version is 410 too
    apps.create_namespaced_deployment("default", deployment("db"))
    wait_until(lambda: [w.name for w in target.workloads()] == ["db", "web"], 15,
               "the cache to relist and see the deployment made during the gap")
    lists = [p for m, p, _ in standin.cluster.requests if m == "GET" and "/deployments" in p and "watch" not in p]
    assert len(lists) >= 2  # the first list, and the relist after 410


def test_cache_survives_a_watch_cut_mid_event(standin, target: KubeTarget) -> None:
    apps, _ = kube_client(standin)
    watches = len([p for _m, p, _ in standin.cluster.requests if "watch" in p.lower()])
    standin.cluster.cut_after = 0  # the next event is cut in half and the connection closed
    apps.create_namespaced_deployment("default", deployment("web"))
    wait_until(lambda: len([p for _m, p, _ in standin.cluster.requests if "watch" in p.lower()]) > watches + 2, 10,
               "the cache to reconnect its watches")
    standin.cluster.cut_after = None
    apps.create_namespaced_deployment("default", deployment("db"))
    wait_until(lambda: [w.name for w in target.workloads()] == ["db", "web"], 15, "both deployments in the cache")


def test_watch_errors_are_reported_and_recovered(standin, tmp_path: Path) -> None:
    standin.cluster.deny("list", "pods")
    t = KubeTarget(Settings(kubeconfig=str(standin.kubeconfig_path), timeout=3), "standin", "default")
    changes: list[int] = []
    t.watch(lambda: changes.append(1))
    wait_until(lambda: "pods" in t.errors, 10, "the pods cache to report the 403")
    assert 'forbidden (RBAC)' in t.errors["pods"] and 'cannot list resource "pods"' in t.errors["pods"]
    assert t.workloads() == []  # the deployments cache works on
    standin.cluster.clear_faults()
    wait_until(lambda: "pods" not in t.errors or t.synced(0.1), 20, "the pods cache to recover by itself")
    t.close()


def test_logs_follow_a_pod(standin, target: KubeTarget) -> None:
    target.deploy(IMAGE, 1)
    pod = target.pods(labels.NAME)[0]  # the autoscaler's minimum is 2
    lines = target.logs(pod.name, tail=10, follow=True)
    assert next(lines) == "recognizer: loading model"
    assert next(lines) == "recognizer: ready on :8501"
    standin.cluster.log("default", pod.name, "POST /v1/models/recognizer:predict 200")
    assert next(lines) == "POST /v1/models/recognizer:predict 200"
    assert list(target.logs(pod.name, tail=1)) == ["POST /v1/models/recognizer:predict 200"]
    with pytest.raises(NotFound, match="logs pods/nope"):
        list(target.logs("nope"))


def test_unreachable_cluster_and_bad_kubeconfigs(standin, tmp_path: Path) -> None:
    from conftest import free_port

    dead = tmp_path / "dead"
    dead.write_text(standin.kubeconfig_path.read_text().replace(standin.url, f"http://127.0.0.1:{free_port()}"))
    t = KubeTarget(Settings(kubeconfig=str(dead), timeout=2), "standin", "default")
    with pytest.raises(TargetError, match="scale deployments/recognizer: cluster unreachable: connection refused"):
        t.scale(1)
    corrupt = tmp_path / "corrupt"
    corrupt.write_text("clusters: [ {unbalanced\n  token: s3cret-token")
    with pytest.raises(TargetError, match="context standin: kubeconfig") as e:
        KubeTarget(Settings(kubeconfig=str(corrupt)), "standin", "default")
    assert "s3cret" not in str(e.value)
    with pytest.raises(TargetError, match="context nope: kubeconfig"):
        KubeTarget(Settings(kubeconfig=str(standin.kubeconfig_path)), "nope", "default")


def test_https_with_the_users_ca_for_aitui_and_kubectl(test_ca, tmp_path: Path) -> None:
    """A cluster whose certificate comes from a private CA (the kubeconfig carries it): aitui verifies
    against it, and kubectl too, which over HTTPS also sends the bearer token the server requires."""
    from apiserver import StandIn

    ca, cert, key = test_ca
    with StandIn(tls=(cert, key), ca=ca, ready_after=0.05, terminate_after=0.05) as s:
        assert s.url.startswith("https://")
        kubeconfig = s.kubeconfig(tmp_path / "kc")
        t = KubeTarget(Settings(kubeconfig=str(kubeconfig), timeout=3), "standin", "default")
        t.deploy(IMAGE, 2)
        assert t.workloads()[0].ready == 2
        t.close()
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        for args in (["scale", "deployment/recognizer", "--replicas=3"],
                     ["rollout", "status", "deployment/recognizer", "--timeout=30s"]):
            done = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=60)
            assert done.returncode == 0, done.stderr
        assert "successfully rolled out" in done.stdout


def test_https_without_the_ca_is_refused_not_trusted(test_ca, tmp_path: Path) -> None:
    from apiserver import StandIn

    _ca, cert, key = test_ca
    with StandIn(tls=(cert, key), ca=None) as s:
        t = KubeTarget(Settings(kubeconfig=str(s.kubeconfig(tmp_path / "kc")), timeout=3), "standin", "default")
        with pytest.raises(TargetError, match="certificate verify failed"):
            t.scale(2)
        assert s.cluster.requests == []  # no request was ever sent over an unverified connection


class UntrustedHTTPS:
    """An HTTPS server on 127.0.0.1 whose certificate comes from the run's own CA, which nothing trusts unless
    told to: it answers any GET as Prometheus would (an empty result), and counts the requests that reached it."""

    def __init__(self, cert: Path, key: Path) -> None:
        import http.server
        import ssl
        import threading

        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                body = b'{"status": "success", "data": {"resultType": "matrix", "result": [], "version": "3"}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)  # a failed handshake: dropped
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_aitui_never_turns_tls_verification_off(test_ca, tmp_path: Path) -> None:
    """Every HTTPS client of aitui, pointed at a server whose certificate no CA it was given signed, refuses
    it before a request is sent: the Kubernetes target (a kubeconfig without certificate-authority), and each
    Prometheus client (charts, the header's probe, the quick probe, doctor, the models view). A client that
    turned verification off would get the server's answer, and the server would count the request."""
    from aitui.services import doctor, health, metrics, model_view

    _ca, cert, key = test_ca
    server = UntrustedHTTPS(cert, key)
    try:
        settings = Settings(prometheus_url=server.url, timeout=3, kubeconfig=str(tmp_path / "none"))
        refused = "certificate verify failed"
        [series] = metrics.fetch(settings, "requests", 300, 60)
        assert refused in series.error and not series.points, series
        assert refused in metrics.unreachable(settings)
        probe = health.prometheus(settings)
        assert not probe.ok and refused in probe.detail, probe
        check = doctor.prometheus(settings)
        assert check.status == doctor.FAIL and refused in check.found, check
        with pytest.raises(Exception, match=refused):
            model_view.from_prometheus(server.url, 'job="recognizer"')

        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "untrusted",
            "clusters": [{"name": "untrusted", "cluster": {"server": server.url}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "untrusted", "context": {"cluster": "untrusted", "user": "u"}}]}))
        t = KubeTarget(Settings(kubeconfig=str(kubeconfig), timeout=3), "untrusted", "default")
        try:
            with pytest.raises(TargetError, match=refused):
                t.scale(2)
        finally:
            t.close()
        assert server.requests == []  # not one request went over a connection that was not verified
    finally:
        server.close()
    # and no source turns verification off on its own (a flag, a context, the kubeconfig's insecure switch)
    source = "\n".join(p.read_text() for p in (ROOT / "aitui").rglob("*.py"))
    for off in ("verify_ssl = False", "verify_ssl=False", "verify=False", "CERT_NONE", "check_hostname = False"):
        assert off not in source, off
    # a kubeconfig's insecure-skip-tls-verify is read, to be said (test_app_hardening.py), in one place only
    readers = [p.name for p in (ROOT / "aitui").rglob("*.py") if "insecure-skip-tls-verify" in p.read_text()]
    assert readers == ["kubeconfig.py"]
    assert 'SKIP_TLS = "insecure-skip-tls-verify"' in (ROOT / "aitui" / "services" / "kubeconfig.py").read_text()


def test_events_of_a_workload(standin, target: KubeTarget) -> None:
    target.deploy(IMAGE, 1)
    target.scale(3)
    wait_until(lambda: any("to 3" in e.message for e in target.events(labels.NAME)), 10, "the scale event")
    events = target.events(labels.NAME)
    assert all(e.object.endswith(labels.NAME) or f"/{labels.NAME}-" in e.object for e in events)
    assert {e.reason for e in events} == {"ScalingReplicaSet"} and events == sorted(events, key=lambda e: e.time)
    standin.cluster.deny("list", "events")
    with pytest.raises(Forbidden, match="list events in default"):
        target.events(labels.NAME)


def test_a_models_workload_is_the_base_renamed_for_it() -> None:
    """A model's workload: every object, the instance label and each selector named after it; the app label (what
    the scrape jobs keep) and the image's repository unchanged; its pods say which model they serve."""
    docs = manifests.render(Settings(), "aitui/digits:0.1.0-abc", 2, "team-a", "digits", "digits")
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == sorted(
        (d["kind"], "digits") for d in manifests.render(Settings(), IMAGE, 2, "team-a"))
    dep = next(d for d in docs if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"] == labels.selector_of("digits") == {
        "app.kubernetes.io/name": "recognizer", "app.kubernetes.io/instance": "digits"}
    assert pod["metadata"]["labels"][labels.MODEL_LABEL] == dep["metadata"]["labels"][labels.MODEL_LABEL] == "digits"
    assert pod["spec"]["serviceAccountName"] == "digits" and pod["spec"]["containers"][0]["name"] == "digits"
    assert pod["spec"]["containers"][0]["image"] == "aitui/digits:0.1.0-abc"
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "digits"
    for kind in ("Service", "PodDisruptionBudget"):
        doc = next(d for d in docs if d["kind"] == kind)
        selector = doc["spec"]["selector"]
        assert selector.get("matchLabels", selector) == labels.selector_of("digits")
    text = yaml.safe_dump_all(docs)
    left = [line.strip() for line in text.splitlines() if line.strip().endswith(": recognizer")]
    assert set(left) == {"app.kubernetes.io/name: recognizer"}, left  # nothing else still says recognizer
