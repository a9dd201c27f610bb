"""SVG snapshots of every screen at 80x24 and 120x36 (pytest-textual-snapshot). The app runs over fixed
data (tests/snapshot_app.py), so a changed snapshot means a changed screen. After an intended change:
pytest tests/test_snapshots.py --snapshot-update, then look at the SVGs before committing them."""

from __future__ import annotations

import pytest
from snapshot_app import SnapshotApp, drawn, settled

from aitui.ui.charts import Chart

SIZES = [(80, 24), (120, 36)]
SCREENS = {
    "main": [],
    "pods": ["enter"],
    "help": ["question_mark"],
    "deploy": ["d"],
    "scale": ["s"],
    "command": ["colon", "c", "t", "x", "space", "k"],
    "filter": ["slash", "r", "e", "c"],
    "predict": ["p"],
    "other-charts": [],  # c, pressed in settle: the pair it shows is drawn by the next poll
    "services": ["colon", "s", "v", "c", "enter"],
    "doctor": ["colon", "d", "o", "c", "t", "o", "r", "enter"],
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, screen: str, size: tuple[int, int]) -> None:
    async def settle(pilot) -> None:
        app = pilot.app
        await settled(pilot)
        if screen == "other-charts":
            await pilot.press("c")
            await drawn(pilot, lambda: all(chart._drawn for chart in app.query(Chart) if chart.display), "charts")
        else:
            await pilot.press(*SCREENS[screen])
            await drawn(pilot, what=screen)

    assert snap_compare(SnapshotApp(), terminal_size=size, run_before=settle)
