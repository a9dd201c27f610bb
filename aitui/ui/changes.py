"""Changes to a workload: deploy, scale, restart, delete. A small non-visual widget that owns their
workers and the scale wishes: `+` shows the new count at once, and one worker per workload converges on
the latest wish (so a quick `+ +` counts from the wish, not from a list that has not caught up)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.widget import Widget

from aitui import messages as msg
from aitui.models import Workload
from aitui.ui.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from aitui.services.targets import Target

    Change = Callable[[Target, Callable[[str], None]], object]


class WorkloadChanges(Widget):
    DEFAULT_CSS = "WorkloadChanges { display: none; }"

    def __init__(self, target_of: Callable[[], Target], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._target_of = target_of
        self.scaling: dict[str, int] = {}  # workload -> replicas it is being scaled to
        self._converging: set[str] = set()

    def _say(self, line: str) -> None:  # a target's progress line, from a worker thread
        self.post_message(msg.Say(line))

    # -- what the lists show ------------------------------------------------------------------
    def wished(self, found: list[Workload]) -> list[Workload]:
        """The workloads with each scale in progress shown as its desired count. A finished scale's
        wish goes once the list shows it (or the workload is gone)."""
        by_name = {w.name: w for w in found}
        for name in [n for n in self.scaling if n not in self._converging]:
            if name not in by_name or by_name[name].desired == self.scaling[name]:
                del self.scaling[name]
        return [replace(w, desired=self.scaling[w.name]) if w.name in self.scaling else w for w in found]

    def desired(self, w: Workload) -> int:
        return self.scaling.get(w.name, w.desired)

    # -- scale -------------------------------------------------------------------------------
    def scale(self, name: str, n: int) -> None:
        self.scaling[name] = n
        self.post_message(msg.WishesChanged())
        if name not in self._converging:
            self._converging.add(name)
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
                n = self.scaling.get(name, n)
                if n == reached:
                    break
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))
        finally:
            self.post_message(msg.ScaleEnded(name, reached))

    @on(msg.ScaleEnded)
    def _scale_ended(self, m: msg.ScaleEnded) -> None:
        m.stop()
        self._converging.discard(m.workload)
        wish = self.scaling.get(m.workload)
        if m.replicas is None:
            self.scaling.pop(m.workload, None)  # show the truth again
        elif wish is not None and wish != m.replicas:  # a wish that came after the worker's last look
            self._converging.add(m.workload)
            self._run_scale(m.workload, wish)
        self.post_message(msg.RefreshWanted())

    # -- deploy, restart, delete: confirmed first ---------------------------------------------
    def confirm(self, title: str, lines: list[str], change: Change, done: str = "", said: str = "") -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                if said:
                    self.post_message(msg.Say(said))
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
                self.post_message(msg.Say(done))
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "error"))
        self.post_message(msg.RefreshWanted())
