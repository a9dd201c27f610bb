"""History charts (textual-plotext), one per named query; 'no data: why' when there is nothing to draw.
Each series has its own marker, named in the legend on the bottom border (where it hides no data), so the
lines tell apart without colour; the axes show round numbers in the query's unit."""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual_plotext import PlotextPlot

from aitui.models import Series

MARKERS = ("•", "+", "×", "o", "▪", "◆")  # one per series, in order; more series than this are unreadable
# the unit on the wire -> the axis's (each chart's title says it): seconds -> ms, bytes -> MiB; the grid scales
# what it is given (a query's series, the target's samples) before a chart holds it
SCALE = {"latency": 1000.0, "memory": 1 / 2**20}
TIME_STEPS = (15, 30, 60, 120, 300, 600, 900, 1800)  # seconds between the x axis's ticks: round times
FIXED = {"errors": (0.0, 1.0)}  # a ratio: its whole range, always (a flat 0 would otherwise centre on -1..1)


def nice_ticks(lo: float, hi: float, most: int) -> list[float]:
    """Round ticks (1, 2 or 5 times a power of ten apart) from lo up to at least hi, at most `most` of them."""
    most = max(2, most)
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    raw = span / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next((m * power for m in (1, 2, 2.5, 5, 10) if m * power * (most - 1) >= span), 10 * power)
    first = math.floor(lo / step) * step
    ticks = [first]
    while ticks[-1] < lo + span - step * 1e-9:
        ticks.append(first + step * len(ticks))
    return ticks


def tick_label(value: float, ticks: list[float]) -> str:
    """As few digits as tell the ticks apart: 0, 5, 10; 0.5, 1.0; 0.25, 0.50."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if decimals and round(step * 10 ** decimals) % 10 and step * 10 ** decimals % 1:
        decimals += 1  # 0.25 apart: two decimals
    if decimals == 0 and abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.{decimals}f}"


def ago(seconds: float) -> str:
    """An x-axis label: how long before now."""
    s = round(abs(seconds))
    if s == 0:
        return "now"
    return f"-{s // 60}m" if s % 60 == 0 else f"-{s}s"


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
        self._empty: tuple[object, ...] | None = None  # what an empty chart last said, at what size

    def render(self):  # a Rich renderable, as PlotextPlot's
        """Until the first query answers, a line of text: building four empty plotext figures would cost
        the first frame ~50 ms for nothing to see."""
        if not self._drawn:
            return Text("waiting for the first query…", style="dim")
        return super().render()

    def show(self, series: list[Series], window: float, now: float | None = None) -> None:
        """Redraw with these series over the last `window` seconds (x axis: seconds before `now`)."""
        self.series = series
        # an empty chart shows no time, only why it is empty: the same answer again draws nothing (idle CPU
        # with nothing deployed was mostly four empty charts redrawn every poll)
        empty = None if any(s.points for s in series) else \
            (self.query_name, tuple(s.error for s in series), window, self.size, self.app.theme)
        if empty is not None and empty == self._empty and self._drawn:
            return
        self._empty = empty
        self._drawn = True
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        now = time.time() if now is None else now
        drawn = [s for s in series if s.points][:len(MARKERS)]
        errors = [s.error for s in series if s.error]
        legend = []
        for s, marker in zip(drawn, MARKERS, strict=False):
            label = s.name[-6:] if s.name.count("-") else s.name  # a replica's name ends in its unique part
            alone = len(drawn) == 1  # nothing to tell it from: the finest line (braille: 4 dots per row)
            plt.plot([t - now for t, _ in s.points], [v for _, v in s.points],
                     marker="braille" if alone else marker)
            legend.append(label if alone else f"{marker} {label}")
        # a young series fills the chart instead of a sliver at its right edge; the axis says how far back
        oldest = min((s.points[0][0] for s in drawn), default=now - window)
        span = min(window, max(60.0, (now - oldest) * 1.1))
        plt.xlim(-span, 0)
        step = next((s for s in TIME_STEPS if span / s <= max(1, self.size.width // 10)), TIME_STEPS[-1])
        xticks = [-float(step * i) for i in range(int(span // step), -1, -1)]
        plt.xticks(xticks, [ago(t) for t in xticks])
        lo, hi = FIXED.get(self.query_name, (0.0, max((v for s in drawn for _, v in s.points), default=1.0)))
        ticks = nice_ticks(lo, hi, max(2, min(6, (self.size.height - 3) // 2 + 1)))
        plt.ylim(ticks[0], ticks[-1])
        plt.yticks(ticks, [tick_label(t, ticks) for t in ticks])
        if not drawn:
            plt.title(errors[0] if errors else "no data")  # plotext drops a title wider than the plot:
            why = errors[0].removeprefix("no data: ") if errors else ""
            # the next key, where the chart is empty only because nothing is asked of the recognizer yet
            self.border_subtitle = "no samples yet: t sends traffic" if why.startswith("no samples") else why
        else:
            self.border_subtitle = "  ".join(legend)
        self.refresh()
