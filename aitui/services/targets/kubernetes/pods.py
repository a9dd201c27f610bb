"""Pods: read from the pod cache, matched to their Deployment by its selector; their logs, CPU and memory
(metrics-server), a shell (`kubectl exec`), the readiness a pod refuses, and quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from aitui.models import Pod, ReplicaStats, Shell
from aitui.services import labels
from aitui.services.targets.base import NotFound, Progress, lines_of, quiet, refusal_of
from aitui.services.targets.kubernetes.client import Client, api_error, stamp

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")  # a pod's waiting reasons: no image


def pod_of(obj: dict[str, Any]) -> tuple[Pod, dict[str, str]]:
    """A pod as the Pods table shows it, and its labels (to match a Deployment's selector)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    shown = status.get("phase") or "Pending"
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            shown = waiting["reason"]  # ContainerCreating, CrashLoopBackOff, ImagePullBackOff
    deleting = bool(meta.get("deletionTimestamp"))
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    owner = next((r.get("name", "") for r in meta.get("ownerReferences") or []), "")
    containers = spec.get("containers") or [{}]
    quarantined = (meta.get("labels") or {}).get(labels.QUARANTINE_LABEL)
    if quarantined and not deleting:
        shown, owner = "Quarantined", quarantined + "-"  # out of its Service: takes no traffic
    pod = Pod(name=meta["name"], workload=owner.rsplit("-", 1)[0], status="Terminating" if deleting else shown,
              ready=ready and not deleting and not quarantined,
              restarts=sum(cs.get("restartCount", 0) for cs in statuses),
              created=stamp(meta.get("creationTimestamp")), image=containers[0].get("image", ""),
              node=spec.get("nodeName") or "",
              model=(meta.get("labels") or {}).get(labels.MODEL_LABEL) or labels.NAME)
    return pod, meta.get("labels") or {}


class Pods:
    def __init__(self, client: Client) -> None:
        self.client = client
        client.watches("pods", lambda: client.core.list_namespaced_pod, pod_of)

    def listed(self, workload: str | None = None) -> list[Pod]:
        """The namespace's pods, or the pods a Deployment's selector picks (and those quarantined from it)."""
        selector: dict[str, str] = {}
        if workload is not None:
            deps = self.client.cached("deployments").values()
            dep = next((d for d in deps if d["metadata"]["name"] == workload), None)
            if dep is None:
                return []
            selector = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        cache = self.client.cached("pods")
        # a first list of thousands of pods takes a while: answer with it, not with an empty list that
        # would read "no replicas" (a cache that cannot list says why through `errors`)
        self.client.first_list(cache)
        out = [pod if workload in (None, pod.workload) else replace(pod, workload=workload)
               for pod, pod_labels in cache.values()
               if all(pod_labels.get(k) == v for k, v in selector.items())
               or (workload is not None and pod_labels.get(labels.QUARANTINE_LABEL) == workload)]
        return sorted(out, key=lambda p: (p.created, p.name))

    def labelled(self) -> list[tuple[Pod, dict[str, str]]]:
        """Every cached pod with its labels (what a Service's selector picks from)."""
        return self.client.cached("pods").values()

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        c = self.client
        try:
            # a followed log may stay quiet for long: only the connect is bounded
            response: Any = c.core.read_namespaced_pod_log(
                pod, c.namespace, follow=follow and not previous, tail_lines=tail, timestamps=timestamps,
                previous=previous, _preload_content=False,
                _request_timeout=(c.timeout, 86400) if follow and not previous else c.timeout)
        except Exception as exc:
            if previous and getattr(exc, "status", None) == 400 and "previous terminated container" in \
                    str(getattr(exc, "body", "")):
                raise NotFound(f"logs {pod}: no previous container: it has not restarted") from exc
            raise api_error(exc, "logs", f"pods/{pod}") from exc
        yield from lines_of(response.stream(amt=None, decode_content=False))

    def stats(self, workload: str) -> list[ReplicaStats]:
        """Each pod's CPU and memory from metrics-server (the metrics.k8s.io API, what `kubectl top`
        reads); a cluster without it says so."""
        from kubernetes import client
        from kubernetes.utils import parse_quantity

        pods = {p.name for p in self.listed(workload)}
        try:
            found = client.CustomObjectsApi(self.client.api).list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", self.client.namespace, "pods", _request_timeout=self.client.timeout)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                raise NotFound(f"no metrics-server on {self.client.context}: the metrics.k8s.io API is not served "
                               "(install metrics-server for CPU and memory without Prometheus)") from exc
            raise api_error(exc, "list", "pods.metrics.k8s.io") from exc
        out = []
        for item in (found if isinstance(found, dict) else {}).get("items") or []:
            name = (item.get("metadata") or {}).get("name", "")
            if name in pods:
                usage = [c.get("usage") or {} for c in item.get("containers") or []]
                out.append(ReplicaStats(name, float(sum(parse_quantity(u.get("cpu", "0")) for u in usage)),
                                        float(sum(parse_quantity(u.get("memory", "0")) for u in usage)),
                                        "metrics-server"))
        return sorted(out, key=lambda s: s.replica)

    def refusal(self, pod: str) -> str:
        """The reason a pod gives on its readiness endpoint for not being ready for good (its self-check
        failed, serving/recognizer/selfcheck.py), through the API server's pod proxy; "" when it gives none
        or cannot be asked (the kubelet's probe event has only the status code)."""
        import json

        path = self.client.path("/api/v1", "pods", f"{pod}:{labels.SERVING_PORT}/proxy/v2/health/ready")
        try:
            response = self.client.call("GET", path)
            body = json.loads(response.data) if response.status == 503 else {}
        except Exception:  # no pods/proxy right, the pod gone, a body that is not ours: nothing to say
            return ""
        return refusal_of(body)

    def delete_quarantined(self, workload: str, progress: Progress = quiet) -> None:
        c = self.client
        for pod in [p.name for p in self.listed(workload) if p.status == "Quarantined"]:
            try:
                c.core.delete_namespaced_pod(pod, c.namespace, _request_timeout=c.timeout)
            except Exception as exc:
                if getattr(exc, "status", None) != 404:
                    raise api_error(exc, "delete", f"pods/{pod}") from exc
            progress(f"delete: pods/{pod} (quarantined) in {c.namespace}")

    def shell(self, pod: str) -> Shell:
        """`kubectl exec -it` with this target's kubeconfig, context and namespace: what users trust, and
        a real TTY with no terminal code of ours. The pod is read first: a gone pod is said as such."""
        from aitui.services.targets.shells import probe

        c = self.client
        where = f"pod/{pod} in {c.context}/{c.namespace}"
        try:
            c.request("GET", c.path("/api/v1", "pods", pod), "get", f"pods/{pod}")
        except NotFound as exc:
            raise NotFound(f"shell in {where}: it is gone ({exc})") from exc
        base = ["kubectl", *([f"--kubeconfig={c.settings.kubeconfig}"] if c.settings.kubeconfig else []),
                f"--context={c.context}", f"--namespace={c.namespace}", "exec"]
        shell = probe([*base, pod, "--"], {}, where, max(c.timeout, 20.0))
        return Shell(argv=(*base, "-it", pod, "--", shell), where=where)
