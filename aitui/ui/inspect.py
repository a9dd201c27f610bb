"""The inspect feature: what shows the selected row or workload, or tries it, and changes nothing of it —
logs l, events e, its YAML y and describe i, the models view m, the charts' window w and page c, traffic
t, predict p, the load test L, capacity C, `:smoke` — and copying what it shows (Y I P). Its keys are
where="inspect" in ui/keys.py. Like the workloads feature it is a container of the dashboard's panels, so
that its keys work wherever the focus is on the dashboard; it asks the panels it holds and the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.actions import SkipAction
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import TabbedContent

from aitui.config import Settings
from aitui.ui import clipboard
from aitui.ui.browser import ResourceBrowser
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.dialogs import NumberScreen
from aitui.ui.events import EventsLog
from aitui.ui.guard import Guard, Guarded
from aitui.ui.keys import bindings
from aitui.ui.logs import PodLog
from aitui.ui.smoke import SmokeCheck
from aitui.ui.store import WorkloadStore
from aitui.ui.traffic import Predictor, TrafficControl

if TYPE_CHECKING:
    from aitui.services.targets import Target


class Inspect(Guarded, Vertical):
    DEFAULT_CSS = "Inspect { height: 1fr; }"
    BINDINGS: ClassVar[list[BindingType]] = bindings("inspect")

    def __init__(self, settings: Settings, store: WorkloadStore, guard: Guard, target_of: Callable[[], Target],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings, self.store, self.guard, self._target_of = settings, store, guard, target_of

    def _browser(self) -> ResourceBrowser:
        return self.query_one(ResourceBrowser)

    def _selected(self) -> str:
        return self._browser().workload()

    def _allowed(self, action: str) -> str | None:
        """The selected workload, if `action` may go to it now (the guard says why not)."""
        name = self._selected()
        return name if self.may(action, name) else None

    # -- watch it -------------------------------------------------------------------------------
    def action_enter_row(self) -> None:
        """enter on a view that names a verb for it (:models -> the replica's log); else the table's own."""
        browser = self._browser()
        if not browser.view.enter_verb or self.screen is not self.app.screen_stack[0] \
                or self.app.focused is not browser.table() or browser.table().selected is None:
            raise SkipAction
        getattr(self, f"action_{browser.view.enter_verb}")()

    def action_logs(self) -> None:
        """The selected pod's log in the pods view; every replica's, merged, in the workloads view."""
        name, browser, tabs = self._selected(), self._browser(), self.query_one(TabbedContent)
        pod = browser.table().selected if browser.view.kind in ("pods", "models") else None  # rows of replicas
        tabs.active = "logs"
        tabs.get_tab("logs").label = f"Logs: {pod or name + ' (all replicas)'}"
        self.query_one(PodLog).follow(self._target_of, name, pod)

    def action_events(self) -> None:
        self.query_one(EventsLog).open(self._selected())

    def action_yaml(self, mode: str = "yaml") -> None:
        from aitui.ui.yaml_view import ObjectScreen

        if (row := self._browser().selected_row()) is not None:
            self.app.push_screen(ObjectScreen(self._target_of, *row, mode=mode))

    def action_describe(self) -> None:
        self.action_yaml("describe")

    def action_models(self) -> None:
        if name := self._allowed("models"):
            self._browser().open("models", name)

    def action_window(self, name: str = "") -> None:
        grid = self.query_one(ChartGrid)
        grid.set_window(name) if name else grid.next_window()

    def action_flip_charts(self) -> None:
        self.query_one(ChartGrid).flip()

    # -- try it ---------------------------------------------------------------------------------
    def action_traffic(self) -> None:
        control = self.query_one(TrafficControl)
        if control.running:
            control.stop()
        elif name := self._allowed("traffic"):
            def chosen(n: int | None) -> None:
                if n is not None:
                    control.start(n, name)

            self.app.push_screen(NumberScreen("Traffic", "Concurrent requests", 4, 1, 64), chosen)

    def action_predict(self) -> None:
        if name := self._allowed("predict"):
            self.query_one(Predictor).run(name)

    def action_predict_file(self, path: str) -> None:
        """`:predict FILE`: any image file, at any size, to the selected workload."""
        if not path:
            self.notify("usage: :predict <image file> (→ completes its path); p sends a sample", severity="warning")
        elif name := self._allowed("predict_file"):
            self.query_one(Predictor).run(name, path)

    def action_loadtest(self) -> None:
        from aitui.ui.loadtest import LoadTestScreen

        if name := self._allowed("loadtest"):
            self.app.push_screen(LoadTestScreen(self.settings, self._target_of, name))

    def action_capacity(self) -> None:
        from aitui.ui.capacity import CapacityScreen

        if name := self._allowed("capacity"):
            self.app.push_screen(CapacityScreen(self.settings, self._target_of, name))

    def action_smoke(self) -> None:
        if name := self._allowed("smoke"):
            self.query_one(SmokeCheck).run(name)

    # -- Y I P: copy what it shows ----------------------------------------------------------------
    def action_copy(self, what: str = "name") -> None:
        selected = self.store.workloads.get(self._selected())
        clipboard.copy(self.app, *clipboard.what_to_copy(what, self.app.focused, self._browser().table().selected,
                                                         selected, self.query_one(Predictor)))

    def action_copy_image(self) -> None:
        self.action_copy("image")

    def action_copy_prediction(self) -> None:
        self.action_copy("prediction")
