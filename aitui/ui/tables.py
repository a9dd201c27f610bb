"""Keyed table updates: the one way every list in aitui changes on screen."""

from __future__ import annotations

from textual.widgets import DataTable


def sync_rows(table: DataTable[str], rows: dict[str, dict[str, str]]) -> None:
    """Make `table` show `rows` (row key -> column key -> text) as a diff: rows that went are removed,
    changed cells updated, new rows added. Never clear-and-refill; the cursor stays on its row."""
    selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
    with table.app.batch_update():
        for key in [k.value for k in table.rows if k.value and k.value not in rows]:
            table.remove_row(key)
        for key, row in rows.items():
            if key in table.rows:
                for col, value in row.items():
                    if table.get_cell(key, col) != value:
                        table.update_cell(key, col, value)
            else:
                table.add_row(*row.values(), key=key)
        if selected in rows and table.get_row_index(selected) != table.cursor_row:
            # a removal above it shifted the row: follow it, as the user expects
            table.move_cursor(row=table.get_row_index(selected), scroll=False)
