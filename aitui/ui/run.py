"""A measured run on screen: a form, then a service run in a worker of its own (esc stops it: the service's
`stop`), its progress on a bar, then its result; what it concluded goes to Activity too. The load test
(`L`, ui/loadtest.py) and the capacity finder (`C`, ui/capacity.py) are two of it: each says its form, how
to start its run from the form and how to show what it found."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, ProgressBar, Static

from aitui import messages as msg
from aitui.config import Settings
from aitui.ui.keys import bindings

if TYPE_CHECKING:
    from aitui.services.measure import Tick
    from aitui.services.slo import Thresholds
    from aitui.services.targets import Target

    TargetOf = Callable[[], Target]
    # a run, ready to go: (progress, stop) -> its result
    Job = Callable[[Callable[[Tick], None], Callable[[], bool]], Any]

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
AGAIN = "enter runs again · esc closes"


def number(text: str, kind: type = float) -> Any:
    """A form's number ("" for none); ValueError for what is not one."""
    text = text.strip().rstrip("%")
    return kind(text) if text else None


class RunScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = bindings("run")
    TITLE: ClassVar[str] = ""  # the frame's title, before ": <workload> on <context>"
    RUNNING: ClassVar[str] = ""  # the hint while it runs: what esc does then

    @dataclass
    class Ticked(Message):
        tick: Tick

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, RunScreen.Ticked)

    @dataclass
    class Failed(Message):
        why: str

    @dataclass
    class Done(Message):
        result: Any

    def __init__(self, settings: Settings, target_of: TargetOf, workload: str) -> None:
        super().__init__()
        self.settings, self._target_of, self.workload = settings, target_of, workload
        self._stop = threading.Event()
        self.running = False
        self.result: Any = None
        self.error = ""

    # -- what each run says ---------------------------------------------------------------------
    def form(self, thresholds: Thresholds | None) -> ComposeResult:
        """The form's rows."""
        yield from ()

    def source(self, thresholds: Thresholds) -> str:
        """The line under the form: where the thresholds come from."""
        return ""

    def body(self) -> ComposeResult:
        """What shows the run as it goes, between its status and its verdict."""
        yield from ()

    def job(self) -> Job | None:
        """The run the form asks for (None, with the status saying why, when it cannot start).
        ValueError: a field is not a number."""
        raise NotImplementedError

    def began(self) -> None:
        """A run starts: what the last one showed goes."""

    def concluded(self, result: Any) -> tuple[str, str]:
        """What to say in Activity of a result, and how loud."""
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        raise NotImplementedError

    # -- the frame ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        t = self.thresholds()
        with Vertical() as v:
            v.border_title = f"{self.TITLE}: {self.workload} on {self.settings.context}"
            yield from self.form(t)
            yield Static(self.source(t) if t else self.error, id="source")
            yield ProgressBar(show_eta=False, id="bar")
            yield Static("", id="status")
            yield from self.body()
            yield Static("", id="verdict")
            yield Static("enter runs · esc cancels a run, or closes", id="hint")

    def thresholds(self) -> Thresholds | None:
        """The SLO of the alert rules (None, with `error` saying why, when they cannot be read)."""
        from aitui.services import slo

        try:
            return slo.resolve(self.settings)
        except slo.SLOError as exc:
            self.error = str(exc)
            return None

    def status(self, text: str | Text) -> None:
        self.query_one("#status", Static).update(text)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if not self.running:
            self.start()

    def start(self) -> None:
        try:
            job = self.job()
        except ValueError as exc:
            self.status(f"not a number: {exc}")
            return
        if job is None:
            return
        self.running = True
        self._stop.clear()
        self.query_one("#verdict", Static).update("")
        self.query_one("#hint", Static).update(self.RUNNING)
        self.began()
        self.run_worker(lambda: self._run(job), thread=True, group=self.TITLE.lower().replace(" ", ""),
                        exclusive=True, exit_on_error=False)

    def _run(self, job: Job) -> None:
        from aitui.services.errors import reason
        from aitui.services.loadtest import LoadTestError

        def ticked(tick: Tick) -> None:
            self.post_message(self.Ticked(tick))

        try:
            result = job(ticked, self._stop.is_set)
        except Exception as exc:
            self.post_message(self.Failed(str(exc) if isinstance(exc, LoadTestError) else reason(exc)))
            return
        text, severity = self.concluded(result)
        self.post_message(msg.Say(text, severity, notify=True))
        self.post_message(self.Done(result))

    def action_close(self) -> None:
        if self.running:
            self._stop.set()  # the service ends its load at its next look and returns what it measured
            self.status("stopping: the requests in flight finish first…")
        else:
            self.dismiss(None)

    def on_unmount(self) -> None:
        self._stop.set()

    @on(Ticked)
    def _ticked(self, m: RunScreen.Ticked) -> None:
        tick = m.tick
        self.query_one(ProgressBar).update(total=tick.duration, progress=min(tick.elapsed, tick.duration))
        self.status(f"{tick.phase}: {tick.elapsed:.0f}/{tick.duration:.0f} s · {tick.sent:,} sent · "
                    f"{tick.ok:,} ok · {tick.failed:,} failed")

    @on(Failed)
    def _failed(self, m: RunScreen.Failed) -> None:
        self.running = False
        self.status(Text(m.why, style="bold red"))
        self.query_one("#hint", Static).update(AGAIN)

    @on(Done)
    def _done(self, m: RunScreen.Done) -> None:
        self.show_result(m.result)
