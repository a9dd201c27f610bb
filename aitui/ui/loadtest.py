"""The load test on screen (`L`): a form prefilled with the SLO of the alert rules, the load's progress,
then PASS or FAIL with each check, the figures the client measured and the report's files. It runs
services/loadtest.py as a RunScreen (ui/run.py): esc stops the load."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table as RichTable
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, ProgressBar, Static

from aitui.ui.run import AGAIN, FORM_CSS, RunScreen, number

if TYPE_CHECKING:
    from aitui.services.loadtest import LoadTestResult
    from aitui.services.slo import Thresholds
    from aitui.ui.run import Job


class LoadTestScreen(RunScreen):
    """`L`: concurrency (or a rate), a duration and the SLO's thresholds (prefilled from the alert rules),
    then PASS or FAIL with each check, the figures the client measured and the report's files."""

    DEFAULT_CSS = FORM_CSS.format(name="LoadTestScreen")
    TITLE = "Load test"
    RUNNING = "esc stops the load (the figures so far are kept)"

    def form(self, t: Thresholds | None) -> ComposeResult:
        with Horizontal(classes="form"):
            yield Label("concurrency")
            yield Input("4", type="integer", id="concurrency", compact=True)
            yield Label("seconds")
            yield Input("10", type="number", id="duration", compact=True)
            yield Label("rate/s")
            yield Input("", placeholder="max", type="number", id="rate", compact=True)
        with Horizontal(classes="form"):
            yield Label("p99 ms ≤")
            yield Input(f"{t.p99_ms:g}" if t else "", type="number", id="p99", compact=True)
            yield Label("error ratio ≤")
            yield Input(f"{t.error_ratio:g}" if t else "", type="number", id="ratio", compact=True)

    def source(self, t: Thresholds) -> str:
        return f"thresholds from {t.source}"

    def job(self) -> Job | None:
        from aitui.services import loadtest, samples
        from aitui.services.slo import Thresholds

        c = number(self.query_one("#concurrency", Input).value, int) or 4
        duration = number(self.query_one("#duration", Input).value) or 10.0
        rate = number(self.query_one("#rate", Input).value)
        p99 = number(self.query_one("#p99", Input).value)
        ratio = number(self.query_one("#ratio", Input).value)
        if p99 is None or ratio is None:
            self.status("give both thresholds: p99 ms and the error ratio")
            return None
        t0 = self.thresholds()
        source = t0.source if t0 and (t0.p99_ms, t0.error_ratio) == (p99, ratio) else "this screen"
        limits = Thresholds(p99, ratio, source)

        def run(progress: Any, stop: Any) -> LoadTestResult:  # (in a worker: the target is asked what it serves)
            target = self._target_of()
            try:
                model, found = samples.for_workload(self.settings, target, self.workload)
            except samples.NoSamples as exc:
                raise loadtest.LoadTestError(f"loadtest: {exc}") from None
            result = loadtest.run(target, self.workload, limits, c, duration, rate,
                                  images=[data for _, data in found], progress=progress, stop=stop, model=model)
            return loadtest.write_report(result, loadtest.default_report())

        return run

    def concluded(self, r: LoadTestResult) -> tuple[str, str]:
        return r.line(), "information" if r.passed else "error"

    def show_result(self, r: LoadTestResult) -> None:
        self.running, self.result = False, r
        f = r.figures
        self.query_one(ProgressBar).update(total=f.seconds, progress=f.seconds)
        self.status(f"{r.deployed.replicas} ready replica(s) of {r.deployed.image} · {r.concurrency} concurrent, "
                    + (f"{r.rate:g} req/s asked" if r.rate else "as fast as answered") + f" · {r.machine.line()}")
        table = RichTable(box=None, padding=(0, 2), show_edge=False, header_style="bold")
        for col in ("check", "limit", "measured", ""):
            table.add_column(col)
        for c in r.checks:
            table.add_row(c.name, c.limit, c.measured, Text("ok", "green") if c.ok else Text("FAIL", "bold red"))
        verdict = Text(" PASS " if r.passed else " FAIL ",
                       style="bold white on green" if r.passed else "bold white on red")
        figures = Text(f"{f.rate:,.1f} req/s · p50 {f.p50_ms:.1f} · p95 {f.p95_ms:.1f} · p99 {f.p99_ms:.1f} ms · "
                       f"{f.failed:,}/{f.requests:,} failed · {f.seconds:.1f} s · "
                       f"{len(f.per_endpoint)} replica(s) answered")
        report = Text(f"report: {r.report['json']} (+ .md)" if r.report else "report: not written", style="dim")
        self.query_one("#verdict", Static).update(Group(verdict, table, figures, report))
        self.query_one("#hint", Static).update(AGAIN)
