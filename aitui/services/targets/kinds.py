"""What the two engines share: a Target made of kinds, as k9s's dao. Each engine's package has modules of
the same names (workloads, pods, objects, revisions, forwards, canary) whose classes answer the same
verbs; its target wires them to its connection and answers its differences itself (namespaces,
autoscalers, publish, metrics, where it is)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aitui.models import Event, Node, Pod, ReplicaStats, Revision, Service, Shell, Workload
from aitui.services import labels
from aitui.services.targets.base import Progress, quiet


class ByKind:
    _workloads: Any  # listed, deploy, scale, restart, delete, quarantine
    _pods: Any  # listed, logs, stats, shell
    _objects: Any  # nodes, services, events, manifest, describe
    _revisions: Any  # listed, rollback
    _forwards: Any  # endpoints, reach, replica_endpoints, route
    _canary: Any  # endpoints, deploy, promote, remove

    # -- reading -----------------------------------------------------------------------------
    def workloads(self) -> list[Workload]:
        return self._workloads.listed()

    def pods(self, workload: str | None = None) -> list[Pod]:
        return self._pods.listed(workload)

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        return self._pods.logs(pod, tail, follow, timestamps, previous)

    def stats(self, workload: str = labels.NAME) -> list[ReplicaStats]:
        return self._pods.stats(workload)

    def shell(self, pod: str) -> Shell:
        return self._pods.shell(pod)

    def nodes(self) -> list[Node]:
        return self._objects.nodes()

    def services(self) -> list[Service]:
        return self._objects.services()

    def events(self, workload: str = labels.NAME) -> list[Event]:
        return self._objects.events(workload)

    def manifest(self, kind: str, name: str) -> Any:
        return self._objects.manifest(kind, name)

    def describe(self, kind: str, name: str) -> str:
        return self._objects.describe(kind, name)

    def revisions(self, workload: str | None = None) -> list[Revision]:
        return self._revisions.listed(workload)

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
    def deploy(self, image: str, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.deploy(image, replicas, workload, progress)

    def scale(self, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.scale(replicas, workload, progress)

    def restart(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.restart(workload, progress)

    def delete(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.delete(workload, progress)

    def quarantine(self, pod: str, workload: str = labels.NAME, progress: Progress = quiet) -> str:
        return self._workloads.quarantine(pod, workload, progress)

    def rollback(self, workload: str = labels.NAME, progress: Progress = quiet) -> Revision:
        return self._revisions.rollback(workload, progress)

    # -- a canary beside a workload (services/canary.py compares) ---------------------------------
    def canary_endpoints(self, workload: str = labels.NAME) -> tuple[list[str], list[str]]:
        return self._canary.endpoints(workload)

    def deploy_canary(self, image: str, replicas: int, workload: str = labels.NAME,
                      progress: Progress = quiet) -> None:
        self._canary.deploy(image, replicas, workload, progress)

    def promote_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._canary.promote(workload, progress)

    def remove_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._canary.remove(workload, progress)
