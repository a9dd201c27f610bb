"""Plain data shared by the services and the UI. No behaviour that needs an engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    """What one engine looks like from here: reachable or not, and in a few words why."""

    name: str  # "docker", "kubernetes", "prometheus"
    ok: bool
    detail: str  # a version, a URL, a count of contexts; or the reason it is unreachable
    warning: str = ""  # what the header says beside it in yellow: "TLS UNVERIFIED" (a kubeconfig that skips it)


@dataclass(frozen=True)
class Image:
    id: str  # short id, "sha256:" stripped
    tags: tuple[str, ...]
    size: int  # bytes
    created: float  # unix time
    recognizer: bool  # built by aitui from serving/
    runtime: str = ""  # the recognizer's runtime (litert, tensorflow), from its image label
    version: str = ""  # the recognizer's version-hash (org.opencontainers.image.version), from its image label
    accuracy: float | None = None  # the model's held-out accuracy (its model.json), None: not known (yet)
    model: str = ""  # the model it serves (its io.aitui.name label): "recognizer" or a model project's name

    @property
    def name(self) -> str:
        return self.tags[0] if self.tags else f"<none>@{self.id[:12]}"


BUILD_STAGES = ("base", "packages", "training", "export", "runtime image")  # what a recognizer build goes through


@dataclass(frozen=True)
class BuildEvent:
    """One thing a build said. `kind`: "step" (the engine began step `step` of `steps`), "cached" (that step
    came from the engine's cache), "stage" (the build entered `stage`, one of BUILD_STAGES), "epoch" (training
    finished epoch `epoch` of `epochs`: `loss`, `accuracy` on the validation split), "result" (training ended:
    `accuracy` on the held-out set), "log" (a raw line), and the last one: "done", "error" or "cancelled"."""

    kind: str
    text: str = ""
    step: int = 0
    steps: int = 0
    image_id: str = ""
    tag: str = ""
    seconds: float = 0.0  # since the build began
    stage: str = ""
    epoch: int = 0
    epochs: int = 0
    loss: float | None = None
    accuracy: float | None = None


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
    model: str = "recognizer"  # the model it serves (services/labels.py MODEL_LABEL)


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
    autoscaler: tuple[int, int] | None = None  # (min, max) of the HPA that owns the count, None: none does
    problem: str = ""  # why a replica cannot start, from its pods: ErrImagePull, ImagePullBackOff ("" none)
    model: str = "recognizer"  # the model its (newest) replicas serve (services/labels.py MODEL_LABEL)


@dataclass(frozen=True)
class Service:
    """How clients reach a workload: a Kubernetes Service, or the local target's published ports."""

    name: str
    type: str  # ClusterIP, NodePort, LoadBalancer; "published" on the local engine
    address: str  # the cluster IP (None for a headless Service); 127.0.0.1 on the local engine
    ports: str  # "8501/TCP, 8500/TCP"; local: "8501 -> 32768, 32769"
    ready: int  # endpoints that take traffic now
    endpoints: int  # endpoints in all (ready or not)
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


@dataclass(frozen=True)
class Node:
    """Where replicas run: a Kubernetes node, or the local Docker engine's machine."""

    name: str
    status: str  # Ready, NotReady, Unknown
    roles: str  # control-plane, worker…; "engine" for the local Docker engine
    version: str  # the kubelet's, or the engine's
    cpus: int
    memory: int  # bytes
    created: float  # 0 when not known


@dataclass(frozen=True)
class Autoscaler:
    """A HorizontalPodAutoscaler: the bounds it keeps a workload's replicas in, and what it last did."""

    name: str
    workload: str  # the Deployment it scales ("" for another kind)
    low: int  # minReplicas
    high: int  # maxReplicas
    current: int
    desired: int
    targets: str  # "cpu 12%/70%", "cpu <unknown>/70%"
    last_scale: float  # unix time of its last scale, 0: never
    created: float
    why: str = ""  # what it says when it cannot act (its ScalingActive condition), "" when it can


@dataclass(frozen=True)
class Revision:
    """One revision of a workload: a ReplicaSet of a Deployment, or an image the local workload ran."""

    name: str  # the ReplicaSet, or "<workload>-<revision>" on the local engine
    workload: str
    revision: int
    image: str
    created: float
    replicas: int  # pods it runs now
    current: bool  # the revision the workload runs now
    change_cause: str = ""  # kubernetes.io/change-cause, or what aitui did


@dataclass(frozen=True)
class Shell:
    """How to run an interactive shell in a replica: the command line and its environment additions."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    where: str = ""  # "pod/x in ctx/ns", "container x": for the screen


@dataclass(frozen=True)
class ReplicaStats:
    """One replica's CPU and memory as the engine or metrics-server has them now (the charts' fallback
    when Prometheus does not answer)."""

    replica: str
    cpu: float  # cores
    memory: float  # bytes
    source: str = ""  # where the numbers come from, for the screen: "docker stats", "metrics-server"
