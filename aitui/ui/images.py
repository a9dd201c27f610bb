"""The Images panel: local images, the recognizer's first, each shown by what tells it from the others: its
version hash, runtime, held-out accuracy (its model.json: the label aitui's build writes, else read from the
image once, never in read-only), size and age. Dangling `<none>` images fold into one row with their count."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import events, on, work
from textual._two_way_dict import TwoWayDict
from textual.message import Message
from textual.widgets.data_table import RowKey

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import Image
from aitui.ui import format as fmt
from aitui.ui.tables import KeyedTable, sync_rows

# (key, label): columns after the first start with a space (the table pads no cells, so 80 columns fit)
COLUMNS = (("name", "IMAGE"), ("runtime", " RT"), ("accuracy", " ACC%"), ("size", " SIZE"), ("age", " AGE"))
RUNTIMES = {"litert": "lite", "tensorflow": "tf"}
DANGLING = "<none>"  # the folded row's key
OTHERS_MIN = 9  # the name column's narrowest: "★ 3f2c1a9"


@dataclass
class ModelsRead(Message):
    """What the images' model.json files say, by image id (read by the panel's worker)."""

    models: dict[str, dict]


class ImagesTable(KeyedTable):
    DEFAULT_CSS = "ImagesTable { scrollbar-size-vertical: 1; }"  # every column fits in 30 cells (80x24)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._images: list[Image] = []
        self._filter = ""
        self._models: dict[str, dict] = {}  # image id -> its model.json, as read since the app started
        self._asked: set[str] = set()  # images whose model.json has been asked for
        self._listings = 0  # lists asked for, and the newest one shown: an older list that comes back later
        self._listing_shown = 0  # (a cancelled worker still posts) is not shown over a newer one

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = False
        self.cell_padding = 0
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def on_resize(self, event: events.Resize) -> None:
        """The name column takes what the others leave: a longer name shows where there is room."""
        column = next((c for k, c in self.columns.items() if k.value == "name"), None)
        if column is not None:
            column.auto_width = False
            column.width = max(OTHERS_MIN, event.size.width - 24)
            self._require_update_dimensions = True
            self.refresh()

    @property
    def images(self) -> list[Image]:
        """What the engine listed last (unfiltered), newest recognizer first."""
        return self._images

    def load(self, settings: Settings) -> None:
        self._listings += 1
        self._list(settings, self._listings)

    @work(thread=True, group="images", exclusive=True, exit_on_error=False)
    def _list(self, settings: Settings, seq: int) -> None:
        from aitui.services import images

        try:
            found = images.list_images(settings)
        except images.DockerError as exc:
            self.post_message(msg.ImagesListed(None, str(exc), seq))
            return
        self.post_message(msg.ImagesListed(found, seq=seq))

    @on(msg.ImagesListed)
    def _listed(self, m: msg.ImagesListed) -> None:
        m.stop()
        if not self.is_attached or (m.seq and m.seq < self._listing_shown):
            return
        self._listing_shown = max(self._listing_shown, m.seq)
        if m.images is None:  # what failed, and what to do: the doctor names the fix
            self.border_subtitle = f"{m.why} · :doctor says how to fix it"
        else:
            self.show(m.images, self._filter)

    def show(self, images: list[Image], filter_text: str = "") -> None:
        """Apply the new list as a diff keyed by image id: cursor and scroll stay put."""
        self._images, self._filter = images, filter_text
        self.border_subtitle = f"{len(images)}" if images else "none yet: b builds the recognizer"
        now = time.time()
        shown = [i for i in images if filter_text.lower() in (i.name + i.id + i.version).lower()]
        rows = {i.id: self._row(i, now) for i in shown if i.tags}
        dangling = [i for i in shown if not i.tags]
        if dangling:
            rows[DANGLING] = {"name": f"<none> ×{len(dangling)}", "runtime": "", "accuracy": "", "size": "",
                              "age": " " + fmt.age(max(i.created for i in dangling), now)}
        sync_rows(self, rows)
        self._order(list(rows))
        self._read_models([i.id for i in shown if i.recognizer and i.tags and i.accuracy is None
                           and i.id not in self._models and i.id not in self._asked])

    def _order(self, keys: list[str]) -> None:
        """Rows in the list's order (the newest recognizer first): the diff adds a new image at the bottom,
        where a build's result would be out of sight. The cursor stays on its image."""
        shown = (self._row_locations.get_key(n) for n in range(len(self._row_locations)))
        if [getattr(k, "value", None) for k in shown] == keys:
            return
        selected = self.coordinate_to_cell_key(self.cursor_coordinate).row_key if self.row_count else None
        self._row_locations = TwoWayDict({RowKey(k): n for n, k in enumerate(keys)})  # as DataTable.sort does
        self._update_count += 1
        self.refresh()
        if selected is not None and selected in self._row_locations:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)

    def _row(self, i: Image, now: float) -> dict[str, str]:
        if i.recognizer:
            version = i.version or i.tags[0].rsplit(":", 1)[-1]
            name = "★ " + version.rsplit("-", 1)[-1] if "-" in version else "★ " + version  # the hash part
        else:
            name = i.name.removeprefix("docker.io/")
        accuracy = i.accuracy if i.accuracy is not None else _accuracy(self._models.get(i.id))
        known = i.id in self._models or i.accuracy is not None
        return {"name": name, "runtime": " " + RUNTIMES.get(i.runtime, i.runtime[:4]),
                "accuracy": " " + (_percent(accuracy) if accuracy is not None
                                   else "" if not i.recognizer else "–" if known else "…"),
                "size": " " + fmt.size(i.size, short=True), "age": " " + fmt.age(i.created, now)}

    def _read_models(self, ids: list[str]) -> None:
        settings = getattr(self.app, "settings", None)
        if ids and settings is not None:
            self._asked.update(ids)
            self._read(settings, ids)

    @work(thread=True, group="image-models", exit_on_error=False)
    def _read(self, settings: object, ids: list[str]) -> None:
        from aitui.services.images import read_models, writes_refused

        found = read_models(settings, ids)  # type: ignore[arg-type]
        # read-only reads no image it has not read before (that takes a container): "–", not known
        unread: dict[str, dict] = {i: {} for i in ids} if writes_refused(settings) else {}  # type: ignore[arg-type]
        self.post_message(ModelsRead({**unread, **{i: found[i] for i in ids if i in found}}))

    @on(ModelsRead)
    def _models_read(self, m: ModelsRead) -> None:
        m.stop()
        self._models.update(m.models)  # (an image the engine could not read stays asked: "…" until a restart)
        if self.is_attached:
            self.show(self._images, self._filter)


def _percent(accuracy: float) -> str:
    """98.9, or 100: four cells at most."""
    return "100" if accuracy >= 0.9995 else f"{accuracy * 100:.1f}"


def _accuracy(model: dict | None) -> float | None:
    value = (model or {}).get("accuracy")
    return float(value) if isinstance(value, (int, float)) else None
