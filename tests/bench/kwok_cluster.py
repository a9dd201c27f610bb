"""5,000 pods on the real cluster of `.ci/cluster up`, for the speed benchmark: kwok (built with the cluster)
keeps a fake node Ready and marks the pods the real scheduler binds to it Running and Ready. No container
runs; the pods carry no scrape annotations, so Prometheus never tries their (fake) addresses."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
NODE = "kwok-node-0"


def _cache_bin() -> Path:
    version = os.environ.get("AITUI_K8S_VERSION", "1.37.2")
    base = os.environ.get("AITUI_CLUSTER_CACHE") or str(Path(os.environ.get("XDG_CACHE_HOME") or
                                                            Path.home() / ".cache") / "aitui" / "cluster")
    return Path(base) / "bin" / f"k8s-{version}"


class KwokPods:
    context = "aitui-admin"

    def __init__(self, pods: int) -> None:
        self.namespace = f"aitui-bench-{os.getpid()}"  # a namespace still terminating from a run before is fine
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "aitui" / "cluster"
        self.kubeconfig = Path(os.environ.get("AITUI_CLUSTER_STATE") or state) / "kubeconfig"
        self.pods = pods
        self.kwok: subprocess.Popen | None = None

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(["kubectl", f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", *args],
                              capture_output=True, text=True, input=stdin, timeout=300)
        if done.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def __enter__(self) -> KwokPods:
        if not self.kubeconfig.is_file():
            raise SystemExit(f"no cluster: run ./.ci/cluster up first ({self.kubeconfig} is missing)")
        kwok = _cache_bin() / "kwok"
        if not kwok.is_file():
            raise SystemExit(f"no kwok at {kwok}: run ./.ci/cluster build")
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"type": "kwok", "kubernetes.io/hostname": NODE}},
            "spec": {"taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]}}))
        self.log = open(Path(self.kubeconfig).parent / "logs" / "kwok.log", "w")
        self.kwok = subprocess.Popen(
            [str(kwok), f"--kubeconfig={self.kubeconfig}",
             "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--server-address=127.0.0.1:10247",
             # the pods' addresses kwok writes into their status: inside the cluster's own pod range, never used
             "--node-ip=127.0.0.1", "--cidr=10.244.64.0/18", "--node-lease-duration-seconds=40",
             *(f"--config={stage}" for stage in sorted((kwok.parent / "kwok-stages").glob("*.yaml")))],
            stdout=self.log, stderr=self.log)
        try:
            self._seed()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _seed(self) -> None:
        self.kubectl("create", "namespace", self.namespace)
        labels = {"app.kubernetes.io/name": "recognizer", "app.kubernetes.io/instance": "recognizer"}
        t0 = time.perf_counter()
        self.kubectl("apply", "--server-side", "-n", self.namespace, "-f", "-", stdin=json.dumps({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "recognizer", "labels": labels},
            "spec": {"replicas": self.pods, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"nodeSelector": {"type": "kwok"},
                         "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
                         "containers": [{"name": "recognizer", "image": "aitui/recognizer:0.1.0"}]}}}}))
        while True:
            ready = json.loads(self.kubectl("get", "deployment", "recognizer", "-n", self.namespace, "-o", "json"))
            if (ready.get("status") or {}).get("readyReplicas", 0) >= self.pods:
                break
            if time.perf_counter() - t0 > 900:
                raise TimeoutError(f"{self.pods} pods not ready on kwok's node after 900 s")
            time.sleep(1)
        print(f"real cluster: {self.pods} pods created by the controller-manager, bound by the scheduler and made "
              f"ready by kwok in {time.perf_counter() - t0:.1f} s")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        subprocess.run(["kubectl", f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", "delete",
                        "namespace", self.namespace, "--wait=true", "--timeout=300s"], capture_output=True,
                       timeout=330)
        if self.kwok is not None:
            self.kwok.terminate()
            self.kwok.wait(10)
            self.log.close()
        subprocess.run(["kubectl", f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", "delete", "node",
                        NODE], capture_output=True, timeout=60)
