"""The canary on screen (`n`): deploy a second image beside the workload (the target's deploy_canary),
then the two versions side by side — each sample sent to a replica of each, their p50/p99, errors and
top-1 agreement on the same inputs, and p99 per round on a chart — and `p` promote (a smoke test of the
canary's replicas first, then the workload's rollout to its image, then the canary drained away) or `a`
abort (the canary drained away). Every figure is measured by this screen's own requests."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table as RichTable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual_plotext import PlotextPlot

from aitui import messages as msg
from aitui.services.canary import canary_of
from aitui.ui.dialogs import ConfirmScreen
from aitui.ui.keys import bindings

if TYPE_CHECKING:
    from aitui.config import Settings
    from aitui.services.targets import Target

ROUND_PAUSE = 0.5  # seconds between comparison rounds: a light, steady sample, not a load test


@dataclass(frozen=True)
class SideFigures:
    replicas: int
    requests: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class Figures:
    """The comparison so far, copied out of the worker (it keeps counting)."""

    main: SideFigures
    canary: SideFigures
    compared: int
    agreed: int
    disagreements: tuple[tuple[str, int], ...]
    rounds: tuple[tuple[float | None, float | None], ...]  # p99 ms of each round: (workload, canary)


class P99Chart(PlotextPlot):
    DEFAULT_CSS = "P99Chart { border: round $primary-darken-1; height: 1fr; min-height: 6; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "p99 ms per round"

    def show(self, rounds: tuple[tuple[float | None, float | None], ...]) -> None:
        from aitui.ui.charts import nice_ticks, tick_label

        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        legend = []
        values = [v for r in rounds for v in r if v is not None]
        for i, (name, marker) in enumerate((("workload", "•"), ("canary", "+"))):
            points = [(n, r[i]) for n, r in enumerate(rounds, 1) if r[i] is not None]
            if points:
                plt.plot([x for x, _ in points], [y for _, y in points], marker=marker)
                legend.append(f"{marker} {name}")
        if rounds:  # whole rounds on the x axis
            xt = [float(t) for t in nice_ticks(1.0, float(len(rounds)), max(2, min(6, self.size.width // 10)))]
            xt = [t for t in xt if t == int(t)] or [1.0]
            plt.xticks(xt, [str(int(t)) for t in xt])
        if values:
            yt = nice_ticks(0.0, max(values), max(2, min(5, (self.size.height - 3) // 2 + 1)))
            plt.ylim(yt[0], yt[-1])
            plt.yticks(yt, [tick_label(t, yt) for t in yt])
        self.border_subtitle = "  ".join(legend) or "waiting for the first round"
        self.refresh()


class CanaryScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CanaryScreen { align: center middle; }
    CanaryScreen > Vertical { width: 110; max-width: 100%; height: 100%; border: thick $primary;
                              background: $surface; padding: 0 1; }
    CanaryScreen .form { height: 1; }
    CanaryScreen .form Label { padding: 0 1 0 0; }
    CanaryScreen #image { width: 1fr; margin-right: 2; }
    CanaryScreen #replicas { width: 6; }
    CanaryScreen #status { height: auto; max-height: 2; color: $text-muted; }
    CanaryScreen #sides { height: auto; }
    CanaryScreen #hint { height: auto; color: $text-muted; }  /* its keys wrap on a narrow terminal */
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("canary")

    @dataclass
    class Compared(Message):
        figures: Figures

    @dataclass
    class Said(Message):
        text: str
        done: str = ""  # "deployed", "promoted", "aborted", "failed": what the screen does next

    def __init__(self, settings: Settings, target_of: Callable[[], Target], workload: str, image: str,
                 running: bool) -> None:
        super().__init__()
        self.settings, self._target_of, self.workload, self.image = settings, target_of, workload, image
        self.context = settings.context
        self.running = running  # a canary is there (found in the workloads, or deployed here)
        self.busy = False  # a deploy, promote or abort is under way
        self._stop = threading.Event()
        self.figures: Figures | None = None
        self.outcome = ""

    def compose(self) -> ComposeResult:
        with Vertical() as v:
            v.border_title = f"Canary: {canary_of(self.workload)} beside {self.workload} on {self.context}"
            with Horizontal(classes="form"):
                yield Label("image")
                yield Input(self.image, id="image", compact=True)
                yield Label("replicas")
                yield Input("1", type="integer", id="replicas", compact=True)
            yield Static("", id="status")
            yield Static("", id="sides")
            yield P99Chart(id="p99")
            yield Static("", id="hint")

    def on_mount(self) -> None:
        if self.running:
            self.query_one(".form").display = False
            self._say("comparing the two versions: each sample to a replica of each")
            self.compare()
        else:
            self._say(f"enter deploys the canary beside {self.workload}; its replicas share the Service's traffic")
        self._hint()

    def on_unmount(self) -> None:
        self._stop.set()

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _hint(self) -> None:
        if self.busy:
            text = "working… (esc closes; it goes on)"
        elif self.running:
            text = "p promote (smoke, then a rollout) · a abort (drained) · esc close (canary stays)"
        else:
            text = "enter deploys the canary · esc closes"
        self.query_one("#hint", Static).update(text)

    # -- deploy ----------------------------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self.running or self.busy:
            return
        image = self.query_one("#image", Input).value.strip()
        try:
            replicas = int(self.query_one("#replicas", Input).value or "1")
        except ValueError:
            replicas = 0
        if not image or replicas < 1:
            self._say("an image and 1 or more replicas")
            return
        self.busy = True
        self._hint()
        self._deploy(image, replicas)

    def _progress(self, line: str) -> None:  # a target's progress line, from the worker thread
        self.post_message(self.Said(line))
        self.app.post_message(msg.Say(line))

    @work(thread=True, group="canary", exclusive=True, exit_on_error=False)
    def _deploy(self, image: str, replicas: int) -> None:
        from aitui.services.targets import TargetError

        try:
            self._target_of().deploy_canary(image, replicas, self.workload, self._progress)
        except TargetError as exc:
            self.post_message(self.Said(str(exc), "failed"))
            return
        self.post_message(self.Said(f"canary: {replicas} replica(s) of {image} beside {self.workload}", "deployed"))

    # -- compare ---------------------------------------------------------------------------------
    @work(thread=True, group="canary-compare", exclusive=True, exit_on_error=False)
    def compare(self) -> None:
        from aitui.services import samples
        from aitui.services.canary import CanaryError, Comparison, compare_round

        target = self._target_of()
        try:
            _, images = samples.for_workload(self.settings, target, self.workload)
        except samples.NoSamples as exc:
            self.post_message(self.Said(f"no comparison: {exc}"))
            return
        comparison, turn = Comparison(), itertools.count()
        rounds: list[tuple[float | None, float | None]] = []
        while not self._stop.is_set():
            before = (len(comparison.main.seconds), len(comparison.canary.seconds))
            try:
                compare_round(target, self.workload, comparison, images, turn)
            except CanaryError as exc:
                self.post_message(self.Said(f"comparison paused: {exc}"))
                if self._stop.wait(2.0):
                    return
                continue
            from aitui.services.measure import percentile

            def p99(s: list[float]) -> float | None:
                return percentile(sorted(s), 0.99) * 1000 if s else None

            rounds.append((p99(comparison.main.seconds[before[0]:]), p99(comparison.canary.seconds[before[1]:])))

            def side(s: Any) -> SideFigures:
                return SideFigures(s.endpoints, s.requests, s.failed, s.p(0.50), s.p(0.99))

            self.post_message(self.Compared(Figures(
                side(comparison.main), side(comparison.canary), comparison.compared, comparison.agreed,
                tuple(sorted(comparison.disagreements.items())), tuple(rounds[-60:]))))
            if self._stop.wait(ROUND_PAUSE):
                return

    @on(Compared)
    def _compared(self, m: CanaryScreen.Compared) -> None:
        self.show_figures(m.figures)

    def show_figures(self, f: Figures) -> None:
        self.figures = f
        table = RichTable(box=None, padding=(0, 2), show_edge=False, header_style="bold")
        for col in ("version", "replicas", "requests", "p50 ms", "p99 ms", "errors"):
            table.add_column(col, justify="left" if col == "version" else "right")

        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        for name, s in ((self.workload, f.main), (canary_of(self.workload), f.canary)):
            errors = f"{s.failed / s.requests:.1%}" if s.requests else "-"
            table.add_row(name, str(s.replicas), f"{s.requests:,}", ms(s.p50_ms), ms(s.p99_ms), errors)
        agreement = Text("top-1 agreement: ", style="bold")
        if f.compared:
            share = f.agreed / f.compared
            agreement.append(f"{f.agreed:,}/{f.compared:,} ({share:.1%})", style="green" if share == 1 else "bold red")
            if f.disagreements:
                agreement.append(" · differ: " + ", ".join(f"{k} ×{n}" for k, n in f.disagreements[:3]))
        else:
            agreement.append("-")
        from rich.console import Group

        self.query_one("#sides", Static).update(Group(table, agreement))
        self.query_one(P99Chart).show(f.rounds)

    # -- promote, abort --------------------------------------------------------------------------
    def action_promote(self) -> None:
        if not self.running or self.busy:
            return
        self.app.push_screen(ConfirmScreen("Promote the canary", [
            f"First {self.workload}'s samples go to each replica of {canary_of(self.workload)} (smoke);",
            f"then {self.workload} rolls out to the canary's image, one replica at a time,",
            "each new one ready before an old one drains; then the canary drains away."]),
            lambda yes: self._begin("promote") if yes else None)

    def action_abort(self) -> None:
        if not self.running or self.busy:
            return
        self.app.push_screen(ConfirmScreen("Abort the canary", [
            f"{canary_of(self.workload)}'s replicas leave the endpoints, drain and stop;",
            f"{self.workload} keeps serving as it is."]), lambda yes: self._begin("abort") if yes else None)

    def _begin(self, what: str) -> None:
        self.busy = True
        self._stop.set()  # the comparison's requests end before the change begins
        self._hint()
        self._change(what)

    @work(thread=True, group="canary", exclusive=True, exit_on_error=False)
    def _change(self, what: str) -> None:
        from aitui.services import samples, smoke
        from aitui.services.targets import TargetError

        target = self._target_of()
        try:
            if what == "promote":
                model, images = samples.for_workload(self.settings, target, canary_of(self.workload))
                result = smoke.run(target, canary_of(self.workload), model, images, samples.min_accuracy(model),
                                   self._progress)
                for line in result.text().splitlines():
                    self._progress(f"smoke: {line}")
                if not result.passed:
                    self.post_message(self.Said("not promoted: the smoke test flagged a canary replica "
                                                "(a aborts it)", "refused"))
                    return
                target.promote_canary(self.workload, self._progress)
                self.post_message(self.Said(f"promoted: {self.workload} runs the canary's image", "promoted"))
            else:
                target.remove_canary(self.workload, self._progress)
                self.post_message(self.Said(f"aborted: {canary_of(self.workload)} removed", "aborted"))
        except (TargetError, smoke.SmokeError, samples.NoSamples) as exc:
            self.post_message(self.Said(str(exc), "failed"))

    @on(Said)
    def _said(self, m: CanaryScreen.Said) -> None:
        self._say(m.text)
        if not m.done:
            return
        self.busy = False
        if m.done == "deployed":
            self.running = True
            self.query_one(".form").display = False
            self._stop = threading.Event()
            self.compare()
        elif m.done in ("promoted", "aborted"):
            self.running = False
            self.outcome = m.done
            self.app.post_message(msg.Say(m.text, notify=True))
        elif m.done == "refused":
            self._stop = threading.Event()
            self.compare()
            self.app.post_message(msg.Say(m.text, "error"))
        else:
            self.app.post_message(msg.Say(m.text, "error"))
        self.app.post_message(msg.RefreshWanted(images=False))
        self._hint()
        if m.done in ("promoted", "aborted"):
            self.query_one("#hint", Static).update("esc closes")

    def action_close(self) -> None:
        self.dismiss(None)
