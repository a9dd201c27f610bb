"""The live object of a row, full screen: YAML (managedFields folded away; `docker inspect` on the local
engine) or a describe summary. Read again every few seconds while open, so it stays live; an object
deleted meanwhile keeps its last text under a line that says so. `/` searches (n / N: next, previous)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from aitui.ui.keys import bindings, blockers

if TYPE_CHECKING:
    from aitui.services.targets import Target

AGAIN = 3.0  # seconds between reads of the object (the next one starts only after the last ends)
OWN_KEYS = {"escape", "slash", "n", "N", "y", "i", "q", "question_mark", "j", "k"}


@dataclass
class ObjectRead(Message):
    text: str | None  # None: not read (`why` says why)
    note: str = ""  # what was folded away
    why: str = ""
    gone: bool = False  # NotFound: the object was deleted (or never was)


class ObjectScreen(Screen[None]):
    DEFAULT_CSS = """
    ObjectScreen #what { height: 1; padding: 0 1; background: $boost; }
    ObjectScreen #what.gone { background: $error 40%; }
    ObjectScreen #text { height: 1fr; border: round $primary; padding: 0 1; }  /* by id: Footer is one too */
    ObjectScreen #body { width: auto; }
    ObjectScreen #find { dock: bottom; display: none; }
    """
    # the App's keys would act behind this screen (d deploys…): here they do nothing
    BINDINGS: ClassVar[list[BindingType]] = [*bindings("yaml"), *blockers(OWN_KEYS)]  # (: too: its line is the
    # main screen's)

    def __init__(self, target_of: Callable[[], Target], kind: str, name: str, mode: str = "yaml") -> None:
        super().__init__()
        self.target_of, self.kind, self.object_name, self.mode = target_of, kind, name, mode
        self.text: str | None = None  # the last text read
        self.note = ""
        self.gone_since = 0.0
        self.matches: list[tuple[int, int, int]] = []  # (line, start, end) in the text
        self.current = 0
        self._timer: object = None

    def compose(self) -> ComposeResult:
        yield Static("reading…", id="what")
        with ScrollableContainer(id="text") as scroll:
            scroll.border_title = self._title()
            yield Static("", id="body")
        yield Input(placeholder="search (enter keeps it, n / N next / previous, esc clears)", id="find")
        yield Footer()

    def _title(self) -> str:
        return f"{'YAML' if self.mode == 'yaml' else 'Describe'}: {self.kind}/{self.object_name} · esc back"

    def on_mount(self) -> None:
        self.query_one("#text", ScrollableContainer).focus()
        self.read()

    # -- reading --------------------------------------------------------------------------------
    @work(thread=True, group="object", exclusive=True, exit_on_error=False)
    def read(self) -> None:
        from aitui.services.describe import to_yaml
        from aitui.services.redact import text as masked
        from aitui.services.targets import NotFound, TargetError

        mode = self.mode
        try:
            target = self.target_of()
            if mode == "yaml":
                text, note = to_yaml(target.manifest(self.kind, self.object_name))
            else:
                text, note = masked(target.describe(self.kind, self.object_name)), ""
        except NotFound as exc:
            self.post_message(ObjectRead(None, why=str(exc), gone=True))
            return
        except TargetError as exc:
            self.post_message(ObjectRead(None, why=str(exc)))
            return
        if mode == self.mode:  # (a y / i pressed meanwhile reads again)
            self.post_message(ObjectRead(text, note))

    @on(ObjectRead)
    def _read(self, m: ObjectRead) -> None:
        what = self.query_one("#what", Static)
        if m.text is not None:
            self.gone_since = 0.0
            what.remove_class("gone")
            changed = m.text != self.text
            self.text, self.note = m.text, m.note
            what.update(m.note or ("live; read every few seconds" if self.mode == "describe" else "live"))
            if changed:
                self._show_text()
        else:
            what.add_class("gone")
            if m.gone and self.text is not None:
                self.gone_since = self.gone_since or time.time()
                stamp = time.strftime("%H:%M:%S", time.localtime(self.gone_since))
                what.update(f"{self.kind}/{self.object_name} was deleted (gone since {stamp}): "
                            "the last text read is below")
            else:
                what.update(m.why)
        if self.is_attached:
            self._timer = self.set_timer(AGAIN, self.read)

    def _show_text(self) -> None:
        text = self._styled(self.text or "")
        for i, (line, start, end) in enumerate(self.matches):
            offset = self._offsets[line] + start
            text.stylize("black on yellow" if i != self.current else "black on dark_orange", offset,
                         offset + end - start)
        text.no_wrap = True
        self.query_one("#body", Static).update(text)

    def _styled(self, raw: str) -> Text:
        lines = raw.split("\n")
        self._offsets = [0]
        for line in lines:
            self._offsets.append(self._offsets[-1] + len(line) + 1)
        if self.mode == "yaml":
            text = Syntax(raw, "yaml", theme="ansi_dark", background_color="default").highlight(raw)
            text.rstrip()
            return text
        text = Text(raw)
        text.highlight_regex(r"(?m)^[A-Z][\w ]*:", "bold")
        return text

    # -- keys -----------------------------------------------------------------------------------
    def action_close(self) -> None:
        find = self.query_one("#find", Input)
        if find.display:
            find.value = ""
            find.display = False
            self.query_one("#text", ScrollableContainer).focus()
            return
        self.dismiss(None)

    def action_nothing(self) -> None:
        """An App key that has no meaning here."""

    def action_mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self.text, self.matches = None, []
            self.query_one("#text", ScrollableContainer).border_title = self._title()
            self.query_one("#body", Static).update("")
            self.query_one("#what", Static).update("reading…")
            self.read()

    def action_scroll(self, lines: int) -> None:
        scroll = self.query_one("#text", ScrollableContainer)
        scroll.scroll_to(y=scroll.scroll_y + lines, animate=False)

    def action_find(self) -> None:
        find = self.query_one("#find", Input)
        find.display = True
        self.set_focus(find)

    @on(Input.Changed, "#find")
    def _find_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @on(Input.Submitted, "#find")
    def _find_done(self) -> None:
        self.query_one("#text", ScrollableContainer).focus()  # the matches stay: n / N walk them

    def search(self, needle: str) -> None:
        self.matches, self.current = [], 0
        if needle:
            pattern = re.compile(re.escape(needle), re.IGNORECASE)
            for n, line in enumerate((self.text or "").split("\n")):
                self.matches += [(n, m.start(), m.end()) for m in pattern.finditer(line)]
        self._show_text()
        self._show_match()

    def action_next_match(self, step: int) -> None:
        if self.matches:
            self.current = (self.current + step) % len(self.matches)
            self._show_text()
            self._show_match()

    def _show_match(self) -> None:
        scroll = self.query_one("#text", ScrollableContainer)
        needle = self.query_one("#find", Input).value
        if not self.matches:
            scroll.border_subtitle = f"no match for {needle!r}" if needle else ""
            return
        line = self.matches[self.current][0]
        scroll.border_subtitle = f"match {self.current + 1} of {len(self.matches)} · n / N"
        scroll.scroll_to(y=max(0, line - 3), animate=False)
