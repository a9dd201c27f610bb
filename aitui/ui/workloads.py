"""The Workloads panel: deployments (or the local target's workloads), READY like kubectl."""

from __future__ import annotations

import time

from aitui.models import Workload
from aitui.ui import format as fmt
from aitui.ui.tables import KeyedTable, sync_rows

COLUMNS = (("name", "NAME"), ("ready", "READY"), ("uptodate", "UP-TO-DATE"), ("available", "AVAILABLE"),
           ("image", "IMAGE"), ("age", "AGE"))


class WorkloadsTable(KeyedTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, workloads: list[Workload], scaling: dict[str, int] | None = None) -> None:
        """Diff by workload name; a scale in progress shows its target as the desired count."""
        now = time.time()
        sync_rows(self, {
            w.name: {"name": w.name, "ready": f"{w.ready}/{(scaling or {}).get(w.name, w.desired)}",
                     "uptodate": str(w.up_to_date), "available": str(w.available),
                     "image": w.image.rsplit("/", 1)[-1], "age": fmt.age(w.created, now)}
            for w in workloads})

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return key
