"""The Activity tab: one line per thing aitui did or saw, and what a background job is doing now (its
tab label and the log's subtitle)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import Log

from aitui.services.redact import text as masked
from aitui.ui.tabs import label_tab


class ActivityLog(Log):
    def __init__(self, own_model: bool = False, **kwargs: object) -> None:
        super().__init__(max_lines=2000, **kwargs)  # type: ignore[arg-type]
        self.own_model = own_model  # the settings name a model project (the header names it), not the recognizer

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None) -> Any:
        """Lines with what looks secret masked (a URL's user:token@, API_TOKEN=…): Activity shows it all."""
        return super().write_lines([masked(line) for line in lines], scroll_end)

    def on_mount(self) -> None:
        # the empty state says what to do first; what aitui does then follows it here
        what = "the model's image" if self.own_model else "the recognizer"
        self.write_line(f"b builds {what} · d deploys it · t sends it traffic · ? lists every key")

    def progress(self, text: str) -> None:
        """What runs in the background now ("" when nothing does)."""
        self.border_subtitle = text
        label_tab(self, f"Activity: {text}" if text else "Activity")
