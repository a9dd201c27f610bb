"""What workers tell the UI (Harlequin's pattern): a worker thread posts one of these (`post_message` is
thread-safe) and an `@on` handler applies it on the UI thread, so the app's state changes there only.
A test can post the same messages with canned data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from aitui.models import Health, Image, Series, Workload
    from aitui.services.doctor import Check
    from aitui.ui.charts import Chart


@dataclass
class Say(Message):
    """One line for Activity (and a notification unless it is information)."""

    text: str
    severity: str = "information"
    notify: bool = False  # a notification even for information (a background job that ended)


@dataclass
class RefreshWanted(Message):
    """The engine or a target's cache changed: refresh the lists (once per burst)."""

    images: bool = True

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, RefreshWanted):
            message.images = message.images or self.images  # the later one keeps what this one asked
            return True
        return False


@dataclass
class HealthChecked(Message):
    health: Health


class HealthRoundDone(Message):
    """Every engine probed: the next round is scheduled (never two at once)."""


@dataclass
class ImagesListed(Message):
    images: list[Image] | None  # None: the engine did not answer, `why` says why
    why: str = ""
    seq: int = 0  # which listing this is (see ImagesTable.load); 0: take it


@dataclass
class WorkloadsListed(Message):
    workloads: list[Workload] | None  # None: the target did not answer, `why` says why
    rows: list[Any] | None = None  # the objects of the view on top (pods, services…), when it is not the workloads
    why: str = ""  # the target's trouble (a cache that is not current), or why there is no list
    frame: Any = None  # ui.browser.Frame: the view `rows` belong to
    seq: int = 0  # which listing this is (the app shows none older than one it has shown); 0: take it


@dataclass
class ChartFetched(Message):
    chart: Chart
    series: list[Series]
    window: float
    now: float | None = None  # the end of the query's window (None: when it is drawn)
    query: str = ""  # the query asked: dropped when the chart shows another page by now


@dataclass
class PrometheusState(Message):
    """Whether Prometheus answered this round: why not, or "" when it did."""

    why: str


@dataclass
class StatsSampled(Message):
    """One sample of each replica's CPU and memory from the target (the charts' fallback)."""

    stats: list[Any]  # models.ReplicaStats
    now: float
    why: str = ""  # why there are none (no metrics-server, the engine did not answer)


class ChartsDone(Message):
    """A round of chart queries ended (not superseded): the next is scheduled."""


@dataclass
class BuildStarted(Message):
    build: Any  # services.images.Build: cancel() from any thread


@dataclass
class BuildOutput(Message):
    lines: list[str] = field(default_factory=list)
    progress: str = ""  # the Build tab's label, when it changes


class BuildEnded(Message):
    pass


class WishesChanged(Message):
    """A scale was asked for: the lists show its count at once."""


@dataclass
class ScaleEnded(Message):
    workload: str
    replicas: int | None  # the count it reached; None: it failed


@dataclass
class LogLines(Message):
    lines: list[Any]  # ui.logs.Line records
    ended: Any  # the follow's threading.Event: lines of a follow that was replaced are dropped


@dataclass
class EventsListed(Message):
    workload: str
    lines: list[str]


@dataclass
class TrafficStarted(Message):
    traffic: Any  # services.traffic.Traffic


@dataclass
class TrafficEnded(Message):
    traffic: Any  # services.traffic.Traffic, ended on its own (its limit, its cap, no ready replica)


@dataclass
class LogEnded(Message):
    ended: Any  # the follow's threading.Event (a replaced follow's end is dropped)
    text: str  # why, with its totals


@dataclass
class TrafficProgress(Message):
    text: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TrafficProgress)


@dataclass
class Predicted(Message):
    sample: str
    png: bytes
    labels: tuple[tuple[str, float], ...]
    detail: str


@dataclass
class ContextsListed(Message):
    contexts: list[str]


@dataclass
class NamespacesListed(Message):
    namespaces: list[str]


@dataclass
class ContextChosen(Message):
    context: str
    in_namespace: str  # (`namespace` is a Message's own class attribute)


@dataclass
class ShowTab(Message):
    tab: str


@dataclass
class DoctorChecked(Message):
    checks: list[Check]
