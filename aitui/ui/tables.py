"""Keyed table updates: the one way every list in aitui changes on screen."""

from __future__ import annotations

from itertools import zip_longest
from weakref import WeakKeyDictionary

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets._data_table import DuplicateKey, Row
from textual.widgets.data_table import CellKey, RowKey

# what each table shows now (row key -> column key -> text): a diff compares rows, not every cell
_shown: WeakKeyDictionary[KeyedTable, dict[str, dict[str, str]]] = WeakKeyDictionary()


class KeyedTable(DataTable[Text]):
    """A DataTable that can drop many rows at once."""

    def remove_rows(self, keys: list[str]) -> None:
        """DataTable.remove_row, for many rows: remove_row re-indexes every remaining row on each call
        (1.2 s for 50 of 5,000 rows, measured); this takes the same steps but re-indexes once.
        It uses DataTable's private state, so tests/test_tables.py checks it against remove_row."""
        if len(keys) < 2:
            for key in keys:
                self.remove_row(key)
            return
        gone = set(keys)
        self._require_update_dimensions = True
        self.check_idle()
        remaining = sorted((self._row_locations.get(key), key) for key in self._row_locations if key not in gone)
        self._row_locations = TwoWayDict({key: index for index, (_, key) in enumerate(remaining)})
        for row_key in list(self.rows):
            if row_key in gone:
                for column_key in self._data.get(row_key, {}):
                    self._updated_cells.discard(CellKey(row_key, column_key))
                del self.rows[row_key]
                del self._data[row_key]
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)


    def add_keyed_rows(self, rows: list[tuple[str, list[Text]]]) -> None:
        """DataTable.add_row, for many rows: add_row rebuilds the ordered column list twice per row
        (a quarter of filling 5,000 rows, measured); this takes its steps with the list built once."""
        if len(rows) < 2:
            for key, cells in rows:
                self.add_row(*cells, key=key)
            return
        columns = self.ordered_columns
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            self._row_locations[row_key] = len(self.rows)
            self._data[row_key] = {column.key: cell for column, cell in zip_longest(columns, cells)}
            self.rows[row_key] = Row(row_key, 1, None, False)
            self._new_rows.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if self.row_count == len(rows) and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # the table was empty: a cursor cell exists now
        self._update_count += 1
        self.check_idle()


def sync_rows(table: KeyedTable, rows: dict[str, dict[str, str]]) -> None:
    """Make `table` show `rows` (row key -> column key -> text) as a diff: rows that went are removed,
    changed cells updated, new rows added. Never clear-and-refill; the cursor stays on its row.
    Cells are Text, not str: a name with "[" is not markup, and nothing is parsed (30k cells at 5k pods)."""
    shown = _shown.setdefault(table, {})
    if table.row_count != len(shown):  # cleared (context switch, drill-down): start from what is there
        shown.clear()
        shown.update({str(k.value): {} for k in table.rows})
    selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
    with table.app.batch_update():
        gone = [k for k in shown if k not in rows]
        table.remove_rows(gone)
        for key in gone:
            del shown[key]
        added: list[tuple[str, list[Text]]] = []
        for key, row in rows.items():
            before = shown.get(key)
            if before == row:
                continue
            if before is None:
                added.append((key, [Text(v) for v in row.values()]))
            else:
                for col, value in row.items():
                    if before.get(col) != value:
                        table.update_cell(key, col, Text(value))
            shown[key] = row
        table.add_keyed_rows(added)
        if selected in rows and table.get_row_index(selected) != table.cursor_row:
            # a removal above it shifted the row: follow it, as the user expects
            table.move_cursor(row=table.get_row_index(selected), scroll=False)
