"""The connection to one Docker engine, shared by the kinds of targets/local/: the SDK's client, the
containers a workload is labelled by, the replicas taken out of traffic (draining) or known ready, and,
for an engine on another machine (DOCKER_HOST=ssh://…), the SSH tunnels to its replicas' ports (tunnel.py)."""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from aitui.config import Settings, state_dir
from aitui.services import labels
from aitui.services.errors import reason
from aitui.services.targets.base import NotFound, TargetError
from aitui.services.targets.tunnel import Tunnels, remote_engine

WORKLOAD_LABEL = "io.aitui.workload"
STOP_TIMEOUT = 20  # seconds between SIGTERM and SIGKILL; above the server's drain (10 s)
# a replica taken out of traffic (a wrong answer in the smoke test) is renamed with this suffix: the mark
# lives with the container, as a Kubernetes pod's label does, so every aitui sees it
QUARANTINED = "-quarantined"


def engine_time(raw: str) -> float:
    """The engine's RFC 3339 time (nanoseconds) as unix seconds; 0.0 when it is not one."""
    try:
        return datetime.fromisoformat(raw[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return 0.0


def created(c: Any) -> float:
    return engine_time(c.attrs.get("Created", ""))


def image_of(c: Any) -> str:
    """The image a container was started from, as it was named."""
    return str(c.attrs["Config"]["Image"])


def port_of(c: Any) -> int:
    """The host port the replica's serving port is published on (0 when none)."""
    binding = ((c.attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{labels.SERVING_PORT}/tcp")
    return int(binding[0]["HostPort"]) if binding else 0


def quarantined(c: Any) -> bool:
    return c.name.endswith(QUARANTINED)


class Engine:
    def __init__(self, settings: Settings, targets_dir: Path | None = None) -> None:
        from aitui.services.engine import docker_client

        self.settings = settings
        try:
            # a stop waits up to STOP_TIMEOUT inside one HTTP call: the client must wait longer
            self.docker = docker_client(settings, STOP_TIMEOUT + 30)
        except Exception as exc:
            raise TargetError(f"local: no Docker engine: {reason(exc)}") from exc
        self.targets_dir = targets_dir or state_dir() / "targets"
        self.leaving: set[str] = set()  # container ids taken out of the endpoints, draining
        self.ready: set[str] = set()
        self.lock = threading.RLock()
        # an engine on another machine (DOCKER_HOST=ssh://…): its replicas' ports are on that machine's
        # 127.0.0.1; aitui reaches them through the SSH connection the docker SDK holds (tunnel.py)
        self.remote = remote_engine(settings.docker_host or os.environ.get("DOCKER_HOST", ""))
        self.tunnels: Tunnels | None = None
        self.no_tunnel = ""  # why a remote engine's replicas cannot be reached from here

    def close(self) -> None:
        if self.tunnels is not None:
            self.tunnels.close()
        with contextlib.suppress(Exception):
            self.docker.close()

    def containers(self, workload: str | None = None) -> list[Any]:
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

    def container(self, name: str) -> Any:
        try:
            return self.docker.containers.get(name)
        except Exception as exc:
            if "not found" in str(exc).lower() or "no such container" in str(exc).lower():
                raise NotFound(f"container {name}: not found: it is gone") from exc
            raise TargetError(f"container {name}: {reason(exc)}") from exc

    def serving(self, c: Any) -> bool:
        """Running and one of the workload's replicas (not draining, not quarantined)."""
        return c.status == "running" and c.id not in self.leaving and not quarantined(c)

    def live(self, workload: str) -> list[Any]:
        """The workload's serving replicas."""
        return [c for c in self.containers(workload) if self.serving(c)]

    # -- a remote engine's replicas, through SSH -------------------------------------------------
    def tunnel(self) -> Tunnels | None:
        """The tunnels to a remote engine over its SSH connection (paramiko's, the SDK's default); None
        where there is none to ride: tcp://, or ssh through the ssh binary (use_ssh_client)."""
        if self.tunnels is None and not self.no_tunnel:
            adapter: Any = getattr(self.docker.api, "_custom_adapter", None)  # the SDK's SSH adapter
            client = getattr(adapter, "ssh_client", None)
            if client is None:
                self.no_tunnel = "aitui has no SSH connection to that machine to tunnel through"
            else:
                def transport() -> Any:
                    if client.get_transport() is None or not client.get_transport().is_active():
                        adapter._connect()  # the SDK's own reconnect, as before a request
                    return client.get_transport()

                self.tunnels = Tunnels(transport)
        return self.tunnels

    def address(self, port: int) -> str | None:
        """Where this machine opens a replica's published port: 127.0.0.1 for a local engine, the local end
        of its tunnel for a remote one; None where there is none."""
        if not port:
            return None
        if not self.remote:
            return f"127.0.0.1:{port}"
        tunnels = self.tunnel()
        return f"127.0.0.1:{tunnels.local(port)}" if tunnels is not None else None
