"""Several models in the app (issue 25), over canned engines (tests/snapshot_app.py):

- `:model`: the model b builds, d deploys and the checks send samples of is switched by name (the recognizer, and
  the projects the settings list) or by a project's path typed on the `:` line; the header names it; a path that
  is no model project says why and changes nothing;
- the `:` line completes a file's path after `predict` and `model`;
- Images groups the images under each model's name; the charts follow the selected workload, and say whose."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from snapshot_app import SnapshotApp, images, workloads
from test_app_actions import until
from test_app_kube import notices

from aitui.models import Image, Workload
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.contexts import Contexts
from aitui.ui.header import StatusBar

KEYS = {"/": "slash", ".": "full_stop", "-": "minus", "_": "underscore", " ": "space"}


def keras_project(folder: Path, labels: tuple[str, ...] = tuple("abcdefghij")) -> Path:
    """A project as a user brings it: a .keras file (only its config: what aitui reads before a build) and
    labels.txt."""
    folder.mkdir(parents=True)
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 32, 32, 1], "dtype": "float32"}},
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": len(labels), "activation": "softmax"}}]}}
    with zipfile.ZipFile(folder / f"{folder.name}.keras", "w") as z:
        z.writestr("config.json", json.dumps(config))
    (folder / "labels.txt").write_text("\n".join(labels) + "\n")
    return folder


async def command(pilot, line: str) -> None:
    await pilot.press("colon", *[KEYS.get(ch, ch) for ch in line], "enter")


def header(app) -> str:
    return str(app.query_one(StatusBar).render())


async def test_model_switched_by_name_and_by_path(tmp_path) -> None:
    digits, flowers = keras_project(tmp_path / "digits"), keras_project(tmp_path / "flowers", ("rose", "tulip"))
    (tmp_path / "empty").mkdir()
    app = SnapshotApp()
    app.settings.models = [str(digits)]  # (as `models = [...]` in the config file)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        contexts = app.query_one(Contexts)
        await until(pilot, lambda: "digits" in contexts.models, 10, "the known models read")
        assert "model:" not in header(app)  # the shipped recognizer goes without saying
        await command(pilot, "model")
        await until(pilot, lambda: "known: recognizer (shipped), digits (" in notices(app), 5, "the list")

        await command(pilot, "model digits")
        await until(pilot, lambda: "model: digits" in header(app), 5, "the header naming digits")
        assert app.settings.model == str(digits)
        await pilot.press("d")  # the canned engine holds only the recognizer's images
        await until(pilot, lambda: "no digits image yet: press b to build one" in notices(app), 5, "d's answer")

        await command(pilot, f"model {tmp_path}/empty")  # no model there: said, and nothing changes
        await until(pilot, lambda: f"model {tmp_path}/empty: no model in" in notices(app), 10, "the refusal")
        assert app.settings.model == str(digits) and "model: digits" in header(app)

        await command(pilot, f"model {flowers}")  # a project typed by its path: read, then used
        await until(pilot, lambda: "model: flowers" in header(app), 10, "the header naming flowers")
        assert app.settings.model == str(flowers) and set(contexts.models) == {"recognizer", "digits", "flowers"}

        await command(pilot, "model recognizer")
        await until(pilot, lambda: "model:" not in header(app), 5, "the header without a model")
        assert app.settings.model is None


async def test_the_command_line_completes_a_files_path(tmp_path) -> None:
    from aitui.ui.lines import CommandLine, complete_path

    seven = tmp_path / "digits" / "samples" / "seven"
    seven.mkdir(parents=True)
    (seven / "7-a.png").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    assert complete_path(f"{tmp_path}/di") == f"{tmp_path}/digits/"  # a folder gets its slash
    assert complete_path(f"{seven}/7") == f"{seven}/7-a.png"
    assert complete_path(f"{tmp_path}/nothing") is None and complete_path("/nonexistent/x") is None
    assert complete_path(f"{tmp_path}/") == f"{tmp_path}/digits/"  # not the hidden one…
    assert complete_path(f"{tmp_path}/.h") == f"{tmp_path}/.hidden/"  # …unless asked for

    app = SnapshotApp()
    async with app.run_test(size=(120, 36)) as pilot:
        line = app.query_one(CommandLine)
        await until(pilot, lambda: line.suggester is not None, 10, "the completions")
        await pilot.press("colon", *[KEYS.get(ch, ch) for ch in f"predict {tmp_path}/di"])
        await until(pilot, lambda: line._suggestion == f"predict {tmp_path}/digits/", 5, "the folder suggested")
        await pilot.press("right")  # → takes it
        await pilot.press(*"sa")
        await until(pilot, lambda: line._suggestion == f"predict {tmp_path}/digits/samples/", 5, "the next one")
        await pilot.press("right")
        assert line.value == f"predict {tmp_path}/digits/samples/"
        await pilot.press("ctrl+u", *"ct")  # the commands themselves still complete, in any case
        await until(pilot, lambda: line._suggestion == "ctx", 5, ":ctx suggested")


class TwoModels(SnapshotApp):
    """The canned engine with a user's model beside the recognizer: two digits images and its workload."""

    def __init__(self) -> None:
        super().__init__()
        now = self.now
        digits = [Image("d161d5000001", ("aitui/digits:0.1.0-d161d50",), 95_000_000, now - 60, True, "litert",
                        "0.1.0-d161d50", 0.967, "digits"),
                  Image("d161d5000002", ("aitui/digits:0.1.0-0ld0ne0",), 95_000_000, now - 9000, True, "litert",
                        "0.1.0-0ld0ne0", 0.951, "digits")]
        self.images_source = lambda _settings: digits + images(now)
        self.target.workloads = lambda: [*workloads(now), Workload(  # type: ignore[method-assign]
            "digits", "local", 2, 2, 2, 2, "aitui/digits:0.1.0-d161d50", now - 60, model="digits")]
        self.asked: list[str] = []  # the selectors the charts asked for
        self.target.metrics_selector = lambda w="": f'workload="{w}"'  # type: ignore[method-assign]
        canned = self.chart_source

        def recorded(settings, query, window, width, selector, now):  # type: ignore[no-untyped-def]
            self.asked.append(selector)
            return canned(settings, query, window, width, selector, now)  # type: ignore[misc]

        self.chart_source = recorded


