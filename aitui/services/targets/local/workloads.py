"""Local workloads: the labelled replicas of one image, and the verbs that change them. Changes keep
serving: new replicas join the endpoints only once ready, and a replica leaves the endpoints (and
Prometheus's target list) before it gets SIGTERM and drains."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from typing import Any

from aitui.models import Pod, Workload
from aitui.services import labels
from aitui.services.errors import reason
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.local.engine import (
    QUARANTINED,
    STOP_TIMEOUT,
    WORKLOAD_LABEL,
    Engine,
    created,
    image_of,
    quarantined,
)
from aitui.services.targets.local.pods import Replicas
from aitui.services.targets.local.revisions import REVISIONS_LABEL, history_of, next_history

READY_TIMEOUT = 60.0
GONE = ("Terminating", "Exited", "Dead", "Quarantined")  # replicas that are not the workload's any more


def by_workload(pods: list[Pod]) -> dict[str, list[Pod]]:
    found: dict[str, list[Pod]] = {}
    for p in pods:
        found.setdefault(p.workload, []).append(p)
    return dict(sorted(found.items()))


class Workloads:
    def __init__(self, engine: Engine, replicas: Replicas) -> None:
        self.engine, self.replicas = engine, replicas

    def listed(self) -> list[Workload]:
        out = []
        for name, pods in by_workload(self.replicas.listed()).items():
            live = [p for p in pods if p.status not in GONE]
            latest = max(pods, key=lambda p: p.created)
            newest = latest.image
            ready = sum(p.ready for p in live)
            out.append(Workload(name=name, namespace="local", desired=len(live), ready=ready,
                                up_to_date=sum(p.image == newest for p in live), available=ready,
                                image=newest, created=min(p.created for p in pods), model=latest.model))
        return out

    # -- changing ----------------------------------------------------------------------------
    def deploy(self, image: str, replicas: int, workload: str, progress: Progress = quiet) -> None:
        """Run `image` with `replicas` replicas: a first deploy, a rollout to a new image, or a scale."""
        current = self.engine.live(workload)
        if current and any(image_of(c) != image for c in current):
            self.rollout(image, workload, progress)
        self.scale(replicas, workload, progress, image=image)

    def scale(self, replicas: int, workload: str, progress: Progress = quiet, image: str | None = None) -> None:
        if replicas < 0:
            raise TargetError("scale: replicas must be 0 or more")
        live = self.engine.live(workload)
        if image is None:
            if not live:
                raise TargetError(f"scale: no workload {workload!r} on local; deploy it first")
            image = image_of(max(live, key=created))
        self._remove_dead(workload)
        if len(live) < replicas:
            started = [self._start(image, workload) for _ in range(replicas - len(live))]
            for i, c in enumerate(started, 1):
                progress(f"scale {workload}: starting replica {len(live) + i}/{replicas} ({c.name})")
            for n, c in enumerate(started):
                try:
                    self._wait_ready(c)
                except TargetError:  # a replica that refused (or never came): the others of its image go too
                    with contextlib.suppress(TargetError):
                        self.stop(started[n + 1:])
                    raise
                progress(f"scale {workload}: {c.name} ready")
        elif len(live) > replicas:
            victims = sorted(live, key=created, reverse=True)[: len(live) - replicas]  # newest first
            for c in victims:
                progress(f"scale {workload}: draining {c.name}")
            self.stop(victims)
        self.sync_targets()
        progress(f"scale {workload}: {replicas} replica{'s' if replicas != 1 else ''}")

    def rollout(self, image: str, workload: str, progress: Progress = quiet) -> None:
        """Replace replicas one at a time: start the new one, wait until it is ready, then drain an old one."""
        old = sorted(self.engine.live(workload), key=created)
        for i, c in enumerate(old, 1):
            new = self._start(image, workload)
            progress(f"rollout {workload}: {i}/{len(old)} starting {new.name}")
            self._wait_ready(new)
            progress(f"rollout {workload}: {i}/{len(old)} {new.name} ready, draining {c.name}")
            self.stop([c])
        self.sync_targets()
        progress(f"rollout {workload}: {len(old)} replica{'s' if len(old) != 1 else ''} on {image}")

    def restart(self, workload: str, progress: Progress = quiet) -> None:
        live = self.engine.live(workload)
        if not live:
            raise TargetError(f"restart: no workload {workload!r} on local")
        self.rollout(image_of(max(live, key=created)), workload, progress)

    def quarantine(self, pod: str, workload: str, progress: Progress = quiet) -> str:
        """Take one replica out of traffic and keep it running to be looked at (logs, shell, YAML), as a
        pod relabelled out of its Service: renamed `<name>-quarantined`, out of the endpoints and the
        replica count; a replacement starts, as a ReplicaSet would start one. `delete` removes it."""
        c = self.engine.container(pod)
        if c.labels.get(WORKLOAD_LABEL) != workload:
            raise TargetError(f"quarantine: {pod} is not a replica of {workload}")
        if quarantined(c):
            return c.name
        replicas = len(self.engine.live(workload))
        try:
            c.rename(c.name + QUARANTINED)
        except Exception as exc:
            raise TargetError(f"quarantine {pod}: {reason(exc)}") from exc
        with self.engine.lock:
            self.engine.ready.discard(c.id)
        progress(f"quarantine: {pod} out of traffic, kept running as {pod}{QUARANTINED} (delete removes it)")
        self.scale(replicas, workload, progress)
        return pod + QUARANTINED

    def delete(self, workload: str, progress: Progress = quiet) -> None:
        containers = self.engine.containers(workload)
        progress(f"delete {workload}: draining {len(containers)} replica(s)")
        self.stop([c for c in containers if c.status == "running"])
        self._remove_dead(workload)
        self.sync_targets()

    # -- replicas ----------------------------------------------------------------------------
    def _start(self, image: str, workload: str) -> Any:
        name = f"{workload}-{secrets.token_hex(3)}"
        history = json.dumps(next_history(history_of(self.engine, workload), image, time.time()))
        try:
            return self.engine.docker.containers.run(
                image, name=name, detach=True,
                labels={WORKLOAD_LABEL: workload, REVISIONS_LABEL: history,
                        **labels.selector_of(labels.model_of(workload)),
                        **labels.PART_OF},
                ports={f"{labels.SERVING_PORT}/tcp": ("127.0.0.1", None)},  # loopback only
                read_only=True, tmpfs={"/tmp": "size=64m"},
                environment={"RECOGNIZER_DRAIN_SECONDS": "10"},
                restart_policy={"Name": "unless-stopped"}, stop_signal="SIGTERM")
        except Exception as exc:
            raise TargetError(f"starting a replica of {image} failed: {reason(exc)}") from exc

    def _wait_ready(self, c: Any) -> None:
        e = self.engine
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            c.reload()
            if c.status in ("exited", "dead"):
                tail = c.logs(tail=5).decode(errors="replace").strip()
                raise TargetError(f"replica {c.name} exited while starting: {tail or 'no output'}")
            # a remote engine's replica is asked through its tunnel; with none, its engine's health check says
            healthy = ((c.attrs.get("State") or {}).get("Health") or {}).get("Status") == "healthy"
            ready, refused = self.replicas.readiness(c)
            if ready or (e.remote and e.tunnel() is None and healthy):
                with e.lock:
                    e.ready.add(c.id)
                self.sync_targets()
                return
            if refused:  # it will never be ready: it goes, and the replicas that serve stay as they were
                self.stop([c])
                raise TargetError(f"replica {c.name} of {image_of(c)} refused to become ready: {refused}")
            time.sleep(0.1)
        raise TargetError(f"replica {c.name} was not ready within {READY_TIMEOUT:.0f}s")

    def stop(self, containers: list[Any]) -> None:
        """Out of the endpoints and the scrape list first, then SIGTERM: the server drains and exits.
        The replicas stop in parallel; every stop that failed is raised here, in the caller's thread."""
        with self.engine.lock:
            self.engine.leaving |= {c.id for c in containers}
        self.sync_targets()
        failed: list[str] = []
        threads = [threading.Thread(target=self._stop_one, args=(c, failed), name=f"stop-{c.name}")
                   for c in containers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failed:
            raise TargetError("; ".join(sorted(failed)))

    def _stop_one(self, c: Any, failed: list[str]) -> None:
        try:
            c.stop(timeout=STOP_TIMEOUT)
            c.remove()
        except Exception as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                failed.append(f"stopping {c.name} failed: {reason(exc)}")  # list.append is thread-safe
        finally:
            with self.engine.lock:
                self.engine.leaving.discard(c.id)
                self.engine.ready.discard(c.id)

    def _remove_dead(self, workload: str) -> None:
        for c in self.engine.containers(workload):
            if c.status in ("exited", "dead", "created"):
                with contextlib.suppress(Exception):  # already gone
                    c.remove(force=True)

    def sync_targets(self) -> None:
        """Write the Prometheus file_sd list: every running replica on 127.0.0.1, draining ones excluded.
        Not for a remote engine: this machine's Prometheus cannot scrape that machine's 127.0.0.1."""
        if self.engine.remote:
            return
        groups = [{"targets": [p.endpoint], "labels": {"replica": p.name, "workload": p.workload}}
                  for p in self.replicas.listed() if p.status == "Running" and p.endpoint]
        self.engine.targets_dir.mkdir(parents=True, exist_ok=True)
        path = self.engine.targets_dir / "aitui-local.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(groups, indent=1))
        tmp.replace(path)  # atomic: Prometheus never reads half a file
