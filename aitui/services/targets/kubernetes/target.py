"""KubeTarget: the Target protocol over the kinds of targets/kubernetes/ (targets/kinds.py delegates the
verbs to them); it wires them to one Client and answers what a cluster is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aitui.config import Settings
from aitui.models import Autoscaler
from aitui.services import labels
from aitui.services.targets.base import Progress, quiet
from aitui.services.targets.kinds import ByKind
from aitui.services.targets.kubernetes.autoscalers import Autoscalers
from aitui.services.targets.kubernetes.canary import Canary
from aitui.services.targets.kubernetes.client import FIELD_MANAGER, Client
from aitui.services.targets.kubernetes.forwards import Forwards
from aitui.services.targets.kubernetes.objects import Objects
from aitui.services.targets.kubernetes.pods import Pods
from aitui.services.targets.kubernetes.publish import Publisher
from aitui.services.targets.kubernetes.revisions import Revisions
from aitui.services.targets.kubernetes.workloads import Workloads

WATCHED = ("deployments", "pods")  # the caches whose errors the screen shows (the HPA's is an extra)


class KubeTarget(ByKind):
    namespaced = True

    def __init__(self, settings: Settings, context: str, namespace: str) -> None:
        self.name, self.namespace, self.settings = context, namespace, settings
        self.client = Client(settings, context, namespace)
        self.timeout = settings.timeout
        self._pods = Pods(self.client)
        self._autoscalers = Autoscalers(self.client)
        self._publisher = Publisher(self.client)
        self._objects = Objects(self.client, self._pods)
        self._workloads = Workloads(self.client, self._pods, self._autoscalers, self._publisher, self._objects)
        self._revisions = Revisions(self.client, self._workloads)
        self._forwards = Forwards(self.client, self._pods)
        self._canary = Canary(self.client, self._workloads, self._forwards)

    @property
    def apps(self) -> Any:
        return self.client.apps

    # -- what a cluster is -------------------------------------------------------------------
    @property
    def where(self) -> str:
        return f"{self.name}/{self.namespace}"

    @property
    def prometheus_url(self) -> str:
        return self.settings.prometheus_url  # the cluster's Prometheus (kubernetes_sd finds the pods)

    def unscraped(self) -> str:
        return ""  # the cluster's Prometheus finds the pods (kubernetes_sd)

    def metrics_selector(self, workload: str = labels.NAME) -> str:
        return f'job="recognizer",workload="{workload}",namespace="{self.namespace}"'

    def deploy_plan(self) -> list[str]:
        return [f"namespace: {self.namespace}", *self._publisher.plan(),
                f"applies manifests/base server-side (fieldManager={FIELD_MANAGER})"]

    def namespaces(self) -> list[str]:
        return self._objects.namespaces()

    def autoscalers(self) -> list[Autoscaler]:
        return self._autoscalers.listed()

    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = quiet) -> None:
        self._autoscalers.set(workload, low, high, progress)

    def publish(self, image: str, progress: Progress = quiet) -> None:
        self._publisher.publish(image, progress)

    def image_ref(self, image: str) -> str:
        return self._publisher.image_ref(image)

    # -- the caches --------------------------------------------------------------------------
    def watch(self, changed: Callable[[], None] = lambda: None) -> None:
        """Start the namespace's caches (Deployments, Pods, HPAs); `changed` runs (on a cache thread) after
        changes and errors."""
        self.client.watch(changed)

    @property
    def errors(self) -> dict[str, str]:
        """cache -> why it is not current (403, unreachable…); empty when all is well."""
        return {r: c.error for r, c in self.client.caches.items() if r in WATCHED and c.error}

    def synced(self, timeout: float = 10.0) -> bool:
        """Wait until the Deployment and Pod caches have listed once: the first screen is complete, not partial."""
        self.watch()
        caches = [self.client.caches[r] for r in WATCHED]
        return self.client.wait(lambda: bool(self.errors) or all(c.synced.is_set() for c in caches), timeout) \
            and not self.errors

    def close(self) -> None:
        self.client.close()
        self._forwards.close()
