"""The `:doctor` screen: the same checks as `aitui doctor` (services/doctor.py), run in a worker, each with
its fix; r runs them again, esc closes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from aitui.ui.keys import bindings

if TYPE_CHECKING:
    from aitui.config import Settings
    from aitui.services.doctor import Check

STYLE = {"ok": "bold green", "warn": "bold yellow", "fail": "bold red"}


def render(checks: list[Check]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for c in checks:
        found = Text(c.found)
        if c.fix:
            found.append("\nfix: ", style="bold").append(c.fix, style="italic")
        table.add_row(Text(c.status.upper(), style=STYLE.get(c.status, "")), c.name, found)
    return table


class DoctorScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DoctorScreen { align: center middle; }
    DoctorScreen > VerticalScroll { width: 110; max-width: 100%; height: auto; max-height: 100%;
                                    border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("doctor")

    @dataclass
    class Checked(Message):
        checks: list[Check]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.checks: list[Check] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Doctor · r checks again · esc closes"
            yield Static("checking docker, prometheus, the kubeconfig's contexts and offline builds…", id="doctor")

    def on_mount(self) -> None:
        self.action_recheck()

    def action_recheck(self) -> None:
        self.query_one("#doctor", Static).update("checking…")
        self.query_one(VerticalScroll).border_subtitle = ""
        self.run_checks()

    @work(thread=True, group="doctor", exclusive=True, exit_on_error=False)
    def run_checks(self) -> None:
        from aitui.services import doctor

        self.post_message(self.Checked(doctor.run(self.settings)))

    @on(Checked)
    def _checked(self, m: DoctorScreen.Checked) -> None:
        self.checks = m.checks
        self.query_one("#doctor", Static).update(render(m.checks))
        fails = sum(c.status == "fail" for c in m.checks)
        warns = sum(c.status == "warn" for c in m.checks)
        self.query_one(VerticalScroll).border_subtitle = \
            f"{len(m.checks)} checks: {fails} failed, {warns} warnings" if fails or warns else "all ok"
