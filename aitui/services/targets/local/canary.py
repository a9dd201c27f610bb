"""A canary on the local engine (services/canary.py compares): a second workload `<workload>-canary` of
another image, whose replicas the traffic generator counts among the workload's endpoints."""

from __future__ import annotations

from aitui.services import labels
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.local.engine import image_of
from aitui.services.targets.local.workloads import Workloads


class Canary:
    def __init__(self, workloads: Workloads) -> None:
        self.workloads = workloads
        self.engine, self.replicas = workloads.engine, workloads.replicas

    def endpoints(self, workload: str) -> tuple[list[str], list[str]]:
        """The ready endpoints of the workload's own replicas, and of its canary's."""
        with self.engine.lock:
            pods = self.replicas.listed()
        canary = labels.canary_of(workload)
        return ([p.endpoint for p in pods if p.workload == workload and p.ready and p.endpoint],
                [p.endpoint for p in pods if p.workload == canary and p.ready and p.endpoint])

    def deploy(self, image: str, replicas: int, workload: str, progress: Progress = quiet) -> None:
        """`image` as the canary of `workload`: its replicas join the endpoints once ready."""
        if not any(c.status == "running" for c in self.engine.containers(workload)):
            raise TargetError(f"canary: no workload {workload!r} on local to put a canary beside; deploy it first")
        self.workloads.deploy(image, replicas, labels.canary_of(workload), progress)

    def remove(self, workload: str, progress: Progress = quiet) -> None:
        """Abort: the canary's replicas leave the endpoints first, then drain and stop (delete does both)."""
        canary = labels.canary_of(workload)
        if not self.engine.containers(canary):
            raise TargetError(f"canary: {workload} has no canary on local")
        self.workloads.delete(canary, progress)
        progress(f"canary: {canary} removed")

    def promote(self, workload: str, progress: Progress = quiet) -> None:
        """The workload rolls out to the canary's image (each new replica ready before an old one drains),
        then the canary drains away."""
        live = [c for c in self.engine.containers(labels.canary_of(workload)) if c.status == "running"]
        if not live:
            raise TargetError(f"canary: {workload} has no running canary on local")
        self.workloads.rollout(image_of(live[0]), workload, progress)
        self.remove(workload, progress)
