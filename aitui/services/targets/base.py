"""What every target is: the Target protocol, its errors and the helpers both engines share. The engines' modules
import from here, not from the package (whose open_target imports them: that was a circle)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from aitui.models import Autoscaler, Event, Node, Pod, ReplicaStats, Revision, Service, Shell, Workload

Progress = Callable[[str], None]


class TargetError(Exception):
    """A target verb failed; the message names the verb, the resource and why."""


class Forbidden(TargetError):
    """The cluster's RBAC refused a verb (HTTP 403)."""


class NotFound(TargetError):
    """The object a verb needs is not there (HTTP 404)."""


class Unsupported(TargetError):
    """The target has no such thing (the local engine has no autoscaler): the message says so."""


class NoShell(TargetError):
    """The replica's image has no shell to run (distroless-like)."""


def quiet(_: str) -> None:
    pass


class Target(Protocol):
    """What differs between targets is answered here, never guessed by callers (by a name, by a getattr)."""

    name: str  # the context: "local" or a kubeconfig context
    namespace: str
    namespaced: bool  # whether it has namespaces to switch between (a Kubernetes context; not the local engine)

    @property
    def where(self) -> str: ...  # "local", or "ctx/ns": how the screen and messages name the place
    @property
    def prometheus_url(self) -> str: ...  # where the metrics of its replicas are asked for
    def synced(self, timeout: float = ...) -> bool: ...  # its caches have listed once (none to wait for locally)

    def workloads(self) -> list[Workload]: ...
    def pods(self, workload: str | None = None) -> list[Pod]: ...
    def services(self) -> list[Service]: ...  # how clients reach the workloads
    def endpoints(self, workload: str = ...) -> list[str]: ...
    def reach(self, workload: str = ...) -> str: ...  # how endpoints() reach the replicas, for the screen
    def route(self, endpoint: str) -> str: ...  # which replica one endpoint reaches, for the screen
    def replica_endpoints(self, workload: str = ...) -> dict[str, str]: ...  # ready replica -> its endpoint
    # a canary beside a workload (services/canary.py): endpoints() are the Service's, the canary's among them
    def canary_endpoints(self, workload: str = ...) -> tuple[list[str], list[str]]: ...  # (the workload's, canary's)
    def deploy_canary(self, image: str, replicas: int, workload: str = ..., progress: Progress = ...) -> None: ...
    def promote_canary(self, workload: str = ..., progress: Progress = ...) -> None: ...  # rollout, then remove
    def remove_canary(self, workload: str = ..., progress: Progress = ...) -> None: ...  # drained first
    def publish(self, image: str, progress: Progress = ...) -> None: ...  # make a local build runnable there
    @property
    def errors(self) -> dict[str, str]: ...  # what is not current and why (a cache 403, unreachable…)
    def namespaces(self) -> list[str]: ...  # the namespaces one may switch to ([] where there are none)
    def metrics_selector(self, workload: str = ...) -> str: ...  # PromQL labels of its replicas' series
    def unscraped(self) -> str: ...  # why Prometheus cannot see its replicas ("" when it can): charts' fallback
    def deploy_plan(self) -> list[str]: ...  # what a deploy here does, beyond image and replicas, for the screen
    def deploy(self, image: str, replicas: int, workload: str = ..., progress: Progress = ...) -> None: ...
    def scale(self, replicas: int, workload: str = ..., progress: Progress = ...) -> None: ...
    def restart(self, workload: str = ..., progress: Progress = ...) -> None: ...
    def delete(self, workload: str = ..., progress: Progress = ...) -> None: ...
    # out of traffic, kept running to be looked at; a replacement starts (a smoke test's flagged replica)
    def quarantine(self, pod: str, workload: str = ..., progress: Progress = ...) -> str: ...  # its name then
    def events(self, workload: str = ...) -> list[Event]: ...
    # previous: the container before the last restart (Kubernetes' previous=true; locally the runs before
    # the current one, or the whole log of an exited container); NotFound when there is none
    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]: ...
    def stats(self, workload: str = ...) -> list[ReplicaStats]: ...  # CPU and memory now, without Prometheus
    def watch(self, changed: Callable[[], None]) -> None: ...
    def close(self) -> None: ...
    # operating one object (ui/yaml_view.py, ui/shell.py, ui/operations.py); `kind` is a registry kind
    def manifest(self, kind: str, name: str) -> object: ...  # the live object (inspect data locally); NotFound
    def describe(self, kind: str, name: str) -> str: ...  # kubectl-describe-like text; NotFound
    def shell(self, pod: str) -> Shell: ...  # how to exec a shell there, probed first; NotFound, NoShell
    def revisions(self, workload: str | None = None) -> list[Revision]: ...  # oldest first
    def rollback(self, workload: str = ..., progress: Progress = ...) -> Revision: ...  # to the previous one
    def autoscalers(self) -> list[Autoscaler]: ...  # Unsupported where there are none
    def nodes(self) -> list[Node]: ...  # where replicas run
    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = ...) -> None: ...


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """A log's byte stream as the lines it carries (a line split across chunks comes out whole)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield line.decode(errors="replace")
    if buf:
        yield buf.decode(errors="replace")


def refusal_of(body: Any) -> str:
    """The recognizer's reason for never becoming ready, from its 503 readiness body `{"ready": false,
    "reason": …}`; "" for any other body (the API server's own 503 Status has a `reason` too)."""
    if not isinstance(body, dict) or body.get("ready") is not False or "kind" in body:
        return ""
    why = body.get("reason", "")
    return why if isinstance(why, str) else ""
