"""LocalTarget: the Target protocol over the kinds of targets/local/, wired to one Engine; it says what the
local engine is (no namespaces, no autoscaler, its own Prometheus file_sd list); the verbs are theirs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aitui.config import LOCAL, Settings
from aitui.models import Autoscaler, Event, Node, Pod, ReplicaStats, Revision, Service, Shell, Workload
from aitui.services import labels
from aitui.services.targets import Progress, Unsupported, quiet
from aitui.services.targets.local.canary import Canary
from aitui.services.targets.local.engine import Engine
from aitui.services.targets.local.forwards import Forwards
from aitui.services.targets.local.objects import NO_AUTOSCALER, Objects
from aitui.services.targets.local.pods import Replicas
from aitui.services.targets.local.revisions import Revisions
from aitui.services.targets.local.workloads import Workloads


class LocalTarget:
    name = where = LOCAL
    namespace = "local"
    namespaced = False

    def __init__(self, settings: Settings, targets_dir: Path | None = None) -> None:
        self.settings = settings
        self.engine = Engine(settings, targets_dir)
        self._replicas = Replicas(self.engine)
        self._workloads = Workloads(self.engine, self._replicas)
        self._revisions = Revisions(self.engine, self._workloads.rollout)
        self._forwards = Forwards(self.engine, self._replicas)
        self._canary = Canary(self._workloads)
        self._objects = Objects(self.engine, self._replicas)

    @property
    def docker(self) -> Any:
        return self.engine.docker

    @property
    def remote(self) -> str:
        return self.engine.remote

    # -- what the local engine is ------------------------------------------------------------
    @property
    def prometheus_url(self) -> str:
        return self.settings.prometheus_url  # the local Prometheus, scraping sync_targets' list

    def unscraped(self) -> str:
        """A remote engine's replicas are on that machine's 127.0.0.1: this machine's Prometheus cannot scrape
        them (sync_targets writes no list for them), so the charts take CPU and memory from the engine."""
        return f"cannot scrape the replicas on {self.remote} from this machine" if self.remote else ""

    def metrics_selector(self, workload: str = labels.NAME) -> str:
        return f'job="recognizer",workload="{workload}"'  # the local Prometheus' file_sd labels

    def deploy_plan(self) -> list[str]:
        return ["namespace: (local Docker engine)"]

    def watch(self, changed: Callable[[], None] = lambda: None) -> None:
        """Nothing to start: the app follows the engine's events stream, which covers containers."""

    @property
    def errors(self) -> dict[str, str]:
        return {}  # no cache: each list asks the engine, and a failure raises

    def synced(self, timeout: float = 10.0) -> bool:
        return True  # nothing to list first: each list asks the engine

    def namespaces(self) -> list[str]:
        return []

    def close(self) -> None:
        self.engine.close()

    # -- the kinds ---------------------------------------------------------------------------
    def workloads(self) -> list[Workload]:
        return self._workloads.listed()

    def pods(self, workload: str | None = None) -> list[Pod]:
        return self._replicas.listed(workload)

    def nodes(self) -> list[Node]:
        return self._objects.nodes()

    def services(self) -> list[Service]:
        return self._objects.services()

    def events(self, workload: str = labels.NAME, since: float = 3600) -> list[Event]:
        return self._objects.events(workload, since)

    def autoscalers(self) -> list[Autoscaler]:
        raise Unsupported(NO_AUTOSCALER)

    def revisions(self, workload: str | None = None) -> list[Revision]:
        return self._revisions.listed(workload)

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        return self._replicas.logs(pod, tail, follow, timestamps, previous)

    def stats(self, workload: str = labels.NAME) -> list[ReplicaStats]:
        return self._replicas.stats(workload)

    def manifest(self, kind: str, name: str) -> Any:
        return self._objects.manifest(kind, name)

    def describe(self, kind: str, name: str) -> str:
        return self._objects.describe(kind, name)

    def shell(self, pod: str) -> Shell:
        return self._objects.shell(pod)

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
        """Images built here are already in the engine the replicas run on."""

    def deploy(self, image: str, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.deploy(image, replicas, workload, progress)

    def scale(self, replicas: int, workload: str = labels.NAME, progress: Progress = quiet,
              image: str | None = None) -> None:
        self._workloads.scale(replicas, workload, progress, image)

    def rollout(self, image: str, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.rollout(image, workload, progress)

    def restart(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.restart(workload, progress)

    def delete(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._workloads.delete(workload, progress)

    def quarantine(self, pod: str, workload: str = labels.NAME, progress: Progress = quiet) -> str:
        return self._workloads.quarantine(pod, workload, progress)

    def rollback(self, workload: str = labels.NAME, progress: Progress = quiet) -> Revision:
        return self._revisions.rollback(workload, progress)

    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = quiet) -> None:
        raise Unsupported(NO_AUTOSCALER)

    def sync_targets(self) -> None:
        """Write the local Prometheus's file_sd list of the running replicas."""
        self._workloads.sync_targets()

    # -- a canary: a second workload of another image beside it (services/canary.py) -------------
    def canary_endpoints(self, workload: str = labels.NAME) -> tuple[list[str], list[str]]:
        return self._canary.endpoints(workload)

    def deploy_canary(self, image: str, replicas: int, workload: str = labels.NAME,
                      progress: Progress = quiet) -> None:
        self._canary.deploy(image, replicas, workload, progress)

    def promote_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._canary.promote(workload, progress)

    def remove_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        self._canary.remove(workload, progress)
