"""The dashboard's screen and its own keys: the `/` and `:` lines and esc, which closes them or leaves the
view on top; z, which zooms the focused panel; j / k in the focused list. Its footer lists the dashboard's
keys in the key table's order, wherever along the focus chain they are bound (the screen, the features that
wrap the panels, the App), after the focused panel's own (the log's while it has the focus)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.binding import ActiveBinding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, TabbedContent

from aitui.ui.browser import ResourceBrowser, ResourceTable
from aitui.ui.images import ImagesTable
from aitui.ui.keys import ORDER, bindings
from aitui.ui.lines import CommandLine, FilterLine, Line
from aitui.ui.logs import PodLog


class Dashboard(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = bindings("screen")

    @dataclass
    class Command(Message):
        """A `:` line entered (the App runs it: ui/commands.py)."""

        line: str

    class Bottom(Message):
        """esc with nothing left to close: the workloads alone are shown."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        found = super().active_bindings
        return dict(sorted(found.items(), key=lambda kv: ORDER.get(kv[1].binding.id or "", -1)))

    def focus_list(self) -> None:
        if self.maximized is not None:  # a zoomed panel keeps the keys (a search in a zoomed log)
            self.maximized.focus()
        else:
            self.query_one(ResourceBrowser).focus_top()

    # -- / and : ----------------------------------------------------------------------------------
    def action_filter(self) -> None:
        self.query_one(FilterLine).open()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        text = self.query_one(FilterLine).value
        images = self.query_one(ImagesTable)
        images.show(images.images, text)
        self.query_one(ResourceBrowser).filter(text)
        self.query_one(PodLog).search(text)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.focus_list()

    def action_command(self) -> None:
        self.query_one(CommandLine).open()

    @on(CommandLine.Entered)
    def _command_entered(self, m: CommandLine.Entered) -> None:
        m.stop()
        self.focus_list()
        if m.line.strip(" :"):
            self.post_message(self.Command(m.line))

    def action_go_back(self) -> None:
        """esc: close the filter or the command line; else leave the view on top."""
        line = next((line for line in self.query(Line) if line.display), None)
        if line is not None:
            line.close()
            if isinstance(line, FilterLine):
                self._filter_changed()
        elif not self.query_one(ResourceBrowser).back():
            self.post_message(self.Bottom())
            return
        self.focus_list()

    # -- z, j, k ----------------------------------------------------------------------------------
    def action_zoom(self) -> None:
        """z: the focused panel full screen (k9s's zoom); from the lists, the open tab (logs, build…).
        esc (or z) gives the dashboard back."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        if focused is None or isinstance(focused, (ImagesTable, ResourceTable, Input)):
            pane = self.query_one(TabbedContent).active_pane
            focused = next((w for w in pane.query("*") if w.can_focus), None) if pane else None
        if focused is not None and self.maximize(focused, container=False):
            focused.focus()

    def action_cursor(self, direction: str) -> None:
        if isinstance(focused := self.focused, (ImagesTable, ResourceTable)):
            (focused.action_cursor_down if direction == "down" else focused.action_cursor_up)()
