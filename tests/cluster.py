"""The real single-node Kubernetes that `.ci/cluster up` runs on this machine (etcd, kube-apiserver,
controller-manager, scheduler, containerd and the kubelet, built from Kubernetes' own modules), as
fixtures: its kubeconfig (contexts aitui-admin and aitui-limited), kubectl, a fresh namespace labelled for
the restricted Pod Security Standard per test, its Prometheus (kubernetes_sd), and a way to restart a
component. A cluster that is not up fails the test wherever the suite runs (AITUI_PARTIAL=1 makes it a skip,
and `-m "not cluster"` leaves out every test that uses it: tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import requests
from conftest import ROOT, missing

from aitui.config import Settings, state_dir

ADMIN, LIMITED = "aitui-admin", "aitui-limited"
HINT = "run ./.ci/cluster up first (it builds and starts a real single-node cluster)"


class KubectlFailed(RuntimeError):
    """kubectl exited non-zero: not an AssertionError, so wait_until retries it (an API server restarting)."""


@dataclass
class Cluster:
    dir: Path
    kubeconfig: Path
    prometheus_url: str
    namespace: str = "aitui"  # the contexts' own namespace; the limited user may only read there

    def kubectl(self, *args: str, context: str = ADMIN, check: bool = True, timeout: float = 120,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["kubectl", f"--kubeconfig={self.kubeconfig}", f"--context={context}", *args],
                              capture_output=True, text=True, timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise KubectlFailed(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done

    def get(self, *args: str) -> dict:
        return dict(json.loads(self.kubectl("get", "-o", "json", "--show-managed-fields", *args).stdout))

    def restart(self, component: str) -> None:
        """Stop and start one component (kube-apiserver, etcd…) as `.ci/cluster restart` does."""
        done = subprocess.run(["bash", str(ROOT / ".ci" / "cluster"), "restart", component],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision, as the API server does every 5 minutes on an old
        cluster: a watch from any earlier resourceVersion then gets the server's real 410. Returns the revision."""
        etcd = "http://127.0.0.1:2379/v3/kv"  # .ci/cluster's etcd: plain HTTP on 127.0.0.1 (the gRPC gateway)
        revision = int(requests.post(f"{etcd}/range", json={"key": "AA=="}, timeout=10).json()["header"]["revision"])
        done = requests.post(f"{etcd}/compaction", json={"revision": str(revision), "physical": True}, timeout=60)
        assert done.ok, done.text
        return revision

    def new_namespace(self) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        self.kubectl("apply", "--server-side", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                                  "pod-security.kubernetes.io/enforce-version": "latest",
                                                  "aitui.test": "1"}}}))
        self.kubectl("create", "rolebinding", "aitui-limited-reader", "-n", name, "--clusterrole=aitui-reader",
                     f"--user={LIMITED}")  # the limited user reads here too, as in the contexts' namespace
        return name


def _missing(what: str) -> NoReturn:
    missing(what, HINT)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    d = Path(os.environ.get("AITUI_CLUSTER_STATE") or state_dir() / "cluster")
    c = Cluster(d, d / "kubeconfig", "http://127.0.0.1:9091")
    if not c.kubeconfig.is_file():
        _missing(f"the real cluster ({c.kubeconfig})")
    if c.kubectl("get", "--raw", "/readyz", check=False, timeout=20).returncode != 0:
        _missing("the real cluster's API server")
    try:
        requests.get(f"{c.prometheus_url}/-/ready", timeout=2).raise_for_status()
    except requests.RequestException:
        _missing("the cluster's Prometheus")
    # a run that was killed leaves its namespaces, and their pods hold the node's CPU requests: a later
    # rollout's surge pod would stay Pending (seen: the walkthrough's rollout timed out behind 4 such pods)
    c.kubectl("delete", "namespace", "-l", "aitui.test=1", "--wait=true", "--timeout=180s", check=False,
              timeout=200)
    return c


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace that enforces the restricted Pod Security Standard; deleted afterwards."""
    name = cluster.new_namespace()
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def on_node(cluster: Cluster, image: str) -> str:
    """`image`, loaded into the node as aitui's publish does."""
    from aitui.services import images

    socket = str(cluster.dir / "containerd" / "containerd.sock")
    if not images.image_in_containerd(image, socket):
        for _ in images.load_into_containerd(Settings(), image, socket):
            pass
    assert images.image_in_containerd(image, socket)
    return image


@pytest.fixture(scope="session")
def cluster_image(cluster: Cluster, recognizer_image: str) -> str:
    """The recognizer's image, on the node."""
    return on_node(cluster, recognizer_image)
