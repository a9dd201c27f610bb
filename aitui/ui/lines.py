"""The `/` and `:` lines, docked over the dashboard. A key opens one and focuses it at once: keys typed
right after / or : (a fast typist, a paste) must land in it (Widget.focus() waits a turn, a CSS class a
restyle; both would lose them). The `/` line's text is what the App filters by; the `:` line completes
commands, contexts and namespaces, and says which command was entered."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input

from aitui.ui.commands import COMMANDS

WINDOWS = ["window 5m", "window 15m", "window 1h"]


class Line(Input):
    DEFAULT_CSS = "Line { dock: top; display: none; }"

    def open(self) -> None:
        self.display = True
        self.screen.set_focus(self)

    def close(self) -> None:
        self.value, self.display = "", False


class FilterLine(Line):
    def __init__(self) -> None:
        super().__init__(placeholder="filter images, workloads and the pod log (esc clears)", id="filter")


class CommandLine(Line):
    @dataclass
    class Entered(Message):
        line: str

    def __init__(self) -> None:
        super().__init__(placeholder="ctx <name> · ns <name> · scale <n> · window 5m|15m|1h   (→ completes, esc "
                                     "closes)", id="command")
        self.border_title = ":"

    def open(self) -> None:
        self.value = ""
        super().open()

    def complete(self, words: list[str]) -> None:
        """The commands and these words (`ctx <context>`, `ns <namespace>`) complete as they are typed."""
        self.suggester = SuggestFromList([c.name for c in COMMANDS] + words + WINDOWS, case_sensitive=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        self.post_message(self.Entered(event.value))
