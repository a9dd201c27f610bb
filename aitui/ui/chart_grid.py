"""The history charts: what they ask Prometheus, how often, over which window (`w`), and which page is shown
(`c`): the requests page (requests/s, latency, replicas, errors), then the replicas page (CPU, memory, batch
size, requests in flight, per replica). A narrow terminal shows two charts at a time, so `c` steps through
pairs. When Prometheus does not answer, CPU and memory still come from the target (the engine's stats, or
metrics-server), sampled here and labelled as the fallback. The grid owns its timer, worker and samples; the
App only tells it the terminal's size and when the context changed; whose replicas it shows is the store's
(the workload selected, else the one `d` deploys), named in the titles when there are several."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.worker import get_current_worker

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import Series
from aitui.services.metrics import FALLBACK, StatsHistory
from aitui.services.redact import text as masked
from aitui.ui.charts import SCALE, Chart

if TYPE_CHECKING:
    from aitui.services.targets import Target
    from aitui.ui.store import WorkloadStore

    # metrics.fetch's shape: (settings, query name, window, points, selector, now) -> series
    Fetch = Callable[[Settings, str, float, int, str, float], list[Series]]
    Probe = Callable[[Settings], str]  # metrics.unreachable's shape: why Prometheus does not answer, or ""

EVERY = 5.0  # seconds between polls; the next starts only after the last ends
WINDOWS = {"5m": 300, "15m": 900, "1h": 3600}  # the windows `w` cycles through
PAGES = (  # `c` flips through them; each is four charts (two pairs at narrow widths)
    (("requests", "Requests/s"), ("latency", "Latency ms"), ("replicas", "Replicas up"),
     ("errors", "Error ratio")),
    (("cpu", "CPU cores"), ("memory", "Memory MiB"), ("batch", "Batch size"), ("in_flight", "In flight")),
)
CHARTS = PAGES[0]
NARROW, SHORT = 100, 30  # columns and rows below which the layout tightens


def scaled(query: str, series: list[Series]) -> list[Series]:
    """In the axis's unit (charts.SCALE)."""
    k = SCALE.get(query)
    return series if k is None else [Series(s.name, tuple((t, v * k) for t, v in s.points), s.error) for s in series]


