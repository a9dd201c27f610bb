"""Reach pods from this machine through the API server, as `kubectl port-forward pod/NAME 8501` does.

One listener on 127.0.0.1 per ready pod, so the traffic generator spreads load over the pods the way a
Service would, and a pod that stops being ready leaves the list at once (its open connections finish).
Each accepted connection opens the pod's `portforward` subresource (a websocket through the API server
and the kubelet) with the kubernetes client and copies bytes both ways. No kubectl needed.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from typing import Any

from aitui.services.errors import reason
from aitui.services.targets.base import Forbidden, TargetError


class Refused(Exception):
    """The API server answered a port-forward's websocket handshake with an error status: the same
    status and body an ApiException carries, so the target can type it as it types every other refusal."""

    def __init__(self, status: int, body: str, reason: str = "") -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.body, self.reason = status, body, reason


def refused(exc: BaseException) -> Refused | None:
    """The handshake's answer in `exc`'s chain (the client wraps websocket-client's bad-status error in an
    ApiException whose text is that answer raw: status line, headers and body in one string)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        status, body = getattr(seen, "status_code", None), getattr(seen, "resp_body", None)
        if isinstance(status, int) and status >= 400:
            text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
            return Refused(status, text, str(getattr(seen, "status_message", "") or ""))
        seen = seen.__cause__ or seen.__context__
    return None


class Forward:
    """127.0.0.1:<ephemeral port> -> pod:port, until close()."""

    def __init__(self, open_stream: Callable[[], Any], pod: str, port: int, on_error: Callable[[str], None]) -> None:
        self.pod, self.port = pod, port
        self._open = open_stream
        self._on_error = on_error
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.local = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name=f"forward-{pod}").start()

    def close(self) -> None:
        """Stop accepting; connections already open finish on their own."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True, name=f"forward-{self.pod}-conn").start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            stream = self._open()
        except Exception as exc:  # 403, pod gone, API server down: the client sees the connection close
            why = str(exc) if isinstance(exc, TargetError) else f"port-forward to pod/{self.pod}:{self.port}: " \
                f"{reason(exc)}"
            self._on_error(why)
            conn.close()
            return
        remote = stream.socket(self.port)
        remote.setblocking(True)
        try:
            _copy_both_ways(conn, remote)
        finally:
            conn.close()
            with contextlib.suppress(Exception):
                remote.close()
            with contextlib.suppress(Exception):
                stream.close()
            error = None
            with contextlib.suppress(Exception):
                error = stream.error(self.port)
            if error:
                self._on_error(f"port-forward to pod/{self.pod}:{self.port}: {error}")


def _copy_both_ways(a: socket.socket, b: Any) -> None:
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select():
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    return
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        return
    finally:
        sel.close()


class PodForwards:
    """The forwards to one workload's ready pods, kept in step with the pod list."""

    def __init__(self, open_stream: Callable[[str, int], Any], port: int) -> None:
        self._open = open_stream
        self.port = port
        self._forwards: dict[str, Forward] = {}
        self._lock = threading.Lock()
        self.last_error = ""

    def sync(self, ready_pods: list[str]) -> list[str]:
        """Listeners for exactly these pods; returns their local addresses, in the pods' order. A pod's
        first forward is tried once: one the API server forbids (RBAC) raises Forbidden here, in its words,
        instead of a connection that closes unexplained under each request."""
        with self._lock:
            for pod in set(self._forwards) - set(ready_pods):
                self._forwards.pop(pod).close()
            for pod in ready_pods:
                if pod not in self._forwards:
                    self._try(pod)
                    self._forwards[pod] = Forward(lambda pod=pod: self._open(pod, self.port), pod, self.port,  # type: ignore[misc]
                                                  self._error)
            return [self._forwards[p].local for p in ready_pods]

    def _try(self, pod: str) -> None:
        try:
            self._open(pod, self.port).close()
        except Forbidden:
            raise
        except Exception:
            pass  # a pod going away, a slow API server: the forward is made; its connections say what fails

    def routes(self) -> list[tuple[str, str]]:
        """(local address, pod) for each forward."""
        with self._lock:
            return [(f.local, f.pod) for f in self._forwards.values()]

    def _error(self, text: str) -> None:
        self.last_error = text

    def close(self) -> None:
        self.sync([])
