"""The Build tab: one build of the recognizer at a time, told as a story: its stages on a progress bar with
an estimate from the last build of the same kind, and while the model trains, its loss and held-out accuracy
per epoch on a chart. The raw log is one key away (v). `b` again cancels. The panel owns its worker and its
state; while a build runs it fills the screen (esc gives the dashboard back; the build goes on in its tab).
A finished image is published to the current target (a cluster runs only what its nodes have)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Log, Static
from textual_plotext import PlotextPlot

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import BUILD_STAGES, BuildEvent
from aitui.ui import format as fmt
from aitui.ui.charts import nice_ticks, tick_label
from aitui.ui.keys import bindings
from aitui.ui.tabs import label_tab, show_tab

if TYPE_CHECKING:
    from aitui.services.images import Build
    from aitui.services.targets import Target

_PENDING = object()  # a build asked for, before its worker has made the Build
# how a first build of a kind divides its time (measured here, a litert build with training): the bar's
# proportions until a build of that kind has been timed; no time is promised from these
FIRST_WEIGHTS = {"base": 10.0, "packages": 60.0, "training": 120.0, "export": 25.0, "runtime image": 60.0}
SMALL = 8  # rows below which the stage bar drops its title line
CHART_ROWS = 20  # rows below which the training is told in a line, not a chart (one would have no room)
LOG_EVERY = 0.25  # seconds: log lines reach the screen in batches at most this old (when the build speaks)


@dataclass
class Progress:
    """What the panel knows of one build, from its events: pure data, testable without a screen."""

    tag: str = ""
    kind: str = ""
    estimate: dict[str, float] = field(default_factory=dict)  # stage -> seconds, the last build of this kind
    stage: str = ""
    began: dict[str, float] = field(default_factory=dict)  # stage -> seconds since the start when entered
    seconds: float = 0.0  # since the start, as of the last event (or the end)
    step: int = 0
    steps: int = 0
    epochs: int = 0
    losses: list[float | None] = field(default_factory=list)  # per epoch
    accuracies: list[float | None] = field(default_factory=list)  # per epoch, on the validation split
    accuracy: float | None = None  # on the held-out set, when training ended
    outcome: str = ""  # "", "done", "error", "cancelled"
    error: str = ""
    image_id: str = ""

    def apply(self, ev: BuildEvent) -> None:
        self.seconds = max(self.seconds, ev.seconds)
        if ev.kind == "stage":
            self.stage = ev.stage
            self.began.setdefault(ev.stage, ev.seconds)
        elif ev.kind == "step":
            self.step, self.steps = ev.step, ev.steps
        elif ev.kind == "epoch":
            self.epochs = ev.epochs
            del self.losses[ev.epoch - 1:], self.accuracies[ev.epoch - 1:]
            self.losses.append(ev.loss)
            self.accuracies.append(ev.accuracy)
        elif ev.kind == "result":
            self.accuracy = ev.accuracy
        elif ev.kind in ("done", "error", "cancelled"):
            self.outcome = ev.kind
            self.error = ev.text if ev.kind == "error" else ""
            self.image_id = ev.image_id

    def state(self, stage: str) -> str:
        """done, now, todo (or failed: the stage an error or cancel ended)."""
        if self.outcome == "done" or (self.stage and BUILD_STAGES.index(stage) < BUILD_STAGES.index(self.stage)):
            return "done"
        if stage == self.stage:
            return "failed" if self.outcome in ("error", "cancelled") else "now"
        return "todo"

    def _weight(self, stage: str) -> float:
        return self.estimate.get(stage, FIRST_WEIGHTS[stage]) if self.timed else FIRST_WEIGHTS[stage]

    @property
    def timed(self) -> bool:
        """An estimate for every stage: a whole build of this kind has run before."""
        return all(s in self.estimate for s in BUILD_STAGES)

    def in_stage(self, now: float) -> float:
        """How far into the current stage, 0..1: epochs while training, else the time against the estimate."""
        if self.stage == "training" and self.epochs:
            return len(self.losses) / self.epochs
        spent = now - self.began.get(self.stage, now)
        # before its first epoch the training is loading: the epochs, not the clock, say how far it is
        cap = 0.1 if self.stage == "training" else 0.95
        return min(cap, spent / max(1.0, self._weight(self.stage)))

    def fraction(self, now: float) -> float:
        if self.outcome == "done":
            return 1.0
        if not self.stage:
            return 0.0
        total = sum(self._weight(s) for s in BUILD_STAGES)
        done = sum(self._weight(s) for s in BUILD_STAGES if self.state(s) == "done")
        return min(1.0, (done + self._weight(self.stage) * self.in_stage(now)) / total)

    def left(self, now: float) -> float | None:
        """Seconds left by the last build of this kind (None: no such build timed). A stage the engine takes
        from its cache ends early, so this is at most what is left."""
        if not self.timed or self.outcome:
            return None
        if not self.stage:
            return sum(self.estimate.values())
        later = sum(self.estimate[s] for s in BUILD_STAGES if self.state(s) == "todo")
        spent = now - self.began.get(self.stage, now)
        if self.stage == "training" and self.losses and self.epochs:  # the epochs so far say it better
            return later + spent / len(self.losses) * (self.epochs - len(self.losses))
        return later + max(0.0, self.estimate[self.stage] - spent)


def sparkline(values: Iterable[float | None], lo: float, hi: float) -> str:
    """One block per value, eight heights between lo and hi (a value that is missing: a space)."""
    blocks = "▁▂▃▄▅▆▇█"
    span = (hi - lo) or 1.0
    return "".join(" " if v is None else blocks[max(0, min(7, round((v - lo) / span * 7)))] for v in values)


def short(tag: str) -> str:
    return tag.removeprefix("aitui/")


class StageBar(Static):
    """Three lines: which build, its stages (✓ done, ▶ now, · to come, ✗ where it ended), and a bar with
    the time spent and the time left by the last build of its kind."""

    MARKS: ClassVar[dict[str, tuple[str, str]]] = {
        "done": ("✓", "green"), "now": ("▶", "bold"), "todo": ("·", "dim"), "failed": ("✗", "bold red")}

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings  # (whether they name a model project: what the empty state says)
        self.progress: Progress | None = None
        self.clock: float = 0.0  # seconds since the build began, as drawn
        self.compact = False  # two lines (no title): the panel is small
        self.shown = 0.0  # the fraction drawn last (this build)

    def render(self) -> Text:
        p = self.progress
        if p is None and self.settings.model:
            return Text.from_markup("no build yet: [b]b[/] builds the model's image (the one the header names): "
                                    "its stages show here")
        if p is None:
            return Text.from_markup("no build yet: [b]b[/] builds the recognizer (its model trains in the build: "
                                    "loss and accuracy per epoch show here)")
        lines = []
        if not self.compact:
            lines.append(Text.assemble((short(p.tag), "bold"), f" · {p.kind} · ", self._when(p)))
        stages = Text()
        for stage in BUILD_STAGES:
            state = p.state(stage)
            mark, style = self.MARKS[state]
            stages.append(f"{mark} {stage}", style=style)
            if stage == "training" and p.epochs and state != "todo":
                stages.append(f" {len(p.losses)}/{p.epochs}", style=style)
            stages.append("  ")
        lines.append(stages)
        lines.append(self._bar(p))
        return Text("\n").join(lines)

    def _when(self, p: Progress) -> str:
        if p.outcome == "done":
            return f"built in {fmt.duration(p.seconds)}"
        if p.outcome:
            return f"{p.outcome} after {fmt.duration(p.seconds)}"
        return fmt.duration(self.clock)

    def _bar(self, p: Progress) -> Text:
        if p.outcome == "done":
            acc = f"held-out accuracy {p.accuracy:.1%}" if p.accuracy is not None else \
                "training cached: its accuracy is in Images"
            return Text.assemble(("done", "bold green"), f" in {fmt.duration(p.seconds)} · image {p.image_id} · {acc}")
        if p.outcome:
            return Text.assemble((p.outcome, "bold red"), f" in {p.stage}: {p.error or 'b builds again'}")
        left = p.left(self.clock)
        words = (f"≈{fmt.duration(left)} left" if left is not None
                 else "no estimate yet: the first timed build of this kind")
        fraction = self.shown = max(self.shown, p.fraction(self.clock))  # never back (an estimate was short)
        width = max(10, self.size.width - 2 - len(words) - 7)
        filled = round(fraction * width)
        return Text.assemble(("█" * filled, "green"), ("░" * (width - filled), "dim"),
                             f" {fraction:4.0%}  {words}")


class EpochLine(Static):
    """The training in one line: epoch, loss and accuracy now, and a sparkline of each so far."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.progress: Progress | None = None

    def render(self) -> Text:
        p = self.progress
        if p is None or not p.losses:
            if p is not None and p.stage in ("training",):
                return Text("training: waiting for the first epoch…", style="dim")
            return Text("")
        losses = [v for v in p.losses if v is not None]
        accs = [v for v in p.accuracies if v is not None]
        t = Text(f"epoch {len(p.losses)}/{p.epochs}")
        if losses:
            t.append(f" · loss {losses[-1]:.3f} ")
            t.append(sparkline(p.losses, min(losses), max(losses)))
        if accs:
            t.append(f" · val accuracy {accs[-1]:.1%} ")
            t.append(sparkline(p.accuracies, 0.0, 1.0))
        return t


