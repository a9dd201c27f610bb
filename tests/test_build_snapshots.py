"""SVG snapshots of the build's story at 80x24 and 120x36, over a fixed build (tests/build_story.py: the ninth
of fourteen epochs, with a timed build of the same kind before it): the story filling the screen as `b` shows
it, the dashboard with the Build tab after esc, the raw log behind v, and a finished build."""

from __future__ import annotations

import pytest
from build_story import ESTIMATE, KIND, TAG, events
from snapshot_app import SnapshotApp, drawn, settled

from aitui.models import BuildEvent
from aitui.ui.build import CHART_ROWS, SMALL, BuildLog, BuildPanel
from aitui.ui.tabs import show_tab

SIZES = [(80, 24), (120, 36)]
SCREENS = {
    "build": ["b"],
    "build-tab": [],  # b then esc, pressed in `settle`: the panel's new size restyles it once more
    "build-raw-log": ["b", "v"],
    "build-done": ["b"],  # (BuildStoryApp(done=True))
}


class BuildStoryApp(SnapshotApp):
    """b tells the fixed build (done: the same build, finished) through the panel's own handlers."""

    def __init__(self, done: bool = False) -> None:
        super().__init__()
        self.done = done

    def on_mount(self) -> None:  # (b is the workloads feature's: its panel tells the story instead of building)
        self.query_one(BuildPanel).toggle = self.story  # type: ignore[method-assign]

    def story(self) -> None:
        done = self.done
        panel = self.query_one(BuildPanel)
        show_tab(panel)
        panel.begin(TAG, KIND, ESTIMATE)
        story = events(14 if done else 9)
        if done:
            story += [BuildEvent("result", stage="training", seconds=150, accuracy=0.9893),
                      BuildEvent("stage", stage="export", seconds=150),
                      BuildEvent("stage", stage="runtime image", seconds=170),
                      BuildEvent("done", image_id="5e1f0c2a9b7d", tag=TAG, seconds=201)]
        panel.apply(story)
        if done:
            panel.post_message(BuildPanel.Ended())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_build_screen(snap_compare, screen: str, size: tuple[int, int]) -> None:
    async def settle(pilot) -> None:
        await settled(pilot)
        if screen == "build-tab":
            await pilot.press("b", "escape")
            panel = pilot.app.query_one(BuildPanel)
            log = panel.query_one(BuildLog)

            def fitted() -> bool:  # the tab's height styles it, and the raw log's last lines are in view
                height = panel.size.height
                return not pilot.app.screen.maximized and height > 0 and log.scroll_y == log.max_scroll_y \
                    and (panel.has_class("-small"), panel.has_class("-nochart")) == (height < SMALL,
                                                                                     height < CHART_ROWS)

            await drawn(pilot, fitted, "the Build tab after esc")

    app = BuildStoryApp(done=screen == "build-done")
    assert snap_compare(app, press=SCREENS[screen], terminal_size=size, run_before=settle)
