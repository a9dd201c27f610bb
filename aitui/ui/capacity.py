"""The capacity finder on screen (`C`): concurrency ramps step by step; each step's throughput and p99
land in a table and on a chart of p99 against req/s as they are measured; then the knee, and the replicas
(and the HPA's CPU target) for a wanted rate with headroom, with the formulas (services/capacity.py). It
is a RunScreen (ui/run.py): esc stops the ramp, the steps so far are kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table as RichTable
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Static
from textual_plotext import PlotextPlot

from aitui.ui.run import AGAIN, FORM_CSS, RunScreen, number

if TYPE_CHECKING:
    from aitui.services.capacity import CapacityResult, Step
    from aitui.services.slo import Thresholds
    from aitui.ui.run import Job


class ThroughputChart(PlotextPlot):
    """p99 against throughput, one point per measured step (labelled by its concurrency), the knee marked."""

    DEFAULT_CSS = "ThroughputChart { border: round $primary-darken-1; height: 1fr; min-height: 8; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "p99 ms against req/s"
        self.steps: list[Step] = []
        self.knee: int | None = None

    def show(self, steps: list[Step], knee: int | None = None, slo_ms: float | None = None) -> None:
        from aitui.ui.charts import nice_ticks, tick_label

        self.steps, self.knee = steps, knee
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not steps:
            self.border_subtitle = "waiting for the first step"
            self.refresh()
            return
        x = [s.figures.rate for s in steps]
        y = [s.figures.p99_ms for s in steps]
        plt.plot(x, y, marker="•")
        if knee is not None:
            plt.scatter([x[knee]], [y[knee]], marker="◆")
        top = max([*y, slo_ms or 0.0]) if slo_ms and slo_ms < max(y) * 3 else max(y)
        yt = nice_ticks(0.0, top or 1.0, max(2, min(5, (self.size.height - 3) // 2 + 1)))
        # the measured range, not from 0: the steps' differences are what the chart is for
        xt = nice_ticks(min(x) * 0.9, max(x) * 1.05 or 1.0, max(2, min(6, self.size.width // 12)))
        lift = (yt[-1] - yt[0]) * 0.12  # each label just above its point, which it would hide
        for s, xi, yi in zip(steps, x, y, strict=True):
            plt.text(f"c{s.concurrency}", xi, yi + lift)
        plt.ylim(yt[0], yt[-1])
        plt.yticks(yt, [tick_label(t, yt) for t in yt])
        plt.xlim(xt[0], xt[-1])
        plt.xticks(xt, [tick_label(t, xt) for t in xt])
        if slo_ms and slo_ms <= yt[-1]:
            plt.hline(slo_ms)
        self.border_subtitle = "• step (c = concurrency)" + ("  ◆ knee" if knee is not None else "") + \
            (f"  — SLO p99 {slo_ms:g} ms" if slo_ms and slo_ms <= yt[-1] else "")
        self.refresh()


class CapacityScreen(RunScreen):
    """`C`: ramp concurrency step by step, each step's throughput and p99 as it lands (a table and a
    chart), the knee, and the replicas (and HPA CPU target) for a wanted rate with headroom."""

    DEFAULT_CSS = FORM_CSS.format(name="CapacityScreen") + """
    CapacityScreen > Vertical { width: 120; height: 100%; }
    CapacityScreen #body { height: 1fr; }
    CapacityScreen #steps { width: 1fr; min-width: 40; }
    CapacityScreen ThroughputChart { width: 1fr; }
    CapacityScreen #source { max-height: 1; }
    CapacityScreen #verdict { max-height: 7; overflow-y: auto; }
    """
    TITLE = "Capacity"
    RUNNING = "esc stops the ramp (the steps so far are kept)"

    @dataclass
    class Stepped(Message):
        step: Step

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.steps: list[Step] = []
        self.slo_ms: float | None = None

    def form(self, t: Thresholds | None) -> ComposeResult:
        self.slo_ms = t.p99_ms if t else None
        with Horizontal(classes="form"):
            yield Label("steps")
            yield Input("1,2,4,8,16", id="steps-in", compact=True)
            yield Label("s/step")
            yield Input("5", type="number", id="seconds", compact=True)
            yield Label("for req/s")
            yield Input("1000", type="number", id="wanted", compact=True)
            yield Label("headroom %")
            yield Input("30", type="number", id="headroom", compact=True)

    def source(self, t: Thresholds) -> str:
        return (f"SLO: p99 ≤ {t.p99_ms:g} ms, error ratio ≤ {t.error_ratio:g} ({t.source}); "
                "knee: throughput grows < 10% or the SLO breaks")

    def body(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield Static("", id="steps")
            yield ThroughputChart(id="chart")

    def job(self) -> Job | None:
        from aitui.services import capacity, samples
        from aitui.services.loadtest import LoadTestError

        steps = tuple(int(s) for s in self.query_one("#steps-in", Input).value.replace(" ", "").split(",") if s)
        seconds = number(self.query_one("#seconds", Input).value) or 5.0
        wanted = number(self.query_one("#wanted", Input).value)
        headroom = (number(self.query_one("#headroom", Input).value) or 0.0) / 100
        t = self.thresholds()
        if t is None:
            self.status(self.error)
            return None

        def stepped(step: Step) -> None:  # (from the worker thread)
            self.post_message(self.Stepped(step))

        def run(progress: Any, stop: Any) -> CapacityResult:  # (in a worker: the target is asked what it serves)
            target = self._target_of()
            try:
                model, found = samples.for_workload(self.settings, target, self.workload)
            except samples.NoSamples as exc:
                raise LoadTestError(f"capacity: {exc}") from None
            return capacity.run(target, self.workload, t, steps, seconds, wanted_rate=wanted,
                                headroom=headroom, cpu_request=capacity.cpu_request(self.settings),
                                progress=progress, stop=stop, on_step=stepped,
                                images=[data for _, data in found], model=model)

        return run

    def began(self) -> None:
        self.steps = []
        self.query_one(ThroughputChart).show([])

    def concluded(self, result: CapacityResult) -> tuple[str, str]:
        s = result.suggestion
        return f"capacity: knee {result.knee.reason}" + (
            f"; suggest {s.replicas} replicas for {s.wanted_rate:g} req/s" if s else ""), "information"

    @on(Stepped)
    def _stepped(self, m: CapacityScreen.Stepped) -> None:
        self.add_step(m.step)

    def add_step(self, step: Step) -> None:
        self.steps.append(step)
        self._show_steps(None)

    def _show_steps(self, knee: int | None) -> None:
        table = RichTable(box=None, padding=(0, 1), show_edge=False, header_style="bold")
        for col in ("c", "req/s", "p50", "p99", "err", "cpu", "busy"):  # ms; cores a replica; the machine
            table.add_column(col, justify="right")
        for i, s in enumerate(self.steps):
            f = s.figures
            style = "bold reverse" if i == knee else ""
            table.add_row(str(s.concurrency), f"{f.rate:,.1f}", f"{f.p50_ms:.1f}", f"{f.p99_ms:.1f}", str(f.failed),
                          "-" if s.cpu_per_replica is None else f"{s.cpu_per_replica:.2f}",
                          "-" if f.machine_busy is None else f"{f.machine_busy:.0%}", style=style)
        self.query_one("#steps", Static).update(table)
        self.query_one(ThroughputChart).show(self.steps, knee, self.slo_ms)

    def show_result(self, r: CapacityResult) -> None:
        self.running, self.result = False, r
        self.steps = list(r.steps)
        self._show_steps(r.knee.index)
        self.query_one(ProgressBar).update(total=1, progress=1)
        out = Text()
        s = r.suggestion  # the answer first: a short screen shows it, the reasons scroll below
        if s:
            out.append(f"suggest: {s.replicas} replica{'s' if s.replicas != 1 else ''}", style="bold green")
            out.append(f" for {s.wanted_rate:g} req/s: {s.formula}\n")
            out.append("hpa: ", style="bold")
            out.append(s.hpa_formula + "\n")
        elif r.knee.index is None:
            out.append("no suggestion: no step met the SLO\n", style="bold red")
        out.append("knee: ", style="bold")
        out.append(r.knee.reason)
        if r.client_bound:
            out.append("\nnote: ", style="bold yellow")
            out.append(r.client_bound)
        self.query_one("#verdict", Static).update(out)
        self.status(f"{len(r.steps)} step(s) of {r.step_seconds:g} s against {r.deployed.replicas} ready replica(s) "
                    f"of {r.deployed.image} · {r.machine.line()}")
        self.query_one("#hint", Static).update(AGAIN)
