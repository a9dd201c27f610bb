"""The Images panel: local images, aitui's first (grouped under each model's name once there are several), each
shown by what tells it from the others: its version hash, runtime, held-out accuracy (its model.json: the label
aitui's build writes, else read from the image once, never in read-only), size and age. Dangling `<none>` images
fold into one row with their count."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from textual import events, on, work
from textual.message import Message

from aitui.config import Settings
from aitui.models import Image
from aitui.services.model_project import SHIPPED
from aitui.ui import format as fmt
from aitui.ui.table import Table

# (key, label): columns after the first start with a space (the table pads no cells, so 80 columns fit)
COLUMNS = (("name", "IMAGE"), ("runtime", " RT"), ("accuracy", " ACC%"), ("size", " SIZE"), ("age", " AGE"))
RUNTIMES = {"litert": "lite", "tensorflow": "tf"}
DANGLING = "<none>"  # the folded row's key
GROUP = "model:"  # + a model's name: the key of the row over its images (an image's key is its id)
OTHERS_MIN = 9  # the name column's narrowest: "★ 3f2c1a9"


class ImagesTable(Table):
    DEFAULT_CSS = "ImagesTable { scrollbar-size-vertical: 1; }"  # every column fits in 30 cells (80x24)

    @dataclass
    class Listed(Message):
        images: list[Image] | None  # None: the engine did not answer, `why` says why
        why: str = ""
        seq: int = 0  # which listing this is (see load); 0: take it

    @dataclass
    class ModelsRead(Message):
        """What the images' model.json files say, by image id (read by the panel's worker)."""

        models: dict[str, dict]

    def __init__(self, source: Callable[[Settings], list[Image]] | None = None, **kwargs: object) -> None:
        """`source`: where the images come from (the engine's list unless a test gives canned ones)."""
        super().__init__(COLUMNS, padding=0, cells_apart=True, **kwargs)  # (its look: DataTable's before)
        self._source = source
        self._images: list[Image] = []
        self._filter = ""
        self._models: dict[str, dict] = {}  # image id -> its model.json, as read since the app started
        self._asked: set[str] = set()  # images whose model.json has been asked for
        self._settings: Settings | None = None  # the engine's, once load() has been asked (not in a bare table)
        self._listings = 0  # lists asked for, and the newest one shown: an older list that comes back later
        self._listing_shown = 0  # (a cancelled worker still posts) is not shown over a newer one

    def on_resize(self, event: events.Resize) -> None:
        """The name column takes what the others leave: a longer name shows where there is room."""
        self.set_width("name", max(OTHERS_MIN, event.size.width - 24))

    @property
    def images(self) -> list[Image]:
        """What the engine listed last (unfiltered), newest recognizer first."""
        return self._images

    def load(self, settings: Settings) -> None:
        """List the engine's images (in a worker); the model.json of new ones is read with the same settings."""
        self._settings = settings
        self._listings += 1
        self._list(settings, self._listings)

    @work(thread=True, group="images", exclusive=True, exit_on_error=False)
    def _list(self, settings: Settings, seq: int) -> None:
        from aitui.services import images

        try:
            found = (self._source or images.list_images)(settings)
        except images.DockerError as exc:
            self.post_message(self.Listed(None, str(exc), seq))
            return
        self.post_message(self.Listed(found, seq=seq))

    @on(Listed)
    def _listed(self, m: ImagesTable.Listed) -> None:
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
        self.border_subtitle = f"{len(images)}" if images else "none yet: b builds the model's image"
        now = time.time()
        shown = [i for i in images if filter_text.lower() in (i.name + i.id + i.version + i.model).lower()]
        ours = [i for i in shown if i.recognizer and i.tags]
        models = dict.fromkeys(i.model or SHIPPED for i in ours)  # the one with the newest image first
        rows: dict[str, dict[str, str]] = {}
        for model in models:  # each model's images under its name, once there are several models
            group = [i for i in ours if (i.model or SHIPPED) == model]
            if len(models) > 1:
                rows[GROUP + model] = {"name": model, "runtime": "", "accuracy": "", "size": f" ×{len(group)}",
                                       "age": ""}
            rows |= {i.id: self._row(i, now) for i in group}
        rows |= {i.id: self._row(i, now) for i in shown if i.tags and not i.recognizer}
        dangling = [i for i in shown if not i.tags]
        if dangling:
            rows[DANGLING] = {"name": f"<none> ×{len(dangling)}", "runtime": "", "accuracy": "", "size": "",
                              "age": " " + fmt.age(max(i.created for i in dangling), now)}
        self.set_rows({key: tuple(row.values()) for key, row in rows.items()})  # in the list's order: newest first
        self._read_models([i.id for i in shown if i.recognizer and i.tags and i.accuracy is None
                           and i.id not in self._models and i.id not in self._asked])

    @property
    def selected(self) -> Image | None:
        """The image under the cursor (None on the folded row)."""
        key = self.cursor_key
        return next((i for i in self._images if i.id == key), None) if key is not None else None

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
        if ids and self._settings is not None:
            self._asked.update(ids)
            self._read(self._settings, ids)

    @work(thread=True, group="image-models", exit_on_error=False)
    def _read(self, settings: Settings, ids: list[str]) -> None:
        from aitui.services.images import read_models, writes_refused

        found = read_models(settings, ids)
        # read-only reads no image it has not read before (that takes a container): "–", not known
        unread: dict[str, dict] = {i: {} for i in ids} if writes_refused(settings) else {}
        self.post_message(self.ModelsRead({**unread, **{i: found[i] for i in ids if i in found}}))

    @on(ModelsRead)
    def _models_read(self, m: ImagesTable.ModelsRead) -> None:
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