async def test_images_group_by_model_and_the_charts_follow_the_selected_workload() -> None:
    app = TwoModels()
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one("#images")
        await until(pilot, lambda: "model:digits" in table.rows, 10, "the images listed")
        keys = list(table.rows)
        # the newest model first, each model's images under its name; then the others
        assert keys[:6] == ["model:digits", "d161d5000001", "d161d5000002", "model:recognizer", "3f2c1a9b7d10",
                            "9ab01c44e2f3"]
        assert table.get_cell("model:digits", "name") == "digits" and table.get_cell("model:digits", "size") == " ×2"
        assert table.get_cell("d161d5000001", "name") == "★ d161d50"

        workloads_table = app.query_one("#workloads")
        await until(pilot, lambda: "digits" in workloads_table.rows, 10, "both workloads listed")
        grid = app.query_one(ChartGrid)
        await until(pilot, lambda: 'workload="recognizer"' in app.asked, 10, "the recognizer's charts")
        assert all(" · recognizer · " in str(c.border_title) for c in grid.query("Chart"))  # whose, once several
        workloads_table.focus()
        workloads_table.move_cursor(row=workloads_table.get_row_index("digits"))
        await until(pilot, lambda: app.asked[-1:] == ['workload="digits"'], 10, "digits' charts")
        assert all(" · digits · " in str(c.border_title) for c in grid.query("Chart"))
        assert app.store.charted == "digits"
