"""Modal dialogs: confirm a change, ask for a number (prefilled), show a prediction."""

from __future__ import annotations

import io
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from aitui.ui.keys import bindings

DIALOG_CSS = """
.dialog { width: 64; max-width: 100%; height: auto; border: thick $primary;
          background: $surface; padding: 1 2; }
.dialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
.dialog Button { margin-left: 1; }
.dialog Label { width: 100%; }  /* a long line wraps in the dialog instead of being cut at its edge */
ConfirmScreen, NumberScreen, PredictionScreen { align: center middle; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Says exactly what will change; enter/y confirms, esc/n cancels."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = bindings("confirm")

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text, self.lines = title, lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as v:
            v.border_title = self.title_text
            for line in self.lines:
                yield Label(line)
            with Horizontal():
                yield Button("Yes (y)", variant="primary", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class NumberScreen(ModalScreen[int | None]):
    """A number, prefilled (k9s's scale dialog): enter accepts, esc cancels."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = bindings("number")

    def __init__(self, title: str, prompt: str, value: int, low: int = 0, high: int = 64) -> None:
        super().__init__()
        self.title_text, self.prompt, self.value, self.low, self.high = title, prompt, value, low, high

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as v:
            v.border_title = self.title_text
            yield Label(f"{self.prompt} ({self.low}–{self.high}):")
            yield Input(str(self.value), type="integer", id="number")
            yield Label("", id="why")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            n = int(event.value)
        except ValueError:
            n = -1
        if not self.low <= n <= self.high:
            self.query_one("#why", Label).update(f"[red]enter a whole number from {self.low} to {self.high}[/]")
            return
        self.dismiss(n)

    def action_cancel(self) -> None:
        self.dismiss(None)


def half_blocks(png: bytes, width: int = 24) -> Text:
    """An image in the terminal: each character is two pixels, top as foreground, bottom as background."""
    from PIL import Image

    try:
        opened = Image.open(io.BytesIO(png))
        opened.draft("RGB", (width * 4, width * 4))  # (a JPEG decodes at a fraction of its size: enough here)
        rgb = opened.convert("RGB")
        height = max(2, round(rgb.height * width / rgb.width / 2) * 2)
        img = rgb.resize((width, height))
    except Exception as exc:  # (what the model read, the terminal may not: say so where the picture goes)
        return Text(f"(no picture: {type(exc).__name__})", style="dim")
    raw = img.tobytes()  # RGB, row by row
    text = Text()
    for y in range(0, height, 2):
        for x in range(width):
            i, j = (y * width + x) * 3, ((y + 1) * width + x) * 3
            top, bottom = raw[i:i + 3], raw[j:j + 3]
            text.append("▀", style=f"rgb({top[0]},{top[1]},{top[2]}) on rgb({bottom[0]},{bottom[1]},{bottom[2]})")
        text.append("\n")
    return text


class PredictionScreen(ModalScreen[None]):
    DEFAULT_CSS = DIALOG_CSS + """
    PredictionScreen Horizontal.body { height: auto; margin-top: 0; align-horizontal: left; }
    PredictionScreen #picture { width: 22; }
    PredictionScreen #bars { width: 1fr; padding-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("prediction")

    def __init__(self, sample: str, png: bytes, labels: tuple[tuple[str, float], ...], detail: str,
                 title: str = "") -> None:
        super().__init__()
        self.sample, self.png, self.labels, self.detail = sample, png, labels, detail
        self.heading = title or f"Predict: a sample '{sample}'"

    def compose(self) -> ComposeResult:
        bars = Text()
        for label, score in self.labels[:5]:
            n = round(score * 14)
            bars.append(f"{label:>8} ", style="bold" if label == self.labels[0][0] else "")
            bars.append("█" * n, style="green" if label == self.sample else "cyan")
            bars.append("·" * (14 - n), style="dim")
            bars.append(f" {score:6.1%}\n")
        with Vertical(classes="dialog") as v:
            v.border_title = self.heading
            with Horizontal(classes="body"):
                yield Static(half_blocks(self.png, 20), id="picture")
                yield Static(bars, id="bars")
            yield Label(self.detail)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
