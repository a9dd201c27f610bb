"""The four history charts: what they ask Prometheus, how often, over which window (`w`), and which pair
a narrow terminal shows (`c`). The grid owns its timer and worker; the App only tells it the terminal's
size and when the context changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.timer import Timer
from textual.worker import get_current_worker

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import Series
from aitui.ui.charts import Chart

if TYPE_CHECKING:
    from aitui.services.targets import Target

    # metrics.fetch's shape: (settings, query name, window, points, selector, now) -> series
    Fetch = Callable[[Settings, str, float, int, str, float], list[Series]]

EVERY = 5.0  # seconds between polls; the next starts only after the last ends
WINDOWS = {"5m": 300, "15m": 900, "1h": 3600}  # the windows `w` cycles through
CHARTS = (("requests", "Requests/s"), ("latency", "Latency p50/p95/p99 (ms)"), ("replicas", "Replicas up"),
          ("errors", "Error ratio"))
NARROW, SHORT = 100, 30  # columns and rows below which the layout tightens
WORKLOAD = "recognizer"


class ChartGrid(Horizontal):
    DEFAULT_CSS = """
    ChartGrid { height: 2fr; min-height: 7; }
    /* narrow terminals: two charts at a time, `c` flips to the other pair */
    ChartGrid.narrow > .pair-2 { display: none; }
    ChartGrid.narrow.flipped > .pair-1 { display: none; }
    ChartGrid.narrow.flipped > .pair-2 { display: block; }
    ChartGrid.short { height: 3fr; }
    """

    def __init__(self, settings: Settings, target_of: Callable[[], Target], fetch: Fetch | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings
        self._target_of = target_of
        self._fetch = fetch  # where series come from (Prometheus unless a test gives canned ones)
        self.window = WINDOWS["5m"]
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        for i, (query, title) in enumerate(CHARTS):
            yield Chart(query, title, id=f"chart-{query}", classes=f"pair-{1 + i // 2}")

    def fit(self, width: int, height: int) -> None:
        """Below NARROW columns four charts are unreadable: two (c flips); below SHORT rows, the charts
        get more of the height than the tables and logs."""
        self.set_class(width < NARROW, "narrow")
        self.set_class(height < SHORT, "short")

    def flip(self) -> None:
        if not self.has_class("narrow"):
            self.notify("all four charts are shown at this width")
            return
        self.toggle_class("flipped")
        self.call_after_refresh(self.poll)  # the pair just shown has its size after this refresh

    def next_window(self) -> None:
        names = list(WINDOWS)
        now = next(n for n, s in WINDOWS.items() if s == self.window)
        self.set_window(names[(names.index(now) + 1) % len(names)])

    def set_window(self, name: str) -> None:
        """The charts' time window; each chart's title says it as soon as it is chosen."""
        self.window = WINDOWS[name]
        for chart, (_query, title) in zip(self.query(Chart), CHARTS, strict=True):
            chart.border_title = f"{title} · {name}"
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
        shown = [(chart, max(10, chart.size.width - 8)) for chart in self.query(Chart)
                 if chart.display and chart.size.width]
        self._fetch_all(shown, self.window)

    @work(thread=True, group="charts", exclusive=True, exit_on_error=False)
    def _fetch_all(self, charts: list[tuple[Chart, int]], window: float) -> None:
        from aitui.services import metrics
        from aitui.services.targets import TargetError

        fetch = self._fetch or metrics.fetch
        try:
            selector = self._target_of().metrics_selector(WORKLOAD)  # the labels its replicas' series carry
        except TargetError as exc:
            for chart, _width in charts:
                self.post_message(msg.ChartFetched(chart, [Series(chart.query_name, (), f"no data: {exc}")], window))
            selector = ""
        for chart, width in charts if selector else []:
            now = time.time()  # the x axis counts back from the query's own end
            series = fetch(self.settings, chart.query_name, window, width, selector, now)
            self.post_message(msg.ChartFetched(chart, series, window, now))
        if not get_current_worker().is_cancelled:  # a newer poll took over and schedules the next
            self.post_message(msg.ChartsDone())

    @on(msg.ChartFetched)
    def _fetched(self, m: msg.ChartFetched) -> None:
        m.stop()
        if self.is_attached:
            m.chart.show(m.series, m.window, m.now)

    @on(msg.ChartsDone)
    def _done(self, m: msg.ChartsDone) -> None:
        m.stop()
        if self.is_attached:
            self._timer = self.set_timer(EVERY, self.poll)
