"""Replicas (the local "pods"): the labelled containers as the Pods table shows them, their readiness as
they say it, their logs, their CPU and memory (`docker stats`), and a shell (`docker exec`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from aitui.models import Pod, ReplicaStats, Shell
from aitui.services import labels
from aitui.services.errors import reason
from aitui.services.targets.base import NotFound, TargetError, lines_of, refusal_of
from aitui.services.targets.local.engine import (
    WORKLOAD_LABEL,
    Engine,
    created,
    engine_time,
    image_of,
    port_of,
    quarantined,
)


def stats_of(name: str, raw: dict[str, Any]) -> ReplicaStats:
    """The engine's stats document -> cores and bytes, computed as `docker stats` does."""
    cpu, pre = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    used = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    memory = raw.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))  # cgroup v2 / v1
    return ReplicaStats(name, used / system * cpus if system > 0 and used >= 0 else 0.0,
                        float(max(0, memory.get("usage", 0) - cache)), "docker stats")


class Replicas:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pod(self, c: Any) -> Pod:
        port = port_of(c)
        status = "Terminating" if c.id in self.engine.leaving else \
            "Quarantined" if quarantined(c) and c.status == "running" else c.status.capitalize()
        return Pod(name=c.name, workload=c.labels.get(WORKLOAD_LABEL, ""), status=status,
                   ready=self.is_ready(c), restarts=int(c.attrs.get("RestartCount") or 0),
                   created=created(c), image=image_of(c), node="local",
                   endpoint=f"127.0.0.1:{port}" if port else "",
                   model=c.labels.get(labels.IMAGE_MODEL_LABEL) or labels.NAME)  # (its image's label)

    def listed(self, workload: str | None = None) -> list[Pod]:
        return sorted((self.pod(c) for c in self.engine.containers(workload)), key=lambda p: p.created)

    def is_ready(self, c: Any) -> bool:
        if not self.engine.serving(c):
            return False
        if c.id in self.engine.ready:
            return True
        health = ((c.attrs.get("State") or {}).get("Health") or {}).get("Status")
        if health == "starting" and self.readiness(c)[0]:
            # started by another aitui (or the CLI): the engine's first health check comes 5 s after the
            # start, but the replica serves as soon as it says ready; asking it keeps traffic from a gap
            self.engine.ready.add(c.id)
            return True
        return health == "healthy"

    def readiness(self, c: Any) -> tuple[bool, str]:
        """The replica's readiness now (its endpoint answers 200; a draining one answers 503), and the reason
        it gives when it refuses for good (its self-check failed: serving/recognizer/selfcheck.py); a
        draining or unreachable one gives none."""
        import requests

        address = self.engine.address(port_of(c))
        if not address:
            return False, ""
        try:
            r = requests.get(f"http://{address}/v2/health/ready", timeout=1)
        except requests.RequestException:
            return False, ""
        if r.status_code == 200:
            return True, ""
        try:
            return False, refusal_of(r.json())
        except ValueError:
            return False, ""

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        try:
            c = self.engine.docker.containers.get(pod)
            if previous:
                yield from self._previous_logs(c, tail, timestamps)
                return
            if not follow:
                yield from c.logs(tail=tail, timestamps=timestamps).decode(errors="replace").splitlines()
                return
            yield from lines_of(c.logs(stream=True, follow=True, tail=tail, timestamps=timestamps))
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(f"logs {pod}: {reason(exc)}") from exc

    def _previous_logs(self, c: Any, tail: int, timestamps: bool) -> Iterator[str]:
        """A replica restarts in place (restart policy), so its log holds every run: the previous
        container is what it wrote until its last run ended (FinishedAt: StartedAt is stamped after the new
        run has begun to write); an exited one's last run is all of it."""
        state = c.attrs.get("State") or {}
        until = None
        if state.get("Running") or state.get("Restarting"):
            if not int(c.attrs.get("RestartCount") or 0):
                raise NotFound(f"logs {c.name}: no previous container: it has not restarted")
            until = engine_time(state.get("FinishedAt", "")) + 0.001
        raw = c.logs(tail=tail, timestamps=timestamps, **({"until": until} if until else {}))
        yield from raw.decode(errors="replace").splitlines()

    def stats(self, workload: str) -> list[ReplicaStats]:
        """Each running replica's CPU (cores) and memory (bytes, less the page cache, as `docker stats`),
        from one sample of the engine's stats per replica (stream=False: the engine takes two readings
        about a second apart to give a CPU rate), asked in parallel."""
        running = [c for c in self.engine.containers(workload) if c.status == "running"]
        found: dict[str, ReplicaStats] = {}
        failed: list[str] = []

        def one(c: Any) -> None:
            try:
                found[c.name] = stats_of(c.name, c.stats(stream=False))
            except Exception as exc:
                failed.append(f"stats {c.name}: {reason(exc)}")

        threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in running]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.engine.settings.timeout + 5)
        if failed and not found:
            raise TargetError("; ".join(failed))
        return [found[c.name] for c in running if c.name in found]

    def shell(self, pod: str) -> Shell:
        """`docker exec -it` through the docker CLI (a real TTY, nothing of ours in between)."""
        from aitui.services.targets.shells import probe

        c = self.engine.container(pod)
        where = f"container {c.name} (local)"
        if c.status != "running":
            raise NotFound(f"shell in {where}: it is {c.status}, not running")
        settings = self.engine.settings
        env = {"DOCKER_HOST": settings.docker_host} if settings.docker_host else {}
        shell = probe(["docker", "exec", c.name], env, where)
        return Shell(argv=("docker", "exec", "-it", c.name, shell), env=tuple(env.items()), where=where)
