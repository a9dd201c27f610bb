"""Copy (issue 14, item 7), through the pilot over the snapshot app's fixed data: Y copies the selected row's
name (an image's reference in Images), I an image, P the last prediction; what is sent is what Textual
records (App.clipboard, the OSC 52 payload). Nothing to copy is said, and the clipboard is left alone.
(A log line: tests/test_logs_view.py.)"""

from __future__ import annotations

from snapshot_app import SnapshotApp
from test_app_actions import until

from aitui.ui.browser import ResourceBrowser
from aitui.ui.images import ImagesTable


async def test_copy_names_images_and_the_prediction(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = SnapshotApp()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        table = app.query_one(ResourceBrowser).table()
        await until(pilot, lambda: "recognizer" in table.rows and app.images, 10, "the canned lists")
        table.focus()
        await pilot.pause()

        await pilot.press("P")  # no prediction yet: said, nothing sent
        assert app.clipboard == ""
        assert any("nothing to copy: no prediction" in str(n.message) for n in app._notifications)

        await pilot.press("Y")
        assert app.clipboard == "recognizer"
        await pilot.press("I")
        assert app.clipboard == "aitui/recognizer:0.1.0-3f2c1a9"  # the image the workload runs

        images = app.query_one(ImagesTable)
        images.focus()
        images.move_cursor(row=1)
        await pilot.pause()
        await pilot.press("Y")
        assert app.clipboard == "aitui/recognizer:0.1.0-9ab01c4"  # the selected image's reference

        await pilot.press("p")  # the canned prediction; then back from its screen
        await until(pilot, lambda: app.query_one("Predictor").last is not None, 5, "the prediction")
        await pilot.press("escape")
        await pilot.press("P")
        assert app.clipboard == "circle: circle 96.2%, ring 2.1%, square 0.9%, triangle 0.5%, cross 0.2%"
        assert any(str(n.message).startswith("copied prediction: circle: circle 96.2%") for n in app._notifications)
