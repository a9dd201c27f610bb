"""The Events tab: the selected workload's events (Kubernetes Events, or the Docker engine's), listed
again on each refresh while the tab is open."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.widgets import Log

from aitui import messages as msg
from aitui.ui.tabs import label_tab, show_tab

if TYPE_CHECKING:
    from aitui.services.targets import Target


class EventsLog(Log):
    @dataclass
    class Listed(Message):
        workload: str
        lines: list[str]

    def __init__(self, target_of: Callable[[], Target], **kwargs: object) -> None:
        super().__init__(max_lines=2000, **kwargs)  # type: ignore[arg-type]
        self._target_of = target_of

    def on_mount(self) -> None:
        self.write_line("e lists the selected workload's events here (:ev shows them as rows)")  # empty state

    def open(self, workload: str) -> None:
        show_tab(self)
        self.load(workload)

    @work(thread=True, group="events-list", exclusive=True, exit_on_error=False)
    def load(self, workload: str) -> None:
        from aitui.services.targets import TargetError

        try:
            found = self._target_of().events(workload)
        except TargetError as exc:
            self.post_message(msg.Say(str(exc), "warning"))
            return
        lines = [f"{time.strftime('%H:%M:%S', time.localtime(e.time))}  {e.type:<7}  {e.reason:<18}  "
                 f"{e.object}  {e.message}" for e in found]
        self.post_message(self.Listed(workload, lines))

    @on(Listed)
    def _listed(self, m: EventsLog.Listed) -> None:
        m.stop()
        if not self.is_attached:
            return
        self.clear()
        self.write_lines(m.lines or [f"no events for {m.workload} in the last hour"])
        label_tab(self, f"Events: {m.workload}")
