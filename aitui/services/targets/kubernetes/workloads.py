"""Deployments: the workloads list from their cache, and the verbs that change them. deploy is server-side
apply (fieldManager=aitui) of manifests/base as rendered for the image, replicas and namespace; scale
patches the /scale subresource within the bounds of the workload's HorizontalPodAutoscaler (from its
cache) instead of fighting it; restart sets the pod template's restartedAt annotation, as
`kubectl rollout restart` does; each waits for its rollout as `kubectl rollout status` would."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aitui.models import Workload
from aitui.services import images, labels, manifests
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.kubernetes.autoscalers import Autoscalers
from aitui.services.targets.kubernetes.client import FIELD_MANAGER, Client, api_error, stamp
from aitui.services.targets.kubernetes.objects import Objects
from aitui.services.targets.kubernetes.pods import PULL_FAILURES, Pods
from aitui.services.targets.kubernetes.publish import Publisher

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
ROLLOUT_TIMEOUT = 600.0  # the Deployment's default progressDeadlineSeconds
ASK_STUCK_EVERY = 3.0  # while a rollout waits, a new pod that runs unready this long is asked why
# the kinds manifests/base holds: apiVersion/kind -> (path prefix, plural)
PATHS = {
    "v1/ServiceAccount": ("/api/v1", "serviceaccounts"),
    "v1/Secret": ("/api/v1", "secrets"),  # the pull secret of a registry (services/registry.py)
    "v1/Service": ("/api/v1", "services"),
    "apps/v1/Deployment": ("/apis/apps/v1", "deployments"),
    "autoscaling/v2/HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "policy/v1/PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "networking.k8s.io/v1/NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
}


def rollout_status(dep: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's `rollout status` for a Deployment, in its order and words (reference §8)."""
    spec, status, meta = dep.get("spec") or {}, dep.get("status") or {}, dep["metadata"]
    name = meta["name"]
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            raise TargetError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas", 1)
    updated, replicas = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < want:
        return f"{updated} out of {want} new replicas have been updated...", False
    if replicas > updated:
        return f"{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def workload_of(dep: dict[str, Any]) -> Workload:
    meta, spec, status = dep["metadata"], dep.get("spec") or {}, dep.get("status") or {}
    template = spec.get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    model = ((template.get("metadata") or {}).get("labels") or {}).get(labels.MODEL_LABEL) or labels.NAME
    return Workload(name=meta["name"], namespace=meta.get("namespace", ""), desired=spec.get("replicas", 1),
                    ready=status.get("readyReplicas", 0), up_to_date=status.get("updatedReplicas", 0),
                    available=status.get("availableReplicas", 0), image=containers[0].get("image", "") if containers
                    else "", created=stamp(meta.get("creationTimestamp")), model=model)


