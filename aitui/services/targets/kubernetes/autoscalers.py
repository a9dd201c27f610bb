"""HorizontalPodAutoscalers, from their watch cache: the view's rows, the bounds a scale respects, and
moving those bounds."""

from __future__ import annotations

from typing import Any

from aitui.models import Autoscaler
from aitui.services.targets.base import NotFound, Progress, TargetError, quiet
from aitui.services.targets.kubernetes.client import FIELD_MANAGER, Client, api_error, stamp

RESOURCE = "horizontalpodautoscalers"  # (its cache's errors stay out of the target's `errors`: an extra)
PREFIX = "/apis/autoscaling/v2"


def autoscaler_of(obj: dict[str, Any]) -> Autoscaler:
    """An HPA as its view shows it; targets as `kubectl get hpa` writes them ("cpu: <unknown>/70%")."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    current = {m.get("resource", {}).get("name"): m.get("resource", {}).get("current") or {}
               for m in status.get("currentMetrics") or [] if m.get("type") == "Resource"}
    targets = []
    for m in spec.get("metrics") or []:
        if m.get("type") != "Resource":
            targets.append(m.get("type", "?").lower())
            continue
        name, target = m["resource"].get("name", "?"), m["resource"].get("target") or {}
        now = current.get(name) or {}
        if target.get("type") == "Utilization":
            have = f"{now['averageUtilization']}%" if "averageUtilization" in now else "<unknown>"
            targets.append(f"{name}: {have}/{target.get('averageUtilization')}%")
        else:
            targets.append(f"{name}: {now.get('averageValue', '<unknown>')}/{target.get('averageValue', '?')}")
    why = next((str(c.get("reason", "")) for c in status.get("conditions") or []  # describe says the rest
                if c.get("type") in ("ScalingActive", "AbleToScale") and c.get("status") == "False"), "")
    return Autoscaler(name=meta["name"], workload=ref.get("name", "") if ref.get("kind") == "Deployment" else "",
                      low=int(spec.get("minReplicas", 1)), high=int(spec.get("maxReplicas", 1)),
                      current=int(status.get("currentReplicas", 0)), desired=int(status.get("desiredReplicas", 0)),
                      targets=", ".join(targets) or "-", last_scale=stamp(status.get("lastScaleTime")),
                      created=stamp(meta.get("creationTimestamp")), why=why)


class Autoscalers:
    def __init__(self, client: Client) -> None:
        from kubernetes.client import AutoscalingV2Api

        self.client = client
        client.watches(RESOURCE, lambda: AutoscalingV2Api(client.api).list_namespaced_horizontal_pod_autoscaler,
                       autoscaler_of)

    def cached(self) -> list[Autoscaler]:
        """What the cache holds now (empty before its first list)."""
        return self.client.cached(RESOURCE).values()

    def listed(self) -> list[Autoscaler]:
        cache = self.client.cached(RESOURCE)
        self.client.first_list(cache)
        found = cache.values()
        if not found and cache.error:
            raise TargetError(cache.error)
        return sorted(found, key=lambda a: a.name)

    def bounds(self, workload: str, verb: str) -> tuple[int, int] | None:
        """(min, max) replicas of the HorizontalPodAutoscaler that scales the workload, if one does, from the
        HPA cache (no request: the watch keeps it current). Where autoscalers may not be read (403, 404)
        there are none to respect: the verb says what it may. Another failure is worded as the verb's."""
        cache = self.client.cached(RESOURCE)
        if not self.client.first_list(cache):
            status = getattr(cache.failure, "status", None)
            if cache.failure is not None and status not in (403, 404):
                raise api_error(cache.failure, verb, f"deployments/{workload}") from cache.failure
            if cache.failure is None:
                raise TargetError(f"{verb} deployments/{workload}: the autoscalers in {self.client.namespace} were "
                                  f"not listed within {self.client.timeout:g}s")
            return None
        return next(((a.low, a.high) for a in cache.values() if a.workload == workload), None)

    def wait_for(self, names: set[str], timeout: float = 10.0) -> None:
        """Until the cache holds these (just applied: a scale right after reads their bounds), or fails."""
        cache = self.client.cached(RESOURCE)
        if names:
            self.client.wait(lambda: bool(cache.error) or names <= {a.name for a in cache.values()}, timeout)

    def set(self, workload: str, low: int, high: int, progress: Progress = quiet) -> None:
        """Move the bounds of the HPA that scales `workload` (a merge patch of minReplicas/maxReplicas)."""
        if not 1 <= low <= high:
            raise TargetError(f"autoscaler of {workload}: min must be 1 or more and at most max ({low}..{high})")
        hpa = next((a for a in self.listed() if a.workload == workload), None)
        if hpa is None:
            raise NotFound(f"autoscaler of {workload}: no HorizontalPodAutoscaler scales it in "
                           f"{self.client.namespace}")
        self.client.request("PATCH", self.client.path(PREFIX, RESOURCE, hpa.name), "patch", f"{RESOURCE}/{hpa.name}",
                            {"spec": {"minReplicas": low, "maxReplicas": high}}, "application/merge-patch+json",
                            [("fieldManager", FIELD_MANAGER)])
        progress(f"hpa/{hpa.name}: now keeps {workload} between {low} and {high} replicas "
                 f"(was {hpa.low}..{hpa.high})")
        cache = self.client.cached(RESOURCE)
        self.client.wait(lambda: any(a.name == hpa.name and (a.low, a.high) == (low, high)
                                     for a in cache.values()), 10.0)
