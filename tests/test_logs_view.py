"""The log a user can work with (issue 14, item 4), through the pilot against the real local engine: a
replica that crashed once and was restarted in place by the engine; `l` follows it, `z` zooms the log,
`t` timestamps, `/` a regex with its matches highlighted, `w` wrap, the bounded buffer's dropped count,
`Y` copies the newest line (OSC 52), `p` the previous container, ctrl+s saves; esc gives the dashboard back."""

from __future__ import annotations

import os
import re

import pytest
from conftest import wait_until
from rich.style import Style
from test_app_actions import until
from test_background_ends import quiet_settings

from aitui.app import AituiApp
from aitui.services.targets import NotFound
from aitui.services.targets.local import WORKLOAD_LABEL, LocalTarget
from aitui.ui import logs as logs_module
from aitui.ui.browser import ResourceBrowser
from aitui.ui.logs import Buffer, Line, PodLog, compile_search, parse, short_stamp

# first run: two lines and a crash; the engine restarts it (on-failure) and the second run ticks on
SCRIPT = """if [ -e /ran ]; then echo second run; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.05; done;
else touch /ran; echo first run; echo "long $(printf 'x%.0s' $(seq 1 300)) end"; echo "ERROR boom 42"; exit 3; fi"""


def test_records_stamps_buffer_and_search() -> None:
    line = parse("a1b2c3", "2026-11-25T15:30:01.123456789Z hello world")
    assert line == Line("a1b2c3", "hello world", "2026-11-25T15:30:01.123456789Z")
    assert parse("a1b2c3", "no stamp here") == Line("a1b2c3", "no stamp here")
    assert short_stamp(line.stamp) == "15:30:01.123"
    buffer = Buffer(3)
    buffer.add([Line("r", str(i)) for i in range(5)])
    assert [x.text for x in buffer.lines] == ["2", "3", "4"] and buffer.dropped == 2
    pattern, note = compile_search("err(or)?")
    assert pattern is not None and pattern.search("an ERROR") and not note
    pattern, note = compile_search("boom[")  # not a regex: searched as text, and said so
    assert pattern is not None and pattern.search("a boom[ here") and note.startswith("not a regex")


@pytest.mark.docker
def test_previous_of_a_replica_that_never_restarted_says_so(settings, docker_client) -> None:
    c = docker_client.containers.run(settings.base_image, ["sh", "-c", "echo hi; sleep 30"], detach=True,
                                     labels={WORKLOAD_LABEL: f"logprev-{os.urandom(3).hex()}"})
    try:
        target = LocalTarget(settings)
        wait_until(lambda: list(target.logs(c.name, tail=5)) == ["hi"], 10, "its line")
        with pytest.raises(NotFound, match="no previous container: it has not restarted"):
            list(target.logs(c.name, previous=True))
    finally:
        c.remove(force=True)


