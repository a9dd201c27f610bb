"""SVG snapshots at 80x24 and 120x36 of the screens of issue 14, items 4 and 8, over fixed data: the log
zoomed (z) with timestamps, a regex search highlighted, three replicas in their colours and the dropped
count; the replicas page of the charts (c); and its Prometheus-less fallback (CPU and memory from the
engine's stats, labelled so)."""

from __future__ import annotations

import math

import pytest
from snapshot_app import CannedTarget, SnapshotApp, drawn, series, settled

from aitui.models import ReplicaStats, Series
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.charts import Chart
from aitui.ui.logs import Line, PodLog

SIZES = [(80, 24), (120, 36)]
REPLICAS = ("recognizer-a1b2c3", "recognizer-d4e5f6", "recognizer-0718ab")


def log_lines() -> list[Line]:
    out = []
    for i in range(40):
        replica = REPLICAS[i % 3][-6:]
        stamp = f"2026-11-25T15:{30 + i // 20:02d}:{(i * 3) % 60:02d}.{(i * 137) % 1000:03d}417Z"
        text = (f"ERROR predict: upstream timeout after 2.0 s (batch {i % 7 + 1})" if i % 9 == 4 else
                f"POST /v2/models/recognizer/infer 200 {3 + i % 5}.{i % 10} ms batch={i % 7 + 1}")
        out.append(Line(replica, text, stamp))
    return out


def replica_series(query: str, now: float) -> list[Series]:
    """The replicas page: a line per replica, fixed curves over the last 5 minutes."""
    times = [now - 300 + 15 * i for i in range(21)]
    base = {"cpu": 0.3, "memory": 95.0 * 2**20, "batch": 3.0, "in_flight": 4.0}.get(query)  # memory in bytes
    if base is None:
        return series(query, now)
    return [Series(name, tuple((t, base * (1 + 0.2 * k) * (1 + 0.3 * math.sin(i / 3 + k)))
                               for i, t in enumerate(times))) for k, name in enumerate(REPLICAS)]


class StatsTarget(CannedTarget):
    def stats(self, workload: str = "") -> list[ReplicaStats]:
        return [ReplicaStats(name, 0.2 + 0.1 * k, (90 + 10 * k) * 2**20, "docker stats")
                for k, name in enumerate(REPLICAS)]


class ChartsApp(SnapshotApp):
    def __init__(self, down: bool = False) -> None:
        super().__init__()
        self.chart_source = lambda _settings, query, _window, _width, _selector, now: replica_series(query, now)
        if down:
            self.target = StatsTarget(self.now)  # type: ignore[assignment]
            self.prometheus_probe = lambda _settings: "connection refused"




@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_log_zoomed(snap_compare, size: tuple[int, int]) -> None:
    async def run_before(pilot) -> None:
        await settled(pilot)
        app = pilot.app
        app.query_one("#bottom").active = "logs"
        log = app.query_one(PodLog)
        log.buffer.dropped = 1_234  # as after a chatty hour
        log.timestamps = True
        log.add(log_lines())
        log.search("timeout|batch=7")
        await pilot.press("z")
        await drawn(pilot, lambda: app.screen.maximized is log and log.scroll_y == log.max_scroll_y, "the zoomed log")

    assert snap_compare(SnapshotApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("down", [False, True], ids=["prometheus", "fallback"])
def test_replicas_charts(snap_compare, size: tuple[int, int], down: bool) -> None:
    async def run_before(pilot) -> None:
        await settled(pilot)
        app = pilot.app
        grid = app.query_one(ChartGrid)
        await pilot.press("c")
        if grid.page == 0:  # narrow: the first page's other pair, then this one
            await pilot.press("c")
        for _ in range(200):
            await pilot.pause()
            charts = [c for c in app.query(Chart) if c.display and c.region.width]
            if all(c.query_name in ("cpu", "memory", "batch", "in_flight") and c.series and
                   (c.series[0].points or c.series[0].error.startswith("no data: Prometheus")) for c in charts):
                break
        else:
            raise AssertionError("the replicas page was never drawn")
        if down:  # a quarter of an hour of earlier samples, before the one the poll took (at its own time)
            last = max(t for c in app.query(Chart) for s in c.series for t, _ in s.points)
            grid.stats.clear()
            for i in range(20):
                grid.stats.add([ReplicaStats(n, 0.15 + 0.05 * k + 0.05 * math.sin(i / 3 + k), (88 + 10 * k + i % 4)
                                             * 2**20) for k, n in enumerate(REPLICAS)], last - 300 + 15 * i)
            grid.stats.add(StatsTarget(0).stats(), last)
            grid.post_message(ChartGrid.StatsSampled([], last))
            await pilot.pause()

    assert snap_compare(ChartsApp(down), terminal_size=size, run_before=run_before)
