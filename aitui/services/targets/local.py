"""The "local" target: the recognizer as labelled containers on one Docker engine.

A workload is the set of containers labelled io.aitui.workload=<name>; each publishes the serving port
on 127.0.0.1 (a random host port). Everything is rebuilt from the labels, so nothing is lost when aitui
restarts. Changes keep serving: new replicas join the endpoints only once ready, and a replica leaves
the endpoints (and Prometheus's target list) before it gets SIGTERM and drains.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aitui.config import Settings, state_dir
from aitui.models import Autoscaler, Event, Node, Pod, ReplicaStats, Revision, Service, Shell, Workload
from aitui.services import labels
from aitui.services.errors import reason
from aitui.services.targets import NotFound, Progress, TargetError, Unsupported, refusal_of
from aitui.services.targets import quiet as _quiet
from aitui.services.targets.tunnel import Tunnels, remote_engine

WORKLOAD_LABEL = "io.aitui.workload"
# the workload's revisions as of this container's start, JSON [[revision, image, since], ...] oldest first:
# what rollback goes back to (labels live with the containers, so they survive aitui's restarts)
REVISIONS_LABEL = "io.aitui.revisions"
KEEP_REVISIONS = 10  # as a Deployment's revisionHistoryLimit
STOP_TIMEOUT = 20  # seconds between SIGTERM and SIGKILL; above the server's drain (10 s)
READY_TIMEOUT = 60.0
# a replica taken out of traffic (a wrong answer in the smoke test) is renamed with this suffix: the mark
# lives with the container, as a Kubernetes pod's label does, so every aitui sees it
QUARANTINED = "-quarantined"


def next_history(history: list[list[Any]], image: str, now: float) -> list[list[Any]]:
    """The revisions once `image` runs: the same list if it already is the current one; else it becomes a
    new revision at the end, its older entry dropped (as a Deployment renumbers a ReplicaSet it goes back to)."""
    if history and history[-1][1] == image:
        return history
    number = max((int(h[0]) for h in history), default=0) + 1
    return [*[h for h in history if h[1] != image][-(KEEP_REVISIONS - 1):], [number, image, now]]


class LocalTarget:
    name = "local"
    namespace = "local"

    def __init__(self, settings: Settings, targets_dir: Path | None = None) -> None:
        from aitui.services.engine import docker_client

        self.settings = settings
        try:
            # a stop waits up to STOP_TIMEOUT inside one HTTP call: the client must wait longer
            self.docker = docker_client(settings, STOP_TIMEOUT + 30)
        except Exception as exc:
            raise TargetError(f"local: no Docker engine: {reason(exc)}") from exc
        self.targets_dir = targets_dir or state_dir() / "targets"
        self._leaving: set[str] = set()  # container ids taken out of the endpoints, draining
        self._ready: set[str] = set()
        self._lock = threading.RLock()
        # an engine on another machine (DOCKER_HOST=ssh://…): its replicas' ports are on that machine's
        # 127.0.0.1; aitui reaches them through the SSH connection the docker SDK holds (tunnel.py)
        self.remote = remote_engine(settings.docker_host or os.environ.get("DOCKER_HOST", ""))
        self._tunnels: Tunnels | None = None
        self._no_tunnel = ""  # why a remote engine's replicas cannot be reached from here

    def watch(self, changed: Callable[[], None] = lambda: None) -> None:
        """Nothing to start: the app follows the engine's events stream, which covers containers."""

    def close(self) -> None:
        if self._tunnels is not None:
            self._tunnels.close()
        with contextlib.suppress(Exception):
            self.docker.close()

    # -- reading ---------------------------------------------------------------------------
    def _containers(self, workload: str | None = None) -> list[Any]:
        import docker

        label = WORKLOAD_LABEL if workload is None else f"{WORKLOAD_LABEL}={workload}"
        for attempt in range(3):
            try:
                return list(self.docker.containers.list(all=True, filters={"label": label}))
            except docker.errors.NotFound:  # the SDK inspects each listed container: one removed meanwhile
                if attempt == 2:  # (a rollout's old replica) is a 404 that a second list does not have
                    raise TargetError("local: listing containers failed: they kept changing") from None
            except Exception as exc:
                raise TargetError(f"local: listing containers failed: {reason(exc)}") from exc
        return []

    @staticmethod
    def _port(c: Any) -> int:
        binding = ((c.attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{labels.SERVING_PORT}/tcp")
        return int(binding[0]["HostPort"]) if binding else 0

    @staticmethod
    def _created(c: Any) -> float:
        from datetime import datetime

        raw = c.attrs.get("Created", "")
        try:
            return datetime.fromisoformat(raw[:26].rstrip("Z") + "+00:00").timestamp()
        except ValueError:
            return 0.0

    @staticmethod
    def _quarantined(c: Any) -> bool:
        return c.name.endswith(QUARANTINED)

    def _serving(self, c: Any) -> bool:
        """Running and one of the workload's replicas (not draining, not quarantined)."""
        return c.status == "running" and c.id not in self._leaving and not self._quarantined(c)

    def _is_ready(self, c: Any) -> bool:
        if not self._serving(c):
            return False
        if c.id in self._ready:
            return True
        health = ((c.attrs.get("State") or {}).get("Health") or {}).get("Status")
        if health == "starting" and self._answers_ready(c):
            # started by another aitui (or the CLI): the engine's first health check comes 5 s after the
            # start, but the replica serves as soon as it says ready; asking it keeps traffic from a gap
            self._ready.add(c.id)
            return True
        return health == "healthy"

    def _answers_ready(self, c: Any) -> bool:
        """Whether the replica's readiness endpoint answers 200 now (a draining one answers 503)."""
        return self._readiness(c)[0]

    def _readiness(self, c: Any) -> tuple[bool, str]:
        """The replica's readiness now, and the reason it gives when it refuses for good (its self-check
        failed: serving/recognizer/selfcheck.py); a draining or unreachable one gives none."""
        import requests

        port = self._port(c)
        address = self._local_end(port) if port and self.remote else f"127.0.0.1:{port}" if port else None
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

    def _pod(self, c: Any) -> Pod:
        port = self._port(c)
        status = "Terminating" if c.id in self._leaving else \
            "Quarantined" if self._quarantined(c) and c.status == "running" else c.status.capitalize()
        return Pod(name=c.name, workload=c.labels.get(WORKLOAD_LABEL, ""), status=status,
                   ready=self._is_ready(c), restarts=int(c.attrs.get("RestartCount") or 0),
                   created=self._created(c), image=c.attrs["Config"]["Image"], node="local",
                   endpoint=f"127.0.0.1:{port}" if port else "")

    def pods(self, workload: str | None = None) -> list[Pod]:
        return sorted((self._pod(c) for c in self._containers(workload)), key=lambda p: p.created)

    def workloads(self) -> list[Workload]:
        by_name: dict[str, list[Pod]] = {}
        for p in self.pods():
            by_name.setdefault(p.workload, []).append(p)
        out = []
        for name, pods in sorted(by_name.items()):
            live = [p for p in pods if p.status not in ("Terminating", "Exited", "Dead", "Quarantined")]
            newest = max(pods, key=lambda p: p.created).image
            ready = sum(p.ready for p in live)
            out.append(Workload(name=name, namespace="local", desired=len(live), ready=ready,
                                up_to_date=sum(p.image == newest for p in live), available=ready,
                                image=newest, created=min(p.created for p in pods)))
        return out

    def events(self, workload: str = labels.NAME, since: float = 3600) -> list[Event]:
        """The engine's events for the workload's containers over the last hour, oldest first."""
        now = time.time()
        try:
            found = self.docker.events(since=int(now - since), until=int(now) + 1, decode=True,
                                       filters={"type": "container", "label": f"{WORKLOAD_LABEL}={workload}"})
            raw = list(found)
        except Exception as exc:
            raise TargetError(f"events {workload}: {reason(exc)}") from exc
        out = []
        for e in raw:
            action = str(e.get("Action", ""))
            if action.startswith("exec_"):
                continue  # the engine's own health checks: noise
            attrs = (e.get("Actor") or {}).get("Attributes") or {}
            # a replica that fails: out of memory, unhealthy, or exiting other than after our SIGTERM (143)
            bad = action == "oom" or "unhealthy" in action or \
                (action == "die" and attrs.get("exitCode", "0") not in ("0", "143"))
            detail = f"exit code {attrs['exitCode']}" if "exitCode" in attrs else attrs.get("image", "")
            out.append(Event(time=e.get("timeNano", 0) / 1e9 or float(e.get("time", 0)),
                             type="Warning" if bad else "Normal",
                             reason=action, object=attrs.get("name", ""), message=detail))
        return out

    def nodes(self) -> list[Node]:
        """The local engine's machine: one node (another host's, for an engine over SSH)."""
        try:
            info = self.docker.info()
        except Exception as exc:
            raise TargetError(f"local: the engine's info: {reason(exc)}") from exc
        return [Node(name=str(info.get("Name", "local")), status="Ready", roles="engine",
                     version=f"docker {info.get('ServerVersion', '?')}", cpus=int(info.get("NCPU") or 0),
                     memory=int(info.get("MemTotal") or 0), created=0.0)]

    def services(self) -> list[Service]:
        """The local "service" of a workload is the set of its replicas' published ports on 127.0.0.1."""
        by_name: dict[str, list[Pod]] = {}
        for p in self.pods():
            if p.status not in ("Terminating", "Exited", "Dead", "Quarantined"):
                by_name.setdefault(p.workload, []).append(p)
        out = []
        for name, pods in sorted(by_name.items()):
            published = sorted(int(p.endpoint.rsplit(":", 1)[1]) for p in pods if p.endpoint)
            ports = f"{labels.SERVING_PORT}->" + ",".join(map(str, published)) if published else "-"
            out.append(Service(name=name, type="published", address="127.0.0.1", ports=ports,
                               ready=sum(p.ready for p in pods if p.endpoint), endpoints=len(published),
                               created=min(p.created for p in pods)))
        return out

    def endpoints(self, workload: str = labels.NAME) -> list[str]:
        """host:port of each replica that may take traffic now (the local Service): its canary's too, as a
        Service selects both Deployments, so traffic is weighted by replica counts."""
        from aitui.services.canary import canary_of, is_canary

        names = {workload} if is_canary(workload) else {workload, canary_of(workload)}
        with self._lock:
            every = self.pods()
            found = [p.endpoint for p in every if p.workload in names and p.ready and p.endpoint]
        return self._reachable(found, {int(p.endpoint.rsplit(":", 1)[1]) for p in every if p.endpoint})

    def reach(self, workload: str = labels.NAME) -> str:
        if self.remote and self._tunnel() is None:
            return (f"the replicas of {workload} run on the engine at {self.remote}: their ports are on that "
                    f"machine's 127.0.0.1, not this one's, and {self._no_tunnel}: traffic and predict cannot "
                    "reach them (run aitui on that machine, or forward a port: ssh -L)")
        if self.remote:
            self.endpoints(workload)  # the tunnels of the replicas ready now, to name them
            return (f"each ready replica of {workload} through an SSH tunnel to {self.remote} (its ports are on "
                    "that machine's 127.0.0.1): " + ", ".join(f"127.0.0.1:{local} -> :{port}" for local, port in
                                                              sorted((self._tunnels.routes() if self._tunnels
                                                                      else {}).items())))
        return f"each ready replica of {workload} is published on 127.0.0.1"

    def route(self, endpoint: str) -> str:
        remote = (self._tunnels.routes() if self._tunnels else {}).get(int(endpoint.rsplit(":", 1)[1]))
        return f"{self.remote} :{remote} (SSH tunnel {endpoint})" if remote else endpoint

    def replica_endpoints(self, workload: str = labels.NAME) -> dict[str, str]:
        """Each ready replica's name -> its published endpoint (to ask one replica, not the set)."""
        ready = {p.name: p.endpoint for p in self.pods(workload) if p.ready and p.endpoint}
        return dict(zip(ready, self._reachable(list(ready.values())), strict=True)) if ready else {}

    def _tunnel(self) -> Tunnels | None:
        """The tunnels to a remote engine over its SSH connection (paramiko's, the SDK's default); None
        where there is none to ride: tcp://, or ssh through the ssh binary (use_ssh_client)."""
        if self._tunnels is None and not self._no_tunnel:
            adapter: Any = getattr(self.docker.api, "_custom_adapter", None)  # the SDK's SSH adapter
            client = getattr(adapter, "ssh_client", None)
            if client is None:
                self._no_tunnel = "aitui has no SSH connection to that machine to tunnel through"
            else:
                def transport() -> Any:
                    if client.get_transport() is None or not client.get_transport().is_active():
                        adapter._connect()  # the SDK's own reconnect, as before a request
                    return client.get_transport()

                self._tunnels = Tunnels(transport)
        return self._tunnels

    def _local_end(self, port: int) -> str | None:
        """Where this machine opens a remote engine's replica port (its tunnel's local end), if anywhere."""
        tunnels = self._tunnel()
        return f"127.0.0.1:{tunnels.local(port)}" if tunnels is not None else None

    def _reachable(self, endpoints: list[str], published: set[int] | None = None) -> list[str]:
        """Endpoints this machine can open: as they are for a local engine, the local ends of SSH tunnels for
        a remote one, none where there is no tunnel (never this machine's 127.0.0.1 for another's port)."""
        if not self.remote:
            return endpoints
        tunnels = self._tunnel()
        if tunnels is None:
            return []
        ports = [int(e.rsplit(":", 1)[1]) for e in endpoints]
        if published is not None:  # every port the engine's replicas publish now: the other tunnels close
            tunnels.keep(published)
        return [f"127.0.0.1:{tunnels.local(port)}" for port in ports]

    def publish(self, image: str, progress: Progress = _quiet) -> None:
        """Images built here are already in the engine the replicas run on."""

    @property
    def errors(self) -> dict[str, str]:
        return {}  # no cache: each list asks the engine, and a failure raises

    def namespaces(self) -> list[str]:
        return []

    def unscraped(self) -> str:
        """A remote engine's replicas are on that machine's 127.0.0.1: this machine's Prometheus cannot scrape
        them (sync_targets writes no list for them), so the charts take CPU and memory from the engine."""
        return f"cannot scrape the replicas on {self.remote} from this machine" if self.remote else ""

    def metrics_selector(self, workload: str = labels.NAME) -> str:
        return f'job="recognizer",workload="{workload}"'  # the local Prometheus' file_sd labels

    def deploy_plan(self) -> list[str]:
        return ["namespace: (local Docker engine)"]

    # -- changing ----------------------------------------------------------------------------
    def deploy(self, image: str, replicas: int, workload: str = labels.NAME, progress: Progress = _quiet) -> None:
        """Run `image` with `replicas` replicas: a first deploy, a rollout to a new image, or a scale."""
        current = [c for c in self._containers(workload) if self._serving(c)]
        if current and any(c.attrs["Config"]["Image"] != image for c in current):
            self.rollout(image, workload, progress)
        self.scale(replicas, workload, progress, image=image)

    def scale(self, replicas: int, workload: str = labels.NAME, progress: Progress = _quiet,
              image: str | None = None) -> None:
        if replicas < 0:
            raise TargetError("scale: replicas must be 0 or more")
        live = [c for c in self._containers(workload) if self._serving(c)]
        if image is None:
            if not live:
                raise TargetError(f"scale: no workload {workload!r} on local; deploy it first")
            image = max(live, key=self._created).attrs["Config"]["Image"]
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
                        self._stop(started[n + 1:])
                    raise
                progress(f"scale {workload}: {c.name} ready")
        elif len(live) > replicas:
            victims = sorted(live, key=self._created, reverse=True)[: len(live) - replicas]  # newest first
            for c in victims:
                progress(f"scale {workload}: draining {c.name}")
            self._stop(victims)
        self.sync_targets()
        progress(f"scale {workload}: {replicas} replica{'s' if replicas != 1 else ''}")

    def rollout(self, image: str, workload: str = labels.NAME, progress: Progress = _quiet) -> None:
        """Replace replicas one at a time: start the new one, wait until it is ready, then drain an old one."""
        old = sorted((c for c in self._containers(workload) if self._serving(c)), key=self._created)
        for i, c in enumerate(old, 1):
            new = self._start(image, workload)
            progress(f"rollout {workload}: {i}/{len(old)} starting {new.name}")
            self._wait_ready(new)
            progress(f"rollout {workload}: {i}/{len(old)} {new.name} ready, draining {c.name}")
            self._stop([c])
        self.sync_targets()
        progress(f"rollout {workload}: {len(old)} replica{'s' if len(old) != 1 else ''} on {image}")

    def restart(self, workload: str = labels.NAME, progress: Progress = _quiet) -> None:
        live = [c for c in self._containers(workload) if self._serving(c)]
        if not live:
            raise TargetError(f"restart: no workload {workload!r} on local")
        self.rollout(max(live, key=self._created).attrs["Config"]["Image"], workload, progress)

    def quarantine(self, pod: str, workload: str = labels.NAME, progress: Progress = _quiet) -> str:
        """Take one replica out of traffic and keep it running to be looked at (logs, shell, YAML), as a
        pod relabelled out of its Service: renamed `<name>-quarantined`, out of the endpoints and the
        replica count; a replacement starts, as a ReplicaSet would start one. `delete` removes it."""
        c = self._container(pod)
        if c.labels.get(WORKLOAD_LABEL) != workload:
            raise TargetError(f"quarantine: {pod} is not a replica of {workload}")
        if self._quarantined(c):
            return c.name
        replicas = sum(self._serving(x) for x in self._containers(workload))
        try:
            c.rename(c.name + QUARANTINED)
        except Exception as exc:
            raise TargetError(f"quarantine {pod}: {reason(exc)}") from exc
        with self._lock:
            self._ready.discard(c.id)
        progress(f"quarantine: {pod} out of traffic, kept running as {pod}{QUARANTINED} (delete removes it)")
        self.scale(replicas, workload, progress)
        return pod + QUARANTINED

    def delete(self, workload: str = labels.NAME, progress: Progress = _quiet) -> None:
        containers = self._containers(workload)
        progress(f"delete {workload}: draining {len(containers)} replica(s)")
        self._stop([c for c in containers if c.status == "running"])
        self._remove_dead(workload)
        self.sync_targets()

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        try:
            c = self.docker.containers.get(pod)
            if previous:
                yield from self._previous_logs(c, tail, timestamps)
                return
            if not follow:
                yield from c.logs(tail=tail, timestamps=timestamps).decode(errors="replace").splitlines()
                return
            buf = b""
            for chunk in c.logs(stream=True, follow=True, tail=tail, timestamps=timestamps):
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
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
            until = self._time(state.get("FinishedAt", "")) + 0.001
        raw = c.logs(tail=tail, timestamps=timestamps, **({"until": until} if until else {}))
        yield from raw.decode(errors="replace").splitlines()

    @staticmethod
    def _time(raw: str) -> float:
        """The engine's RFC 3339 time (nanoseconds) as unix seconds; 0.0 when it is not one."""
        from datetime import datetime

        try:
            return datetime.fromisoformat(raw[:26].rstrip("Z") + "+00:00").timestamp()
        except ValueError:
            return 0.0

    def stats(self, workload: str = labels.NAME) -> list[ReplicaStats]:
        """Each running replica's CPU (cores) and memory (bytes, less the page cache, as `docker stats`),
        from one sample of the engine's stats per replica (stream=False: the engine takes two readings
        about a second apart to give a CPU rate), asked in parallel."""
        running = [c for c in self._containers(workload) if c.status == "running"]
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
            t.join(self.settings.timeout + 5)
        if failed and not found:
            raise TargetError("; ".join(failed))
        return [found[c.name] for c in running if c.name in found]

    # -- a canary: a second workload of another image beside it (services/canary.py) -------------
    def canary_endpoints(self, workload: str = labels.NAME) -> tuple[list[str], list[str]]:
        """The ready endpoints of the workload's own replicas, and of its canary's."""
        from aitui.services.canary import canary_of

        with self._lock:
            pods = self.pods()
        return ([p.endpoint for p in pods if p.workload == workload and p.ready and p.endpoint],
                [p.endpoint for p in pods if p.workload == canary_of(workload) and p.ready and p.endpoint])

    def deploy_canary(self, image: str, replicas: int, workload: str = labels.NAME,
                      progress: Progress = _quiet) -> None:
        """`image` as the canary of `workload`: its replicas join the endpoints once ready."""
        from aitui.services.canary import canary_of

        if not any(c.status == "running" for c in self._containers(workload)):
            raise TargetError(f"canary: no workload {workload!r} on local to put a canary beside; deploy it first")
        self.deploy(image, replicas, canary_of(workload), progress)

    def remove_canary(self, workload: str = labels.NAME, progress: Progress = _quiet) -> None:
        """Abort: the canary's replicas leave the endpoints first, then drain and stop (delete does both)."""
        from aitui.services.canary import canary_of

        if not self._containers(canary_of(workload)):
            raise TargetError(f"canary: {workload} has no canary on local")
        self.delete(canary_of(workload), progress)
        progress(f"canary: {canary_of(workload)} removed")

    def promote_canary(self, workload: str = labels.NAME, progress: Progress = _quiet) -> None:
        """The workload rolls out to the canary's image (each new replica ready before an old one drains),
        then the canary drains away."""
        from aitui.services.canary import canary_of

        live = [c for c in self._containers(canary_of(workload)) if c.status == "running"]
        if not live:
            raise TargetError(f"canary: {workload} has no running canary on local")
        image = live[0].attrs["Config"]["Image"]
        self.rollout(image, workload, progress)
        self.remove_canary(workload, progress)

    # -- helpers -----------------------------------------------------------------------------
    def _start(self, image: str, workload: str) -> Any:
        name = f"{workload}-{secrets.token_hex(3)}"
        history = json.dumps(next_history(self._history(workload), image, time.time()))
        try:
            return self.docker.containers.run(
                image, name=name, detach=True,
                labels={WORKLOAD_LABEL: workload, REVISIONS_LABEL: history, **labels.SELECTOR_LABELS,
                        **labels.PART_OF},
                ports={f"{labels.SERVING_PORT}/tcp": ("127.0.0.1", None)},  # loopback only
                read_only=True, tmpfs={"/tmp": "size=64m"},
                environment={"RECOGNIZER_DRAIN_SECONDS": "10"},
                restart_policy={"Name": "unless-stopped"}, stop_signal="SIGTERM")
        except Exception as exc:
            raise TargetError(f"starting a replica of {image} failed: {reason(exc)}") from exc

    def _wait_ready(self, c: Any) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            c.reload()
            if c.status in ("exited", "dead"):
                tail = c.logs(tail=5).decode(errors="replace").strip()
                raise TargetError(f"replica {c.name} exited while starting: {tail or 'no output'}")
            # a remote engine's replica is asked through its tunnel; with none, its engine's health check says
            healthy = ((c.attrs.get("State") or {}).get("Health") or {}).get("Status") == "healthy"
            ready, refused = self._readiness(c)
            if ready or (self.remote and self._tunnel() is None and healthy):
                with self._lock:
                    self._ready.add(c.id)
                self.sync_targets()
                return
            if refused:  # it will never be ready: it goes, and the replicas that serve stay as they were
                self._stop([c])
                raise TargetError(f"replica {c.name} of {c.attrs['Config']['Image']} refused to become ready: "
                                  f"{refused}")
            time.sleep(0.1)
        raise TargetError(f"replica {c.name} was not ready within {READY_TIMEOUT:.0f}s")

    def _stop(self, containers: list[Any]) -> None:
        """Out of the endpoints and the scrape list first, then SIGTERM: the server drains and exits.
        The replicas stop in parallel; every stop that failed is raised here, in the caller's thread."""
        with self._lock:
            self._leaving |= {c.id for c in containers}
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
            with self._lock:
                self._leaving.discard(c.id)
                self._ready.discard(c.id)

    def _remove_dead(self, workload: str) -> None:
        for c in self._containers(workload):
            if c.status in ("exited", "dead", "created"):
                with contextlib.suppress(Exception):  # already gone
                    c.remove(force=True)

    def sync_targets(self) -> None:
        """Write the Prometheus file_sd list: every running replica on 127.0.0.1, draining ones excluded.
        Not for a remote engine: this machine's Prometheus cannot scrape that machine's 127.0.0.1."""
        if self.remote:
            return
        groups = [{"targets": [p.endpoint], "labels": {"replica": p.name, "workload": p.workload}}
                  for p in self.pods() if p.status == "Running" and p.endpoint]
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        path = self.targets_dir / "aitui-local.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(groups, indent=1))
        tmp.replace(path)  # atomic: Prometheus never reads half a file

    # -- one object: inspect data, describe, a shell; revisions and rollback; no autoscaler -----------
    def _history(self, workload: str) -> list[list[Any]]:
        """The revisions the newest labelled container of the workload started with; a workload started by
        an older aitui (no label) has its current image as revision 1."""
        containers = sorted(self._containers(workload), key=self._created, reverse=True)
        for c in containers:
            with contextlib.suppress(ValueError, TypeError):
                raw = json.loads(c.labels.get(REVISIONS_LABEL) or "null")
                if isinstance(raw, list) and raw:
                    return [list(h) for h in raw]
        live = [c for c in containers if c.status == "running"]
        if not live:
            return []
        image = live[0].attrs["Config"]["Image"]
        return [[1, image, min(self._created(c) for c in live if c.attrs["Config"]["Image"] == image)]]

    def revisions(self, workload: str | None = None) -> list[Revision]:
        names = [workload] if workload is not None else sorted({p.workload for p in self.pods()})
        out = []
        for name in names:
            running = [c.attrs["Config"]["Image"] for c in self._containers(name) if self._serving(c)]
            history = self._history(name)
            out += [Revision(name=f"{name}-{number}", workload=name, revision=int(number), image=image,
                             created=float(since), replicas=running.count(image), current=i == len(history) - 1)
                    for i, (number, image, since) in enumerate(history)]
        return out

    def rollback(self, workload: str = labels.NAME, progress: Progress = _quiet) -> Revision:
        """Roll out the previous revision's image, one replica at a time (as deploy does: nothing dropped)."""
        history = self._history(workload)
        if len(history) < 2:
            only = f" (only revision {history[0][0]}, {history[0][1]})" if history else ""
            raise TargetError(f"rollback {workload}: no previous revision to go back to{only}")
        number, image, since = history[-2]
        try:
            self.docker.images.get(image)
        except Exception as exc:
            raise TargetError(f"rollback {workload}: revision {number}'s image {image} is no longer in the "
                              f"engine ({reason(exc)})") from exc
        progress(f"rollback {workload}: revision {history[-1][0]} -> revision {number} ({image})")
        self.rollout(image, workload, progress)
        return Revision(f"{workload}-{number}", workload, int(number), image, float(since), 0, False)

    def _container(self, name: str) -> Any:
        try:
            return self.docker.containers.get(name)
        except Exception as exc:
            if "not found" in str(exc).lower() or "no such container" in str(exc).lower():
                raise NotFound(f"container {name}: not found: it is gone") from exc
            raise TargetError(f"container {name}: {reason(exc)}") from exc

    def manifest(self, kind: str, name: str) -> Any:
        """`docker inspect` data: of the replica; of every replica of a workload (or its "service"); of a
        revision's image."""
        if kind in ("pods", "models"):  # (the models view's rows are replicas)
            return self._container(name).attrs
        if kind in ("workloads", "services"):
            found = [c.attrs for c in sorted(self._containers(name), key=self._created)]
            if not found:
                raise NotFound(f"workload {name}: not found: no container is labelled {WORKLOAD_LABEL}={name}")
            return found
        if kind == "revisions":
            workload, _, number = name.rpartition("-")
            entry = next((h for h in self._history(workload) if str(h[0]) == number), None)
            if entry is None:
                raise NotFound(f"revision {name}: not found")
            try:
                return self.docker.images.get(entry[1]).attrs
            except Exception as exc:
                raise NotFound(f"revision {name}: its image {entry[1]} is gone: {reason(exc)}") from exc
        raise Unsupported(self._no_autoscaler() if kind == "hpa" else f"{kind} rows have no object to show")

    def describe(self, kind: str, name: str) -> str:
        from aitui.services.describe import describe_container

        if kind == "revisions":
            attrs = self.manifest(kind, name)
            return "\n".join([f"Revision:     {name}", f"Image:        {', '.join(attrs.get('RepoTags') or [])}",
                              f"Id:           {str(attrs.get('Id', ''))[7:19]}",
                              f"Created:      {attrs.get('Created')}",
                              f"Labels:       {(attrs.get('Config') or {}).get('Labels') or {}}"])
        found = self.manifest(kind, name)
        containers = [found] if kind in ("pods", "models") else found  # one replica, or a workload's
        out = []
        for attrs in containers:
            workload = ((attrs.get("Config") or {}).get("Labels") or {}).get(WORKLOAD_LABEL, "")
            cname = str(attrs.get("Name", "")).lstrip("/")
            events = [e for e in self.events(workload) if e.object == cname] if workload else []
            out.append(describe_container(attrs, events))
        one = kind in ("pods", "models")
        head = [] if one else [f"Workload {name}: {len(containers)} container(s) on the local engine", ""]
        return "\n".join(head) + "\n\n".join(out)

    def shell(self, pod: str) -> Shell:
        """`docker exec -it` through the docker CLI (a real TTY, nothing of ours in between)."""
        from aitui.services.targets.shells import probe

        c = self._container(pod)
        where = f"container {c.name} (local)"
        if c.status != "running":
            raise NotFound(f"shell in {where}: it is {c.status}, not running")
        env = {"DOCKER_HOST": self.settings.docker_host} if self.settings.docker_host else {}
        shell = probe(["docker", "exec", c.name], env, where)
        return Shell(argv=("docker", "exec", "-it", c.name, shell), env=tuple(env.items()), where=where)

    @staticmethod
    def _no_autoscaler() -> str:
        return "the local Docker engine has no autoscaler: a workload runs the replicas + / - / s ask for"

    def autoscalers(self) -> list[Autoscaler]:
        raise Unsupported(self._no_autoscaler())

    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = _quiet) -> None:
        raise Unsupported(self._no_autoscaler())


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