@pytest.mark.docker
async def test_the_log_view_on_a_crashed_replica(settings, docker_client, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(logs_module, "LOG_LINES", 60)  # a small bound, reached within seconds
    workload = f"logview-{os.urandom(3).hex()}"
    c = docker_client.containers.run(settings.base_image, ["sh", "-c", SCRIPT], detach=True,
                                     labels={WORKLOAD_LABEL: workload},
                                     restart_policy={"Name": "on-failure", "MaximumRetryCount": 1})
    try:
        def restarted() -> bool:
            c.reload()
            return c.attrs["RestartCount"] == 1 and c.status == "running"

        wait_until(restarted, 30, "the engine to restart the crashed replica")
        app = AituiApp(quiet_settings(settings, tmp_path))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            table = app.query_one(ResourceBrowser).table()
            await until(pilot, lambda: workload in table.rows, 20, "the workload listed")
            table.focus()
            table.move_cursor(row=table.get_row_index(workload))
            await pilot.press("l", "z")  # follow its log; zoom the open tab
            log = app.query_one(PodLog)
            assert app.screen.maximized is log and app.focused is log
            await until(pilot, lambda: any("tick" in line for line in log.lines), 20, "the live log")
            replica = c.name[-6:]
            assert all(line.startswith(f"{replica} │ ") for line in log.lines[:3]), log.lines[:3]
            # the replica's prefix in its own colour
            strip = log._render_line_strip(0, Style())
            assert any(seg.text == replica and seg.style and seg.style.color and
                       seg.style.color.name == log.colour(replica) for seg in strip), list(strip)

            await pilot.press("t")  # timestamps: the engine's, short
            assert re.match(rf"^\d\d:\d\d:\d\d\.\d{{3}} {replica} │ ", log.lines[-1]), log.lines[-1]
            await pilot.press("t")

            # the bound: older lines are dropped and counted on the border
            await until(pilot, lambda: log.buffer.dropped > 0, 20, "lines dropped")
            assert len(log.buffer.lines) == 60
            await until(pilot, lambda: "older lines dropped (keeps 60)" in str(log.border_subtitle), 5, "the count")

            # / searches with a regex, in the zoomed view; matches highlighted; esc closes the search only
            await pilot.press("slash")
            await pilot.press(*"tick [0-9]*7$")
            await until(pilot, lambda: log.lines and all(re.search(r"tick \d*7$", x) for x in log.lines), 5,
                        "only the matching lines")
            assert re.search(r"/tick \[0-9\]\*7\$: \d+ of 60 lines", str(log.border_subtitle)), log.border_subtitle
            strip = log._render_line_strip(0, Style())
            hit = [seg.text for seg in strip if seg.style and seg.style.reverse]
            assert hit and re.fullmatch(r"tick \d*7", "".join(hit)), list(strip)
            await pilot.press("enter")  # the search stays; the keys are the zoomed log's again
            assert app.screen.maximized is log and app.focused is log
            await pilot.press("Y")  # copy: the newest line shown, through OSC 52
            shown = [line.text for line in log.shown()]  # (lines go on arriving: it was the newest then)
            assert re.fullmatch(r"tick \d*7", app.clipboard) and app.clipboard in shown[-3:], (app.clipboard, shown)
            await pilot.press("slash", "escape")  # esc clears the search; the zoom stays
            assert app.screen.maximized is log and app.focused is log
            await until(pilot, lambda: not log.needle and
                        any(re.search(r"tick \d*[0-68]$", x) for x in log.lines[-10:]), 5, "every line back")

            # p: the previous container, what the replica wrote before it crashed
            await pilot.press("p")
            await until(pilot, lambda: any("ERROR boom 42" in line for line in log.lines), 10, "the previous log")
            assert not any("tick" in line for line in log.lines) and "previous container" in str(log.border_subtitle)
            assert any("first run" in line for line in log.lines)

            # w: its long line wraps at the view's width
            width = log.scrollable_content_region.width
            assert any(len(line) > width for line in log.lines)
            await pilot.press("w")
            assert all(len(line) <= width for line in log.lines)
            assert any(line.startswith(" " * len(replica) + " │ x") for line in log.lines), "a continuation row"
            await pilot.press("w")

            # ctrl+s: the lines shown, with the engine's full timestamps, to a file whose path is said
            await pilot.press("ctrl+s")
            saved = list((tmp_path / "aitui" / "logs").glob(f"{workload}-*.log"))  # the merged log: its workload
            assert len(saved) == 1
            text = saved[0].read_text()
            assert re.search(rf"^\d{{4}}-\d\d-\d\dT[\d:.]+Z {replica} │ ERROR boom 42$", text, re.M), text
            assert any(str(saved[0]) in str(n.message) for n in app._notifications)

            await pilot.press("p")  # the live log again
            await until(pilot, lambda: "previous container" not in str(log.border_subtitle) and
                        any("tick" in line for line in log.lines), 10, "the live log again")
            await pilot.press("escape")  # the dashboard back
            assert app.screen.maximized is None
    finally:
        c.remove(force=True)
