"""The load test on screen (`L`): a form prefilled with the SLO of the alert rules, the load's progress,
then PASS or FAIL with each check, the figures the client measured and the report's files. The screen
runs services/loadtest.py in a worker of its own; esc stops the load. `_Run` is shared with ui/capacity.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table as RichTable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, ProgressBar, Static

from aitui import messages as msg
from aitui.config import Settings

if TYPE_CHECKING:
    from aitui.services.loadtest import LoadTestResult
    from aitui.services.measure import Tick
    from aitui.services.targets import Target

    TargetOf = Callable[[], Target]


# -- shared pieces -----------------------------------------------------------------------------------
FORM_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 100; max-width: 100%; height: auto; max-height: 100%; border: thick $primary;
                    background: $surface; padding: 0 1; }}
{name} .form {{ height: 1; }}
{name} .form Label {{ padding: 0 1 0 0; }}
{name} .form Input {{ width: 10; margin-right: 2; }}
{name} ProgressBar {{ height: 1; }}
{name} #status {{ height: 1; color: $text-muted; }}
{name} #source {{ height: auto; max-height: 2; color: $text-muted; }}
{name} #verdict {{ height: auto; }}
{name} #hint {{ height: 1; color: $text-muted; }}
"""


@dataclass
class Ticked(Message):
    tick: Tick

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Ticked)


@dataclass
class Failed(Message):
    why: str


def _number(text: str, kind: type = float) -> Any:
    text = text.strip().rstrip("%")
    return kind(text) if text else None


class _Run(ModalScreen[None]):
    """A form, then a run in a worker that esc cancels (the service's stop()), then its result."""

    BINDINGS = [Binding("escape", "close", "Close")]  # noqa: RUF012

    def __init__(self, settings: Settings, target_of: TargetOf, workload: str) -> None:
        super().__init__()
        self.settings, self._target_of, self.workload = settings, target_of, workload
        self._stop = threading.Event()
        self.running = False
        self.result: Any = None
        self.error = ""

    def thresholds(self) -> Any:
        from aitui.services import slo

        try:
            return slo.resolve(self.settings)
        except slo.SLOError as exc:
            self.error = str(exc)
            return None

    def _post_tick(self, tick: Tick) -> None:  # from the worker thread
        self.post_message(Ticked(tick))

    def action_close(self) -> None:
        if self.running:
            self._stop.set()  # the service ends its load at its next look and returns what it measured
            self.query_one("#status", Static).update("stopping: the requests in flight finish first…")
        else:
            self.dismiss(None)

    def on_unmount(self) -> None:
        self._stop.set()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if not self.running:
            self.start()

    def start(self) -> None:
        raise NotImplementedError

    def _tick(self, tick: Tick) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=tick.duration, progress=min(tick.elapsed, tick.duration))
        self.query_one("#status", Static).update(
            f"{tick.phase}: {tick.elapsed:.0f}/{tick.duration:.0f} s · {tick.sent:,} sent · {tick.ok:,} ok · "
            f"{tick.failed:,} failed")

    @on(Ticked)
    def _ticked(self, m: Ticked) -> None:
        self._tick(m.tick)

    @on(Failed)
    def _failed(self, m: Failed) -> None:
        self.running = False
        self.query_one("#status", Static).update(Text(m.why, style="bold red"))
        self.query_one("#hint", Static).update("enter runs again · esc closes")


# -- load test -------------------------------------------------------------------------------------
class LoadTestScreen(_Run):
    """`L`: concurrency (or a rate), a duration and the SLO's thresholds (prefilled from the alert rules),
    then PASS or FAIL with each check, the figures the client measured and the report's files."""

    DEFAULT_CSS = FORM_CSS.format(name="LoadTestScreen")

    @dataclass
    class Done(Message):
        result: LoadTestResult

    def compose(self) -> ComposeResult:
        t = self.thresholds()
        with Vertical() as v:
            v.border_title = f"Load test: {self.workload} on {self.settings.context}"
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
            yield Static(f"thresholds from {t.source}" if t else self.error, id="source")
            yield ProgressBar(show_eta=False, id="bar")
            yield Static("", id="status")
            yield Static("", id="verdict")
            yield Static("enter runs · esc cancels a run, or closes", id="hint")

    def start(self) -> None:
        from aitui.services.slo import Thresholds

        try:
            c = _number(self.query_one("#concurrency", Input).value, int) or 4
            duration = _number(self.query_one("#duration", Input).value) or 10.0
            rate = _number(self.query_one("#rate", Input).value)
            p99 = _number(self.query_one("#p99", Input).value)
            ratio = _number(self.query_one("#ratio", Input).value)
        except ValueError as exc:
            self.query_one("#status", Static).update(f"not a number: {exc}")
            return
        if p99 is None or ratio is None:
            self.query_one("#status", Static).update("give both thresholds: p99 ms and the error ratio")
            return
        t0 = self.thresholds()
        source = t0.source if t0 and (t0.p99_ms, t0.error_ratio) == (p99, ratio) else "this screen"
        self.running = True
        self._stop.clear()
        self.query_one("#verdict", Static).update("")
        self.query_one("#hint", Static).update("esc stops the load (the figures so far are kept)")
        self._run(c, duration, rate, Thresholds(p99, ratio, source))

    @work(thread=True, group="loadtest", exclusive=True, exit_on_error=False)
    def _run(self, concurrency: int, duration: float, rate: float | None, thresholds: Any) -> None:
        from aitui.services import loadtest

        try:
            result = loadtest.run(self._target_of(), self.workload, thresholds, concurrency, duration, rate,
                                  progress=self._post_tick, stop=self._stop.is_set)
            result = loadtest.write_report(result, loadtest.default_report())
        except Exception as exc:
            from aitui.services.errors import reason

            self.post_message(Failed(str(exc) if isinstance(exc, loadtest.LoadTestError) else reason(exc)))
            return
        self.post_message(msg.Say(result.line(), "information" if result.passed else "error", notify=True))
        self.post_message(self.Done(result))

    @on(Done)
    def _done(self, m: LoadTestScreen.Done) -> None:
        self.show_result(m.result)

    def show_result(self, r: LoadTestResult) -> None:
        self.running, self.result = False, r
        f = r.figures
        self.query_one(ProgressBar).update(total=f.seconds, progress=f.seconds)
        self.query_one("#status", Static).update(
            f"{r.deployed.replicas} ready replica(s) of {r.deployed.image} · {r.concurrency} concurrent, "
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
        from rich.console import Group

        self.query_one("#verdict", Static).update(Group(verdict, table, figures, report))
        self.query_one("#hint", Static).update("enter runs again · esc closes")


