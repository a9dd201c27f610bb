"""A list taken earlier that comes back later is not shown over a newer one. The local engine's list can
take longer exactly while replicas go (a container removed during the list is a 404, and it lists again),
and a cancelled thread worker still posts its result: the walkthrough's `- -` once ended on the list from
before the last replica left, and stayed there, since no event followed (issue #23)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import wait_until
from test_app_actions import cell, until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.models import Image, Workload
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.targets.local import LocalTarget
from aitui.ui.images import ImagesTable
from aitui.ui.workloads import Workloads

pytestmark = pytest.mark.docker


def workload(n: int) -> Workload:
    return Workload(WORKLOAD, "local", n, n, n, n, "aitui/recognizer:1", time.time() - 60)


class FirstListIsLate(LocalTarget):
    """The real local target, whose first workload list returns only when the test says (3 replicas,
    as it was), while every later list says 1."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.release, self.first_done = threading.Event(), threading.Event()
        self.calls = 0

    def workloads(self) -> list[Workload]:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
            self.first_done.set()
            return [workload(3)]
        return [workload(1)]


@pytest.fixture
def settings_here(settings, docker_client, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return Settings(prometheus_url="http://127.0.0.1:9", base_image=settings.base_image,
                    serving_dir=settings.serving_dir, kubeconfig=str(tmp_path / "none"))


async def test_a_late_workload_list_is_not_shown_over_a_newer_one(settings_here) -> None:
    target = FirstListIsLate(settings_here)
    app = AituiApp(settings_here)
    app.target = target
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: target.calls >= 1, 20, "the first list asked for")
        app.query_one(Workloads).load()  # a newer list: the first one's worker is cancelled, but it still runs
        await until(pilot, lambda: app.workloads and cell(app, "ready") == "1/1", 20, "the newer list shown")
        target.release.set()
        wait_until(target.first_done.is_set, 10, "the late list returned")
        for _ in range(10):  # its message, if any, is handled within a few refreshes
            await pilot.pause()
        assert cell(app, "ready") == "1/1" and app.workloads[WORKLOAD].desired == 1


async def test_a_late_image_list_is_not_shown_over_a_newer_one(settings_here, monkeypatch) -> None:
    from aitui.services import images

    release, first_done = threading.Event(), threading.Event()
    calls = []
    new = Image("b" * 12, ("aitui/recognizer:new",), 1, time.time(), True)
    old = Image("a" * 12, ("aitui/recognizer:old",), 1, time.time() - 60, True)

    def list_images(settings) -> list[Image]:
        calls.append(1)
        if len(calls) == 1:
            release.wait(30)
            first_done.set()
            return [old]
        return [new, old]

    monkeypatch.setattr(images, "list_images", list_images)
    app = AituiApp(settings_here)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one(ImagesTable)
        await until(pilot, lambda: calls, 20, "the first image list asked for")
        table.load(app.settings)
        await until(pilot, lambda: [i.id for i in table.images] == [new.id, old.id], 20, "the newer list shown")
        release.set()
        wait_until(first_done.is_set, 10, "the late list returned")
        for _ in range(10):
            await pilot.pause()
        assert [i.id for i in table.images] == [new.id, old.id]
