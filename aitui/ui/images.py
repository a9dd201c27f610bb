"""The Images panel: local images, the recognizer's first."""

from __future__ import annotations

import time

from aitui.models import Image
from aitui.ui import format as fmt
from aitui.ui.tables import KeyedTable, sync_rows

COLUMNS = (("name", "IMAGE"), ("id", "ID"), ("size", "SIZE"), ("age", "AGE"))


class ImagesTable(KeyedTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, images: list[Image], filter_text: str = "") -> None:
        """Apply the new list as a diff keyed by image id: cursor and scroll stay put."""
        now = time.time()
        sync_rows(self, {
            i.id: {"name": ("★ " if i.recognizer else "  ") + i.name, "id": i.id, "size": fmt.size(i.size),
                   "age": fmt.age(i.created, now)}
            for i in images if filter_text.lower() in (i.name + i.id).lower()})
