"""The Kubernetes target against a real API server and a real node (`.ci/cluster up`): deploy is a
server-side apply that the restricted Pod Security admission accepts and whose pods turn Ready through
their real probes; /scale, restartedAt and delete; RBAC 403 and 404 in the server's own words; the
caches' list/watch, a real 410, and an API-server restart; port-forwards through the API server; the
cluster's CA; kubectl against the same cluster; Prometheus discovering the pods with kubernetes_sd."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from cluster import ADMIN, LIMITED, Cluster
from conftest import ROOT, wait_until

from aitui.config import Settings
from aitui.services import labels
from aitui.services.predict import pick_sample, predict
from aitui.services.targets import Forbidden, NotFound, TargetError
from aitui.services.targets.kubernetes import KubeTarget

NAME = labels.NAME


def open_target(cluster: Cluster, namespace: str, context: str = ADMIN) -> KubeTarget:
    t = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=5), context, namespace)
    t.watch()
    assert t.synced(15), t.errors
    return t


@pytest.fixture
def target(cluster: Cluster, namespace: str) -> Iterator[KubeTarget]:
    t = open_target(cluster, namespace)
    yield t
    t.close()


def ready(target: KubeTarget, n: int) -> bool:
    pods = [p for p in target.pods(NAME) if p.status != "Terminating"]
    return len(pods) == n and all(p.ready for p in pods)


def test_deploy_runs_real_pods_in_a_restricted_namespace(cluster, namespace, target, cluster_image) -> None:
    said: list[str] = []
    target.deploy(cluster_image, 2, NAME, said.append)
    assert said[-1] == f'deploy {NAME}: deployment "{NAME}" successfully rolled out', said
    assert any("loaded" in s or "already on the node" in s for s in said), said  # published before applying
    [w] = target.workloads()
    assert (w.name, w.desired, w.ready, w.available, w.image) == (NAME, 2, 2, 2, cluster_image)
    pods = target.pods(NAME)
    assert len(pods) == 2 and all(p.ready and p.status == "Running" and p.node == "localhost" for p in pods)
    # the container really runs: its own log, read through the kubelet
    lines = list(target.logs(pods[0].name, tail=200))
    assert any("listening" in line.lower() or "serving" in line.lower() for line in lines), lines[-10:]
    dep = cluster.get("deployment", NAME, "-n", namespace)
    assert "aitui" in {m["manager"] for m in dep["metadata"]["managedFields"]}
    generation = dep["metadata"]["generation"]
    target.deploy(cluster_image, 2)  # the same apply again changes nothing
    assert cluster.get("deployment", NAME, "-n", namespace)["metadata"]["generation"] == generation
    # the restricted admission is on: a pod that runs as root is refused in this namespace
    bad = cluster.kubectl("run", "rooty", "-n", namespace, f"--image={cluster_image}", "--restart=Never",
                          "--image-pull-policy=Never", check=False)
    assert bad.returncode != 0 and "violates PodSecurity" in bad.stderr and '"restricted:latest"' in bad.stderr


def test_scale_restart_and_delete(cluster, namespace, target, cluster_image) -> None:
    said: list[str] = []
    target.deploy(cluster_image, 1, NAME, said.append)  # below the autoscaler's minimum: deployed with 2
    assert "deploy: 1 replica(s) is below the autoscaler's minimum: 2" in said
    assert cluster.get("deployment", NAME, "-n", namespace)["spec"]["replicas"] == 2
    target.scale(3)
    assert cluster.get("deployment", NAME, "-n", namespace)["spec"]["replicas"] == 3
    wait_until(lambda: ready(target, 3), 120, "3 ready pods in the cache")
    before = {p.name for p in target.pods(NAME)}
    said: list[str] = []
    target.restart(NAME, said.append)
    template = cluster.get("deployment", NAME, "-n", namespace)["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    wait_until(lambda: ready(target, 3) and not before & {p.name for p in target.pods(NAME)}, 180,
               "every pod replaced")
    with pytest.raises(TargetError) as bounded:  # the autoscaler of manifests/base keeps 2 to 10
        target.scale(1)
    assert str(bounded.value).startswith(f"scale {NAME} to 1: hpa/{NAME} keeps it between 2 and 10 replicas")
    assert cluster.get("deployment", NAME, "-n", namespace)["spec"]["replicas"] == 3  # nothing was sent
    target.scale(2)
    wait_until(lambda: len(target.pods(NAME)) == 2, 120, "two pods left")
    target.delete(NAME)
    for kind in ("deployment", "service", "serviceaccount", "hpa", "pdb", "networkpolicy"):
        gone = cluster.kubectl("get", kind, NAME, "-n", namespace, check=False)
        assert gone.returncode != 0 and "NotFound" in gone.stderr, (kind, gone.stdout)
    wait_until(lambda: not target.workloads(), 30, "the workload gone from the cache")


def test_rbac_403_and_404_in_the_servers_words(cluster, cluster_image) -> None:
    admin = open_target(cluster, cluster.namespace)
    limited = open_target(cluster, cluster.namespace, LIMITED)
    try:
        admin.deploy(cluster_image, 1)
        wait_until(lambda: limited.workloads(), 30, "the limited user reads the workload")
        with pytest.raises(Forbidden) as denied:
            limited.scale(2)
        text = str(denied.value)
        assert text.startswith(f"scale deployments/{NAME}: forbidden (RBAC): ")
        assert 'User "aitui-limited" cannot patch resource "deployments/scale"' in text, text
        with pytest.raises(Forbidden):
            limited.deploy(cluster_image, 1)
        with pytest.raises(NotFound) as missing:
            admin.scale(2, "no-such-workload")
        assert 'deployments.apps "no-such-workload" not found' in str(missing.value)
        other = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=5), LIMITED, "default")
        try:  # no Role there: the watches say so, in the server's words
            assert not other.synced(15)
            said = " ".join(other.errors.values())
            assert 'User "aitui-limited" cannot list resource' in said and 'in the namespace "default"' in said
        finally:
            other.close()
    finally:
        admin.delete(NAME)
        admin.close()
        limited.close()


def test_port_forwards_reach_each_ready_pod(cluster, namespace, target, cluster_image) -> None:
    target.deploy(cluster_image, 2)
    endpoints = wait_until(lambda: len(target.endpoints(NAME)) == 2 and target.endpoints(NAME), 30,
                           "two forwards")
    assert all(e.startswith("127.0.0.1:") for e in endpoints)  # type: ignore[union-attr]
    routes = dict((local, pod) for local, pod in target._forwards.routes())
    assert set(routes.values()) == {p.name for p in target.pods(NAME)}
    for ep in endpoints:  # type: ignore[union-attr]
        sample, png = pick_sample()
        result = predict(ep, png)
        assert not result.error and result.labels[0][0] == sample, result
        assert target.route(ep) == f"pod/{routes[ep]} (port-forward {ep})"
    assert "port-forward through the API server" in target.reach(NAME)
    # another workload's endpoints (a second model's traffic, its smoke) leave this one's forwards open
    assert target.endpoints("another-model") == []
    assert target.endpoints(NAME) == endpoints
    for ep in endpoints:  # type: ignore[union-attr]
        assert not predict(ep, pick_sample()[1]).error
    target.scale(3)
    wait_until(lambda: len(target.endpoints(NAME)) == 3, 120, "a forward for the new pod")
    target.scale(2)
    wait_until(lambda: len(target.endpoints(NAME)) == 2, 60, "the leaving pod's forward closed")


def test_watch_relists_after_a_real_410(cluster, namespace, target, cluster_image) -> None:
    """A watch from a resourceVersion the server no longer keeps gets the server's 410 Expired; the cache
    lists again and carries on from the new list."""
    from aitui.services.targets.watchcache import Expired, WatchCache

    target.deploy(cluster_image, 1)
    calls = 0

    class FirstListIsStale(WatchCache):
        def _list(self) -> str:
            nonlocal calls
            calls += 1
            version = super()._list()
            return "1" if calls == 1 else version  # as if the list had been long ago

    cache = FirstListIsStale("deployments", target.apps.list_namespaced_deployment, namespace, lambda o: o,
                             lambda: None, 5, 30, lambda exc, verb: f"{verb}: {exc}")
    # on a cluster minutes old, "1" is still served: etcd keeps its history until the API server compacts it
    # (every 5 minutes), and the watch cache's window reaches back to its first list at the server's start.
    # An old cluster has done both: compact etcd, and restart the API server so its cache starts from now.
    cluster.compact_etcd()
    cluster.restart("kube-apiserver")

    def expired() -> bool:
        try:
            cache._watch("1")  # the real server's answer
        except Expired:
            return True
        return False

    wait_until(expired, 120, "the API server's 410 for a compacted resourceVersion")
    cache.start()
    try:
        wait_until(lambda: cache.lists == 2, 30, "a relist after the 410")
        target.scale(3)  # and the watch from the new list follows changes
        wait_until(lambda: [d["spec"]["replicas"] for d in cache.values()] == [3], 30, "the change seen")
        assert not cache.error
    finally:
        cache.stop()


def test_lists_recover_after_the_api_server_restarts(cluster, namespace, target, cluster_image) -> None:
    target.deploy(cluster_image, 1)
    cluster.restart("kube-apiserver")
    # while aitui was cut off, someone else scaled: the caches reconnect and show it
    cluster.kubectl("scale", "deployment", NAME, "-n", namespace, "--replicas=3")
    wait_until(lambda: target.workloads()[0].desired == 3 and ready(target, 3), 120,
               "the caches caught up after the restart")
    assert not target.errors, target.errors


def test_the_clusters_ca_is_used_and_required(cluster, tmp_path: Path) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for c in config["clusters"]:
        c["cluster"].pop("certificate-authority-data")
    bare = tmp_path / "no-ca"
    bare.write_text(yaml.safe_dump(config))
    with pytest.raises(TargetError) as refused:
        KubeTarget(Settings(kubeconfig=str(bare), timeout=3), ADMIN, "default").namespaces()
    assert "certificate verify failed" in str(refused.value) or "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    done = subprocess.run(["kubectl", f"--kubeconfig={bare}", "get", "ns"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "certificate" in done.stderr
    assert "aitui" in KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=5), ADMIN,
                                 "default").namespaces()


def test_kubectl_works_against_the_same_cluster(cluster, namespace, cluster_image, tmp_path: Path) -> None:
    """What a user would try next to aitui: apply -k with validation, get, rollout status, logs, port-forward."""
    shutil.copytree(ROOT / "manifests" / "base", tmp_path / "base")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    name, tag = cluster_image.rsplit(":", 1)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": ["../base"], "namespace": namespace,
        "images": [{"name": "aitui/recognizer", "newName": name, "newTag": tag}],
        "replicas": [{"name": NAME, "count": 2}]}))
    cluster.kubectl("apply", "--server-side", "--validate=strict", "-k", str(overlay))
    cluster.kubectl("rollout", "status", f"deployment/{NAME}", "-n", namespace, "--timeout=180s", timeout=200)
    table = cluster.kubectl("get", "deployment", NAME, "-n", namespace).stdout
    assert table.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], table
    assert f"{NAME}   2/2" in table
    logs = cluster.kubectl("logs", f"deployment/{NAME}", "-n", namespace).stdout
    assert logs.strip()
    forward = subprocess.Popen(["kubectl", f"--kubeconfig={cluster.kubeconfig}", f"--context={ADMIN}",
                                "port-forward", "-n", namespace, f"svc/{NAME}", ":8501"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert forward.stdout is not None
        line = forward.stdout.readline()  # "Forwarding from 127.0.0.1:NNNN -> 8501"
        port = int(line.split("127.0.0.1:")[1].split()[0])
        r = requests.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=10)
        assert r.status_code == 200
    finally:
        forward.terminate()
        forward.wait(10)


def test_prometheus_discovers_the_pods(cluster, namespace, target, cluster_image) -> None:
    """manifests/monitoring's scrape job, with kubernetes_sd against this API server: one target per pod."""
    target.deploy(cluster_image, 2)
    pods = {p.name for p in target.pods(NAME)}

    def up() -> set[str]:
        r = requests.get(f"{cluster.prometheus_url}/api/v1/query", timeout=5,
                         params={"query": f'up{{job="recognizer",namespace="{namespace}"}} == 1'})
        return {s["metric"]["pod"] for s in r.json()["data"]["result"]}

    wait_until(lambda: up() == pods, 60, "Prometheus scraping both pods")
    r = requests.get(f"{cluster.prometheus_url}/api/v1/targets", timeout=5).json()
    mine = [t for t in r["data"]["activeTargets"] if t["labels"].get("namespace") == namespace]
    assert {t["labels"]["replica"] for t in mine} == pods and all(t["labels"]["workload"] == NAME for t in mine)


