"""The `?` screen: aitui's keys and `:` commands on one page, k9s style (fits 80x24), from ui/keys.py."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from aitui.ui.commands import COMMANDS
from aitui.ui.keys import bindings, help_rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 78; max-width: 100%; height: auto; max-height: 100%;
                                  border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("help")

    def __init__(self, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self._keymap = keymap  # the user's [keys] (binding id -> key): the keys shown are the ones that work

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold dark_orange", no_wrap=True)
        keys.add_column()
        for key, text in help_rows(self._keymap):
            keys.add_row(key, text)
        commands = Table.grid(padding=(0, 2))
        commands.add_column(style="bold", no_wrap=True)
        commands.add_column()
        for c in COMMANDS:
            commands.add_row(f":{c.name} {c.args}".rstrip(), c.help)
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys · esc closes"
            yield Static(keys)
            yield Static("")
            yield Static(commands)
