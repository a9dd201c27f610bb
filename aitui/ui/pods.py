"""The Pods panel: the replicas of one workload (enter on a workload; esc goes back), like k9s."""

from __future__ import annotations

import time

from aitui.models import Pod
from aitui.ui import format as fmt
from aitui.ui.tables import KeyedTable, sync_rows

COLUMNS = (("name", "NAME"), ("ready", "READY"), ("status", "STATUS"), ("restarts", "RESTARTS"),
           ("node", "NODE"), ("age", "AGE"))


class PodsTable(KeyedTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, pods: list[Pod]) -> None:
        now = time.time()
        sync_rows(self, {p.name: {"name": p.name, "ready": "1/1" if p.ready else "0/1", "status": p.status,
                                  "restarts": str(p.restarts), "node": p.node or "-", "age": fmt.age(p.created, now)}
                         for p in pods})

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
