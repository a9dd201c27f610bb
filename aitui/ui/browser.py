"""The resource browser: a stack of resource views (k9s's page stack). The bottom is the workloads;
`enter` pushes what the selected row's view opens, `:pods`, `:svc`… open a view, esc pops. One table per
kind, made from the registry; only the top one is shown."""

from __future__ import annotations

import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Container
from textual.message import Message
from textual.widgets import DataTable

from aitui.ui.resources import REGISTRY, ResourceView
from aitui.ui.tables import KeyedTable, sync_rows

Frame = tuple[str, "str | None"]  # (kind, the parent row's key: the workload entered from, or None)
HOME: Frame = ("workloads", None)


class ResourceTable(KeyedTable):
    def __init__(self, view: ResourceView) -> None:
        super().__init__(id=view.kind)
        self.view = view

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for key, label in self.view.columns:
            self.add_column(label, key=key)

    def show(self, objs: list[Any], now: float) -> None:
        """Apply the list as a diff keyed by the view's key: cursor and scroll stay put."""
        view = self.view
        sync_rows(self, {view.key(o): view.row(o, now) for o in objs})

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)


class ResourceBrowser(Container):
    DEFAULT_CSS = """
    ResourceBrowser { width: 3fr; height: 100%; }
    ResourceBrowser > ResourceTable { height: 100%; border: round $primary; scrollbar-size-horizontal: 0; }
    ResourceBrowser > ResourceTable:focus { border: round $accent; }
    """

    class Opened(Message):
        """A view was pushed or popped: its rows are wanted now."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stack: list[Frame] = [HOME]
        self.filter_text = ""
        self._where = ""

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
            top.border_subtitle = "listing…"
        self.retitle()
        self.focus_top()
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

    # -- what is shown ----------------------------------------------------------------------
    def show(self, frame: Frame, objs: list[Any], trouble: str = "") -> None:
        """The objects of `frame`'s view, if it is still on the stack (a late answer for a popped view
        is dropped); filtered by the `/` text on their keys."""
        if frame not in self.stack:
            return
        view, table = REGISTRY[frame[0]], self.table(frame[0])
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

    @on(DataTable.RowSelected)
    def _entered(self, event: DataTable.RowSelected) -> None:
        """enter on a row: the view its kind opens, under it (k9s's drill-down)."""
        event.stop()
        view = REGISTRY[self.top[0]]
        if view.enter:
            self.open(view.enter, str(event.row_key.value))
