"""Background work says when it ends and why (issue 17, item 5), through the pilot: traffic that reaches
its cap, its duration, or has no ready replica for a while; a followed log whose replica stops; a build that
ends. Each leaves a line in Activity and a notification, with its totals; traffic says its limits as it starts."""

from __future__ import annotations

import os

import pytest
from conftest import free_port
from test_app_actions import building, until
from test_traffic import live  # noqa: F401 - a real HTTP server that answers predict

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.targets.local import WORKLOAD_LABEL, LocalTarget
from aitui.services.traffic import Traffic
from aitui.ui import traffic as traffic_module
from aitui.ui.logs import PodLog

pytestmark = pytest.mark.docker


def activity(app: AituiApp) -> list[str]:
    return [str(line) for line in app.query_one("#activity-log").lines]


def notices(app: AituiApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def quiet_settings(settings: Settings, tmp_path) -> Settings:
    return Settings(base_image=settings.base_image, serving_dir=settings.serving_dir, timeout=3.0,
                    prometheus_url=f"http://127.0.0.1:{free_port()}", kubeconfig=str(tmp_path / "none"))


class Serving(LocalTarget):
    """The local target, whose recognizer's endpoints are the given ones (a real HTTP server, or none)."""

    served: list[str] = []  # noqa: RUF012

    def endpoints(self, workload: str = "recognizer") -> list[str]:
        return list(self.served)


async def run_traffic(settings: Settings, tmp_path, monkeypatch, served: list[str]) -> tuple[list[str], list[str], str]:
    """Activity's lines, the notifications and the Activity tab's label once traffic ended on its own."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = AituiApp(quiet_settings(settings, tmp_path))
    target = Serving(app.settings)
    target.served = served
    app.target = target
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        control = app.query_one(traffic_module.TrafficControl)
        control.start(2)
        # said, not control.traffic: a cap of 200 can start and end between two looks
        await until(pilot, lambda: any("concurrent requests" in line for line in activity(app)), 10,
                    "traffic to start")
        await until(pilot, lambda: control.traffic is None and any(
            line.startswith("traffic: stopped") for line in activity(app)), 30, "traffic to end on its own")
        await pilot.pause()
        return activity(app), notices(app), str(app.query_one("#bottom").get_tab("activity").label)


async def test_traffic_says_it_reached_its_cap(settings, tmp_path, monkeypatch, live) -> None:  # noqa: F811
    monkeypatch.setattr(traffic_module, "CAP", 200)
    lines, said, tab = await run_traffic(settings, tmp_path, monkeypatch, [live])
    assert any("2 concurrent requests for up to 10 minutes or 200 requests (t stops)" in line for line in lines), lines
    ended = "traffic: stopped after 200 requests (its cap): 200 requests, 200 ok, 0 failed"
    assert any(line.startswith(ended) for line in lines), lines
    assert any(n.startswith(ended) for n in said), said
    assert tab == "Activity"  # its progress is gone


async def test_traffic_says_it_reached_its_duration(settings, tmp_path, monkeypatch, live) -> None:  # noqa: F811
    monkeypatch.setattr(traffic_module, "SECONDS", 2.0)
    lines, said, _ = await run_traffic(settings, tmp_path, monkeypatch, [live])
    assert any("for up to 2 s or 100,000 requests" in line for line in lines), lines
    assert any(n.startswith("traffic: stopped after 2 s (its limit): ") for n in said), said


async def test_traffic_says_no_replica_was_ready(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(traffic_module, "IDLE", 1.0)
    _, said, _ = await run_traffic(settings, tmp_path, monkeypatch, [])
    idle = [n for n in said if n.startswith("traffic: stopped: no ready replica for 1 s: ")]
    assert idle and " 0 ok, " in idle[0], said


def test_the_limits_read_as_the_user_would_say_them() -> None:
    traffic = Traffic(lambda: [], [b"png"])
    traffic.duration, traffic.max_requests = 600, 100_000
    assert traffic.limits() == "for up to 10 minutes or 100,000 requests"
    traffic.reason = "cap"
    assert traffic.why_ended() == "stopped after 100,000 requests (its cap)"
    traffic.reason = "duration"
    assert traffic.why_ended() == "stopped after 10 min (its limit)"


async def test_a_followed_log_that_ends_says_so(settings, docker_client, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    workload = f"logends-{os.urandom(3).hex()}"
    container = docker_client.containers.run(settings.base_image, ["sh", "-c", "echo one; echo two; sleep 2"],
                                             detach=True, labels={WORKLOAD_LABEL: workload})
    try:
        app = AituiApp(quiet_settings(settings, tmp_path))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            log = app.query_one(PodLog)
            log.follow(app._target, workload, None)
            await until(pilot, lambda: "ended" in str(log.border_subtitle), 30, "the log to end")
            assert str(log.border_subtitle) == "log ended: l follows again"
            said = f"logs: {container.name} ended after 2 lines (its replica stopped or is gone)"
            assert said in activity(app) and said in notices(app), (activity(app), notices(app))
            assert any("(log ended: its replica stopped or is gone)" in line for line in log.lines)
    finally:
        container.remove(force=True)


async def test_a_build_that_ends_says_so(settings, docker_client, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    context = tmp_path / "ctx"
    (context / "recognizer").mkdir(parents=True)
    (context / "Dockerfile").write_text(f"FROM {settings.base_image}\nRUN echo {os.urandom(8).hex()}\n")
    (context / "recognizer" / "__init__.py").write_text('__version__ = "0.0.0-ends"\n')
    app = AituiApp(Settings(**{**vars(quiet_settings(settings, tmp_path)), "serving_dir": str(context)}))
    tag = ""
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await until(pilot, lambda: app.images, 20, "the image list")
            await pilot.press("b")
            def started() -> list[str]:  # "build: TAG from …"
                return [line for line in activity(app) if line.startswith("build: ") and " from " in line]

            await until(pilot, started, 20, "the build to start")
            tag = started()[0].split()[1]
            await until(pilot, lambda: building(app) is None and any(n.startswith("build: ") for n in notices(app)),
                        120, "the build to end")
            done = [n for n in notices(app) if n.startswith(f"build: {tag} (")]
            assert done and done[0] in activity(app), (notices(app), activity(app))
            assert str(app.query_one("#bottom").get_tab("build").label).startswith(f"Build: built {tag} in ")
    finally:
        if tag:
            docker_client.images.remove(tag, force=True)


async def test_an_engine_that_is_not_there_names_what_failed_and_what_to_do(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    gone = tmp_path / "gone.sock"
    app = AituiApp(Settings(**{**vars(quiet_settings(settings, tmp_path)), "docker_host": f"unix://{gone}"}))
    async with app.run_test(size=(120, 36)) as pilot:
        images = app.query_one("#images")
        await until(pilot, lambda: images.border_subtitle, 20, "the images' subtitle")
        said = str(images.border_subtitle)
        assert said.startswith("listing images failed: ") and said.endswith(" · :doctor says how to fix it"), said
        assert "Traceback" not in said and "Error(" not in said
