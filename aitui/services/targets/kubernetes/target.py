"""KubeTarget: the Target protocol over the kinds of targets/kubernetes/, each in its own module (as k9s's
dao): it wires them to one Client and says what a cluster is; the verbs are theirs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aitui.config import Settings
from aitui.models import Autoscaler, Event, Node, Pod, ReplicaStats, Revision, Service, Shell, Workload
from aitui.services import labels
from aitui.services.targets import Progress, quiet
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


class KubeTarget:
    namespaced = True

    def __init__(self, settings: Settings, context: str, namespace: str) -> None:
        self.name, self.namespace, self.settings = context, namespace, settings
        self.client = Client(settings, context, namespace)
        self.timeout = settings.timeout
        self._pods = Pods(self.client)
        self._autoscalers = Autoscalers(self.client)
        self._publisher = Publisher(settings, context)
        self._workloads = Workloads(self.client, self._pods, self._autoscalers, self._publisher)
        self._revisions = Revisions(self.client, self._workloads)
        self._forwards = Forwards(self.client, self._pods)
        self._canary = Canary(self.client, self._workloads, self._forwards)
        self._objects = Objects(self.client, self._pods)

    @property
    def api(self) -> Any:
        return self.client.api

    @property
    def apps(self) -> Any:
        return self.client.apps

    @property
    def core(self) -> Any:
        return self.client.core

    @property
    def images(self) -> str:
        """Where the nodes take local builds from ("containerd://…", "registry://…", or "")."""
        return self._publisher.images

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
        return [f"namespace: {self.namespace}", f"applies manifests/base server-side (fieldManager={FIELD_MANAGER})"]

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

    # -- the kinds ---------------------------------------------------------------------------
    def workloads(self) -> list[Workload]:
        return self._workloads.listed()

    def pods(self, workload: str | None = None) -> list[Pod]:
        return self._pods.listed(workload)

    def nodes(self) -> list[Node]:
        return self._objects.nodes()

    def services(self) -> list[Service]:
        return self._objects.services()

    def events(self, workload: str = labels.NAME) -> list[Event]:
        return self._objects.events(workload)

    def namespaces(self) -> list[str]:
        return self._objects.namespaces()

    def autoscalers(self) -> list[Autoscaler]:
        return self._autoscalers.listed()

    def revisions(self, workload: str | None = None) -> list[Revision]:
        return self._revisions.listed(workload)

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        return self._pods.logs(pod, tail, follow, timestamps, previous)

    def stats(self, workload: str = labels.NAME) -> list[ReplicaStats]:
        return self._pods.stats(workload)

    def manifest(self, kind: str, name: str) -> Any:
        return self._objects.manifest(kind, name)

    def describe(self, kind: str, name: str) -> str:
        return self._objects.describe(kind, name)

    def shell(self, pod: str) -> Shell:
        return self._pods.shell(pod)

    # -- reaching the replicas ---------------------------------------------------------------
    def endpoints(self, workload: str = labels.NAME) -> list[str]:
        return self._forwards.endpoints(workload)

    def reach(self, workload: str = labels.NAME) -> str:
        return self._forwards.reach(workload)

    def replica_endpoints(self, workload: str = labels.NAME) -> dict[str, str]:
        return self._forwards.replica_endpoints(workload)

    def route(self, endpoint: str) -> str:
        return self._forwards.route(endpoint)

    # -- changing ----------------------------------------------------------------------------
    def publish(self, image: str, progress: Progress = quiet) -> None:
        self._publisher.publish(image, progress)

    def image_ref(self, image: str) -> str:
        return self._publisher.image_ref(image)

    def deploy(self, image: str, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.deploy(image, replicas, workload, progress)

    def scale(self, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.scale(replicas, workload, progress)

    def restart(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.restart(workload, progress)

    def delete(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.delete(workload, progress)

    def quarantine(self, pod: str, workload: str = labels.NAME, progress: Progress = quiet) -> str:
        return self._pods.quarantine(pod, workload, progress)

    def rollback(self, workload: str = labels.NAME, progress: Progress = quiet) -> Revision:
        return self._revisions.rollback(workload, progress)

    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = quiet) -> None:
        self._autoscalers.set(workload, low, high, progress)

    # -- a canary: a second Deployment behind the same Service (services/canary.py) ----------------
    def canary_endpoints(self, workload: str = labels.NAME) -> tuple[list[str], list[str]]:
        return self._canary.endpoints(workload)

    def deploy_canary(self, image: str, replicas: int, workload: str = labels.NAME,
                      progress: Progress = quiet) -> None:
        self._canary.deploy(image, replicas, workload, progress)

    def promote_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._canary.promote(workload, progress)

    def remove_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._canary.remove(workload, progress)
