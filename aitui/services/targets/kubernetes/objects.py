"""What is read when asked, not watched: nodes, Services (their endpoints counted from the pod cache),
events, namespaces, and one object of a view's kind for `y` and describe."""

from __future__ import annotations

import json
from typing import Any

from aitui.models import Event, Node, Service
from aitui.services.targets.base import TargetError
from aitui.services.targets.kubernetes.client import Client, api_error, stamp
from aitui.services.targets.kubernetes.pods import Pods

# registry kind -> (path prefix, plural, Kind): what `y` and describe read for a row of that view
OBJECTS = {
    "workloads": ("/apis/apps/v1", "deployments", "Deployment"),
    "pods": ("/api/v1", "pods", "Pod"),
    "models": ("/api/v1", "pods", "Pod"),  # the models view's rows are replicas
    "services": ("/api/v1", "services", "Service"),
    "hpa": ("/apis/autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    "revisions": ("/apis/apps/v1", "replicasets", "ReplicaSet"),
}


def cpus(quantity: str) -> int:
    """A CPU quantity ("4", "3500m") in whole cores."""
    return int(quantity[:-1]) // 1000 if quantity.endswith("m") else int(float(quantity or 0))


def memory(quantity: str) -> int:
    """A memory quantity ("16Gi", "8000000Ki", "2G") in bytes."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "K": 10**3, "M": 10**6, "G": 10**9,
             "T": 10**12}
    for unit in sorted(units, key=len, reverse=True):
        if quantity.endswith(unit):
            return int(float(quantity[: -len(unit)]) * units[unit])
    return int(float(quantity or 0))


def event_time(e: dict[str, Any]) -> float:
    return stamp(e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp"))


class Objects:
    def __init__(self, client: Client, pods: Pods) -> None:
        self.client, self.pods = client, pods

    def _items(self, list_fn: Any, verb: str, resource: str, *args: Any) -> list[dict[str, Any]]:
        """A typed list of the client, read as JSON (not deserialized into its models)."""
        try:
            response = list_fn(*args, _preload_content=False, _request_timeout=self.client.timeout)
            return json.loads(response.data)["items"]
        except Exception as exc:
            raise api_error(exc, verb, resource) from exc

    def nodes(self) -> list[Node]:
        """The cluster's nodes (cluster-scoped: a user who may only read a namespace gets the 403)."""
        out = []
        for n in self._items(self.client.core.list_node, "list", "nodes"):
            meta, status = n["metadata"], n.get("status") or {}
            ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
            roles = sorted(k.split("/", 1)[1] for k in meta.get("labels") or {}
                           if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
            capacity = status.get("capacity") or {}
            out.append(Node(name=meta["name"], status={"True": "Ready", "False": "NotReady"}.get(
                ready.get("status", ""), "Unknown"), roles=",".join(roles),
                version=(status.get("nodeInfo") or {}).get("kubeletVersion", "?"),
                cpus=cpus(capacity.get("cpu", "0")), memory=memory(capacity.get("memory", "0")),
                created=stamp(meta.get("creationTimestamp"))))
        return sorted(out, key=lambda n: n.name)

    def services(self) -> list[Service]:
        """The namespace's Services; their endpoints counted from the pod cache (the pods their selector
        picks, ready or not), so the count moves with the pods view without a watch of its own."""
        ns = self.client.namespace
        items = self._items(self.client.core.list_namespaced_service, "list", f"services in {ns}", ns)
        pods = [(pod, pod_labels) for pod, pod_labels in self.pods.labelled() if pod.status != "Terminating"]
        out = []
        for svc in items:
            spec = svc.get("spec") or {}
            selector = spec.get("selector") or {}
            picked = [pod for pod, pod_labels in pods
                      if selector and all(pod_labels.get(k) == v for k, v in selector.items())]
            ports = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
            out.append(Service(name=svc["metadata"]["name"], type=spec.get("type", "ClusterIP"),
                               address=spec.get("clusterIP") or "-", ports=ports or "-",
                               ready=sum(p.ready for p in picked), endpoints=len(picked),
                               created=stamp(svc["metadata"].get("creationTimestamp"))))
        return sorted(out, key=lambda s: s.name)

    def events(self, workload: str) -> list[Event]:
        """The namespace's events about the workload, its ReplicaSets and its pods, oldest first."""
        ns = self.client.namespace
        out = []
        for e in self._items(self.client.core.list_namespaced_event, "list", f"events in {ns}", ns):
            obj = e.get("involvedObject") or {}
            name = obj.get("name", "")
            if name != workload and not name.startswith(workload + "-"):
                continue
            out.append(Event(time=event_time(e), type=e.get("type", "Normal"), reason=e.get("reason", ""),
                             object=f"{obj.get('kind', '').lower()}/{name}", message=e.get("message", "")))
        return sorted(out, key=lambda ev: ev.time)

    def pull_failure(self, workload: str, pod: str) -> str:
        """The kubelet's words for a pod's failed pull ("" until its event is there); its waiting reason when
        events cannot be read."""
        try:
            found = self.events(workload)
        except TargetError:
            return "ErrImagePull"
        return next((e.message for e in reversed(found) if e.type == "Warning" and e.object == f"pod/{pod}"
                     and e.reason == "Failed" and e.message.startswith("Failed to pull image")), "")

    def namespaces(self) -> list[str]:
        c = self.client
        try:
            found = c.core.list_namespace(_request_timeout=c.timeout).items
            return sorted(str(n.metadata.name) for n in found if n.metadata)
        except Exception as exc:
            raise api_error(exc, "list", "namespaces") from exc

    def manifest(self, kind: str, name: str) -> Any:
        if kind not in OBJECTS:
            raise TargetError(f"{kind} rows have no object to show")
        prefix, plural, _ = OBJECTS[kind]
        return self.client.request("GET", self.client.path(prefix, plural, name), "get", f"{plural}/{name}")

    def describe(self, kind: str, name: str) -> str:
        from aitui.services import describe as text

        c = self.client
        obj = self.manifest(kind, name)
        about = f"involvedObject.name={name},involvedObject.kind={OBJECTS[kind][2]}"
        found = c.request("GET", c.path("/api/v1", "events"), "list", f"events of {OBJECTS[kind][1]}/{name}",
                          query=[("fieldSelector", about)])
        events = sorted((Event(time=event_time(e), type=e.get("type", "Normal"), reason=e.get("reason", ""),
                               object=(e.get("source") or {}).get("component", "")
                               or e.get("reportingComponent", ""), message=e.get("message", ""))
                         for e in found["items"]), key=lambda e: e.time)
        return text.describe(obj, events)
