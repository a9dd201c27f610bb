"""The Docker engine behind the images: one client per address, the state files the catalog and the builds
keep, and the engine's events (lists refresh on them)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aitui.config import Settings, state_dir
from aitui.services.engine import docker_client
from aitui.services.errors import reason

if TYPE_CHECKING:
    import docker


class DockerError(Exception):
    """An engine call failed; the message says what and why, ready for the screen."""


_clients: dict[tuple[str, ...], docker.DockerClient] = {}
_clients_lock = threading.Lock()


def client(settings: Settings) -> docker.DockerClient:
    """One client per engine address, kept: a new one asks the engine its API version first (a request
    more per call, every few seconds from the header's probe and each list)."""
    import docker

    env = os.environ
    key = (settings.docker_host or env.get("DOCKER_HOST", ""), env.get("DOCKER_TLS_VERIFY", ""),
           env.get("DOCKER_CERT_PATH", ""), str(settings.timeout))
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        try:
            made = docker_client(settings, int(settings.timeout) + 1)
        except docker.errors.DockerException as exc:
            raise DockerError(f"docker: {reason(exc)}") from exc
        _clients[key] = made
        return made


def write_state(name: str, data: dict) -> None:
    """Replace a file in the state dir whole (a crash leaves the old one, not half a file)."""
    path = state_dir() / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass  # only an estimate or a cache is lost


def events(settings: Settings, stop: threading.Event) -> Iterator[dict]:
    """Image and container events from the engine, until `stop` is set. Lists refresh on these
    instead of polling (lazydocker's idle-CPU fix)."""
    c = client(settings)
    stream = c.events(decode=True, filters={"type": ["image", "container"]})

    def close() -> None:
        import docker

        stop.wait()
        try:
            stream.close()
        except docker.errors.DockerException:  # an engine over SSH: the SDK cannot cancel; closing the
            channel = getattr(stream._response.raw._fp.fp, "channel", None)  # paramiko channel ends the read
            if channel is not None:
                channel.close()

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    try:
        for ev in stream:
            if stop.is_set():
                return
            yield ev
    finally:
        stop.set()
