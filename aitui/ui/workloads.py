"""The workloads feature: what changes a workload or makes the image it runs — build b, deploy d, scale
+ - s, restart r, delete ctrl+d, roll back u, a shell x, a canary n (its keys are where="workloads" in
ui/keys.py) — and the list of workloads
with its worker, which writes the store (ui/store.py) the panels read. It is the container of the
dashboard's panels, so that its keys work wherever the focus is on the dashboard, as the App's do: d on an
image deploys that image, + in the log scales the selected workload; and so it refreshes the lists it holds
(the workloads, the images, the view on top, the events), once per burst of engine or cache events. A
change is confirmed first, its progress goes to Activity, the lists refresh after it; one worker per
workload converges on the latest scale wish (`+ +` counts from the wish, not from a stale list)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import TabbedContent

from aitui import messages as msg
from aitui.config import Settings
from aitui.services import model_project
from aitui.services.labels import NAME
from aitui.ui import format as fmt
from aitui.ui.browser import ResourceBrowser
from aitui.ui.build import BuildPanel
from aitui.ui.dialogs import ConfirmScreen, NumberScreen
from aitui.ui.events import EventsLog
from aitui.ui.guard import Guard, Guarded
from aitui.ui.images import ImagesTable
from aitui.ui.keys import bindings
from aitui.ui.shell import run_shell
from aitui.ui.smoke import SmokeCheck
from aitui.ui.store import WorkloadStore

if TYPE_CHECKING:
    from aitui.models import Revision, Shell, Workload
    from aitui.services.targets import Target

    Change = Callable[[Target, Callable[[str], None]], object]

RETRY_EVERY = 5.0  # seconds before the engine's events are asked for again after their stream broke


class Workloads(Guarded, Vertical):
    DEFAULT_CSS = "Workloads { height: 1fr; }"
    BINDINGS: ClassVar[list[BindingType]] = bindings("workloads")

    @dataclass
    class Listed(Message):
        workloads: list[Workload] | None  # None: the target did not answer, `why` says why
        why: str = ""  # the target's trouble (a cache that is not current), or why there is no list
        seq: int = 0  # which listing this is (WorkloadStore.asked); 0: take it

    @dataclass
    class ScaleEnded(Message):
        workload: str
        replicas: int | None  # the count it reached; None: it failed

    @dataclass
    class ShellReady(Message):
        shell: Shell

    @dataclass
    class RollbackPlanned(Message):
        workload: str
        revisions: list[Revision]
        context: str  # the target's, as the worker found it

    def __init__(self, settings: Settings, store: WorkloadStore, guard: Guard, target_of: Callable[[], Target],
                 current: Callable[[], Target | None], **kwargs: Any) -> None:
        """`target_of` opens the context's target (in a worker); `current` is it, if it is open yet."""
        super().__init__(**kwargs)
        self.settings, self.store, self.guard = settings, store, guard
        self._target_of, self._current = target_of, current
        self._warned: set[str] = set()  # workloads told once that their autoscaler may move a scale
        self._pending, self._images_stale, self._cache_dirty = False, True, False
        self._events_stop = threading.Event()

    def on_unmount(self) -> None:
        self._events_stop.set()

    def _say(self, line: str) -> None:  # a target's progress line, from a worker thread
        self.post_message(msg.Say(line))

    # -- the lists ---------------------------------------------------------------------------------
    def refresh_lists(self) -> None:
        if not self.is_attached:
            return
        self._pending = self._cache_dirty = False
        if self.query_one(TabbedContent).active == "events":
            self.query_one(EventsLog).load(self.selected())
        if self._images_stale:
            self._images_stale = False
            self.query_one(ImagesTable).load(self.settings)
        self.load()
        self.query_one(ResourceBrowser).load()  # the view on top is live too (pods, :rs…)

    def wanted(self, images: bool = True) -> None:
        """Engine events come in bursts (a rollout is dozens): refresh once per burst. A cluster's cache
        changes say nothing about the local images, so they don't list them again."""
        self._images_stale = self._images_stale or images
        if not self._pending:
            self._pending = True
            self.set_timer(0.3, self.refresh_lists)

    def cache_changed(self) -> None:
        """A target's cache changed (on its own thread). One message per refresh, however many events
        arrive: a rollout is thousands of events."""
        if self._cache_dirty or not self.is_attached:
            return
        self._cache_dirty = True
        self.post_message(msg.RefreshWanted(images=False))  # thread-safe; dropped once the app closes

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

    def load(self) -> None:
        self._list(self.store.asked())

    @work(thread=True, group="workloads", exclusive=True, exit_on_error=False)
    def _list(self, seq: int) -> None:
        from aitui.services.targets import TargetError

        try:
            target = self._target_of()
            found = target.workloads()
        except TargetError as exc:
            self.post_message(self.Listed(None, str(exc), seq))
            return
        self.post_message(self.Listed(found, "; ".join(target.errors.values()), seq))

    @on(Listed)
    def _listed(self, m: Workloads.Listed) -> None:
        m.stop()
        if self.is_attached:
            self.store.listed(m.workloads, m.why, m.seq)

    def selected(self) -> str:
        return self.query_one(ResourceBrowser).workload()

    def _to_change(self, action: str) -> Workload | None:
        """The selected workload, if `action` may change it now (the guard says why not)."""
        name = self.selected()
        return self.store.workloads.get(name) if self.may(action, name) else None

    # -- b, d: build, deploy ---------------------------------------------------------------------
    def action_build(self) -> None:
        if self.may("build"):
            self.query_one(BuildPanel).toggle()

    def action_deploy(self) -> None:
        if not self.may("deploy"):
            return
        chosen = self._image_to_deploy()
        if chosen is None:
            self.notify(f"no {model_project.name_of(self.settings) or 'model'} image yet: press b to build one",
                        severity="warning")
            return
        image, model = chosen  # a workload is named after the model its image serves
        name = self.store.default if model == NAME else model  # the recognizer's workload may be renamed (-w)
        current = self.store.workloads.get(name)
        replicas = max(1, current.desired) if current else 1
        target = self._current()
        plan = target.deploy_plan() if target is not None else []  # what this target adds
        lines = [f"target:    {self.settings.context}", *plan[:1], f"workload:  {name}",
                 f"image:     {image}", f"replicas:  {replicas}", *plan[1:]]
        if current and current.image != image:
            lines.append(f"rollout from {current.image}, one replica at a time")
        lines.append(f"then {name}'s samples go to each replica (smoke): a wrong answer is flagged")
        smoke = self.query_one(SmokeCheck)

        def deploy_and_smoke(t: Target, p: Callable[[str], None]) -> None:
            t.deploy(image, replicas, name, p)
            smoke.check(t, name, p)

        self.confirm("Deploy", lines, deploy_and_smoke, done=f"deploy: {name} runs {image}",
                     said=f"deploy: {image} x{replicas} to {self.settings.context}")

    def _image_to_deploy(self) -> tuple[str, str] | None:
        """(tag, its model's name) of the image under the cursor while Images has the focus, else of the one b
        just built, else of the newest of the settings' model (litert: it starts fast)."""
        table = self.query_one(ImagesTable)
        chosen = table.selected if table.has_focus else None
        if chosen and chosen.recognizer and chosen.tags:
            return chosen.tags[0], chosen.model or NAME
        built = self.query_one(BuildPanel).built
        found = next((i for i in table.images if built and built in i.tags), None)
        if built and found is not None:
            return built, found.model or NAME
        model = model_project.name_of(self.settings)  # the engine holds images of other models too
        newest = [i for i in table.images if i.recognizer and i.tags and (i.model or NAME) == model]  # newest first
        litert = [i for i in newest if i.runtime == "litert"]
        return ((litert or newest)[0].tags[0], model) if newest else None

    # -- + - s: scale --------------------------------------------------------------------------
    def action_scale_by(self, delta: int) -> None:
        w = self._to_change("scale_by")
        if w is not None:
            self.scale(w, max(0, self.store.desired(w) + delta))

    def action_scale_to(self, replicas: str = "") -> None:
        """s asks how many (prefilled); `:scale N` says it."""
        w = self._to_change("scale_to")
        if w is None:
            return
        if replicas:
            self.scale(w, int(replicas))
            return

        def chosen(n: int | None) -> None:
            if n is not None:
                self.scale(self.store.workloads.get(w.name, w), n)

        self.app.push_screen(NumberScreen(f"Scale {w.name}", "Replicas", self.store.desired(w)), chosen)

    def scale(self, w: Workload, n: int) -> None:
        """Scale as asked when no autoscaler owns the count or `n` is within its bounds; else ask to move
        the bound in the way (the autoscaler would undo the scale otherwise), or say why not."""
        if isinstance(self.app.screen, ConfirmScreen):
            return  # a - pressed again while its question is open: one question at a time
        bounds = w.autoscaler
        if bounds is None or bounds[0] <= n <= bounds[1]:
            if bounds is not None and w.name not in self._warned:
                self._warned.add(w.name)
                self._say(f"scale {w.name}: its autoscaler (hpa {bounds[0]}..{bounds[1]}) may move this count "
                          "again by its targets")
            self._wish(w.name, n)
            return
        low, high = bounds
        if n < 1:
            self.post_message(msg.Say(f"scale {w.name} to 0: its autoscaler keeps at least 1 replica (hpa "
                                      f"{low}..{high}; its minimum cannot be 0); ctrl+d deletes the workload",
                                      "warning"))
            return
        move = f"lower its minimum from {low} to {n}" if n < low else f"raise its maximum from {high} to {n}"
        new_low, new_high = min(low, n), max(high, n)

        def bounds_then_scale(t: Target, p: Callable[[str], None]) -> None:
            t.set_autoscaler(w.name, new_low, new_high, p)
            t.scale(n, w.name, p)

        self.confirm("Scale under the autoscaler",
                     [f"An autoscaler keeps {w.name} between {low} and {high} replicas.",
                      f"To run {n}: {move},", f"then scale {w.name} to {n}?",
                      "(d re-applies manifests/base and its bounds)"],
                     bounds_then_scale, done=f"scale {w.name}: {n} replica(s); its autoscaler now keeps "
                                             f"{new_low}..{new_high}")

    def _wish(self, name: str, n: int) -> None:
        """The count on screen at once (the store's listeners); a worker converges on it."""
        start = name not in self.store.converging
        self.store.converging.add(name)
        self.store.wish(name, n)
        if start:
            self._run_scale(name, n)

    @work(thread=True, group="scale", exit_on_error=False)
    def _run_scale(self, name: str, n: int) -> None:
        """Scale to n, then to each newer wish (read here, written on the UI thread) until none is left."""
        from aitui.services.targets import TargetError

        reached: int | None = None
        try:
            while True:
                self._target_of().scale(n, name, self._say)
                reached = n
                n = self.store.wishes.get(name, n)
                if n == reached:
                    break
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))
        finally:
            self.post_message(self.ScaleEnded(name, reached))

    @on(ScaleEnded)
    def _scale_ended(self, m: Workloads.ScaleEnded) -> None:
        m.stop()
        self.store.converging.discard(m.workload)
        wish = self.store.wishes.get(m.workload)
        if m.replicas is None:
            self.store.wishes.pop(m.workload, None)  # show the truth again
        elif wish is not None and wish != m.replicas:  # a wish that came after the worker's last look
            self.store.converging.add(m.workload)
            self._run_scale(m.workload, wish)
        self.post_message(msg.RefreshWanted())

    # -- r, ctrl+d, u: restart, delete, roll back --------------------------------------------------
    def action_restart(self) -> None:
        w = self._to_change("restart")
        if w is not None:
            self.confirm("Rollout restart", [f"Replace every replica of {w.name} on {self.settings.context},",
                                             "one at a time, each drained before it stops?"],
                         lambda t, p: t.restart(w.name, p))

    def action_delete(self) -> None:
        w = self._to_change("delete")
        if w is not None:
            self.confirm("Delete", [f"Delete workload {w.name} on {self.settings.context}?",
                                    f"Its {w.desired} replica(s) drain and stop; images stay."],
                         lambda t, p: t.delete(w.name, p), done=f"delete: {w.name} is gone")

    def action_rollback(self) -> None:
        w = self._to_change("rollback")
        if w is not None:
            self._plan(w.name)

    @work(thread=True, group="rollback", exclusive=True, exit_on_error=False)
    def _plan(self, workload: str) -> None:
        from aitui.services.targets import TargetError

        try:
            target = self._target_of()
            found = target.revisions(workload)
        except TargetError as exc:
            self.post_message(msg.Say(f"rollback {workload}: {exc}", "error"))
            return
        self.post_message(self.RollbackPlanned(workload, found, target.name))

    @on(RollbackPlanned)
    def _planned(self, m: Workloads.RollbackPlanned) -> None:
        m.stop()
        found = sorted(m.revisions, key=lambda r: r.revision)
        if len(found) < 2:
            only = f" (only revision {found[0].revision}: {found[0].image})" if found else ""
            self._say_warning(f"rollback {m.workload}: no previous revision to go back to{only}")
            return
        now, before = found[-1], found[-2]
        self.confirm(
            "Rollback", [f"Roll {m.workload} on {m.context} back",
                         f"from revision {now.revision}: {now.image}",
                         f"to revision {before.revision}: {before.image} ({fmt.age(before.created)} old),",
                         "one replica at a time, each drained before it stops?"],
            lambda t, p: t.rollback(m.workload, p),
            done=f"rollback: {m.workload} runs revision {before.revision}'s template ({before.image})",
            said=f"rollback: {m.workload} to revision {before.revision}")

    def _say_warning(self, text: str) -> None:
        self.post_message(msg.Say(text, "warning"))

    # -- n: a canary beside it --------------------------------------------------------------------
    def action_canary(self) -> None:
        from aitui.services.canary import SUFFIX, canary_of
        from aitui.ui.canary import CanaryScreen

        name = self.selected().removesuffix(SUFFIX)  # on the canary's row: the workload it is beside
        if not self.may("canary", name):
            return
        current = self.store.workloads[name].image
        others = [i.tags[0] for i in self.query_one(ImagesTable).images  # other images of the workload's model
                  if i.recognizer and i.tags and (i.model or NAME) == name and current not in i.tags]
        self.app.push_screen(CanaryScreen(self.settings, self._target_of, name, (others or [current])[0],
                                          canary_of(name) in self.store.workloads))

    # -- x: a shell --------------------------------------------------------------------------------
    def action_shell(self) -> None:
        """In the selected pod, or in the first ready replica of the selected workload."""
        browser = self.query_one(ResourceBrowser)
        if not self.may("shell") or (row := browser.selected_row()) is None:
            return
        pod, workload = (row[1] if row[0] == "pods" else None), browser.selected_workload()
        self._say(f"shell: checking {pod or 'a ready replica of ' + str(workload)} has one…")
        self._probe(pod, workload)

    @work(thread=True, group="shell", exclusive=True, exit_on_error=False)
    def _probe(self, pod: str | None, workload: str | None) -> None:
        from aitui.services.targets import TargetError

        try:
            target = self._target_of()
            if pod is None:
                ready = [p.name for p in target.pods(workload) if p.ready]
                if not ready:
                    self._say_warning(f"shell: {workload} has no ready replica")
                    return
                pod = ready[0]
            self.post_message(self.ShellReady(target.shell(pod)))
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))

    @on(ShellReady)
    def _shell_ready(self, m: Workloads.ShellReady) -> None:
        m.stop()
        said = run_shell(self.app, m.shell)
        self.post_message(msg.Say(said, "warning" if said.startswith("shell: this terminal") else "information"))
        self.post_message(msg.RefreshWanted(images=False))

    # -- a change: confirmed, then run -------------------------------------------------------------
    def confirm(self, title: str, lines: list[str], change: Change, done: str = "", said: str = "") -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                if said:
                    self._say(said)
                self.run(change, done)

        self.app.push_screen(ConfirmScreen(title, lines), answered)

    @work(thread=True, group="change", exit_on_error=False)
    def run(self, change: Change, done: str = "") -> None:
        """A deploy, restart or delete on the target: its progress lines go to Activity as they happen,
        a failure becomes a message, and the lists refresh afterwards."""
        from aitui.services.targets import TargetError

        self.post_message(msg.ShowTab("activity"))  # its progress shows there
        try:
            change(self._target_of(), self._say)
            if done:
                self._say(done)
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))
        self.post_message(msg.RefreshWanted())
