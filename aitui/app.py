"""The Textual app, the composition root: it composes the dashboard's panels and features, and keeps the global keys
(ui/keys.py), the view stack (ui/browser.py), the `/` and `:` lines and the context switch. Each feature owns its keys,
workers, state and messages (ui/*), sharing the workloads through ui/store.py; engines: aitui.services, in workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

from textual import events, on
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Footer, Input, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import Image
from aitui.services.errors import reason  # (plain functions: no engine SDK import)
from aitui.services.kubeconfig import tls_unverified
from aitui.services.redact import text as masked
from aitui.services.targets.places import has_namespaces, where
from aitui.ui.activity import ActivityLog
from aitui.ui.browser import ResourceBrowser
from aitui.ui.build import BuildPanel
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.commands import AituiCommands, run
from aitui.ui.contexts import Contexts
from aitui.ui.dialogs import ConfirmScreen
from aitui.ui.events import EventsLog
from aitui.ui.guard import Guard
from aitui.ui.header import StatusBar
from aitui.ui.images import ImagesTable
from aitui.ui.inspect import Inspect
from aitui.ui.keys import bindings
from aitui.ui.lines import CommandLine, FilterLine, Line
from aitui.ui.logs import PodLog
from aitui.ui.resources import ResourceView
from aitui.ui.screen import Dashboard
from aitui.ui.smoke import SmokeCheck
from aitui.ui.store import WorkloadStore
from aitui.ui.traffic import Predictor, TrafficControl
from aitui.ui.workloads import Workloads

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.screen import Screen

    from aitui.services.targets import Target
    from aitui.ui.chart_grid import Fetch, Probe


class Guide(Protocol):  # a tour laid over the app that drives it as a user would (aitui/demo.py's: :demo)
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def next(self) -> None: ...


class AituiApp(App[None]):
    TITLE = "aitui"
    CSS = """
    #top { height: 2fr; }
    #images { border: round $primary; width: 2fr; height: 100%; scrollbar-size-horizontal: 0; }  /* ← → scroll */
    #images:focus-within { border: round $accent; }
    #bottom { height: 2fr; }
    Log { scrollbar-size-vertical: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings()  # from ui/keys.py
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, #filter, #command"  # a zoomed log can still be searched
    COMMANDS = App.COMMANDS | {AituiCommands}

    chart_source: Fetch | None = None  # where the charts' series come from: Prometheus (tests give canned ones)
    prometheus_probe: Probe | None = None  # why Prometheus does not answer, "" if it does (tests: a canned answer)
    images_source: Callable[[Settings], list[Image]] | None = None  # the engine's images (tests: canned ones)

    def __init__(self, settings: Settings, demo: Callable[[AituiApp], Guide] | None = None) -> None:
        super().__init__()
        self.settings, self.store = settings, WorkloadStore()
        self.guard = Guard(settings, self.store, self._view)
        self.target: Target | None = None
        self._target_lock = threading.Lock()
        self._guide = demo
        self.demo: Guide | None = None  # while it runs

    def get_default_screen(self) -> Screen:
        return Dashboard(id="_default")

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Workloads(self.settings, self.store, self.guard, self._target, lambda: self.target, id="dashboard"), \
                Inspect(self.settings, self.store, self.guard, self._target):  # (their keys: anywhere on it)
            with Horizontal(id="top"):
                yield ImagesTable(self.images_source, id="images")
                yield ResourceBrowser(self.store, self._target, id="browser")
            yield ChartGrid(self.settings, self.store, self._target, self.chart_source, id="charts",
                            probe=self.prometheus_probe)
            with TabbedContent(id="bottom", initial="activity"):
                with TabPane("Activity", id="activity"):
                    yield ActivityLog(bool(self.settings.model), id="activity-log")
                with TabPane("Build", id="build"):
                    yield BuildPanel(self.settings, self._target, id="build-panel")
                with TabPane("Logs", id="logs"):
                    yield PodLog(id="pod-log")
                with TabPane("Events", id="events"):
                    yield EventsLog(self._target, id="events-log")
            yield SmokeCheck(self.settings, self.store, self._target, self.settings.is_readonly)  # after d, :smoke
            yield TrafficControl(self.settings, self.store, self._target)
            yield Predictor(self.settings, self.store, self._target)
        yield FilterLine()
        yield CommandLine()
        yield Contexts(self.settings, self._target)
        yield Footer(show_command_palette=False)  # ^p is in `?` and the `:` line; on the footer it hid keys

    def on_mount(self) -> None:
        from aitui.ui import preferences

        self.query_one("#images").border_title = "Images"
        self._titles()
        self._cache_changed = self.query_one(Workloads).cache_changed  # (a target calls it on its own thread)
        preferences.apply(self, self.settings)
        self.query_one(ResourceBrowser).focus_top()
        # the engines after the first frame: their SDK imports in worker threads would hold the GIL
        # while it is drawn (and the charts have their sizes only after the first layout)
        self.call_after_refresh(self._start_engines)

    def _start_engines(self) -> None:
        self.query_one(Contexts).load_contexts()
        self.query_one(StatusBar).probe(self.settings)
        self.query_one(Workloads).refresh_lists()
        self.query_one(Workloads).watch_engine()
        self.query_one(ChartGrid).poll()

    def on_resize(self, event: events.Resize) -> None:
        # the console's size, set: otherwise every cell a table measures asks the OS for the terminal's
        # size (90,000 calls for a first table of 5,000 pods, a quarter of its first render)
        self.console.size = (event.size.width, event.size.height)
        self.query_one(ChartGrid).fit(event.size.width, event.size.height)

    def on_unmount(self) -> None:
        if self.target:
            self.target.close()  # (each panel stops its own work)

    def _titles(self) -> None:
        self.query_one(ResourceBrowser).retitle(where(self.settings.context, self.settings.namespace))
        status = self.query_one(StatusBar)
        status.context, status.namespace = self.settings.context, self.settings.namespace
        status.readonly = self.settings.is_readonly()

    def _view(self) -> ResourceView | None:  # the one on top (the guard's question), once the browser is there
        browsers = list(self.query(ResourceBrowser)) if self.is_running else []
        return browsers[0].view if browsers else None

    def _open(self) -> bool:  # False while the app closes: a timer or worker landing then finds no widgets
        return self.is_running and bool(self.query("#activity-log"))

    def _target(self) -> Target:
        """The current context's target, made on first use in a worker thread (it connects to its
        engine); a Kubernetes target's caches wake the lists on every change."""
        with self._target_lock:
            if self.target is None:
                from aitui.services.targets import open_target

                target = open_target(self.settings, self.settings.context, self.settings.namespace)
                target.watch(self._cache_changed)
                self.target = target
                context = self.settings.context  # one whose certificate is not checked is used, but said
                if has_namespaces(context) and (note := tls_unverified(self.settings.kubeconfig, context)):
                    self.post_message(msg.Say(note, "warning"))
            return self.target

    # -- what the features say -------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every panel's notifications, with what looks secret masked (services/redact.py), as in Activity."""
        super().notify(masked(message), title=title, severity=severity, timeout=timeout, markup=markup)

    @on(msg.Say)
    def say(self, m: msg.Say) -> None:
        """One line in Activity; errors, warnings and the ends of background jobs also as a notification."""
        if self._open():
            self.query_one(ActivityLog).write_line(m.text)
            if m.severity != "information" or m.notify:
                self.notify(m.text, severity=m.severity)  # type: ignore[arg-type]

    @on(msg.Progress)
    def _progress(self, m: msg.Progress) -> None:
        if self._open():
            self.query_one(ActivityLog).progress(m.text)

    @on(msg.ShowTab)
    def _show_tab(self, m: msg.ShowTab) -> None:
        if self._open():
            self.query_one(TabbedContent).active = m.tab

    @on(msg.RefreshWanted)
    def _refresh_wanted(self, m: msg.RefreshWanted) -> None:
        if self._open():
            self.query_one(Workloads).wanted(m.images)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.say(msg.Say(f"{event.worker.group}: {reason(event.worker.error)}", "error"))

    @on(ResourceBrowser.Opened)
    def _view_opened(self) -> None:
        self.refresh_bindings()  # the footer shows the keys of the view on top

    workloads = property(lambda self: self.store.workloads)  # (what tests and the demo read)
    images = property(lambda self: self.query_one(ImagesTable).images)

    # -- the App's keys ------------------------------------------------------------------------------
    def action_demo(self) -> None:
        """:demo starts the README walkthrough with captions (space: each step); :demo or esc leaves it."""
        if self.demo is not None:
            self.demo.stop()
            self.demo = None
            self.say(msg.Say("demo: left (what it started goes on)"))
        elif self._guide is None:
            self.notify("no demo in this app (`aitui` starts it with one)", severity="warning")
        else:
            self.demo = self._guide(self)
            self.demo.start()

    def action_demo_next(self) -> None:
        if self.demo is None or isinstance(self.focused, Input) or isinstance(self.screen, ConfirmScreen):
            raise SkipAction  # space is nobody's key otherwise; typed, it is a space; on a dialog, its button's
        self.demo.next()

    @property
    def escape_to_minimize(self) -> bool:  # esc closes an open filter or command line first, then the zoom
        return not any(line.display for line in self.query(Line))

    def action_doctor(self) -> None:
        from aitui.ui.doctor import DoctorScreen

        self.push_screen(DoctorScreen(self.settings))

    def action_help(self) -> None:
        from aitui.ui.help import HelpScreen

        self.push_screen(HelpScreen(self.settings.keys))

    # -- the view stack, the : line ------------------------------------------------------------
    @on(Dashboard.Bottom)
    def _at_bottom(self) -> None:
        if self.demo is not None:  # nothing else to close: esc leaves the demo
            self.action_demo()

    @on(Dashboard.Command)
    def _command(self, m: Dashboard.Command) -> None:
        self.run_command_line(m.line)

    def run_command_line(self, line: str) -> None:  # on the App or on the feature that owns it (ui/commands.py)
        owners: dict[str, type[Widget]] = {"workloads": Workloads, "inspect": Inspect, "contexts": Contexts}
        run(line, lambda where: self.query_one(owners[where]) if where else self, self.notify)

    def action_open_view(self, kind: str) -> None:
        self.query_one(ResourceBrowser).open(kind)

    # -- contexts ---------------------------------------------------------------------------------
    @on(Contexts.Known)
    def _known(self, m: Contexts.Known) -> None:
        if self._open():
            self.query_one(CommandLine).complete(m.words)

    @on(Contexts.Chosen)
    def _chosen(self, m: Contexts.Chosen) -> None:
        self.switch_context(m.context, m.in_namespace)

    @on(Contexts.ModelChosen)
    def _model_chosen(self, m: Contexts.ModelChosen) -> None:
        self.query_one(StatusBar).model = m.name

    def switch_context(self, context: str, namespace: str) -> None:  # leave the target (its caches stop)
        if (context, namespace) == (self.settings.context, self.settings.namespace):
            return
        self.query_one(TrafficControl).stop()  # traffic belongs to the old context's replicas
        self.query_one(PodLog).stop()
        old, self.target = self.target, None
        if old is not None:
            old.close()
        self.settings.context, self.settings.namespace = context, namespace
        self.store.forget()
        self.query_one(Contexts).forget()
        (browser := self.query_one(ResourceBrowser)).home()
        self._titles()
        browser.trouble("connecting…")
        self.refresh_bindings()  # read-only may differ there
        self.say(msg.Say(f"context: {context}" + (f", namespace {namespace}" if has_namespaces(context) else "")))
        self.query_one(Workloads).refresh_lists()
        self.query_one(ChartGrid).poll()
        if has_namespaces(context):
            self.query_one(Contexts).load_namespaces()
