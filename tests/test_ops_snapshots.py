"""SVG snapshots of issue 15's screens at 80x24 and 120x36 over fixed data: the models view (a mixed rollout:
one replica on another version, flagged by its smoke test, figures from Prometheus), a load test's verdict,
and a capacity run's steps, chart, knee and suggestion (the steps of a real run on this machine, README)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from snapshot_app import SnapshotApp, drawn, pods, settled

from aitui.services.capacity import CapacityResult, Step, find_knee, suggest
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.loadtest import Deployed, LoadTestResult, checks
from aitui.services.measure import Figures, Machine
from aitui.services.model_view import Figures as ReplicaFigures
from aitui.services.model_view import ReplicaModel
from aitui.services.slo import Thresholds
from aitui.ui.capacity import CapacityScreen
from aitui.ui.loadtest import LoadTestScreen
from aitui.ui.resources import REGISTRY
from aitui.ui.resources import models as models_view

SIZES = [(80, 24), (120, 36)]
IMAGE = "aitui/recognizer:0.1.0-3f2c1a9"
MACHINE = Machine("ci", "AMD EPYC 7B13", 2, "Linux 6.1.0", "3.11.7")
DEPLOYED = Deployed("local", "local", WORKLOAD, IMAGE, 2)
SLO = Thresholds(500.0, 0.05, "prometheusrule.yaml: RecognizerHighLatencyP99, RecognizerHighErrorRatio")


def figures(rate: float, p50: float, p99: float, cpu: float, client: float, busy: float, seconds: float = 3.0,
            failed: int = 0) -> Figures:
    ok = round(rate * seconds)
    eps = {"127.0.0.1:32768": ok // 2, "127.0.0.1:32769": ok - ok // 2}
    return Figures(ok + failed, ok, failed, {"503": failed} if failed else {}, seconds, rate, rate, p50, p50 * 2.4,
                   p99, p99 * 1.6, round(failed / (ok + failed), 4), eps, dict.fromkeys(eps, cpu), client, busy)


def replicas(now: float) -> list[ReplicaModel]:
    out = []
    for i, (p, version, fig) in enumerate(zip(pods(now), ("0.1.0-3f2c1a9", "0.1.0-3f2c1a9", "0.1.0-c0ffee1"), (
            ReplicaFigures(212.4, 14.8, 0.0, 1.31, 0.0), ReplicaFigures(205.9, 16.2, 0.0, 1.27, 0.0),
            ReplicaFigures(48.7, 212.5, 0.021, 1.02, 3.0)), strict=True)):
        info = {"name": "recognizer", "version": version, "runtime": "litert",
                "accuracy": "0.9893" if i < 2 else "0.9412"}
        out.append(ReplicaModel(p, p.endpoint, info, "litert", fig, "prometheus",
                                smoke_note="ok 8/8" if i < 2 else "FLAG 0/8",
                                self_check="10 of 10 drawn images answered right (4 ms)"))
    return out


class OpsApp(SnapshotApp):
    """The models view's rows come canned (no replica to ask); smoke said the third replica is wrong."""

    def __init__(self) -> None:
        super().__init__()
        self.store.smoke.update({p.name: "ok 8/8" for p in pods(self.now)[:2]})
        self.store.smoke[pods(self.now)[2].name] = "FLAG 0/8"


@pytest.fixture(autouse=True)
def canned_models(monkeypatch) -> None:
    """The models view lists its replicas' figures from the canned ones (the target's `now`: the app's)."""
    canned = replace(models_view.VIEW, fetch=lambda target, _parent: models_view.Replicas(
        replicas(target.now), "from Prometheus (30s rates)"))
    monkeypatch.setitem(REGISTRY, "models", canned)


