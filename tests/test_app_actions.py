"""Keystrokes through the Textual pilot against the real Docker engine and a real Prometheus:
what the user presses, what the screen then says, and what the engine then runs."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.labels import NAME as WORKLOAD
from aitui.ui.browser import ResourceTable
from aitui.ui.build import BuildPanel
from aitui.ui.dialogs import ConfirmScreen, NumberScreen, PredictionScreen
from aitui.ui.images import ImagesTable
from aitui.ui.traffic import TrafficControl

pytestmark = pytest.mark.docker


async def until(pilot, check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause()
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")



def traffic(app: AituiApp) -> Any:
    """The traffic the app sends now (services.traffic.Traffic), or None."""
    return app.query_one(TrafficControl).traffic


def building(app: AituiApp) -> Any:
    """None once no build runs; else the Build (True while its worker is still making it)."""
    panel = app.query_one(BuildPanel)
    return (panel.running or True) if panel.busy else None


def cell(app: AituiApp, col: str) -> str:
    return str(app.query_one("#workloads", ResourceTable).get_cell(WORKLOAD, col))


def running(docker_client) -> int:
    return len(docker_client.containers.list(filters={"label": f"io.aitui.workload={WORKLOAD}"}))


@pytest.fixture
def app_settings(settings, prometheus, monkeypatch, tmp_path, docker_client):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the local target's file_sd list goes here
    for c in docker_client.containers.list(all=True, filters={"label": f"io.aitui.workload={WORKLOAD}"}):
        c.remove(force=True)
    yield Settings(prometheus_url=prometheus.url, base_image=settings.base_image,
                   serving_dir=settings.serving_dir, kubeconfig=str(tmp_path / "none"))
    for c in docker_client.containers.list(all=True, filters={"label": f"io.aitui.workload={WORKLOAD}"}):
        c.remove(force=True)


async def test_deploy_scale_predict_traffic_and_delete_by_keystroke(app_settings, recognizer_image,
                                                                    docker_client) -> None:
    app = AituiApp(app_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        images = app.query_one(ImagesTable)
        await until(pilot, lambda: images.row_count > 0, 20, "the image list")
        image_id = docker_client.images.get(recognizer_image).id.removeprefix("sha256:")[:12]
        images.focus()
        images.move_cursor(row=images.get_row_index(image_id))
        await until(pilot, lambda: images.has_focus, 5, "the images focused")  # d deploys the focused row's

        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert any(recognizer_image in line for line in app.screen.lines)
        await pilot.press("y")
        await until(pilot, lambda: WORKLOAD in app.workloads and cell(app, "ready") == "1/1", 60, "1/1 ready")
        assert running(docker_client) == 1

        app.query_one("#workloads", ResourceTable).focus()
        await pilot.press("plus")
        await pilot.pause()
        assert cell(app, "ready").endswith("/2")  # the new desired count shows at once
        await until(pilot, lambda: cell(app, "ready") == "2/2", 60, "2/2 ready")
        assert running(docker_client) == 2

        await pilot.press("s")
        assert isinstance(app.screen, NumberScreen) and app.screen.value == 2  # prefilled
        await pilot.press("end", "backspace", "1", "enter")
        await until(pilot, lambda: cell(app, "ready") == "1/1" and running(docker_client) == 1, 60, "back to 1")

        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30, "the prediction")
        screen = app.screen
        assert isinstance(screen, PredictionScreen)
        assert screen.labels[0][0] == screen.sample and len(screen.labels) == 5
        await pilot.press("escape")

        await pilot.press("t")
        assert isinstance(app.screen, NumberScreen)
        await pilot.press("enter")
        await until(pilot, lambda: traffic(app) is not None and traffic(app).stats.ok > 20, 30, "traffic")
        await until(pilot, lambda: "failed · 0 retried" in str(app.query_one("#activity-log").border_subtitle), 10,
                    "failures and retries shown while traffic runs")
        await pilot.press("t")
        assert traffic(app) is None

        await pilot.press("ctrl+d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: running(docker_client) == 0 and WORKLOAD not in app.workloads, 60, "deleted")
        log = "\n".join(app.query_one("#activity-log").lines)
        assert "deploy: recognizer runs" in log
        stopped = re.search(r"^traffic: stopped after \d+ requests, (\d+) ok, (\d+) failed, (\d+) retried,", log,
                            re.M)
        assert stopped and int(stopped[1]) > 20 and (stopped[2], stopped[3]) == ("0", "0"), log


async def test_readonly_refuses_every_change(app_settings, docker_client) -> None:
    app_settings.readonly = True
    app = AituiApp(app_settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        for key in ("b", "d", "plus", "minus", "s", "r", "t", "ctrl+d"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, (ConfirmScreen, NumberScreen)), key
        notes = [n.message for n in app._notifications]
        assert sum("read-only" in m for m in notes) == 8
        assert running(docker_client) == 0 and building(app) is None
