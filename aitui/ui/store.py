"""The one truth about the workloads on screen (k9s's model/table.go: a store with listeners): the listed
workloads, why the list is not current, the pending wishes (the count a scale in flight goes to, so `+ +`
counts from the wish and the rows show it at once) and what the last smoke test said of each replica. The
workloads panel's rows and title, the charts and the models view listen to it; the workloads feature
(ui/workloads.py) writes it. It lives on the UI thread: workers hand their answers over as messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aitui.models import Workload
from aitui.services import labels


class WorkloadStore:
    def __init__(self, default: str = labels.NAME) -> None:
        self.default = default  # the workload d deploys, and t and p send to when no row is selected
        self.selected = ""  # the workload under the workloads view's cursor ("" none): what the charts show
        self.workloads: dict[str, Workload] = {}
        self.trouble = ""  # what the target says is not current (shown under the workloads)
        self.unreachable = ""  # why the target gave no list at all ("" when it did)
        self.wishes: dict[str, int] = {}  # workload -> the replicas it is being scaled to
        self.converging: set[str] = set()  # workloads a scale worker is moving now
        self.smoke: dict[str, str] = {}  # replica -> its last smoke test ("ok 8/8", "FLAG 6/8")
        self._listeners: list[Callable[[], None]] = []
        self._listings = self._listing_shown = 0  # lists asked for, and the newest one taken (see listed)

    def listen(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in self._listeners:
            listener()

    # -- what the feature writes ----------------------------------------------------------------
    def asked(self) -> int:
        """A list is asked for: its number, for `listed`."""
        self._listings += 1
        return self._listings

    def listed(self, found: list[Workload] | None, trouble: str = "", seq: int = 0) -> None:
        """The target's list (None: it gave none, `trouble` says why). A finished scale's wish goes
        once the list shows its count (or the workload is gone). A list asked for before one already
        taken is dropped (`seq`; 0: take it): an exclusive worker that was cancelled still posts when its
        call returns, and the engine's list retries while a container goes, so an older list can come back
        last and would stay, since no event follows the last change."""
        if seq:
            if seq < self._listing_shown:
                return
            self._listing_shown = seq
        if found is None:
            self.unreachable = trouble
        else:
            self.workloads, self.trouble, self.unreachable = {w.name: w for w in found}, trouble, ""
            self._settle()
        self.changed()

    def select(self, name: str) -> None:
        if name != self.selected:
            self.selected = name
            self.changed()

    def wish(self, name: str, n: int) -> None:
        self.wishes[name] = n
        self.changed()

    def forget(self) -> None:
        """A new context: its workloads are not the old one's (a scale still in flight there ends there)."""
        self.workloads, self.trouble, self.unreachable = {}, "", ""

    def _settle(self) -> None:
        for name in [n for n in self.wishes if n not in self.converging]:
            w = self.workloads.get(name)
            if w is None or w.desired == self.wishes[name]:
                del self.wishes[name]

    # -- what the listeners read ----------------------------------------------------------------
    @property
    def charted(self) -> str:
        """Whose replicas the charts show: the selected workload, else the default one."""
        return self.selected if self.selected in self.workloads else self.default

    def desired(self, w: Workload) -> int:
        return self.wishes.get(w.name, w.desired)

    def shown(self) -> list[Workload]:
        """The workloads with each scale in flight shown as its desired count."""
        return [replace(w, desired=self.wishes[w.name]) if w.name in self.wishes else w
                for w in self.workloads.values()]
