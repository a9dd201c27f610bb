"""The virtual table (aitui/ui/table.py): what a user sees and keeps — rows in order, the cursor on its row
through changes, only the lines on screen drawn, enter on a row — for lists of thousands of rows."""

from __future__ import annotations

from textual.app import App, ComposeResult

from aitui.ui.table import Table

COLUMNS = (("name", "NAME"), ("ready", "READY"))


def rows(names: list[str]) -> dict[str, tuple[str, ...]]:
    return {n: (n, "1/1") for n in names}


class One(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield Table(COLUMNS)

    def on_table_row_selected(self, event: Table.RowSelected) -> None:
        self.selected.append(event.row_key.value)


def screen_text(table: Table) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


async def test_rows_cursor_and_enter() -> None:
    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Table)
        table.focus()
        names = [f"pod-{i:04}" for i in range(5000)]
        table.set_rows(rows(names))
        await pilot.pause()
        lines = screen_text(table)
        assert lines[0].split() == ["NAME", "READY"] and lines[1].split() == ["pod-0000", "1/1"]
        assert table.row_count == 5000 and table.get_cell("pod-0042", "ready") == "1/1"

        # the cursor follows its row when rows above it go, and moves on to a neighbour when it goes itself
        table.move_cursor(100)
        table.set_rows(rows(names[50:]))
        assert table.cursor_key == "pod-0100" and table.cursor_row == 50
        table.set_rows(rows([n for n in names[50:] if n != "pod-0100"]))
        assert table.cursor_row == 50 and table.cursor_key == "pod-0101"

        # keys move the cursor and scroll so it stays on screen; enter says which row
        await pilot.press("end")
        assert table.cursor_key == "pod-4999"
        assert screen_text(table)[-1].split()[0] == "pod-4999"  # the last line drawn is the cursor's row
        await pilot.press("home", "down", "enter")
        assert app.selected == ["pod-0051"]

        # widths follow the widest cell; an empty table still shows its header
        table.set_rows({"a-much-longer-name-than-before": ("a-much-longer-name-than-before", "0/1")})
        await pilot.pause()
        assert screen_text(table)[1].split() == ["a-much-longer-name-than-before", "0/1"]
        table.clear()
        await pilot.pause()
        assert screen_text(table)[0].split() == ["NAME", "READY"] and table.cursor_key is None


async def test_a_click_moves_the_cursor_and_a_second_selects() -> None:
    app = One()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(Table)
        table.set_rows(rows(["a", "b", "c"]))
        await pilot.pause()
        await pilot.click(Table, offset=(2, 3))  # line 0 is the header: line 3 is the third row
        assert table.cursor_key == "c" and app.selected == []
        await pilot.click(Table, offset=(2, 3))
        assert app.selected == ["c"]
