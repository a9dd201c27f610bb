"""Lists change by key: rows that stay keep the cursor, nothing is cleared and refilled."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from aitui.ui.tables import KeyedTable, sync_rows


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(id="t")
        yield DataTable(id="plain")

    def on_mount(self) -> None:
        for t in self.query(DataTable):
            t.add_column("NAME", key="name")
            t.add_column("READY", key="ready")


async def test_a_diff_keeps_the_cursor_on_its_row() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        t = app.query_one(KeyedTable)
        sync_rows(t, {k: {"name": k, "ready": "1/1"} for k in ("a", "b", "c", "d")})
        t.move_cursor(row=2)  # on "c"
        sync_rows(t, {"b": {"name": "b", "ready": "1/1"}, "c": {"name": "c", "ready": "2/3"},
                      "d": {"name": "d", "ready": "1/1"}, "e": {"name": "e", "ready": "0/1"}})
        await pilot.pause()
        assert [k.value for k in t.rows] == ["b", "c", "d", "e"]
        assert t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value == "c"
        assert str(t.get_cell("c", "ready")) == "2/3"


async def test_remove_rows_leaves_the_table_as_remove_row_does() -> None:
    """remove_rows uses DataTable's private state; this pins it to what remove_row itself does."""
    app = TableApp()
    async with app.run_test() as pilot:
        ours, plain = app.query_one(KeyedTable), app.query_one("#plain", DataTable)
        keys = [f"r{i}" for i in range(40)]
        for t in (ours, plain):
            for k in keys:
                t.add_row(k, "1/1", key=k)
            t.move_cursor(row=30)
        gone = keys[3:12] + keys[20:22] + [keys[-1]]
        ours.remove_rows(gone)
        for k in gone:
            plain.remove_row(k)
        await pilot.pause()
        assert [r.key.value for r in ours.ordered_rows] == [r.key.value for r in plain.ordered_rows]
        assert ours.row_count == plain.row_count == 28
        assert [ours.get_row_index(k) for k in keys if k not in gone] == list(range(28))
        assert ours.cursor_coordinate == plain.cursor_coordinate
        assert ours.get_row_at(5) == plain.get_row_at(5)
        ours.add_row("new", "0/1", key="new")
        assert ours.get_row_index("new") == 28


async def test_add_keyed_rows_leaves_the_table_as_add_row_does() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        ours, plain = app.query_one(KeyedTable), app.query_one("#plain", DataTable)
        rows = [(f"r{i}", [f"name {i}", f"{i}/3"]) for i in range(30)]
        ours.add_keyed_rows([(k, [Text(c) for c in cells]) for k, cells in rows])
        for k, cells in rows:
            plain.add_row(*(Text(c) for c in cells), key=k)
        await pilot.pause()
        assert ours.row_count == plain.row_count == 30
        assert [r.key.value for r in ours.ordered_rows] == [r.key.value for r in plain.ordered_rows]
        assert ours.get_row_at(7) == plain.get_row_at(7) and ours.cursor_coordinate == plain.cursor_coordinate
        assert [c.content_width for c in ours.ordered_columns] == [c.content_width for c in plain.ordered_columns]
        ours.remove_rows(["r3", "r4"])
        ours.add_keyed_rows([("r3", [Text("again"), Text("0/1")]), ("new", [Text("new"), Text("1/1")])])
        assert ours.get_row_index("new") == 29 and str(ours.get_cell("r3", "name")) == "again"