class TrainingChart(PlotextPlot):
    """Loss (×, left axis) and validation accuracy (●, right axis, %) per epoch; the legend is in the border,
    where it hides nothing."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = "training: × loss (left) · ● val accuracy % (right)"

    def show(self, p: Progress) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        epochs = list(range(1, len(p.losses) + 1))
        losses = [(e, v) for e, v in zip(epochs, p.losses, strict=True) if v is not None]
        accs = [(e, v * 100) for e, v in zip(epochs, p.accuracies, strict=True) if v is not None]
        for points, marker, side, color in ((losses, "×", "left", "magenta"), (accs, "●", "right", "cyan")):
            if points:  # a fine line through the epochs, and each epoch's own marker on it
                xs, ys = [e for e, _ in points], [v for _, v in points]
                plt.plot(xs, ys, marker="braille", yside=side, color=color)
                plt.scatter(xs, ys, marker=marker, yside=side, color=color)
        plt.ylim(0, 100, yside="right")  # type: ignore[arg-type]  # (plotext's own hint is wrong)
        plt.yticks([0, 25, 50, 75, 100], yside="right")  # type: ignore[arg-type]
        ticks = nice_ticks(0.0, max((v for _, v in losses), default=1.0), 5)
        plt.ylim(0, ticks[-1])
        plt.yticks(ticks, [tick_label(t, ticks) for t in ticks])
        plt.xlim(0.8, max(p.epochs, 2) + 0.2)
        plt.xticks(list(range(1, max(p.epochs, 1) + 1, max(1, p.epochs // 8))))
        self.border_subtitle = f"epoch {len(p.losses)}/{p.epochs}" if p.epochs else "waiting for the first epoch"
        self.refresh()


class BuildLog(Log):
    """The raw log: its last lines stay in view when the story gives it more or less room."""

    def on_resize(self) -> None:
        if self.auto_scroll:
            self.scroll_end(animate=False)


class BuildPanel(Vertical, can_focus=True):
    DEFAULT_CSS = """
    BuildPanel { height: 1fr; }
    BuildPanel StageBar { height: 3; padding: 0 1; }
    BuildPanel.-small StageBar { height: 2; }
    BuildPanel EpochLine { height: 1; padding: 0 1; }
    BuildPanel TrainingChart { border: round $primary-darken-1; height: 1fr; min-height: 6; }
    BuildPanel #build-log { height: 1fr; min-height: 1; scrollbar-size-horizontal: 0; }
    BuildPanel TrainingChart { display: none; }
    BuildPanel.-training TrainingChart { display: block; }
    BuildPanel.-small TrainingChart, BuildPanel.-nochart TrainingChart { display: none; }
    BuildPanel.-raw TrainingChart, BuildPanel.-raw EpochLine { display: none; }
    BuildPanel.-training #build-log { height: 5; }
    BuildPanel.-raw #build-log, BuildPanel.-nochart #build-log { height: 1fr; }
    """
    ALLOW_MAXIMIZE = True
    BINDINGS: ClassVar[list[BindingType]] = bindings("build")

    @dataclass
    class Started(Message):
        build: Any  # services.images.Build: cancel() from any thread

    class Ended(Message):
        pass

    @dataclass
    class Events(Message):
        """What the build said since the last batch, in order (raw lines and figures alike)."""

        events: list[BuildEvent]

    def __init__(self, settings: Settings, target_of: Callable[[], Target], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.settings = settings
        self._target_of = target_of
        self._build: object = None  # the running Build, _PENDING until its worker made it, or None
        self.built = ""  # the tag this session's last build made: what d deploys next
        self._cancel = False
        self.progress: Progress | None = None
        self._started = 0.0  # time.monotonic() when the shown build began
        self._return_focus: Widget | None = None  # what had focus before the build took the screen

    def compose(self) -> ComposeResult:
        yield StageBar(self.settings, id="build-stages")
        yield EpochLine(id="build-epochs")
        yield TrainingChart(id="build-chart")
        yield BuildLog(id="build-log", max_lines=5000)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)  # the clock and the estimate move between events too
        # maximized and back, the panel is not always sent a Resize (a quick esc): fit once laid out again
        self.watch(self.screen, "maximized", self._refit, init=False)

    def _refit(self) -> None:
        self.call_after_refresh(self._fit)
        # the tab bar was hidden behind the full screen: its underline was placed there; relabel to place it again
        self.call_after_refresh(self._redraw)

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        """The story at this height: a chart when there is room for one, the stage bar's title when not tiny."""
        height = self.size.height
        small = height < SMALL
        if (small, height < CHART_ROWS) == (self.has_class("-small"), self.has_class("-nochart")):
            return
        self.set_class(small, "-small")
        self.set_class(height < CHART_ROWS, "-nochart")
        self.query_one(StageBar).compact = small
        self.query_one(StageBar).refresh()
        self._log_to_end()

    def _log_to_end(self) -> None:
        """The raw log's last lines, once it has its new size (more or less room, or v)."""
        log = self.query_one(BuildLog)
        if log.auto_scroll:
            self.call_after_refresh(log.scroll_end, animate=False)

    @property
    def running(self) -> Build | None:
        """The build in progress (None while none runs, or before its worker has begun)."""
        return None if self._build is _PENDING else self._build  # type: ignore[return-value]

    @property
    def busy(self) -> bool:
        return self._build is not None

    def toggle(self) -> None:
        """Start a build, or cancel the one that runs."""
        if self._build is not None:
            self._cancel = True
            if self.running is not None:
                self.running.cancel()
            self.post_message(msg.Say("build: cancelling"))
            return
        show_tab(self)
        self.query_one(Log).clear()
        self._build = _PENDING  # BuildStarted brings the Build to cancel
        self._run()

    def action_toggle_raw(self) -> None:
        self.toggle_class("-raw")
        self._log_to_end()

    def on_unmount(self) -> None:
        if self.running is not None:
            self.running.cancel()

    # -- the worker ----------------------------------------------------------------------------------
    @work(thread=True, group="build", exclusive=True, exit_on_error=False)
    def _run(self) -> None:
        from aitui.services.images import Build

        build = Build(self.settings)
        self.post_message(self.Started(build))
        self.post_message(msg.Say(f"build: {build.tag} from {build.context} (base {self.settings.base_image})"))
        pending: list[BuildEvent] = []
        sent = time.monotonic()
        try:
            for ev in build.events():
                pending.append(ev)
                if ev.kind != "log" or len(pending) >= 20 or time.monotonic() - sent > LOG_EVERY:
                    self.post_message(self.Events(pending))
                    pending, sent = [], time.monotonic()
                if ev.kind == "done":
                    self.built = ev.tag
                    self.post_message(msg.Say(f"build: {ev.tag} ({ev.image_id}) in {ev.seconds:.0f}s", notify=True))
                    self._publish(ev.tag)
                elif ev.kind in ("error", "cancelled"):
                    self.post_message(msg.Say(f"build: {ev.text}", "error" if ev.kind == "error" else "warning"))
        finally:
            if pending:
                self.post_message(self.Events(pending))
            self.post_message(self.Ended())

    def _publish(self, tag: str) -> None:
        """A cluster runs what aitui builds only once its nodes have it (loaded, or pushed)."""
        from aitui.services.targets import TargetError

        def say(line: str) -> None:
            self.post_message(msg.Say(line))

        try:
            self._target_of().publish(tag, say)
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))

    # -- on the UI thread ---------------------------------------------------------------------------
    @on(Started)
    def _started_msg(self, m: BuildPanel.Started) -> None:
        m.stop()
        self._build = m.build
        if self._cancel:  # b again before the build had begun
            m.build.cancel()
        self.begin(m.build.tag, m.build.kind, m.build.estimate)

    def begin(self, tag: str, kind: str, estimate: dict[str, float]) -> None:
        """A new story: this build's stages from the start, and the screen to it (esc gives it back)."""
        self.progress = Progress(tag=tag, kind=kind, estimate=estimate)
        self._started = time.monotonic()
        for widget in (self.query_one(StageBar), self.query_one(EpochLine)):
            widget.progress = self.progress
        self.query_one(StageBar).shown = 0.0
        self.remove_class("-training")
        self.query_one(TrainingChart).show(self.progress)  # not the last build's epochs
        self._redraw()
        if self.is_attached and self.screen.maximized is None:
            self._return_focus = self.screen.focused
            if self.screen.maximize(self, container=False):
                self.focus()  # its keys (v) work at once

    @on(Events)
    def _events(self, m: BuildPanel.Events) -> None:
        m.stop()
        if not self.is_attached:
            return
        self.apply(m.events)

    def apply(self, evs: list[BuildEvent]) -> None:
        """Show what the build said: lines to the raw log, figures to the story."""
        lines = [ev.text if ev.kind == "log" else f"── step {ev.step}/{ev.steps} ({ev.stage}): {ev.text}"
                 for ev in evs if ev.kind in ("log", "step")]
        if lines:
            self.query_one(Log).write_lines(lines)
        p = self.progress
        if p is None:
            return
        for ev in evs:
            if ev.kind != "log":
                p.apply(ev)
        if any(ev.kind in ("epoch", "stage") for ev in evs):
            self.set_class(bool(p.losses) or p.stage == "training", "-training")
        if any(ev.kind == "epoch" for ev in evs):
            self.query_one(TrainingChart).show(p)
        self._redraw()

    def _tick(self) -> None:
        self._fit()  # (seen in tmux: after esc from the full screen the panel may get no Resize at all)
        if self.progress is not None and not self.progress.outcome and self._build is not None:
            self._redraw()

    def _redraw(self) -> None:
        p = self.progress
        bar = self.query_one(StageBar)
        bar.clock = max(p.seconds, time.monotonic() - self._started) if p and not p.outcome else 0.0
        bar.refresh()
        self.query_one(EpochLine).refresh()
        if p is not None and self.is_attached:
            label_tab(self, self._label(p, bar.clock))

    def _label(self, p: Progress, clock: float) -> str:
        """The tab's label: enough to follow the build from the dashboard."""
        if p.outcome == "done":
            return f"Build: built {p.tag} in {p.seconds:.0f}s"
        if p.outcome:
            return f"Build: {p.outcome}"
        parts = [f"step {p.step}/{p.steps}" if p.steps else "starting", p.stage]
        if p.stage == "training" and p.epochs:
            parts[-1] += f" {len(p.losses)}/{p.epochs}"
        left = p.left(clock)
        if left is not None:
            parts.append(f"≈{fmt.duration(left)} left")
        return "Build: " + " · ".join(parts)

    @on(Ended)
    def _ended(self, m: BuildPanel.Ended) -> None:
        m.stop()
        self._build, self._cancel = None, False
        self.post_message(msg.RefreshWanted())  # the new image, in Images
        if self.is_attached and self.screen.maximized is self:
            # the dashboard again, where the new image shows beside the others; the story stays in this tab
            self.screen.minimize()
            if self._return_focus is not None and self._return_focus.is_attached:
                self._return_focus.focus()
        self._return_focus = None