def test_etcd_restarts_during_a_rollout(cluster, namespace, target, cluster_image) -> None:
    """etcd goes away and comes back while a rollout restart runs: the rollout finishes, the lists are right."""
    import threading

    target.deploy(cluster_image, 2)
    before = {p.name for p in target.pods(NAME)}
    outcome: list[object] = []
    rollout = threading.Thread(target=lambda: outcome.append(target.restart(NAME) or "done"))
    rollout.start()
    cluster.restart("etcd")
    rollout.join(300)
    assert outcome == ["done"], outcome
    wait_until(lambda: ready(target, 2) and not before & {p.name for p in target.pods(NAME)
                                                          if p.status != "Terminating"}, 120, "two new pods")
    assert not target.errors, target.errors


def test_a_replica_killed_under_traffic(cluster, namespace, target, cluster_image) -> None:
    """What the user sees when a container dies under load: requests sent to it fail (counted as connection
    errors, never hidden or retried) until the kubelet reports it and it leaves the endpoints; the kubelet
    restarts it; once it is ready again nothing fails and it takes traffic again."""
    from aitui.services.predict import samples
    from aitui.services.traffic import Traffic

    target.deploy(cluster_image, 2)
    wait_until(lambda: len(target.endpoints(NAME)) == 2, 60, "two forwards")
    victim = target.pods(NAME)[0].name
    pod = cluster.get("pod", victim, "-n", namespace)
    container = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    traffic = Traffic(lambda: target.endpoints(NAME), list(samples().values()), concurrency=4, duration=120).start()
    try:
        wait_until(lambda: traffic.stats.ok > 200, 60, "traffic flowing")
        assert traffic.stats.failed == 0
        subprocess.run(["ctr", "--address", str(cluster.dir / "containerd" / "containerd.sock"), "-n", "k8s.io",
                        "tasks", "kill", "-s", "KILL", container], check=True, capture_output=True, timeout=30)
        killed = time.monotonic()
        wait_until(lambda: any(p.name == victim and not p.ready for p in target.pods(NAME)), 60,
                   "the killed pod out of the endpoints")
        noticed = time.monotonic() - killed
        wait_until(lambda: any(p.name == victim and p.restarts == 1 for p in target.pods(NAME)), 60,
                   "the restart seen in the pods list")
        wait_until(lambda: ready(target, 2), 120, "the restarted pod ready again")
        failed, ok = traffic.stats.failed, traffic.stats.ok
        wait_until(lambda: traffic.stats.ok > ok + 200, 60, "traffic flowing again")
    finally:
        stats = traffic.stop()
    print(f"a replica killed under traffic: {stats.ok} ok, {failed} failed {dict(stats.errors)} in the "
          f"{noticed:.1f} s before its pod left the endpoints, none after")
    assert failed > 0 and set(stats.errors) == {"ConnectionError"}, stats.errors  # seen, and what they were
    assert stats.failed == failed and stats.retried == 0, stats  # nothing fails once it is back
