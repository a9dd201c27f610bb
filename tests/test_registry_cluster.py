"""Deploying through the real registry (.ci/registry) to the real cluster (.ci/cluster): aitui pushes with Docker's
credentials, names the image by digest, makes the namespace's pull secret, and the node's containerd pulls from
the registry, which it trusts by the hosts.toml in its config_path but has no credentials for: the pull secret is
what lets it in. Failures change nothing in the namespace (wrong credentials, an untrusted CA, a registry that
stops mid-push, a read-only context), or, when the node is the one that cannot pull, end the deploy with the
node's own reason, shown in the workload's row and in its events."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import ADMIN, Cluster
from conftest import wait_until
from registry import fresh_image, remove_image, trust

from aitui.config import Settings
from aitui.services import labels
from aitui.services import registry as reg
from aitui.services.targets import TargetError
from aitui.services.targets.kubernetes import PULL_FAILURES, KubeTarget

pytestmark = pytest.mark.docker
NAME = labels.NAME
PATH = "aitui-test"


def target_for(cluster: Cluster, namespace: str, host: str, **settings: object) -> KubeTarget:
    t = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=5,
                            cluster_images={ADMIN: f"registry://{host}/{PATH}"}, **settings), ADMIN, namespace)  # type: ignore[arg-type]
    t.watch()
    assert t.synced(15), t.errors
    return t


@pytest.fixture
def via_registry(cluster, namespace, registry, docker_config) -> Iterator[KubeTarget]:
    docker_config({registry.host: (registry.user, registry.password)})  # what `docker login` wrote
    t = target_for(cluster, namespace, registry.host)
    yield t
    t.close()


def deployment(cluster: Cluster, namespace: str) -> dict:
    return cluster.get("deployment", NAME, "-n", namespace)


def nothing_in(cluster: Cluster, namespace: str) -> None:
    """No Deployment and no secret: the deploy changed nothing there."""
    found = cluster.get("deployments,secrets", "-n", namespace)["items"]
    assert [f"{o['kind']}/{o['metadata']['name']}" for o in found] == []


def on_node(cluster: Cluster, ref: str) -> bool:
    """The node's containerd holds the image under the registry's name: only a pull from there names it so
    (a `load` keeps the local tag)."""
    done = subprocess.run(["ctr", "--address", str(cluster.dir / "containerd" / "containerd.sock"), "-n", "k8s.io",
                           "images", "ls", "-q", f"name=={ref}"], capture_output=True, text=True, timeout=30)
    return ref in done.stdout.split()


@pytest.mark.timeout(900)
def test_deploy_pushes_pulls_by_digest_through_a_pull_secret_and_runs(cluster, namespace, registry, via_registry,
                                                                      recognizer_image) -> None:
    said: list[str] = []
    via_registry.deploy(recognizer_image, 2, NAME, said.append)
    tag = recognizer_image.rsplit(":", 1)[1]
    digest = registry.digest(f"{PATH}/recognizer", tag)  # what the registry serves for the tag now
    ref = f"{registry.host}/{PATH}/recognizer@{digest}"
    assert said[-1] == f'deploy {NAME}: deployment "{NAME}" successfully rolled out', said
    assert any(re.fullmatch(r"push [0-9a-f]{12}: (pushed \([\d.]+ MB\)|layer already exists)", s) for s in said)
    secret = reg.secret_name(registry.host)
    assert f"deploy: created secret/{secret} in {namespace}: the pods pull from {registry.host} with the " \
           f"credentials from {Path(reg.docker_config_file())}" in said, said
    [w] = via_registry.workloads()
    assert (w.image, w.ready, w.problem) == (ref, 2, "")  # by digest, ready, nothing wrong
    dep = deployment(cluster, namespace)
    pod = dep["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": secret}]
    assert dep["metadata"]["annotations"]["kubernetes.io/change-cause"] == \
        f"aitui deploy {registry.host}/{PATH}/recognizer:{tag}"  # the tag, kept beside the digest
    pods = via_registry.pods(NAME)
    assert len(pods) == 2 and all(p.ready and p.status == "Running" and p.image == ref for p in pods)
    assert on_node(cluster, ref)  # pulled from the registry by containerd, not loaded
    s = cluster.get("secret", secret, "-n", namespace)
    assert s["type"] == "kubernetes.io/dockerconfigjson"
    assert registry.password not in "\n".join(said)
    # a second deploy: the layers are there, the secret is kept (nothing said of it), the digest the same
    again: list[str] = []
    via_registry._publisher._published.clear()  # (the publisher keeps what it published: push again)
    via_registry.deploy(recognizer_image, 2, NAME, again.append)
    assert not any("secret/" in s for s in again), again
    assert any(s.endswith(f"layers already there; {ref}") for s in again), again


def bare_deployment(name: str, ref: str) -> dict:
    """A Deployment of `ref` with no pull secret (and what the namespace's restricted policy asks)."""
    labels_ = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels_},
                     "template": {"metadata": {"labels": labels_}, "spec": {
                         "securityContext": {"runAsNonRoot": True, "runAsUser": 65532,
                                             "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [{"name": "main", "image": ref, "securityContext": {
                             "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}}}


@pytest.mark.timeout(900)
def test_the_node_pulls_only_through_the_pull_secret(cluster, namespace, registry, via_registry, recognizer_image,
                                                     docker_client) -> None:
    """An image the node never held: without a pull secret its pull is refused by the registry (the node has no
    credentials of its own); aitui's deploy of the same digest, with the secret it makes, runs."""
    fresh, ref = fresh_image(docker_client, base=recognizer_image), ""  # (a layer of its own: no node has it)
    try:
        via_registry.publish(fresh)
        ref = via_registry.image_ref(fresh)
        assert "@sha256:" in ref and not on_node(cluster, ref)
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(bare_deployment("bare", ref)))

        def refused() -> str:
            for pod in cluster.get("pods", "-n", namespace, "-l", "app=bare")["items"]:
                for status in pod.get("status", {}).get("containerStatuses") or []:
                    waiting = status.get("state", {}).get("waiting") or {}
                    if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff") and waiting.get("message"):
                        return str(waiting["message"])
            return ""

        message = wait_until(refused, 120, "the pull without a secret refused")
        assert re.search(r"401|unauthorized|authorization failed", str(message), re.I), message
        assert not on_node(cluster, ref)
        said: list[str] = []
        via_registry.deploy(fresh, 1, NAME, said.append)  # the same digest, with the secret aitui makes
        assert any(s.startswith(f"deploy: created secret/{reg.secret_name(registry.host)}") for s in said), said
        pods = via_registry.pods(NAME)  # (as many as the autoscaler's minimum, 2)
        assert pods and all(p.ready and p.image == ref for p in pods) and on_node(cluster, ref), pods
    finally:
        remove_image(docker_client, fresh)
        if ref:  # (the node's copy: no later run finds it there)
            subprocess.run(["ctr", "--address", str(cluster.dir / "containerd" / "containerd.sock"), "-n", "k8s.io",
                            "images", "rm", ref], capture_output=True, timeout=60)


@pytest.mark.timeout(900)
def test_an_untrusted_ca_on_the_node_ends_the_deploy_with_its_reason(cluster, namespace, registry, instances,
                                                                     docker_config, test_ca, recognizer_image,
                                                                     tmp_path) -> None:
    ca, cert, key = test_ca
    other = instances(cert, key)  # a registry whose CA aitui is given, the node is not
    trust(reg.CERTS_D, other.host, ca)
    docker_config({other.host: (registry.user, registry.password)})
    node = registry.node_certs / other.host
    node.mkdir(parents=True, exist_ok=True)
    (node / "hosts.toml").write_text(f'server = "https://{other.host}"\n\n[host."https://{other.host}"]\n'
                                     '  capabilities = ["pull", "resolve"]\n')  # https, and no CA of its own
    t = target_for(cluster, namespace, other.host)
    try:
        with pytest.raises(TargetError) as caught:
            t.deploy(recognizer_image, 1, NAME)
        said = str(caught.value)
        assert re.fullmatch(rf"deploy {NAME}: pod {NAME}-\S+ cannot pull its image: Failed to pull image "
                            rf'"{other.host}/{PATH}/recognizer@sha256:[0-9a-f]{{64}}": .*x509: certificate signed by '
                            r"unknown authority.*\. The pods that serve keep serving; u rolls back", said), said
        [w] = t.workloads()
        assert w.problem in PULL_FAILURES
        assert any("x509: certificate signed by unknown authority" in e.message for e in t.events(NAME))
    finally:
        t.close()
        for f in node.iterdir():
            f.unlink()
        node.rmdir()


def test_wrong_credentials_and_an_untrusted_ca_change_nothing(cluster, namespace, registry, instances,
                                                               docker_config, test_ca, recognizer_image) -> None:
    docker_config({registry.host: (registry.user, "not-" + registry.password)})
    t = target_for(cluster, namespace, registry.host)
    try:
        with pytest.raises(TargetError, match=rf"^publish {re.escape(recognizer_image)} to {ADMIN}: {registry.host}: "
                                              r"401 unauthorized: it refused the credentials from "):
            t.deploy(recognizer_image, 1, NAME)
    finally:
        t.close()
    _, cert, key = test_ca
    other = instances(cert, key)  # nobody trusts its CA
    docker_config({other.host: (registry.user, registry.password)})
    t = target_for(cluster, namespace, other.host)
    try:
        with pytest.raises(TargetError, match=rf"{other.host}: TLS: certificate signed by an unknown authority; "
                                              rf"trust its CA: put it in .*/{other.host}/ca.crt here"):
            t.deploy(recognizer_image, 1, NAME)
    finally:
        t.close()
    nothing_in(cluster, namespace)


def test_a_registry_stopped_mid_push_deploys_nothing(cluster, namespace, registry, instances, docker_config,
                                                     docker_client) -> None:
    doomed = instances()
    docker_config({doomed.host: (registry.user, registry.password)})
    image = fresh_image(docker_client, 160)
    t = target_for(cluster, namespace, doomed.host)

    def progress(line: str) -> None:
        m = re.search(r": ([\d.]+) of [\d.]+ MB", line)
        if m and float(m[1]) > 0:
            doomed.stop()

    try:
        with pytest.raises(TargetError, match=rf"^publish {image} to {ADMIN}: push {doomed.host}/{PATH}/fresh:\w+: "
                                              rf"the registry at {doomed.host} stopped answering mid-push "
                                              r"\(after [\d.]+ of [\d.]+ MB\).*; nothing was deployed$"):
            t.deploy(image, 1, NAME, progress)
        nothing_in(cluster, namespace)
    finally:
        t.close()
        remove_image(docker_client, image)


def test_a_read_only_context_never_pushes_nor_makes_a_secret(cluster, namespace, registry, docker_config,
                                                             docker_client) -> None:
    docker_config({registry.host: (registry.user, registry.password)})
    image = fresh_image(docker_client)
    t = target_for(cluster, namespace, registry.host, readonly_contexts=[ADMIN])
    try:
        for act in (lambda: t.publish(image), lambda: t.deploy(image, 1, NAME)):
            with pytest.raises(TargetError, match=rf"read-only \({ADMIN}\)"):
                act()
        assert image.rsplit(":", 1)[1] not in registry.tags(f"{PATH}/fresh")
        nothing_in(cluster, namespace)
    finally:
        t.close()
        remove_image(docker_client, image)
