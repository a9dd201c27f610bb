"""Keyed table updates: the one way every list in aitui changes on screen."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.widgets import DataTable

# what each table shows now (row key -> column key -> text): a diff compares rows, not every cell
_shown: WeakKeyDictionary[DataTable[str], dict[str, dict[str, str]]] = WeakKeyDictionary()


def sync_rows(table: DataTable[str], rows: dict[str, dict[str, str]]) -> None:
    """Make `table` show `rows` (row key -> column key -> text) as a diff: rows that went are removed,
    changed cells updated, new rows added. Never clear-and-refill; the cursor stays on its row."""
    shown = _shown.setdefault(table, {})
    if table.row_count != len(shown):  # cleared (context switch, drill-down): start from what is there
        shown.clear()
        shown.update({str(k.value): {} for k in table.rows})
    selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
    with table.app.batch_update():
        for key in [k for k in shown if k not in rows]:
            table.remove_row(key)
            del shown[key]
        for key, row in rows.items():
            before = shown.get(key)
            if before == row:
                continue
            if before is None:
                table.add_row(*row.values(), key=key)
            else:
                for col, value in row.items():
                    if before.get(col) != value:
                        table.update_cell(key, col, value)
            shown[key] = row
        if selected in rows and table.get_row_index(selected) != table.cursor_row:
            # a removal above it shifted the row: follow it, as the user expects
            table.move_cursor(row=table.get_row_index(selected), scroll=False)
