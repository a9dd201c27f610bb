"""The resource browser: a stack of resource views (k9s's page stack). The bottom is the workloads, whose
rows are the store's (ui/store.py); `enter` pushes what the selected row's view opens, `:pods`, `:svc`…
open a view, esc pops. One table per kind, made from the registry; only the top one is shown, and its rows
are listed by the browser's own worker (again every few seconds for a view of rates)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.message import Message

from aitui.ui.resources import REGISTRY, ResourceView
from aitui.ui.table import Cells, Table

if TYPE_CHECKING:
    from aitui.services.targets import Target
    from aitui.ui.store import WorkloadStore

Frame = tuple[str, "str | None"]  # (kind, the parent row's key: the workload entered from, or None)
HOME: Frame = ("workloads", None)
REFETCH = 5.0  # seconds between fetches of a view of rates (the models view) while it is on top


def age_changes(created: float | None, now: float) -> float:
    """When an AGE cell made now stops being right (ui/format.age: 42s, 5m, 3h, 12d)."""
    if created is None:
        return float("inf")
    s = max(0.0, now - created)
    step = 1 if s < 120 else 60 if s < 7200 else 3600 if s < 172800 else 86400
    return created + (s // step + 1) * step


class ResourceTable(Table):
    """One view's rows. A row is made again only when its object changed or its age text would: a change
    of 50 pods among 5,000 makes 50 rows, not 5,000."""

    def __init__(self, view: ResourceView) -> None:
        super().__init__(view.columns, id=view.kind)
        self.view = view
        self._made: dict[str, tuple[Any, float, Cells]] = {}  # key -> (object, good until, cells)

    def show(self, objs: list[Any], now: float) -> None:
        view, made, fresh = self.view, self._made, {}
        rows: dict[str, Cells] = {}
        for o in objs:
            key = view.key(o)
            old = made.get(key)
            if old is not None and now < old[1] and (old[0] is o or old[0] == o):  # the cache's own object: kept
                cells = old[2]
                fresh[key] = old
            else:
                cells = tuple(view.row(o, now).values())
                fresh[key] = (o, age_changes(getattr(o, "created", None), now), cells)
            rows[key] = cells
        self._made = fresh
        self.set_rows(rows)

    @property
    def selected(self) -> str | None:
        return self.cursor_key


class ResourceBrowser(Container):
    DEFAULT_CSS = """
    ResourceBrowser { width: 3fr; height: 100%; }
    ResourceBrowser > ResourceTable { height: 100%; border: round $primary; scrollbar-size-horizontal: 0; }
    ResourceBrowser > ResourceTable:focus { border: round $accent; }
    """

    class Opened(Message):
        """A view was pushed or popped (its rows are being listed): the keys that apply may differ."""

    @dataclass
    class Listed(Message):
        frame: Frame  # the view the rows are of
        rows: list[Any] | None  # None: the target did not answer, `why` says why
        why: str = ""
        seq: int = 0  # which listing this is: one asked for before a list already shown is dropped

    def __init__(self, store: WorkloadStore, target_of: Callable[[], Target], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store, self._target_of = store, target_of
        self.stack: list[Frame] = [HOME]
        self.filter_text = ""
        self._where = ""
        self._listings = self._listing_shown = 0  # rows asked for, and the newest shown (as the store's)

    def on_mount(self) -> None:
        self.store.listen(self._workloads_changed)
        self.set_interval(REFETCH, self._refetch)

    def compose(self) -> ComposeResult:
        for view in REGISTRY.values():
            table = ResourceTable(view)
            table.display = view.kind == HOME[0]
            yield table

    # -- the stack ---------------------------------------------------------------------------
    @property
    def top(self) -> Frame:
        return self.stack[-1]

    @property
    def view(self) -> ResourceView:
        return REGISTRY[self.top[0]]

    def table(self, kind: str | None = None) -> ResourceTable:
        return self.query_one(f"#{kind or self.top[0]}", ResourceTable)

    def open(self, kind: str, parent: str | None = None) -> None:
        """Push `kind` (under `parent`); a kind already on the stack is popped back to first (no loops)."""
        if (kind, parent) == self.top:
            return
        while len(self.stack) > 1 and any(k == kind for k, _ in self.stack):
            self.stack.pop()
        if (kind, parent) != self.top:
            self.stack.append((kind, parent))
        self._show_top(fresh=True)

    def back(self) -> bool:
        """Pop the top view; False at the bottom."""
        if len(self.stack) == 1:
            return False
        self.stack.pop()
        self._show_top(fresh=False)
        return True

    def home(self) -> None:
        """The workloads alone, every table empty (a new context)."""
        self.stack = [HOME]
        for table in self.query(ResourceTable):
            table.clear()
        self._show_top(fresh=False)

    def _show_top(self, fresh: bool) -> None:
        top = self.table()
        for table in self.query(ResourceTable):
            table.display = table is top
        if fresh and top.view.kind != HOME[0]:
            top.clear()
            top.move_cursor(row=0)
            top.border_subtitle = "listing…"
        self.retitle()
        self.focus_top()
        self.load()
        self.post_message(self.Opened())

    def focus_top(self) -> None:
        """At once (not after a turn, as Widget.focus does): the next key of a burst acts on it."""
        self.screen.set_focus(self.table())

    def retitle(self, where: str | None = None) -> None:
        """Each table's title names its view, what it was entered from and where ("local", ctx/ns)."""
        self._where = where if where is not None else self._where
        back = " · esc back" if len(self.stack) > 1 else ""
        for kind, parent in self.stack:
            title = REGISTRY[kind].title.format(parent=parent or "all workloads")
            self.table(kind).border_title = f"{title} ({self._where}){back}"

    # -- the rows -----------------------------------------------------------------------------
    def load(self) -> None:
        """The rows of the view on top, when it is not the workloads (the store has those)."""
        if self.top != HOME:
            self._listings += 1
            self._fetch(self.top, self._listings)

    @work(thread=True, group="rows", exclusive=True, exit_on_error=False)
    def _fetch(self, frame: Frame, seq: int) -> None:
        from aitui.services.targets import TargetError

        try:
            self.post_message(self.Listed(frame, REGISTRY[frame[0]].fetch(self._target_of(), frame[1]), seq=seq))
        except TargetError as exc:
            self.post_message(self.Listed(frame, None, str(exc), seq))

    @on(Listed)
    def _listed(self, m: ResourceBrowser.Listed) -> None:
        m.stop()
        if m.seq:
            if m.seq < self._listing_shown:
                return
            self._listing_shown = m.seq
        if m.rows is not None:
            self.show(m.frame, m.rows)
        elif m.frame == self.top:
            self.trouble(m.why)

    def _refetch(self) -> None:
        if REGISTRY[self.top[0]].refetch and self.screen is self.app.screen:  # (not behind a screen over it)
            self.load()

    def _workloads_changed(self) -> None:
        if self.store.unreachable:
            self.trouble(self.store.unreachable)
        else:
            self.show(HOME, self.store.shown(), self.store.trouble)

    def filter(self, text: str) -> None:
        """The `/` text: the workloads shown again, the view on top listed again, through it."""
        self.filter_text = text
        self._workloads_changed()
        self.load()

    # -- what is shown ----------------------------------------------------------------------
    def show(self, frame: Frame, objs: list[Any], trouble: str = "") -> None:
        """The objects of `frame`'s view, if it is still on the stack (a late answer for a popped view
        is dropped); filtered by the `/` text on their keys."""
        if frame not in self.stack or not self.is_attached:
            return
        view, table = REGISTRY[frame[0]], self.table(frame[0])
        objs = view.annotate(objs, self.store)
        needle = self.filter_text.lower()
        shown = [o for o in objs if needle in view.key(o).lower()] if needle else objs
        table.show(shown, time.time())
        table.border_subtitle = trouble or (view.summary(objs) if objs else view.empty)

    def trouble(self, why: str) -> None:
        """The target cannot list (unreachable, forbidden): say why on the view that is shown."""
        self.table().border_subtitle = why

    def selected_workload(self) -> str | None:
        """The workload the selected row belongs to (the one entered from, in a view under it)."""
        kind, parent = self.top
        key = self.table().selected
        return REGISTRY[kind].workload(key, parent) if key is not None else parent

    def workload(self) -> str:
        """The selected row's workload; the store's own (the one `d` deploys) when no row names one."""
        return self.selected_workload() or self.store.default

    def selected_row(self) -> tuple[str, str] | None:
        """(kind, key) of the selected row; None, said, when the view shows none."""
        key = self.table().selected
        if key is None:
            self.notify(f"no {self.view.kind} row selected", severity="warning")
            return None
        return self.view.kind, key

    @on(Table.Highlighted)
    def _highlighted(self, event: Table.Highlighted) -> None:
        """The charts follow the workload under the cursor (or the one the view is under)."""
        event.stop()
        if event.table is self.table():
            self.store.select(self.selected_workload() or "")

    @on(Table.RowSelected)
    def _entered(self, event: Table.RowSelected) -> None:
        """enter on a row: the view its kind opens, under it (k9s's drill-down)."""
        event.stop()
        view = REGISTRY[self.top[0]]
        if view.enter:
            self.open(view.enter, str(event.row_key.value))
