"""Lists change by key: rows that stay keep the cursor, nothing is cleared and refilled."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from aitui.ui.tables import sync_rows


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="t")

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_column("NAME", key="name")
        t.add_column("READY", key="ready")


async def test_a_diff_keeps_the_cursor_on_its_row() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        t = app.query_one(DataTable)
        sync_rows(t, {k: {"name": k, "ready": "1/1"} for k in ("a", "b", "c", "d")})
        t.move_cursor(row=2)  # on "c"
        sync_rows(t, {"b": {"name": "b", "ready": "1/1"}, "c": {"name": "c", "ready": "2/3"},
                      "d": {"name": "d", "ready": "1/1"}, "e": {"name": "e", "ready": "0/1"}})
        await pilot.pause()
        assert [k.value for k in t.rows] == ["b", "c", "d", "e"]
        assert t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value == "c"
        assert t.get_cell("c", "ready") == "2/3"
