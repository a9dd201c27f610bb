"""A local workload's revisions: the images it ran, kept in a label on each container it starts (so they
survive aitui's restarts), numbered as a Deployment numbers its ReplicaSets; rollback rolls out the
previous one's image."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from aitui.models import Revision
from aitui.services.errors import reason
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.local.engine import WORKLOAD_LABEL, Engine, created, image_of

# the workload's revisions as of this container's start, JSON [[revision, image, since], ...] oldest first:
# what rollback goes back to (labels live with the containers, so they survive aitui's restarts)
REVISIONS_LABEL = "io.aitui.revisions"
KEEP_REVISIONS = 10  # as a Deployment's revisionHistoryLimit


def next_history(history: list[list[Any]], image: str, now: float) -> list[list[Any]]:
    """The revisions once `image` runs: the same list if it already is the current one; else it becomes a
    new revision at the end, its older entry dropped (as a Deployment renumbers a ReplicaSet it goes back to)."""
    if history and history[-1][1] == image:
        return history
    number = max((int(h[0]) for h in history), default=0) + 1
    return [*[h for h in history if h[1] != image][-(KEEP_REVISIONS - 1):], [number, image, now]]


def history_of(engine: Engine, workload: str) -> list[list[Any]]:
    """The revisions the newest labelled container of the workload started with; a workload started by
    an older aitui (no label) has its current image as revision 1."""
    containers = sorted(engine.containers(workload), key=created, reverse=True)
    for c in containers:
        with contextlib.suppress(ValueError, TypeError):
            raw = json.loads(c.labels.get(REVISIONS_LABEL) or "null")
            if isinstance(raw, list) and raw:
                return [list(h) for h in raw]
    live = [c for c in containers if c.status == "running"]
    if not live:
        return []
    image = image_of(live[0])
    return [[1, image, min(created(c) for c in live if image_of(c) == image)]]


class Revisions:
    def __init__(self, engine: Engine, rollout: Callable[[str, str, Progress], None]) -> None:
        self.engine, self._rollout = engine, rollout  # rollout(image, workload, progress): the workloads'

    def listed(self, workload: str | None = None) -> list[Revision]:
        e = self.engine
        names = [workload] if workload is not None else \
            sorted({c.labels.get(WORKLOAD_LABEL, "") for c in e.containers()})
        out = []
        for name in names:
            running = [image_of(c) for c in e.live(name)]
            history = history_of(e, name)
            out += [Revision(name=f"{name}-{number}", workload=name, revision=int(number), image=image,
                             created=float(since), replicas=running.count(image), current=i == len(history) - 1)
                    for i, (number, image, since) in enumerate(history)]
        return out

    def rollback(self, workload: str, progress: Progress = quiet) -> Revision:
        """Roll out the previous revision's image, one replica at a time (as deploy does: nothing dropped)."""
        history = history_of(self.engine, workload)
        if len(history) < 2:
            only = f" (only revision {history[0][0]}, {history[0][1]})" if history else ""
            raise TargetError(f"rollback {workload}: no previous revision to go back to{only}")
        number, image, since = history[-2]
        try:
            self.engine.docker.images.get(image)
        except Exception as exc:
            raise TargetError(f"rollback {workload}: revision {number}'s image {image} is no longer in the "
                              f"engine ({reason(exc)})") from exc
        progress(f"rollback {workload}: revision {history[-1][0]} -> revision {number} ({image})")
        self._rollout(image, workload, progress)
        return Revision(f"{workload}-{number}", workload, int(number), image, float(since), 0, False)
