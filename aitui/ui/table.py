"""A virtual table for lists of thousands of rows (5,000 pods): only the lines on screen are rendered,
and a change costs what changed. Textual's DataTable measures every cell it is given and re-renders its
visible rows through Rich on every change (0.4 s to fill 5,000 rows, ~200 ms for a 50-row change,
measured); this keeps each row as plain strings, keyed, and draws a line as a few segments.

It speaks the part of DataTable's API aitui uses (rows, row_count, get_cell, get_row_index, cursor_row,
move_cursor, clear, RowSelected) and looks like it (the same component classes' colours). Every list of
aitui is one: the resource views (ui/browser.py) and the images (ui/images.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from aitui.ui.keys import bindings

Cells = tuple[str, ...]


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _crop(text: str, width: int) -> str:
    """The text cut to `width` cells (a column narrower than its cell, as DataTable crops it)."""
    if _width(text) <= width:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > width:
            break
        out += ch
    return out


def _widths(columns: tuple[tuple[str, str], ...], rows: dict[str, Cells]) -> list[int]:
    """Each column's widest cell (its header included), column by column at C speed: a pass per column
    over 20,000 rows is a few milliseconds, a Python call per cell ten times that."""
    widths = [_width(label) for _, label in columns]
    for i, column in enumerate(zip(*rows.values(), strict=False)):
        if i < len(widths):
            ascii_only = all(map(str.isascii, column))
            widths[i] = max(widths[i], max(map(len if ascii_only else cell_len, column)))
    return widths


@dataclass(frozen=True)
class RowKey:
    value: str  # DataTable's RowKey has the key as .value: handlers read it the same way


class Table(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    Table {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .table--header { background-tint: $foreground 5%; }
        }
        & > .table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"table--header", "table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = bindings("table")

    @dataclass
    class RowSelected(Message):
        """enter on a row."""

        table: Table
        row_key: RowKey

        @property
        def control(self) -> Table:
            return self.table

    @dataclass
    class Highlighted(Message):
        """The cursor is on another row (moved, or its row went)."""

        table: Table
        key: str | None

        @property
        def control(self) -> Table:
            return self.table

    def __init__(self, columns: Iterable[tuple[str, str]], padding: int = 1, cells_apart: bool = False,
                 **kwargs: object) -> None:
        """`padding`: blank cells each side of a column. `cells_apart`: a line drawn as DataTable draws
        it, a segment a cell and the header's colour on to the right edge (a few rows: the images)."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.columns = tuple(columns)  # (key, header)
        self._col = {key: i for i, (key, _) in enumerate(self.columns)}
        self.rows: dict[str, Cells] = {}  # key -> cells, in display order
        self._keys: list[str] = []  # display order
        self._index: dict[str, int] = {}
        self._pad = " " * padding
        self._apart = cells_apart
        self._fixed: dict[int, int] = {}  # column -> its width, where set (else its widest cell)
        self._widths = [_width(label) for _, label in self.columns]
        self.cursor_row = 0

    # -- DataTable's API, the part aitui uses -------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._keys)

    def get_cell(self, key: str, column: str) -> str:
        return self.rows[key][self._col[column]]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if self._keys else None

    def clear(self) -> None:
        self.set_rows({})

    def set_width(self, column: str, width: int) -> None:
        """A column's width from now on, whatever its cells (a longer one is cut)."""
        self._fixed[self._col[column]] = width
        self.set_rows(self.rows)

    @property
    def line_width(self) -> int:
        """A row's width in cells: the columns and their padding."""
        return sum(w + 2 * len(self._pad) for w in self._widths)

    def move_cursor(self, row: int, scroll: bool = True) -> None:
        was = self.cursor_key
        if not self._keys:
            self.cursor_row = 0
            return
        self.cursor_row = max(0, min(row, len(self._keys) - 1))
        if scroll:
            self._scroll_to_cursor()
        self.refresh()
        self._highlighted(was)

    def _highlighted(self, was: str | None) -> None:
        if self.cursor_key != was:
            self.post_message(self.Highlighted(self, self.cursor_key))

    # -- the rows ----------------------------------------------------------------------------
    def set_rows(self, rows: dict[str, Cells]) -> None:
        """Show exactly `rows`, in their order. The cursor stays on its row's key where that row is still
        there (else at the same index); the scroll position stays. Work is one pass over the rows."""
        kept = was = self.cursor_key
        self.rows = rows
        self._keys = list(rows)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._widths = _widths(self.columns, rows)
        for i, width in self._fixed.items():
            self._widths[i] = width
        if kept is not None and kept in self._index:
            self.cursor_row = self._index[kept]
        else:
            self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        self.virtual_size = Size(self.line_width, len(self._keys) + 1)
        self.refresh()
        self._highlighted(was)

    # -- drawing -----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """The header on the first line (it stays as the rows scroll), a row on each other."""
        width = self.scrollable_content_region.width
        if y == 0:
            text = self._line(tuple(label for _, label in self.columns))
            style = self.get_component_rich_style("table--header")
        else:
            index = self.scroll_offset.y + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, self.rich_style)
            text = self._line(self.rows[self._keys[index]])
            style = self.get_component_rich_style("table--cursor") if index == self.cursor_row else Style()
        x, line = self.scroll_offset.x, self.rich_style + style
        if self._apart:  # (each cell's own meta, as DataTable's: nothing merges its segments)
            strip = Strip([Segment(cell, line + Style.from_meta({"row": y, "column": i}))
                           for i, cell in enumerate(text)])
            return strip.crop(x, x + width).adjust_cell_length(width, line)
        visible = "".join(text)[x:x + width]  # cells are ASCII where it matters; others are measured below
        return Strip([Segment(visible, line)]).adjust_cell_length(width, line if y else self.rich_style)

    def _line(self, cells: Cells) -> list[str]:
        """Each cell padded to its column's width (and cut to a width set for it)."""
        pad, fixed = self._pad, self._fixed
        if fixed:
            cells = tuple(_crop(c, fixed[i]) if i in fixed else c for i, c in enumerate(cells))
        return [f"{pad}{c}{' ' * (w - _width(c))}{pad}" for c, w in zip(cells, self._widths, strict=False)]

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top, page = self.scroll_offset.y, self._page()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False, immediate=True)

    # -- keys --------------------------------------------------------------------------------
    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, RowKey(self.cursor_key)))

    def on_click(self, event: Click) -> None:
        """A click on a row moves the cursor there (a second click on it selects it, as DataTable does)."""
        index = self.scroll_offset.y + event.y - 1
        if event.y >= 1 and 0 <= index < len(self._keys):
            if index == self.cursor_row:
                self.action_select()
            self.move_cursor(index)
