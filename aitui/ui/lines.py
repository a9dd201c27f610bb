"""The `/` and `:` lines, docked over the dashboard. A key opens one and focuses it at once: keys typed
right after / or : (a fast typist, a paste) must land in it (Widget.focus() waits a turn, a CSS class a
restyle; both would lose them). The `/` line's text is what the App filters by; the `:` line completes
commands, contexts, namespaces and models, and a file's path after `predict` and `model`, and says which
command was entered."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

from aitui.ui.commands import COMMANDS

WINDOWS = ["window 5m", "window 15m", "window 1h"]
PATH_COMMANDS = ("predict", "model")  # the commands whose argument is a file or folder


def complete_path(typed: str) -> str | None:
    """`typed` completed to the first entry of its folder that starts with its last part (a folder gets its
    /); None when none does. Hidden entries only when the last part starts with a dot."""
    folder, _, start = typed.rpartition("/")
    where = Path(os.path.expanduser(folder + "/" if folder or typed.startswith("/") else "."))
    try:
        names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(where)
                       if e.name.startswith(start) and (start.startswith(".") or not e.name.startswith(".")))
    except OSError:
        return None
    return typed + names[0][len(start):] if names else None


class LineSuggester(Suggester):
    """The commands and the known words as typed (any case), and a path after `predict ` or `model `."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # (a path's case is its own)
        self.words = words

    async def get_suggestion(self, value: str) -> str | None:
        command, space, rest = value.partition(" ")
        if space and command in PATH_COMMANDS and rest:
            done = complete_path(rest)
            return f"{command} {done}" if done else None
        lowered = value.lower()
        word = next((w for w in self.words if w.lower().startswith(lowered)), None)
        return value + word[len(value):] if word else None


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
        self.suggester = LineSuggester([c.name for c in COMMANDS] + words + WINDOWS)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        self.post_message(self.Entered(event.value))
