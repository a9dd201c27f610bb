"""LocalTarget: the Target protocol over the kinds of targets/local/ (targets/kinds.py delegates the verbs
to them), wired to one Engine; it answers what the local engine is (no namespaces, no autoscaler, a
Prometheus that scrapes the list it writes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aitui.config import LOCAL, Settings
from aitui.models import Autoscaler
from aitui.services import labels
from aitui.services.targets.base import Progress, Unsupported, quiet
from aitui.services.targets.kinds import ByKind
from aitui.services.targets.local.canary import Canary
from aitui.services.targets.local.engine import Engine
from aitui.services.targets.local.forwards import Forwards
from aitui.services.targets.local.objects import NO_AUTOSCALER, Objects
from aitui.services.targets.local.pods import Replicas
from aitui.services.targets.local.revisions import Revisions
from aitui.services.targets.local.workloads import Workloads


class LocalTarget(ByKind):
    name = where = LOCAL
    namespace = "local"
    namespaced = False

    def __init__(self, settings: Settings, targets_dir: Path | None = None) -> None:
        self.settings = settings
        self.engine = Engine(settings, targets_dir)
        self._pods = Replicas(self.engine)
        self._workloads = Workloads(self.engine, self._pods)
        self._revisions = Revisions(self.engine, self._workloads.rollout)
        self._forwards = Forwards(self.engine, self._pods)
        self._canary = Canary(self._workloads)
        self._objects = Objects(self.engine, self._pods)

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

    def namespaces(self) -> list[str]:
        return []

    def autoscalers(self) -> list[Autoscaler]:
        raise Unsupported(NO_AUTOSCALER)

    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = quiet) -> None:
        raise Unsupported(NO_AUTOSCALER)

    def publish(self, image: str, progress: Progress = quiet) -> None:
        """Images built here are already in the engine the replicas run on."""

    def rollout(self, image: str, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        """Replace the replicas one at a time with `image`'s (deploy does when the image changes)."""
        self._workloads.rollout(image, workload, progress)

    def sync_targets(self) -> None:
        """Write the local Prometheus's file_sd list of the running replicas."""
        self._workloads.sync_targets()

    # -- no caches ---------------------------------------------------------------------------
    def watch(self, changed: Callable[[], None] = lambda: None) -> None:
        """Nothing to start: the app follows the engine's events stream, which covers containers."""

    @property
    def errors(self) -> dict[str, str]:
        return {}  # each list asks the engine, and a failure raises

    def synced(self, timeout: float = 10.0) -> bool:
        return True  # nothing to list first: each list asks the engine

    def close(self) -> None:
        self.engine.close()