class Workloads:
    def __init__(self, client: Client, pods: Pods, autoscalers: Autoscalers, publisher: Publisher,
                 objects: Objects) -> None:
        self.client, self.pods, self.autoscalers, self.publisher = client, pods, autoscalers, publisher
        self.objects = objects  # the events a failed pull is told by
        client.watches("deployments", lambda: client.apps.list_namespaced_deployment, lambda obj: obj)

    def deployments(self) -> list[dict[str, Any]]:
        return self.client.cached("deployments").values()

    def find(self, name: str) -> dict[str, Any] | None:
        return next((d for d in self.deployments() if d["metadata"]["name"] == name), None)

    def listed(self) -> list[Workload]:
        deps = self.deployments()
        cache = self.client.caches["deployments"]
        if not deps and cache.error:
            raise TargetError(cache.error)
        bounds = {a.workload: (a.low, a.high) for a in self.autoscalers.cached()}
        # a pod that cannot get its image says so in its workload's row (ErrImagePull, ImagePullBackOff)
        problems = {pod.workload: pod.status for pod, _ in self.pods.labelled() if pod.status in PULL_FAILURES}
        return sorted((replace(workload_of(d), autoscaler=bounds.get(d["metadata"]["name"]),
                               problem=problems.get(d["metadata"]["name"], "")) for d in deps),
                      key=lambda w: w.name)

    # -- changing ----------------------------------------------------------------------------
    def deploy(self, image: str, replicas: int, workload: str, progress: Progress = quiet) -> None:
        """Server-side apply of every object in manifests/base, then wait for the rollout as kubectl does."""
        c = self.client
        model = images.model_of_image(c.settings, image)  # read while the name is the local one
        self.publisher.publish(image, progress)
        local, image = image, self.publisher.image_ref(image)
        try:
            docs = manifests.render(c.settings, image, replicas, c.namespace, workload, model)
            floor = min((d["spec"].get("minReplicas", 1) for d in docs if d["kind"] == "HorizontalPodAutoscaler"),
                        default=0)
            if replicas < floor:  # else the autoscaler would raise it right after the rollout
                progress(f"deploy: {replicas} replica(s) is below the autoscaler's minimum: {floor}")
                replicas = floor
                docs = manifests.render(c.settings, image, replicas, c.namespace, workload, model)
        except manifests.ManifestError as exc:
            raise TargetError(f"deploy: {exc}") from exc
        self.publisher.pull_secret(docs, local, progress, "deploy", self.apply)
        for doc in docs:
            what = f"{doc['kind'].lower()}/{doc['metadata']['name']}"
            self.apply(doc)
            progress(f"deploy: applied {what} in {c.namespace} (server-side, fieldManager={FIELD_MANAGER})")
        self.wait_rollout(workload, progress, "deploy")
        self.autoscalers.wait_for({d["metadata"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"})

    def apply(self, doc: dict[str, Any]) -> None:
        prefix, plural = PATHS[f"{doc['apiVersion']}/{doc['kind']}"]
        name = doc["metadata"]["name"]
        self.client.request("PATCH", self.client.path(prefix, plural, name), "apply", f"{plural}/{name}", doc,
                            "application/apply-patch+yaml", [("fieldManager", FIELD_MANAGER), ("force", True)])

    def scale(self, replicas: int, workload: str, progress: Progress = quiet) -> None:
        c = self.client
        if replicas < 0:
            raise TargetError("scale: replicas must be 0 or more")
        bounds = self.autoscalers.bounds(workload, "scale")
        if bounds and not bounds[0] <= replicas <= bounds[1]:
            raise TargetError(f"scale {workload} to {replicas}: hpa/{workload} keeps it between {bounds[0]} and "
                              f"{bounds[1]} replicas; change the autoscaler's bounds to go further")
        before = self.set_replicas(workload, replicas)
        progress(f"scale {workload}: {replicas} replica{'s' if replicas != 1 else ''} requested "
                 f"(was {before.status.replicas if before.status else 0})")
        c.wait(lambda: any(d["metadata"]["name"] == workload and (d.get("spec") or {}).get("replicas") == replicas
                           for d in self.deployments()), 10.0)

    def set_replicas(self, name: str, replicas: int) -> Any:
        """A merge patch of the Deployment's /scale subresource; the Scale as it was."""
        c = self.client
        try:
            return c.apps.patch_namespaced_deployment_scale(
                name, c.namespace, {"spec": {"replicas": replicas}}, field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json", _request_timeout=c.timeout)
        except Exception as exc:
            raise api_error(exc, "scale", f"deployments/{name}") from exc

    def patch(self, workload: str, patch: Any, verb: str) -> None:
        """A patch of the Deployment (a strategic merge, or a JSON patch given as a list)."""
        c = self.client
        try:
            c.apps.patch_namespaced_deployment(workload, c.namespace, patch, field_manager=FIELD_MANAGER,
                                               _request_timeout=c.timeout)
        except Exception as exc:
            raise api_error(exc, verb, f"deployments/{workload}") from exc

    def restart(self, workload: str, progress: Progress = quiet) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.patch(workload, {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}, "restart")
        progress(f"restart {workload}: restartedAt={now}")
        self.wait_rollout(workload, progress, "restart")

    def quarantine(self, pod: str, workload: str, progress: Progress = quiet) -> str:
        """Take one pod out of traffic and keep it running to be looked at (logs, shell, YAML): it loses the
        selector's instance label, so its Service stops sending to it and its ReplicaSet lets it go and
        starts a replacement (`kubectl label pod … app.kubernetes.io/instance-`); `delete` removes it."""
        c = self.client
        if not any(p.name == pod for p in self.pods.listed(workload)):
            raise TargetError(f"quarantine: {pod} is not a replica of {workload} in {c.namespace}")
        body = {"metadata": {"labels": {labels.INSTANCE_LABEL: None, labels.QUARANTINE_LABEL: workload}}}
        try:
            c.core.patch_namespaced_pod(pod, c.namespace, body, _request_timeout=c.timeout,
                                        _content_type="application/merge-patch+json")
        except Exception as exc:
            raise api_error(exc, "patch", f"pods/{pod}") from exc
        progress(f"quarantine: pod/{pod} out of the Service, kept running (its ReplicaSet starts a replacement; "
                 "delete removes it)")
        return pod

    def delete(self, workload: str, progress: Progress = quiet) -> None:
        """Delete what deploy applied, and the pods quarantined from it; objects already gone are fine."""
        c = self.client
        self.pods.delete_quarantined(workload, progress)
        for doc in manifests.render(c.settings, "unused", 0, c.namespace, workload):
            prefix, plural = PATHS[f"{doc['apiVersion']}/{doc['kind']}"]
            name = doc["metadata"]["name"]
            if c.request("DELETE", c.path(prefix, plural, name), "delete", f"{plural}/{name}",
                         query=[("propagationPolicy", "Background")], missing=True) is None:
                continue  # already gone
            progress(f"delete: {plural}/{name} in {c.namespace}")

    def wait_rollout(self, workload: str, progress: Progress, verb: str) -> None:
        said = ""

        def step() -> bool:
            nonlocal said
            dep = self.find(workload)
            if dep is None:
                return False
            text, done = rollout_status(dep)
            if text != said:
                said = text
                progress(f"{verb} {workload}: {text}")
            return done

        deadline = time.monotonic() + ROLLOUT_TIMEOUT
        while not self.client.wait(step, min(ASK_STUCK_EVERY, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                raise TargetError(f"{verb} {workload}: not rolled out after {ROLLOUT_TIMEOUT:.0f}s: {said}")
            for pod in self.pods.listed(workload):  # a new pod that runs but will not say ready: ask it why
                if pod.status in PULL_FAILURES:  # the node's reason is in the kubelet's event
                    why = self.objects.pull_failure(workload, pod.name)
                    if why:
                        raise TargetError(f"{verb} {workload}: pod {pod.name} cannot pull its image: {why}. "
                                          "The pods that serve keep serving; u rolls back")
                if pod.status == "Running" and not pod.ready and time.time() - pod.created > ASK_STUCK_EVERY:
                    why = self.pods.refusal(pod.name)
                    if why:
                        raise TargetError(f"{verb} {workload}: pod {pod.name} ({pod.image}) refused to become "
                                          f"ready: {why}. The pods that serve keep serving; u rolls back")
