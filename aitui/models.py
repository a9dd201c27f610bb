"""Plain data shared by the services and the UI. No behaviour that needs an engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    """What one engine looks like from here: reachable or not, and in a few words why."""

    name: str  # "docker", "kubernetes", "prometheus"
    ok: bool
    detail: str  # a version, a URL, a count of contexts; or the reason it is unreachable


@dataclass(frozen=True)
class Image:
    id: str  # short id, "sha256:" stripped
    tags: tuple[str, ...]
    size: int  # bytes
    created: float  # unix time
    recognizer: bool  # built by aitui from serving/
    runtime: str = ""  # the recognizer's runtime (litert, tensorflow), from its image label

    @property
    def name(self) -> str:
        return self.tags[0] if self.tags else f"<none>@{self.id[:12]}"


@dataclass(frozen=True)
class Pod:
    """One replica: a Kubernetes pod, or a container of the local target."""

    name: str
    workload: str
    status: str  # Running, Pending, Terminating, Exited…
    ready: bool
    restarts: int
    created: float
    image: str
    node: str
    endpoint: str = ""  # host:port this replica serves on (local target: 127.0.0.1:<port>)


@dataclass(frozen=True)
class Workload:
    """A Deployment, or the local target's set of labelled containers of one image."""

    name: str
    namespace: str
    desired: int
    ready: int
    up_to_date: int
    available: int
    image: str
    created: float


@dataclass(frozen=True)
class Series:
    """One line of a chart: (unix time, value) points, or the reason there are none."""

    name: str
    points: tuple[tuple[float, float], ...] = ()
    error: str = ""  # "no data: why"


@dataclass(frozen=True)
class Event:
    """Something that happened to a workload: a Kubernetes Event, or a Docker engine event."""

    time: float
    type: str  # Normal, Warning
    reason: str  # ScalingReplicaSet, start, die, health_status…
    object: str  # what it happened to: deployment/x, pod/x, container name
    message: str