class ChartGrid(Horizontal):
    DEFAULT_CSS = """
    ChartGrid { height: 2fr; min-height: 7; }
    /* narrow terminals: two charts at a time, `c` steps to the next pair */
    ChartGrid.narrow > .pair-2 { display: none; }
    ChartGrid.narrow.flipped > .pair-1 { display: none; }
    ChartGrid.narrow.flipped > .pair-2 { display: block; }
    ChartGrid.short { height: 3fr; }
    """

    @dataclass
    class Fetched(Message):
        slot: str  # the chart's id
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

    class Done(Message):
        """A round of chart queries ended (not superseded): the next is scheduled."""

    def __init__(self, settings: Settings, store: WorkloadStore, target_of: Callable[[], Target],
                 fetch: Fetch | None = None, probe: Probe | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings, self.store = settings, store
        self._target_of = target_of
        self._fetch = fetch  # where series come from (Prometheus unless a test gives canned ones)
        self._probe = probe  # whether Prometheus answers (asked of it unless a test gives an answer)
        self.window = WINDOWS["5m"]
        self.workload = store.charted  # whose replicas the charts show (the selected workload)
        self.page = 0
        self.fallback = ""  # why Prometheus does not answer ("" while it does): CPU and memory from the target
        self.stats = StatsHistory()
        self._stats_why = ""  # why the target has no stats either
        self._source = ""  # where the fallback's numbers come from (docker stats, metrics-server)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        # four slots; a page sets what each asks (their ids stay the first page's)
        for i, (query, title) in enumerate(CHARTS):
            yield Chart(query, title, id=f"chart-{query}", classes=f"pair-{1 + i // 2}")

    def on_mount(self) -> None:
        self._retitle()
        self.store.listen(self._workloads_changed)

    def _workloads_changed(self) -> None:
        """Another workload selected (another model's, a test's): its charts, at once."""
        was, self.workload = self.workload, self.store.charted
        self._retitle()  # (also when a second workload is listed: the titles name whose replicas they chart)
        if self.workload != was:
            self.poll()

    def fit(self, width: int, height: int) -> None:
        """Below NARROW columns four charts are unreadable: two (c steps); below SHORT rows, the charts
        get more of the height than the tables and logs."""
        self.set_class(width < NARROW, "narrow")
        self.set_class(height < SHORT, "short")

    def flip(self) -> None:
        """The next charts: the other pair at narrow widths, else the next page."""
        if self.has_class("narrow") and not self.has_class("flipped"):
            self.add_class("flipped")
        else:
            self.remove_class("flipped")
            self.show_page((self.page + 1) % len(PAGES))
        self.call_after_refresh(self.poll)  # the charts just shown have their sizes after this refresh

    def show_page(self, page: int) -> None:
        self.page = page
        for chart, (query, _title) in zip(self.query(Chart), PAGES[page], strict=True):
            if chart.query_name != query:
                chart.query_name = query
                chart.show([Series(query, (), "no data: asking…")], self.window)
        self._retitle()

    def _retitle(self) -> None:
        """Each chart's title: what it shows, the fallback's source when it is the fallback, the window."""
        name = next(n for n, s in WINDOWS.items() if s == self.window)
        for chart, (query, title) in zip(self.query(Chart), PAGES[self.page], strict=True):
            fallback = " · fallback" if self.fallback and query in FALLBACK else ""  # (Activity says from what)
            whose = f" · {self.workload}" if len(self.store.workloads) > 1 else ""  # (one: it goes without saying)
            chart.border_title = f"{title}{fallback}{whose} · {name}"

    def next_window(self) -> None:
        names = list(WINDOWS)
        now = next(n for n, s in WINDOWS.items() if s == self.window)
        self.set_window(names[(names.index(now) + 1) % len(names)])

    def set_window(self, name: str) -> None:
        """The charts' time window; each chart's title says it as soon as it is chosen."""
        self.window = WINDOWS[name]
        self._retitle()
        self.notify(f"charts: last {name}")
        self.poll()

    def poll(self) -> None:
        """Read the shown charts' sizes here, on the UI thread; fetch in a worker; draw back here.
        One timer at a time: a poll asked for early (window change, flip) replaces the scheduled one."""
        if not self.is_attached:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        shown = [(str(chart.id), chart.query_name, max(10, chart.size.width - 8)) for chart in self.query(Chart)
                 if chart.display and chart.size.width]
        self._fetch_all(shown, self.window)

    @work(thread=True, group="charts", exclusive=True, exit_on_error=False)
    def _fetch_all(self, charts: list[tuple[str, str, int]], window: float) -> None:
        """Each shown chart's series, by its slot (id), query and width in points."""
        from aitui.services import metrics
        from aitui.services.targets import TargetError

        fetch = self._fetch or metrics.fetch
        # Prometheus is asked once before its queries (a canned source, in tests, is always there)
        probe = self._probe or (None if self._fetch else metrics.unreachable)
        down = probe(self.settings) if probe else ""
        try:
            target = self._target_of()
            selector = target.metrics_selector(self.workload)  # the labels its replicas' series carry
            down = down or target.unscraped()  # its replicas out of Prometheus's sight: the fallback too
            self.post_message(self.PrometheusState(down))
        except TargetError as exc:
            self.post_message(self.PrometheusState(down))
            for slot, query, _width in charts:
                self.post_message(self.Fetched(slot, [Series(query, (), f"no data: {exc}")], window))
            selector = ""
        if selector and down and any(query in FALLBACK for _, query, _ in charts):
            try:  # CPU and memory without Prometheus: one sample per poll, kept by the grid
                self.post_message(self.StatsSampled(target.stats(self.workload), time.time()))
            except TargetError as exc:
                self.post_message(self.StatsSampled([], time.time(), str(exc)))
        for slot, query, width in charts if selector else []:
            now = time.time()  # the x axis counts back from the query's own end
            if down:
                if query not in FALLBACK:
                    why = f"no data: Prometheus: {down}"  # (its address is in Activity and :doctor)
                    self.post_message(self.Fetched(slot, [Series(query, (), why)], window, now, query))
                continue  # CPU and memory: drawn from the samples as they land
            series = scaled(query, fetch(self.settings, query, window, width, selector, now))
            self.post_message(self.Fetched(slot, series, window, now, query))
        if not get_current_worker().is_cancelled:  # a newer poll took over and schedules the next
            self.post_message(self.Done())

    @on(PrometheusState)
    def _prometheus(self, m: ChartGrid.PrometheusState) -> None:
        m.stop()
        if m.why != self.fallback:
            if not m.why:
                self.stats.clear()  # Prometheus is back: its own history is the better one
                self.post_message(msg.Say("charts: Prometheus answers again"))
            elif not self.fallback:
                self.post_message(msg.Say(f"charts: Prometheus at {masked(self.settings.prometheus_url)} {m.why}: "
                                          "CPU and memory (c) come from the target instead, marked fallback"))
            self.fallback = m.why
            self._retitle()

    @on(StatsSampled)
    def _sampled(self, m: ChartGrid.StatsSampled) -> None:
        m.stop()
        self.stats.add(m.stats, m.now)
        source = next((s.source for s in m.stats if s.source), "")
        if source and source != self._source:
            self._source = source
            self.post_message(msg.Say(f"charts: CPU and memory from {source} (fallback)"))
        elif m.why and m.why != self._stats_why:  # e.g. a cluster without metrics-server
            self.post_message(msg.Say(f"charts: no fallback either: {m.why}", "warning"))
        self._stats_why = m.why
        for chart in self.query(Chart):
            if chart.query_name in FALLBACK and self.fallback:
                series = self.stats.series(chart.query_name, self.window, m.now, SCALE.get(chart.query_name, 1.0))
                why = m.why or "no running replica to sample"
                chart.show(series or [Series(chart.query_name, (), f"no data: {why}")], self.window, m.now)

    @on(Fetched)
    def _fetched(self, m: ChartGrid.Fetched) -> None:
        m.stop()
        if not self.is_attached:
            return
        chart = self.query_one(f"#{m.slot}", Chart)
        if m.query in ("", chart.query_name):  # not a page flipped away meanwhile
            chart.show(m.series, m.window, m.now)

    @on(Done)
    def _done(self, m: ChartGrid.Done) -> None:
        m.stop()
        if self.is_attached:
            self._timer = self.set_timer(EVERY, self.poll)
