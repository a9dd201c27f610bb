"""The Images panel without an engine: what tells images apart fits 80 columns, dangling images fold into one
row, and a new image (a build's result) shows where the list puts it, not at the bottom."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from aitui.models import Image
from aitui.ui.images import DANGLING, ImagesTable


class Panel(App[None]):
    def compose(self) -> ComposeResult:
        yield ImagesTable(id="images")


def recognizer(hash_: str, age: float, accuracy: float | None = 0.989, runtime: str = "litert") -> Image:
    now = time.time()
    return Image(hash_ * 2 + hash_[:1] * 4, (f"aitui/recognizer:0.1.0-{hash_}",), 198_000_000, now - age, True,
                 runtime, f"0.1.0-{hash_}", accuracy)


def keys(table: ImagesTable) -> list[str]:
    return list(table.rows)  # in display order


async def test_rows_tell_images_apart_fold_dangling_ones_and_keep_the_lists_order() -> None:
    app = Panel()
    async with app.run_test(size=(32, 12)) as pilot:  # the panel's width at 80 columns
        table = app.query_one(ImagesTable)
        old, older = recognizer("3f2c1a9", 600), recognizer("9ab01c4", 7200, 0.9871, "tensorflow")
        dangling = [Image(f"{n:012x}", (), 1, time.time() - 60 * n, True) for n in (1, 2, 3)]
        table.show([old, older, *dangling])
        await pilot.pause()
        assert keys(table) == [old.id, older.id, DANGLING]
        assert [str(c).strip() for c in table.rows[older.id]] == ["★ 9ab01c4", "tf", "98.7", "198M", "2h"]
        assert str(table.get_cell(DANGLING, "name")) == "<none> ×3"
        assert table.line_width <= 30  # no column cut at 80x24

        table.move_cursor(row=1)  # on the older image
        new = recognizer("5e1f0c2", 5)
        table.show([new, old, older, *dangling])
        await pilot.pause()
        assert keys(table) == [new.id, old.id, older.id, DANGLING]  # the build's result on top, in sight
        assert keys(table)[table.cursor_row] == older.id  # the cursor stayed on its image
