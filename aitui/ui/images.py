"""The Images panel: local images, the recognizer's first."""

from __future__ import annotations

import time

from textual.widgets import DataTable

from aitui.models import Image
from aitui.ui import format as fmt

COLUMNS = (("name", "IMAGE"), ("id", "ID"), ("size", "SIZE"), ("age", "AGE"))


class ImagesTable(DataTable[str]):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, images: list[Image], filter_text: str = "") -> None:
        """Apply the new list as a diff keyed by image id: cursor and scroll stay put."""
        now = time.time()
        wanted = {i.id: i for i in images if filter_text.lower() in (i.name + i.id).lower()}
        with self.app.batch_update():
            for key in [k.value for k in self.rows if k.value and k.value not in wanted]:
                self.remove_row(key)
            for image in wanted.values():
                row = {"name": ("★ " if image.recognizer else "  ") + image.name, "id": image.id,
                       "size": fmt.size(image.size), "age": fmt.age(image.created, now)}
                if image.id in self.rows:
                    for col, value in row.items():
                        if self.get_cell(image.id, col) != value:
                            self.update_cell(image.id, col, value)
                else:
                    self.add_row(*row.values(), key=image.id)
