"""The Logs tab: one followed log (a pod's, or every replica's merged), its lines kept and searched with
`/` (Toolong's LogLines: the panel owns its worker, its lines and its search)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.widgets import Log

from aitui import messages as msg

if TYPE_CHECKING:
    from aitui.services.targets import Target

LOG_LINES = 5000  # lines kept (and searched with /)


class PodLog(Log):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=LOG_LINES, **kwargs)  # type: ignore[arg-type]
        self._kept: deque[str] = deque(maxlen=LOG_LINES)  # the followed log, unfiltered
        self._stop = threading.Event()
        self._needle = ""

    def follow(self, target: Callable[[], Target], workload: str, pod: str | None) -> None:
        """Follow `pod`'s log, or every replica's of `workload` when pod is None; the last follow stops."""
        self.stop()
        self._stop = threading.Event()
        self.clear()
        self._kept.clear()
        self.border_subtitle = ""
        self._follow(target, workload, pod, self._stop)

    def stop(self) -> None:
        self._stop.set()

    def on_unmount(self) -> None:
        self.stop()

    def search(self, needle: str) -> None:
        """Show the lines that hold `needle` (any case); every line again when it is empty."""
        self._needle = needle.lower()
        if not self._kept:
            return
        self.clear()
        self.write_lines([line for line in self._kept if self._needle in line.lower()])
        self.border_subtitle = f"/{self._needle}: {self.line_count} of {len(self._kept)} lines" if needle else ""

    @work(thread=True, group="logs", exit_on_error=False)
    def _follow(self, target_of: Callable[[], Target], workload: str, pod: str | None, stop: threading.Event) -> None:
        """Each followed log's lines, prefixed with their replica; flushed ten times a second."""
        target = target_of()
        pods = [p for p in target.pods(workload) if pod in (None, p.name)]
        if not pods:
            self.post_message(msg.Say(f"logs: no replicas of {workload}", "warning"))
            return
        lines: list[str] = []
        ended: list[str] = []  # each follow that ended on its own: why, with its count of lines
        lock = threading.Lock()

        def follow(pod: str) -> None:
            from aitui.services.errors import reason  # a plain function: no engine SDK import

            count, why = 0, "its replica stopped or is gone"
            try:
                for line in target.logs(pod, tail=50, follow=True):
                    if stop.is_set():
                        return
                    count += 1
                    with lock:
                        lines.append(f"{pod[-6:]} │ {line}")
            except Exception as exc:
                why = reason(exc)
            if not stop.is_set():
                with lock:
                    lines.append(f"{pod[-6:]} │ (log ended: {why})")
                    ended.append(f"{pod} ended after {count} line{'s' if count != 1 else ''} ({why})")

        for p in pods:
            threading.Thread(target=follow, args=(p.name,), daemon=True).start()
        told = 0
        while not stop.wait(0.1):
            with lock:
                batch, lines[:] = lines[:], []
                news, told = ended[told:], len(ended)
            if batch:
                self.post_message(msg.LogLines(batch, stop))
            for text in news:
                self.post_message(msg.Say(f"logs: {text}", "warning"))
            if told == len(pods):  # every followed log ended: say so on the tab too
                self.post_message(msg.LogEnded(stop, "ended" if len(pods) == 1 else f"all {len(pods)} ended"))
                return

    @on(msg.LogEnded)
    def _ended(self, m: msg.LogEnded) -> None:
        m.stop()
        if m.ended.is_set() or not self.is_attached:
            return  # a follow that was replaced or stopped
        self.border_subtitle = f"log {m.text}: l follows again"

    @on(msg.LogLines)
    def _append(self, m: msg.LogLines) -> None:
        """Keep every line; show those that match the search."""
        m.stop()  # the panel's own message
        if m.ended.is_set() or not self.is_attached:
            return  # a follow that was replaced or stopped
        self._kept.extend(m.lines)
        needle = self._needle
        self.write_lines([line for line in m.lines if needle in line.lower()] if needle else m.lines)
