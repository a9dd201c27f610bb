"""The Textual app. Engines are reached only through aitui.services, in thread workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import Image, Workload
from aitui.services.targets.places import LOCAL, has_namespaces, where
from aitui.ui.activity import ActivityLog
from aitui.ui.browser import HOME, Frame, ResourceBrowser, ResourceTable
from aitui.ui.build import BuildPanel
from aitui.ui.changes import WorkloadChanges
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.commands import COMMANDS as COMMAND_TABLE
from aitui.ui.commands import AituiCommands, CommandError, parse
from aitui.ui.dialogs import ConfirmScreen, NumberScreen
from aitui.ui.events import EventsLog
from aitui.ui.header import StatusBar
from aitui.ui.images import ImagesTable
from aitui.ui.keys import BY_ACTION, KEYS, bindings
from aitui.ui.logs import PodLog
from aitui.ui.operations import Operations
from aitui.ui.resources import REGISTRY
from aitui.ui.smoke import SmokeCheck
from aitui.ui.traffic import Predictor, TrafficControl

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.theme import Theme

    from aitui.services.targets import Target
    from aitui.ui.chart_grid import Fetch, Probe
    from aitui.ui.demo import Demo

RETRY_EVERY = 5.0  # seconds before the events stream is opened again after it broke (engine gone)
WORKLOAD = "recognizer"
MODELS_EVERY = 5.0  # seconds between fetches of the models view's figures while it is shown


class AituiApp(App[None]):
    TITLE = "aitui"
    CSS = """
    #top { height: 2fr; }
    #top > DataTable { height: 100%; scrollbar-size-horizontal: 0; }  /* rows, not a scrollbar: ← → still scroll */
    #images { border: round $primary; width: 2fr; }
    #images:focus-within { border: round $accent; }
    #bottom { height: 2fr; }
    #filter, #command { dock: top; display: none; }
    Log { scrollbar-size-vertical: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings()  # type: ignore[assignment]  # from ui/keys.py
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, #filter, #command"  # a zoomed log can still be searched
    COMMANDS = App.COMMANDS | {AituiCommands}

    demo: Demo | None = None  # the README walkthrough replayed with captions (:demo), while it runs
    chart_source: Fetch | None = None  # where the charts' series come from: Prometheus (tests give canned ones)
    prometheus_probe: Probe | None = None  # why Prometheus does not answer, "" if it does (tests: a canned answer)

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.workloads: dict[str, Workload] = {}
        self._trouble = ""  # what the target says is not current (shown under the workloads)
        self.target: Target | None = None
        self._target_lock = threading.Lock()
        self.contexts: list[str] = [LOCAL]
        self.namespaces: list[str] = []
        self._events_stop = threading.Event()
        self._refresh_pending = False
        self._images_stale = True  # the next refresh lists the images too
        self._cache_dirty = False
        self._listings = 0  # workload lists asked for, and the newest one shown (see _workloads_listed)
        self._listing_shown = 0

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="top"):
            yield ImagesTable(id="images")
            yield ResourceBrowser(id="browser")
        yield ChartGrid(self.settings, self._target, self.chart_source, id="charts", probe=self.prometheus_probe)
        with TabbedContent(id="bottom", initial="activity"):
            with TabPane("Activity", id="activity"):
                yield ActivityLog(id="activity-log")
            with TabPane("Build", id="build"):
                yield BuildPanel(self.settings, self._target, id="build-panel")
            with TabPane("Logs", id="logs"):
                yield PodLog(id="pod-log")
            with TabPane("Events", id="events"):
                yield EventsLog(self._target, id="events-log")
        yield Input(placeholder="filter images, workloads and the pod log (esc clears)", id="filter")
        command = Input(placeholder="ctx <name> · ns <name> · scale <n> · window 5m|15m|1h   (→ completes, esc closes)",
                        id="command")
        command.border_title = ":"
        yield command
        yield WorkloadChanges(self._target)
        yield Operations(self._target)
        yield TrafficControl(self.settings, self._target)
        yield Predictor(self._target)
        yield SmokeCheck(self._target, lambda: self.settings.is_readonly())
        yield Footer(show_command_palette=False)  # ^p is in `?` and the `:` line; on the footer it hid keys

    def on_mount(self) -> None:
        status = self.query_one(StatusBar)
        status.context = self.settings.context
        status.namespace = self.settings.namespace
        status.readonly = self.settings.is_readonly()
        self.query_one("#images").border_title = "Images"
        self._titles()
        self._apply_preferences()
        self.query_one(ResourceBrowser).focus_top()
        self.set_interval(MODELS_EVERY, self._models_tick)
        # the engines after the first frame: their SDK imports in worker threads would hold the GIL
        # while it is drawn (and the charts have their sizes only after the first layout)
        self.call_after_refresh(self._start_engines)

    def _apply_preferences(self) -> None:
        """The config file's [keys] (Textual's keymap, by binding id) and the theme; a theme picked later
        (ctrl+p) is remembered for the next start."""
        from aitui.config import save_theme

        known = {k.id for k in KEYS if k.key and k.action}
        unknown = sorted(set(self.settings.keys) - known)
        if unknown:
            self.notify(f"config [keys]: no binding {', '.join(unknown)}; the ids are in the README",
                        severity="warning")
        self.set_keymap({k: v for k, v in self.settings.keys.items() if k in known})
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        elif self.settings.theme:
            self.notify(f"no theme {self.settings.theme!r}; ctrl+p, theme lists them", severity="warning")
        kept = [self.theme]

        def picked(theme: Theme) -> None:  # the signal also fires as the app starts: only a change is kept
            if theme.name != kept[0]:
                kept[0] = theme.name
                save_theme(theme.name)

        self.theme_changed_signal.subscribe(self, picked)

    def _start_engines(self) -> None:
        self.load_contexts()
        self.query_one(StatusBar).probe(self.settings)
        self.refresh_lists()
        self.watch_engine()
        self.query_one(ChartGrid).poll()

    def on_resize(self, event: events.Resize) -> None:
        """Below 100 columns four charts are unreadable: show two (c flips); below 30 rows, charts get
        more of the height than the tables and logs."""
        # the console's size, set: otherwise every cell a table measures asks the OS for the terminal's
        # size (90,000 calls for a first table of 5,000 pods, a quarter of its first render)
        self.console.size = (event.size.width, event.size.height)
        self.query_one(ChartGrid).fit(event.size.width, event.size.height)

    def on_unmount(self) -> None:
        self._events_stop.set()  # (each panel stops its own work)
        if self.target:
            self.target.close()

    def _titles(self) -> None:
        self.query_one(ResourceBrowser).retitle(where(self.settings.context, self.settings.namespace))
        status = self.query_one(StatusBar)
        status.context, status.namespace = self.settings.context, self.settings.namespace
        status.readonly = self.settings.is_readonly()

    # -- small helpers -------------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every panel's notifications, with what looks secret masked (services/redact.py), as in Activity."""
        from aitui.services.redact import text as masked

        super().notify(masked(message), title=title, severity=severity, timeout=timeout, markup=markup)

    def say(self, text: str, severity: str = "information", notify: bool = False) -> None:
        """One line in Activity; errors, warnings and the ends of background jobs also as a notification."""
        if not self._open():
            return
        self.query_one(ActivityLog).write_line(text)
        if severity != "information" or notify:
            self.notify(text, severity=severity)  # type: ignore[arg-type]

    def _selected_workload(self) -> str:
        return self.query_one(ResourceBrowser).selected_workload() or WORKLOAD

    def may(self, action: str, workload: str | None = None) -> bool:
        """The one guard, from the key table: an action that changes the target is refused in read-only,
        one that needs a workload while it is not deployed; each says why."""
        key = BY_ACTION[action]
        view = self.query_one(ResourceBrowser).view
        if key.scoped and action not in view.verbs:
            self.notify(f"{key.help_key or key.display or key.key} does not apply to {view.kind}", severity="warning")
            return False
        if key.changes and self.settings.is_readonly():
            self.notify(f"read-only: '{self.settings.context}' is not changed by aitui", severity="warning")
            return False
        if key.needs_workload and (workload or self._selected_workload()) not in self.workloads:
            self.notify("nothing deployed yet: press d to deploy", severity="warning")
            return False
        return True

    def _workload_to_change(self, action: str) -> str | None:
        """The selected workload, if `action` may change it now (see may)."""
        name = self._selected_workload()
        return name if self.may(action, name) else None

    def _cache_changed(self) -> None:
        """A target's cache changed (on its own thread). One message per refresh, however many events
        arrive: a rollout is thousands of events."""
        if self._cache_dirty or not self.is_running:
            return
        self._cache_dirty = True
        self.post_message(msg.RefreshWanted(images=False))  # thread-safe; dropped once the app closes

    def _target(self) -> Target:
        """The current context's target, made on first use in a worker thread (it connects to its
        engine); a Kubernetes target's caches wake the lists on every change."""
        with self._target_lock:
            if self.target is None:
                from aitui.services.targets import open_target

                target = open_target(self.settings, self.settings.context, self.settings.namespace)
                target.watch(self._cache_changed)
                self.target = target
                self._say_tls(self.settings.context)
            return self.target

    def _say_tls(self, context: str) -> None:
        """A context whose certificate is not checked (the kubeconfig says so) is used, but said: one line."""
        from aitui.services.kubeconfig import tls_unverified

        if has_namespaces(context) and (note := tls_unverified(self.settings.kubeconfig, context)):
            self.post_message(msg.Say(note, "warning"))

    @on(msg.Say)
    def _said(self, m: msg.Say) -> None:
        self.say(m.text, m.severity, m.notify)

    @on(msg.RefreshWanted)
    def _refresh_wanted(self, m: msg.RefreshWanted) -> None:
        self._schedule_refresh(m.images)

    @on(msg.ShowTab)
    def _show_tab_wanted(self, m: msg.ShowTab) -> None:
        if not self._open():
            return
        self._show_tab(m.tab)

    def _said_from_thread(self, line: str) -> None:
        """A target's progress line (from a worker thread) to Activity."""
        self.post_message(msg.Say(line))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            from aitui.services.errors import reason  # a plain function: no engine SDK import

            self.say(f"{event.worker.group}: {reason(event.worker.error)}", "error")

    # -- lists ---------------------------------------------------------------------------------
    def _open(self) -> bool:
        """False while the app closes: a timer or worker that lands then finds no widgets to update."""
        return self.is_running and bool(self.query("#activity-log"))

    def refresh_lists(self) -> None:
        if not self._open():
            return
        self._refresh_pending = False
        self._cache_dirty = False
        if self.query_one(TabbedContent).active == "events":
            self.query_one(EventsLog).load(self._selected_workload())
        if self._images_stale:
            self._images_stale = False
            self.load_images()
        self.load_workloads(self.query_one(ResourceBrowser).top)  # the view on top is live too (pods, :rs…)

    def _schedule_refresh(self, images: bool = True) -> None:
        """Engine events come in bursts (a rollout is dozens): refresh once per burst. A cluster's cache
        changes say nothing about the local images, so they don't list them again."""
        self._images_stale = self._images_stale or images
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(0.3, self.refresh_lists)

    @work(thread=True, group="events", exclusive=True, exit_on_error=False)
    def watch_engine(self) -> None:
        """Docker events drive the lists (lazydocker's idle-CPU fix): no polling while idle. When the
        stream breaks (engine gone), try again every few seconds and refresh once it is back."""
        from aitui.services import images

        while not self._events_stop.is_set():
            try:
                for _ in images.events(self.settings, self._events_stop):
                    self.post_message(msg.RefreshWanted())
            except Exception:
                pass  # the header already says why the engine is unreachable
            if self._events_stop.wait(RETRY_EVERY):
                return
            self.post_message(msg.RefreshWanted())

    def load_images(self) -> None:
        self.query_one(ImagesTable).load(self.settings)

    @property
    def images(self) -> list[Image]:
        return self.query_one(ImagesTable).images

    def load_workloads(self, frame: Frame | None = None) -> None:
        """The workloads (the guard and the scale keys need them), and the rows of the view on top."""
        self._listings += 1
        self._list_workloads(frame, self._listings)

    @work(thread=True, group="workloads", exclusive=True, exit_on_error=False)
    def _list_workloads(self, frame: Frame | None, seq: int) -> None:
        from aitui.services.targets import TargetError

        try:
            target = self._target()
            found = target.workloads()
            rows = None if frame is None or frame == HOME else REGISTRY[frame[0]].fetch(target, frame[1])
        except TargetError as exc:
            self.post_message(msg.WorkloadsListed(None, why=str(exc), seq=seq))
            return
        self.post_message(msg.WorkloadsListed(found, rows, "; ".join(target.errors.values()), frame, seq))

    @on(msg.WorkloadsListed)
    def _workloads_listed(self, m: msg.WorkloadsListed) -> None:
        if not self._open():
            return
        # An exclusive worker that was cancelled still posts when its call returns, and a list taken earlier
        # can come back later (a container removed meanwhile makes the engine's list retry): without this
        # the older list is shown last and stays, since no event follows the last change.
        if m.seq:
            if m.seq < self._listing_shown:
                return
            self._listing_shown = m.seq
        if m.workloads is None:
            self.query_one(ResourceBrowser).trouble(m.why)
            return
        self._show_workloads(m.workloads, m.why)
        if m.rows is not None and m.frame is not None:
            self.query_one(ResourceBrowser).show(m.frame, m.rows)

    def _show_workloads(self, found: list[Workload], trouble: str = "") -> None:
        self.workloads = {w.name: w for w in found}
        self._trouble = trouble
        self.query_one(ResourceBrowser).show(HOME, self.query_one(WorkloadChanges).wished(found), trouble)

    @on(msg.WishesChanged)
    def _wishes_changed(self) -> None:
        """A scale asked for: its count on screen at once, before the target has it."""
        self._show_workloads(list(self.workloads.values()), self._trouble)

    # -- charts ------------------------------------------------------------------------------
    def action_window(self) -> None:
        self.query_one(ChartGrid).next_window()

    def action_flip_charts(self) -> None:
        self.query_one(ChartGrid).flip()

    # -- build -------------------------------------------------------------------------------
    def action_build(self) -> None:
        if self.may("build"):
            self.query_one(BuildPanel).toggle()

    def _show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    # -- deploy, scale, restart, delete ----------------------------------------------------------
    def _image_to_deploy(self) -> str | None:
        table = self.query_one(ImagesTable)
        if table.row_count and table.has_focus:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            chosen = next((i for i in self.images if i.id == key), None)
            if chosen and chosen.recognizer and chosen.tags:
                return chosen.tags[0]
        newest = [i for i in self.images if i.recognizer and i.tags]  # newest first
        litert = [i for i in newest if i.runtime == "litert"]  # the small, fast-starting default
        return (litert or newest)[0].tags[0] if newest else None

    def action_deploy(self) -> None:
        if not self.may("deploy"):
            return
        image = self._image_to_deploy()
        if image is None:
            self.notify("no recognizer image yet: press b to build one", severity="warning")
            return
        current = self.workloads.get(WORKLOAD)
        replicas = max(1, current.desired) if current else 1
        plan = self.target.deploy_plan() if self.target is not None else []  # what this target adds
        lines = [f"target:    {self.settings.context}", *plan[:1], f"workload:  {WORKLOAD}",
                 f"image:     {image}", f"replicas:  {replicas}", *plan[1:]]
        if current and current.image != image:
            lines.append(f"rollout from {current.image}, one replica at a time")
        lines.append("then the shipped samples go to each replica (smoke): a wrong answer is flagged")
        smoke = self.query_one(SmokeCheck)

        def deploy_and_smoke(t: Target, p: Callable[[str], None]) -> None:
            t.deploy(image, replicas, WORKLOAD, p)
            smoke.check(t, WORKLOAD, p)

        self.query_one(WorkloadChanges).confirm(
            "Deploy", lines, deploy_and_smoke,
            done=f"deploy: {WORKLOAD} runs {image}", said=f"deploy: {image} x{replicas} to {self.settings.context}")

    def action_scale_by(self, delta: int) -> None:
        name = self._workload_to_change("scale_by")
        if name is not None:
            w = self.workloads[name]
            self.query_one(Operations).scale(w, max(0, self.query_one(WorkloadChanges).desired(w) + delta))

    def action_scale_to(self) -> None:
        name = self._workload_to_change("scale_to")
        if name is None:
            return
        changes = self.query_one(WorkloadChanges)

        def chosen(n: int | None) -> None:
            if n is not None:
                self.query_one(Operations).scale(self.workloads[name], n)

        self.push_screen(NumberScreen(f"Scale {name}", "Replicas", changes.desired(self.workloads[name])), chosen)

    def action_restart(self) -> None:
        name = self._workload_to_change("restart")
        if name is not None:
            self.query_one(WorkloadChanges).confirm(
                "Rollout restart", [f"Replace every replica of {name} on {self.settings.context},",
                                    "one at a time, each drained before it stops?"], lambda t, p: t.restart(name, p))

    def action_delete(self) -> None:
        name = self._workload_to_change("delete")
        if name is not None:
            self.query_one(WorkloadChanges).confirm(
                "Delete", [f"Delete workload {name} on {self.settings.context}?",
                           f"Its {self.workloads[name].desired} replica(s) drain and stop; images stay."],
                lambda t, p: t.delete(name, p), done=f"delete: {name} is gone")

    # -- one object: YAML, describe, a shell; rollback (ui/yaml_view.py, ui/operations.py) --------------
    def _selected_row(self) -> tuple[str, str] | None:
        browser = self.query_one(ResourceBrowser)
        key = browser.table().selected
        if key is None:
            self.notify(f"no {browser.view.kind} row selected", severity="warning")
            return None
        return browser.view.kind, key

    def action_yaml(self, mode: str = "yaml") -> None:
        from aitui.ui.yaml_view import ObjectScreen

        row = self._selected_row()
        if row is not None:
            self.push_screen(ObjectScreen(self._target, *row, mode=mode))

    def action_describe(self) -> None:
        self.action_yaml("describe")

    def action_shell(self) -> None:
        browser = self.query_one(ResourceBrowser)
        if self.may("shell") and (row := self._selected_row()) is not None:
            self.query_one(Operations).shell(row[1] if row[0] == "pods" else None, browser.selected_workload())

    def action_rollback(self) -> None:
        name = self._workload_to_change("rollback")
        if name is not None:
            self.query_one(Operations).rollback(name)

    # -- logs ------------------------------------------------------------------------------------
    def action_logs(self) -> None:
        """The selected pod's log in the pods view; every replica's, merged, in the workloads view."""
        name = self._selected_workload()
        browser = self.query_one(ResourceBrowser)
        pod = browser.table().selected if browser.view.kind in ("pods", "models") else None  # rows of replicas
        self.query_one(TabbedContent).active = "logs"
        self.query_one(TabbedContent).get_tab("logs").label = f"Logs: {pod or name + ' (all replicas)'}"
        self.query_one(PodLog).follow(self._target, name, pod)

    def action_enter_row(self) -> None:
        """enter on a view that names a verb for it (:models -> the replica's log); else the table's own."""
        from textual.actions import SkipAction

        browser = self.query_one(ResourceBrowser)
        verb = browser.view.enter_verb
        if not verb or self.screen is not self.screen_stack[0] or self.focused is not browser.table() \
                or browser.table().selected is None:
            raise SkipAction
        getattr(self, f"action_{verb}")()

    # -- issue 15: models, load test, capacity, smoke (ui/resources/models.py, ui/loadtest.py…) ----
    def action_models(self) -> None:
        name = self._selected_workload()
        if self.may("models", name):
            self.query_one(ResourceBrowser).open("models", name)

    def _models_tick(self) -> None:
        """The models view's figures are rates: fetched again while it is on top."""
        browser = self.query_one(ResourceBrowser)
        if browser.top[0] == "models" and self.screen is self.screen_stack[0]:
            self.load_workloads(browser.top)

    def action_loadtest(self) -> None:
        name = self._selected_workload()
        if self.may("loadtest", name):
            from aitui.ui.loadtest import LoadTestScreen

            self.push_screen(LoadTestScreen(self.settings, self._target, name))

    def action_capacity(self) -> None:
        name = self._selected_workload()
        if self.may("capacity", name):
            from aitui.ui.capacity import CapacityScreen

            self.push_screen(CapacityScreen(self.settings, self._target, name))

    def action_smoke(self) -> None:
        name = self._selected_workload()
        if self.may("smoke", name):
            self.query_one(SmokeCheck).run(name)

    def action_demo(self) -> None:
        """:demo starts the README walkthrough with captions (space: each step); :demo or esc leaves it."""
        from aitui.ui.demo import Demo

        if self.demo is not None:
            self.demo.stop()
            self.demo = None
            self.say("demo: left (what it started goes on)")
            return
        self.demo = Demo(self)
        self.demo.start()

    def action_demo_next(self) -> None:
        from textual.actions import SkipAction

        if self.demo is None or isinstance(self.focused, Input) or isinstance(self.screen, ConfirmScreen):
            raise SkipAction  # space is nobody's key otherwise; typed, it is a space; on a dialog, its button's
        self.demo.next()

    def action_canary(self) -> None:
        from aitui.services.canary import SUFFIX, canary_of

        name = self._selected_workload().removesuffix(SUFFIX)  # on the canary's row: the workload it is beside
        if not self.may("canary", name):
            return
        from aitui.ui.canary import CanaryScreen

        current = self.workloads[name].image
        others = [i.tags[0] for i in self.images if i.recognizer and i.tags and current not in i.tags]
        self.push_screen(CanaryScreen(self._target, name, (others or [current])[0], canary_of(name) in self.workloads,
                                      self.settings.context))

    def action_zoom(self) -> None:
        """z: the focused panel full screen (k9s's zoom); from the lists, the open tab (logs, build…).
        esc (or z) gives the dashboard back."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        focused = self.focused
        if focused is None or isinstance(focused, (ImagesTable, ResourceTable, Input)):
            pane = self.query_one(TabbedContent).active_pane
            focused = next((w for w in pane.query("*") if w.can_focus), None) if pane else None
        if focused is not None and self.screen.maximize(focused, container=False):
            focused.focus()

    @property
    def escape_to_minimize(self) -> bool:
        """esc closes an open filter or command line first, then the zoom."""
        lines = self.query("#filter, #command")
        return not any(line.display for line in lines)

    # -- copy (OSC 52: the terminal's clipboard, also over SSH and in tmux) --------------------------
    def _copy(self, what: str, text: str) -> None:
        if not text:
            self.notify(f"nothing to copy: no {what}", severity="warning")
            return
        self.copy_to_clipboard(text)
        self.notify(f"copied {what}: {text if len(text) <= 60 else text[:57] + '…'}")

    def action_copy(self) -> None:
        """The focused row's name: an image's tag, a workload's or a pod's name; the log's newest line."""
        focused = self.focused
        if isinstance(focused, PodLog):
            self._copy("log line", focused.last_line())
        elif isinstance(focused, ImagesTable):
            image = self._focused_image()
            self._copy("image", (image.tags[0] if image.tags else image.id) if image else "")
        else:
            self._copy("name", self.query_one(ResourceBrowser).table().selected or "")

    def action_copy_image(self) -> None:
        """The selected image's reference, or the image the selected workload runs."""
        image = self._focused_image() if isinstance(self.focused, ImagesTable) else None
        if image is not None:
            self._copy("image", image.tags[0] if image.tags else image.id)
            return
        workload = self.workloads.get(self._selected_workload())
        self._copy("image", workload.image if workload else "")

    def action_copy_prediction(self) -> None:
        last = self.query_one(Predictor).last
        text = ", ".join(f"{label} {score:.1%}" for label, score in last.labels[:5]) if last else ""
        self._copy("prediction", f"{last.sample}: {text}" if last else "")

    def _focused_image(self) -> Image | None:
        table = self.query_one(ImagesTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((i for i in self.images if i.id == key), None)

    # -- events, traffic, predict ---------------------------------------------------------------
    def action_events(self) -> None:
        self.query_one(EventsLog).open(self._selected_workload())

    def action_traffic(self) -> None:
        control = self.query_one(TrafficControl)
        if control.running:
            control.stop()
            return
        if not self.may("traffic", WORKLOAD):
            return

        def chosen(n: int | None) -> None:
            if n is not None:
                control.start(n)

        self.push_screen(NumberScreen("Traffic", "Concurrent requests", 4, 1, 64), chosen)

    def action_predict(self) -> None:
        if self.may("predict", WORKLOAD):
            self.query_one(Predictor).run()

    # -- navigation ----------------------------------------------------------------------------
    def _open_line(self, line: Input) -> None:
        """Show an input line and focus it at once: keys typed right after / or : (a fast typist, a paste)
        must land in it. Widget.focus() waits a turn and a CSS class a restyle; both would lose them."""
        line.display = True
        self.screen.set_focus(line)

    def _close_line(self, line: Input) -> None:
        line.value = ""
        line.display = False

    def _focus_list(self) -> None:
        if self.screen.maximized is not None:  # a zoomed panel keeps the keys (a search in a zoomed log)
            self.screen.maximized.focus()
            return
        self.query_one(ResourceBrowser).focus_top()

    def action_filter(self) -> None:
        self._open_line(self.query_one("#filter", Input))

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.query_one(ImagesTable).show(self.images, self.query_one("#filter", Input).value)
        browser = self.query_one(ResourceBrowser)
        browser.filter_text = self.query_one("#filter", Input).value
        self._show_workloads(list(self.workloads.values()))
        if browser.top != HOME:
            self.load_workloads(browser.top)
        self.query_one(PodLog).search(self.query_one("#filter", Input).value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._focus_list()

    def action_go_back(self) -> None:
        """esc: close the filter or the command line; else leave the view on top."""
        f = self.query_one("#filter", Input)
        cmd = self.query_one("#command", Input)
        if f.display:
            self._close_line(f)
            self._filter_changed()
        elif cmd.display:
            self._close_line(cmd)
        elif not self.query_one(ResourceBrowser).back():
            if self.demo is not None:  # nothing else to close: esc leaves the demo
                self.action_demo()
            return
        self._focus_list()

    @on(ResourceBrowser.Opened)
    def _view_opened(self) -> None:
        self.load_workloads(self.query_one(ResourceBrowser).top)

    # -- contexts and the command line ------------------------------------------------------------
    @work(thread=True, group="contexts", exclusive=True, exit_on_error=False)
    def load_contexts(self) -> None:
        from aitui.services.kubeconfig import contexts

        try:
            names, _current = contexts(self.settings.kubeconfig)
        except Exception:
            names = []  # the header says why there is no kubeconfig
        self.post_message(msg.ContextsListed([LOCAL, *names]))

    @on(msg.ContextsListed)
    def _contexts_listed(self, m: msg.ContextsListed) -> None:
        self.contexts = m.contexts
        if not self._open():
            return
        self._suggest()

    def _suggest(self) -> None:
        words = [c.name for c in COMMAND_TABLE] + [f"ctx {c}" for c in self.contexts] + \
            [f"ns {n}" for n in self.namespaces] + ["window 5m", "window 15m", "window 1h"]
        self.query_one("#command", Input).suggester = SuggestFromList(words, case_sensitive=False)

    def action_command(self) -> None:
        cmd = self.query_one("#command", Input)
        cmd.value = ""
        self._open_line(cmd)

    @on(Input.Submitted, "#command")
    def _command_submitted(self, event: Input.Submitted) -> None:
        self._close_line(event.input)
        self._focus_list()
        if event.value.strip(" :"):
            self.run_command_line(event.value)

    def run_command_line(self, line: str) -> None:
        try:
            name, arg = parse(line)
        except CommandError as exc:
            self.notify(str(exc), severity="warning")
            return
        if name == "ctx":
            if not arg:
                self.notify("contexts: " + ", ".join(self.contexts))
            elif arg not in self.contexts:
                self.notify(f"no context {arg!r}; known: {', '.join(self.contexts)}", severity="error")
            else:
                self.switch_to(arg)
        elif name == "ns":
            if not has_namespaces(self.settings.context):
                self.notify(f"{self.settings.context} has no namespaces; :ctx <kubeconfig context> first",
                            severity="warning")
            elif not arg:
                self.notify("namespaces: " + (", ".join(self.namespaces) or "(listing…)"))
            else:
                self.switch_context(self.settings.context, arg)
        elif name == "scale":
            target = self._workload_to_change("scale_to")
            if target is not None:
                self.query_one(Operations).scale(self.workloads[target], int(arg))
        elif name == "window":
            self.query_one(ChartGrid).set_window(arg)
        elif name == "quit":
            self.exit()
        elif name in REGISTRY:
            self.query_one(ResourceBrowser).open(name)
        else:
            key = next(k for k in KEYS if k.command == name)  # build, deploy, restart, logs, events, help
            getattr(self, f"action_{key.action}")()

    @work(thread=True, group="contexts", exit_on_error=False)
    def switch_to(self, context: str) -> None:
        """A context switch lands in the context's own namespace (read from the kubeconfig here)."""
        from aitui.services.kubeconfig import namespace_of

        namespace = namespace_of(self.settings.kubeconfig, context) if has_namespaces(context) else "default"
        self.post_message(msg.ContextChosen(context, namespace))

    @on(msg.ContextChosen)
    def _context_chosen(self, m: msg.ContextChosen) -> None:
        self.switch_context(m.context, m.in_namespace)

    def switch_context(self, context: str, namespace: str) -> None:
        """Leave the current target (its caches stop), point everything at the new one."""
        if (context, namespace) == (self.settings.context, self.settings.namespace):
            return
        self.query_one(TrafficControl).stop()  # traffic belongs to the old context's replicas
        self.query_one(PodLog).stop()
        old, self.target = self.target, None
        if old is not None:
            old.close()
        self.settings.context, self.settings.namespace = context, namespace
        self.workloads, self.namespaces = {}, []
        browser = self.query_one(ResourceBrowser)
        browser.home()
        self._titles()
        browser.trouble("connecting…")
        self.say(f"context: {context}" + (f", namespace {namespace}" if has_namespaces(context) else ""))
        self.refresh_lists()
        self.query_one(ChartGrid).poll()
        if has_namespaces(context):
            self.load_namespaces()

    @work(thread=True, group="namespaces", exclusive=True, exit_on_error=False)
    def load_namespaces(self) -> None:
        from aitui.services.targets import TargetError

        try:
            found = self._target().namespaces()
        except TargetError as exc:
            self.post_message(msg.Say(f"namespaces: {exc}", "warning"))
            return
        self.post_message(msg.NamespacesListed(found))

    @on(msg.NamespacesListed)
    def _namespaces_listed(self, m: msg.NamespacesListed) -> None:
        self.namespaces = m.namespaces
        if not self._open():
            return
        self._suggest()

    def action_doctor(self) -> None:
        from aitui.ui.doctor import DoctorScreen

        self.push_screen(DoctorScreen(self.settings))

    def action_help(self) -> None:
        from aitui.ui.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_cursor(self, direction: str) -> None:
        focused = self.focused
        if isinstance(focused, (ImagesTable, ResourceTable)):
            (focused.action_cursor_down if direction == "down" else focused.action_cursor_up)()
