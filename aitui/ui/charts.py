"""History charts (textual-plotext), one per named query; 'no data: why' when there is nothing to draw."""

from __future__ import annotations

import time

from rich.text import Text
from textual_plotext import PlotextPlot

from aitui.models import Series


class Chart(PlotextPlot):
    DEFAULT_CSS = """
    Chart { border: round $primary-darken-1; height: 1fr; min-height: 6; }
    """

    def __init__(self, query: str, title: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.query_name = query
        self.border_title = title
        self.series: list[Series] = []
        self._drawn = False

    def render(self):  # a Rich renderable, as PlotextPlot's
        """Until the first query answers, a line of text: building four empty plotext figures would cost
        the first frame ~50 ms for nothing to see."""
        if not self._drawn:
            return Text("waiting for the first query…", style="dim")
        return super().render()

    def show(self, series: list[Series], window: float, now: float | None = None) -> None:
        """Redraw with these series over the last `window` seconds (x axis: seconds before `now`)."""
        self.series = series
        self._drawn = True
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        now = time.time() if now is None else now
        drawn = [s for s in series if s.points]
        errors = [s.error for s in series if s.error]
        for s in drawn[:6]:  # more lines than this are unreadable in a terminal
            xs = [t - now for t, _ in s.points]
            label = s.name[-6:] if s.name.count("-") else s.name  # a replica's name ends in its unique part
            plt.plot(xs, [v for _, v in s.points], label=label, marker="braille")
        # a young series fills the chart instead of a sliver at its right edge; the axis says how far back
        oldest = min((s.points[0][0] for s in drawn), default=now - window)
        plt.xlim(-min(window, max(60.0, (now - oldest) * 1.1)), 0)
        if not drawn:
            plt.title(errors[0] if errors else "no data")  # plotext drops a title wider than the plot:
        self.border_subtitle = errors[0].removeprefix("no data: ") if errors and not drawn else ""  # this stays
        self.refresh()