def loadtest_result(passed: bool) -> LoadTestResult:
    f = figures(525.6, 6.5, 30.4 if passed else 612.0, 0.25, 0.42, 0.95, 10.0, 0 if passed else 12)
    found = checks(f, SLO)
    return LoadTestResult(all(c.ok for c in found), found, f, SLO, DEPLOYED, 4, None, 10.0,
                          "2026-11-25T15:24:37+00:00", MACHINE,
                          {"json": "~/.local/state/aitui/reports/loadtest-20261125-152437.json",
                           "markdown": "~/.local/state/aitui/reports/loadtest-20261125-152437.md"})


def capacity_result() -> CapacityResult:
    steps = [Step(c, figures(rate, p50, p99, cpu, client, busy)) for c, rate, p50, p99, cpu, client, busy in (
        (1, 406.4, 1.8, 12.3, 0.18, 0.30, 0.93), (2, 483.3, 3.6, 15.5, 0.23, 0.37, 0.94),
        (4, 598.4, 6.1, 20.8, 0.25, 0.42, 0.95), (8, 463.8, 12.3, 86.8, 0.20, 0.35, 1.0))]
    knee = find_knee(steps, 0.10, SLO)
    assert knee.index is not None
    return CapacityResult(tuple(steps), knee, suggest(steps[knee.index], 1000, 0.3, 0.25), SLO, 0.10, 3.0, DEPLOYED,
                          MACHINE, "2026-11-25T15:30:00+00:00")




async def settle_layout(pilot) -> None:
    """A result changes the screen's height (auto): a few frames until the layout and the chart agree."""
    for _ in range(3):
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
    await drawn(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_models_view(snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press("m")
        await drawn(pilot, lambda: pilot.app.query_one("#models").row_count == 3, "the models rows")

    assert snap_compare(OpsApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("passed", [True, False], ids=["pass", "fail"])
def test_loadtest_verdict(snap_compare, size: tuple[int, int], passed: bool) -> None:
    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press("L")
        screen = pilot.app.screen
        assert isinstance(screen, LoadTestScreen)
        screen.show_result(loadtest_result(passed))
        screen.set_focus(None)  # an input's blinking cursor would make two runs differ
        await settle_layout(pilot)

    assert snap_compare(OpsApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_capacity_result(snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press("C")
        screen = pilot.app.screen
        assert isinstance(screen, CapacityScreen)
        await pilot.pause()
        screen.show_result(capacity_result())
        screen.set_focus(None)  # an input's blinking cursor would make two runs differ
        await settle_layout(pilot)

    assert snap_compare(OpsApp(), terminal_size=size, run_before=run_before)


def canary_figures():
    from aitui.ui.canary import Figures as CanaryFigures
    from aitui.ui.canary import SideFigures

    rounds = tuple((9.0 + (i % 4) * 0.8, 11.5 + (i % 5) * 1.1) for i in range(24))
    return CanaryFigures(SideFigures(2, 192, 0, 4.1, 10.9), SideFigures(1, 192, 0, 4.6, 14.2), 192, 188,
                         (("star: star->circle", 4),), rounds)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_canary_side_by_side(snap_compare, size: tuple[int, int]) -> None:
    from aitui.ui.canary import CanaryScreen

    async def run_before(pilot) -> None:
        await settled(pilot)
        app = pilot.app
        screen = CanaryScreen(app.settings, lambda: app.target, WORKLOAD, "aitui/recognizer:0.1.0-c0ffee1", False)
        await app.push_screen(screen)
        await pilot.pause()
        screen.running = True
        screen.query_one(".form").display = False
        screen._hint()
        screen._say("comparing the two versions: each sample to a replica of each")
        screen.show_figures(canary_figures())
        await drawn(pilot)

    assert snap_compare(OpsApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_demo_caption(snap_compare, size: tuple[int, int]) -> None:
    """:demo over the dashboard: the first step's caption, before space runs it."""

    async def run_before(pilot) -> None:
        await settled(pilot)
        await pilot.press("colon", *"demo", "enter")
        await drawn(pilot)

    assert snap_compare(OpsApp(), terminal_size=size, run_before=run_before)
