"""The README's walkthrough (issue #7), by keystrokes through the Textual pilot, against the real Docker
engine and the real Prometheus: b build, d deploy, t traffic, + + to 3 replicas under load, p predict,
a change in serving/ then b and d to roll it out under load, - - back to 1, q, and a new aitui that finds
the workload as it was. Asserts on the screen, on the engine, on Prometheus, and on zero failed requests
with no request resent (traffic runs without retries: a failure is what a client would have seen)."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest
from conftest import ROOT, wait_until
from test_app_actions import building, cell, running, traffic, until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.images import recognizer_tag
from aitui.services.labels import NAME as WORKLOAD
from aitui.ui.charts import Chart
from aitui.ui.dialogs import ConfirmScreen, NumberScreen, PredictionScreen
from aitui.ui.images import ImagesTable

pytestmark = pytest.mark.docker


def link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another filesystem
        shutil.copy2(src, dst)


@pytest.fixture
def walkthrough(settings, prometheus, recognizer_image, docker_client, tmp_path, monkeypatch):
    """A copy of serving/ to change (hard links: the wheelhouse is not copied; the edited file is replaced,
    never written through its link), and the local target's scrape list where the test Prometheus reads it."""
    serving = tmp_path / "serving"
    shutil.copytree(ROOT / "serving", serving, copy_function=link_or_copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    state = tmp_path / "state"
    (state / "aitui").mkdir(parents=True)
    (state / "aitui" / "targets").symlink_to(prometheus.targets)
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    for c in docker_client.containers.list(all=True, filters={"label": f"io.aitui.workload={WORKLOAD}"}):
        c.remove(force=True)
    yield Settings(prometheus_url=prometheus.url, base_image=settings.base_image, serving_dir=str(serving),
                   kubeconfig=str(tmp_path / "none")), serving
    for c in docker_client.containers.list(all=True, filters={"label": f"io.aitui.workload={WORKLOAD}"}):
        c.remove(force=True)


def images_on(docker_client) -> set[str]:
    # sparse: the list's own fields (a full list inspects each container, and one removed meanwhile is a 404)
    return {c.attrs["Image"] for c in
            docker_client.containers.list(sparse=True, filters={"label": f"io.aitui.workload={WORKLOAD}",
                                                                "status": "running"})}


async def test_the_walkthrough_loses_no_request(walkthrough, prometheus, recognizer_image, docker_client) -> None:
    settings, serving = walkthrough
    marks: dict[str, float] = {}
    t0 = time.monotonic()
    app = AituiApp(settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        activity = app.query_one("#activity-log")

        def said(text: str) -> bool:
            return any(text in line for line in activity.lines)

        # 1. b builds the recognizer image, streaming its log; it appears in Images
        await until(pilot, lambda: app.images, 20, "the image list")
        await pilot.press("b")
        await until(pilot, lambda: said(f"build: {recognizer_image} (") and building(app) is None, 600, "the build")
        assert app.query_one("#build-log").line_count > 5
        images = app.query_one(ImagesTable)
        await until(pilot, lambda: any(recognizer_image in i.tags and i.id in images.rows
                                       and str(images.get_cell(i.id, "name")).startswith("★ ") for i in app.images),
                    10, "the image in Images")
        marks["1 build"] = time.monotonic() - t0

        # 2. d deploys it with 1 replica; the workload turns ready; Prometheus scrapes it
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: WORKLOAD in app.workloads and cell(app, "ready") == "1/1", 60, "1/1 ready")
        wait_until(lambda: prometheus.query(f'up{{job="recognizer",workload="{WORKLOAD}"}} == 1'), 30,
                   "Prometheus to scrape the replica")
        marks["2 deploy"] = time.monotonic() - t0

        # 3. t starts traffic; the charts show requests/s and latency
        await pilot.press("t")
        assert isinstance(app.screen, NumberScreen)
        await pilot.press("enter")
        started = time.monotonic()
        charts = {c.query_name: c for c in app.query(Chart)}
        await until(pilot, lambda: any(s.points for s in charts["requests"].series)
                    and any(s.points for s in charts["latency"].series), 45, "requests/s and latency charted")
        marks["3 traffic charted after"] = time.monotonic() - started

        # 4. + + scales to 3 under load; the new replicas become ready and take load
        await pilot.press("plus", "plus")
        assert cell(app, "ready").endswith("/3")
        await until(pilot, lambda: cell(app, "ready") == "3/3" and running(docker_client) == 3, 90, "3/3 ready")
        wait_until(lambda: len(prometheus.query(
            f'sum by (replica) (rate(recognizer_requests_total{{workload="{WORKLOAD}"}}[10s])) > 0')) == 3, 45,
            "all three replicas taking load")
        await until(pilot, lambda: len({s.name for s in charts["requests"].series if s.points} - {"all"}) == 3, 30,
                    "a line per replica in the requests chart")
        assert traffic(app) is not None and traffic(app).retries == 0  # what a client without retries sees
        assert (traffic(app).stats.failed, traffic(app).stats.retried) == (0, 0), traffic(app).stats
        marks["4 scaled to 3"] = time.monotonic() - t0

        # 5. p sends a sample and shows it with the top-5 labels
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30, "the prediction")
        assert isinstance(app.screen, PredictionScreen) and len(app.screen.labels) == 5
        assert app.screen.labels[0][0] == app.screen.sample
        await pilot.press("escape")
        marks["5 predict"] = time.monotonic() - t0

        # 6. change a line in serving/, b again, and roll it out: one replica at a time, no request fails
        server = serving / "recognizer" / "server.py"
        text = server.read_text()
        server.unlink()  # a new file, not a write through the hard link to the repository's copy
        server.write_text(text + f"\n# walkthrough change {time.time()}\n")
        await pilot.press("b")
        await until(pilot, lambda: building(app) is None and said("build: ") and sum(
            "build: aitui/recognizer:" in line and " in " in line for line in activity.lines) == 2, 600, "rebuild")
        new = recognizer_tag(serving)  # the change reached the image, so it has a new tag
        assert new != recognizer_image
        await until(pilot, lambda: any(new in i.tags for i in app.images), 20, "the new image in Images")
        app.query_one("#workloads").focus()
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen) and any("rollout from" in line for line in app.screen.lines)
        await pilot.press("y")
        await until(pilot, lambda: images_on(docker_client) == {new} and cell(app, "ready") == "3/3", 180,
                    "the rollout to the new image")
        assert said("rollout recognizer: 3/3")
        assert (traffic(app).stats.failed, traffic(app).stats.retried) == (0, 0), traffic(app).stats
        marks["6 rollout"] = time.monotonic() - t0

        # 7. - - back to 1 with no failed requests; q quits
        await pilot.press("minus", "minus")
        await until(pilot, lambda: cell(app, "ready") == "1/1" and running(docker_client) == 1, 90, "back to 1")
        stats = traffic(app).stats
        assert (stats.failed, stats.retried) == (0, 0) and stats.ok > 500, stats
        await pilot.press("t")
        assert any(re.match(rf"traffic: stopped after {stats.sent} requests, {stats.ok} ok, 0 failed, 0 retried,", line)
                   for line in activity.lines), list(activity.lines)[-5:]
        assert app.return_code is None
        await pilot.press("q")
        assert app.return_code == 0  # q quit the app
    marks["7 scaled to 1, quit"] = time.monotonic() - t0

    again = AituiApp(settings)  # nothing is lost: the workload is rebuilt from the containers' labels
    async with again.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: WORKLOAD in again.workloads and cell(again, "ready") == "1/1", 30,
                    "the workload found again")
        assert again.workloads[WORKLOAD].image == new
    print("walkthrough:", ", ".join(f"{k} {v:.1f}s" for k, v in marks.items()),
          f"requests {stats.ok} ok, 0 failed, 0 retried")
    for c in docker_client.containers.list(all=True, filters={"label": f"io.aitui.workload={WORKLOAD}"}):
        c.remove(force=True)
    docker_client.images.remove(new, force=True)  # one image per run, not one per run forever
