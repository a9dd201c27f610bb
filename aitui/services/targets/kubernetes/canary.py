"""A canary on Kubernetes (services/canary.py compares): a second Deployment `<workload>-canary` behind the
same Service, weighted by replica counts."""

from __future__ import annotations

from aitui.services import images, labels, manifests
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.kubernetes.client import Client, api_error
from aitui.services.targets.kubernetes.forwards import Forwards
from aitui.services.targets.kubernetes.workloads import ROLLOUT_TIMEOUT, Workloads

IMAGE_ANNOTATION = "aitui.io/image"  # the canary's image as it was asked for: what promote deploys


class Canary:
    def __init__(self, client: Client, workloads: Workloads, forwards: Forwards) -> None:
        self.client, self.workloads, self.forwards = client, workloads, forwards

    def endpoints(self, workload: str) -> tuple[list[str], list[str]]:
        """The workload's endpoints (the Service's pods: its canary's too) split into its own and its canary's."""
        every = self.forwards.endpoints(workload)  # one sync of the forwards for both: none closed and reopened
        canary = {p.name for p in self.workloads.pods.listed(labels.canary_of(workload))}
        pod_of_ep = dict(self.forwards.routes())
        return ([e for e in every if pod_of_ep.get(e) not in canary], [e for e in every if pod_of_ep.get(e) in canary])

    def deploy(self, image: str, replicas: int, workload: str, progress: Progress = quiet) -> None:
        """manifests/base's Deployment as `<workload>-canary`, with `track: canary` on it, its selector and
        its pods, and the same labels the Service selects: the Service spreads over both, by replica count."""
        c, publisher = self.client, self.workloads.publisher
        if self.workloads.find(workload) is None:
            raise TargetError(f"canary: no deployment {workload!r} in {c.namespace} to put a canary beside")
        model = images.model_of_image(c.settings, image)
        publisher.publish(image, progress)
        try:
            docs = manifests.render(c.settings, publisher.image_ref(image), replicas, c.namespace, workload, model)
        except manifests.ManifestError as exc:
            raise TargetError(f"canary: {exc}") from exc
        publisher.pull_secret(docs, image, progress, "canary", self.workloads.apply)
        dep = next(d for d in docs if d["kind"] == "Deployment")
        name = labels.canary_of(workload)
        dep["metadata"]["name"] = name
        dep["metadata"].setdefault("annotations", {})[IMAGE_ANNOTATION] = image
        for where in (dep["metadata"]["labels"], dep["spec"]["selector"]["matchLabels"],
                      dep["spec"]["template"]["metadata"]["labels"]):
            where[labels.TRACK_LABEL] = "canary"
        self.workloads.apply(dep)
        progress(f"canary: applied deployment/{name} in {c.namespace} ({replicas} replica(s) of {image})")
        self.workloads.wait_rollout(name, progress, "canary")

    def remove(self, workload: str, progress: Progress = quiet) -> None:
        """Abort: scaled to 0 first (each pod leaves the endpoints, then drains in its grace period), the
        Deployment deleted once its pods are gone."""
        c = self.client
        name = labels.canary_of(workload)
        if self.workloads.find(name) is None:
            raise TargetError(f"canary: {workload} has no canary in {c.namespace}")
        self.workloads.set_replicas(name, 0)
        progress(f"canary: {name} scaled to 0; its pods drain")
        if not c.wait(lambda: not self.workloads.pods.listed(name), ROLLOUT_TIMEOUT):
            raise TargetError(f"canary: the pods of {name} did not stop within {ROLLOUT_TIMEOUT:.0f}s")
        try:
            c.apps.delete_namespaced_deployment(name, c.namespace, _request_timeout=c.timeout)
        except Exception as exc:
            raise api_error(exc, "delete", f"deployments/{name}") from exc
        progress(f"canary: deployment/{name} removed")

    def promote(self, workload: str, progress: Progress = quiet) -> None:
        """The workload's rolling update to the canary's image (each new pod ready before an old one goes),
        then the canary drained and removed."""
        dep, main = self.workloads.find(labels.canary_of(workload)), self.workloads.find(workload)
        if dep is None or main is None:
            raise TargetError(f"canary: {workload} has no canary in {self.client.namespace} to promote")
        image = ((dep["metadata"].get("annotations") or {}).get(IMAGE_ANNOTATION) or
                 dep["spec"]["template"]["spec"]["containers"][0]["image"])
        self.workloads.deploy(image, (main.get("spec") or {}).get("replicas", 1), workload, progress)
        self.remove(workload, progress)
