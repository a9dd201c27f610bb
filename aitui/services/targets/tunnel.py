"""Replicas of a remote engine (DOCKER_HOST=ssh://user@host) publish their ports on *that* machine's
127.0.0.1, which this machine cannot reach. aitui reaches them as `ssh -L` would: a local end on this
machine's 127.0.0.1 per replica port, each connection carried by a direct-tcpip channel of the SSH
connection the docker SDK already holds to that host (no second login, no key asked twice)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def remote_engine(docker_host: str) -> str:
    """The engine's address when it is on another machine ("" for a local socket or a loopback tcp://)."""
    url = urlparse(docker_host or "")
    if url.scheme == "ssh":  # even ssh://127.0.0.1: its ports are the sshd host's, reached through it
        return f"ssh://{url.hostname}{':' + str(url.port) if url.port else ''}"
    if url.scheme in ("tcp", "http", "https") and url.hostname not in LOOPBACK:
        return docker_host
    return ""


class Tunnels:
    """Local ends for remote ports, one listener each, opened on first use and closed when not wanted."""

    def __init__(self, transport: Callable[[], Any]) -> None:
        self._transport = transport  # the SSH connection's paramiko Transport (the docker client's)
        self._ends: dict[int, socket.socket] = {}  # remote port -> listening socket on 127.0.0.1
        self._lock = threading.Lock()

    def local(self, remote_port: int) -> int:
        """The local port that leads to `remote_port` on the engine's 127.0.0.1."""
        with self._lock:
            if remote_port not in self._ends:
                listener = socket.socket()
                listener.bind(("127.0.0.1", 0))  # loopback only, as the replicas' own ports
                listener.listen(64)
                self._ends[remote_port] = listener
                threading.Thread(target=self._accept, args=(listener, remote_port), daemon=True,
                                 name=f"tunnel-{remote_port}").start()
            return int(self._ends[remote_port].getsockname()[1])

    def routes(self) -> dict[int, int]:
        """local port -> remote port."""
        with self._lock:
            return {int(s.getsockname()[1]): port for port, s in self._ends.items()}

    def keep(self, remote_ports: set[int]) -> None:
        """Close the ends of ports no replica publishes any more."""
        with self._lock:
            gone = [p for p in self._ends if p not in remote_ports]
            for p in gone:
                with contextlib.suppress(OSError):
                    self._ends.pop(p).close()

    def close(self) -> None:
        self.keep(set())

    def _accept(self, listener: socket.socket, remote_port: int) -> None:
        while True:
            try:
                conn, peer = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._carry, args=(conn, peer, remote_port), daemon=True).start()

    def _carry(self, conn: socket.socket, peer: tuple[str, int], remote_port: int) -> None:
        """One connection, both ways, until either side closes."""
        try:
            chan = self._transport().open_channel("direct-tcpip", ("127.0.0.1", remote_port), peer, timeout=10)
        except Exception:
            conn.close()  # the client sees a reset: the replica's port is not reachable there
            return
        try:
            while True:
                ready, _, _ = select.select([conn, chan], [], [], 300)
                if not ready:
                    return  # idle for five minutes
                if conn in ready:
                    data = conn.recv(65536)
                    if not data:
                        return
                    chan.sendall(data)
                if chan in ready:
                    data = chan.recv(65536)
                    if not data:
                        return
                    conn.sendall(data)
        except OSError:
            return
        finally:
            chan.close()
            conn.close()
