"""Charts beyond requests (issue 14, item 8): `c` pages through the requests page and the replicas page
(CPU, memory, batch size, requests in flight, one line per replica); with Prometheus down, CPU and memory
still come from the target (here the real engine's stats, one sample per poll), labelled as the fallback;
with the real Prometheus, the replicas page's series come from real scrapes."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time

import numpy as np
import pytest
import requests
from conftest import free_port, wait_until
from snapshot_app import CannedTarget
from test_app_actions import until
from test_background_ends import quiet_settings

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.models import ReplicaStats, Series
from aitui.services.metrics import StatsHistory
from aitui.services.targets.local import WORKLOAD_LABEL, stats_of
from aitui.ui import chart_grid
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.charts import Chart

BURN = "while :; do i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.1; done"  # a little CPU


def shown(app: AituiApp) -> list[str]:
    return [c.query_name for c in app.query(Chart) if c.display and c.region.width]


def test_stats_document_and_history() -> None:
    raw = {"cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000}, "system_cpu_usage": 20_000_000_000,
                         "online_cpus": 2},
           "precpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "system_cpu_usage": 16_000_000_000},
           "memory_stats": {"usage": 50 * 2**20, "stats": {"inactive_file": 10 * 2**20}}}
    s = stats_of("r1", raw)  # as docker stats: (1e9 / 4e9) x 2 cores; usage less the page cache
    assert (s.cpu, s.memory, s.source) == (0.5, 40 * 2**20, "docker stats")
    history = StatsHistory()
    history.add([ReplicaStats("r1", 0.5, 100.0), ReplicaStats("r2", 0.1, 200.0)], 1000.0)
    history.add([ReplicaStats("r1", 0.7, 110.0)], 1005.0)
    assert history.series("cpu", 300, 1005.0) == [Series("r1", ((1000.0, 0.5), (1005.0, 0.7))),
                                                  Series("r2", ((1000.0, 0.1),))]
    assert history.series("memory", 3, 1005.0, scale=0.5) == [Series("r1", ((1005.0, 55.0),))]
    history.add([], 4606.0)  # an hour on: the old samples are gone
    assert history.series("cpu", 3600, 4606.0) == []


async def test_c_pages_through_the_charts_at_both_widths(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    class Canned(AituiApp):
        chart_source = staticmethod(lambda _s, query, _w, _n, _sel, now: [Series("r1", ((now - 10, 1.0), (now, 2.0)))])
        prometheus_probe = staticmethod(lambda _s: "")

    app = Canned(Settings(kubeconfig=str(tmp_path / "none"), docker_host="unix:///nonexistent", timeout=1))
    app.target = CannedTarget(time.time())  # type: ignore[assignment]
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert shown(app) == ["requests", "latency", "replicas", "errors"]
        await pilot.press("c")
        assert shown(app) == ["cpu", "memory", "batch", "in_flight"]
        titles = [str(c.border_title) for c in app.query(Chart)]
        assert titles == ["CPU cores · 5m", "Memory MiB · 5m", "Batch size · 5m", "In flight · 5m"]
        await until(pilot, lambda: all(c.series and c.series[0].name == "r1" for c in app.query(Chart)), 5,
                    "the replicas page drawn")
        await pilot.press("c")
        assert shown(app) == ["requests", "latency", "replicas", "errors"]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        order = []
        for _ in range(4):
            order.append(shown(app))
            await pilot.press("c")
            await pilot.pause()
        assert order == [["requests", "latency"], ["replicas", "errors"], ["cpu", "memory"], ["batch", "in_flight"]]
        assert shown(app) == ["requests", "latency"]


@pytest.mark.docker
async def test_without_prometheus_cpu_and_memory_come_from_the_engine(settings, docker_client, tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(chart_grid, "EVERY", 1.0)
    workload = f"charts-{os.urandom(3).hex()}"
    replicas = [docker_client.containers.run(settings.base_image, ["sh", "-c", BURN], detach=True,
                                             labels={WORKLOAD_LABEL: workload}) for _ in range(2)]
    try:
        app = AituiApp(quiet_settings(settings, tmp_path))  # Prometheus: a port nothing listens on
        app.store.default = workload  # the charts show it (the store's, as when -w names it)
        async with app.run_test(size=(120, 36)) as pilot:
            grid = app.query_one(ChartGrid)
            await pilot.press("c")
            cpu, memory, batch, _ = app.query(Chart)
            names = {c.name for c in replicas}

            def drawn() -> bool:
                return {s.name for s in cpu.series} == names and all(len(s.points) >= 2 for s in cpu.series) \
                    and {s.name for s in memory.series} == names

            await until(pilot, drawn, 60, "two samples of each replica's CPU and memory")
            assert grid.fallback and "connection refused" in grid.fallback
            assert str(cpu.border_title) == "CPU cores · fallback · 5m"
            assert str(memory.border_title) == "Memory MiB · fallback · 5m"
            said = [str(line) for line in app.query_one("#activity-log").lines]
            assert f"charts: Prometheus at {app.settings.prometheus_url} {grid.fallback}: CPU and memory (c) come " \
                "from the target instead, marked fallback" in said and \
                "charts: CPU and memory from docker stats (fallback)" in said, said
            assert any(v > 0 for s in cpu.series for _, v in s.points)
            assert all(0.1 < v < 500 for s in memory.series for _, v in s.points)  # MiB of a shell
            # what the fallback cannot show says why
            assert batch.series[0].error == f"no data: Prometheus: {grid.fallback}"
            assert "fallback" not in str(batch.border_title)
    finally:
        for c in replicas:
            c.remove(force=True)


@pytest.mark.docker
async def test_the_replicas_page_from_the_real_prometheus(replica, prometheus, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(chart_grid, "EVERY", 1.0)
    workload = f"charts-{os.urandom(3).hex()}"
    target = prometheus.targets / f"{workload}.json"
    target.write_text(json.dumps([{"targets": [f"127.0.0.1:{replica.port}"],
                                   "labels": {"replica": f"{workload}-r1", "workload": workload}}]))
    stop = threading.Event()
    body = {"instances": [np.full((32, 32, 3), 100.0).tolist()]}

    def load() -> None:  # requests without a pause: batch size has samples, and scrapes find some in flight
        with requests.Session() as session:
            while not stop.is_set():
                session.post(f"{replica.url}/v1/models/recognizer:predict", json=body, timeout=10)

    senders = [threading.Thread(target=load, daemon=True) for _ in range(3)]  # 1 sender: ~12% of scrapes, 3: ~45%
    for sender in senders:
        sender.start()
    try:
        settings = Settings(kubeconfig=str(tmp_path / "none"), prometheus_url=prometheus.url, timeout=3)
        app = AituiApp(settings)
        app.store.default = workload  # the charts show it (no workload of the engine is selected: it has none)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("c")
            charts = list(app.query(Chart))

            def all_drawn() -> bool:
                return all([s.name for s in c.series if s.points] == [f"{workload}-r1"] for c in charts)

            await until(pilot, all_drawn, 90, "CPU, memory, batch size and in flight of the replica")
            cpu, memory, batch, _ = (c.series[0].points[-1][1] for c in charts)
            assert cpu > 0 and 5 < memory < 2000 and batch >= 1
            # in flight: a count of requests, and with a request always on its way some scrapes caught one
            await until(pilot, lambda: max(v for _, v in charts[3].series[0].points) >= 1, 60,
                        "a request in flight charted")
            assert all(v == int(v) and v >= 0 for _, v in charts[3].series[0].points), charts[3].series[0].points
            assert not app.query_one(ChartGrid).fallback
            assert not any("fallback" in str(c.border_title) for c in charts)
    finally:
        stop.set()
        for sender in senders:
            sender.join(15)
        target.unlink()


def test_a_dead_prometheus_is_said_in_one_quick_call() -> None:
    from aitui.services.metrics import unreachable

    assert "connection refused" in unreachable(Settings(prometheus_url=f"http://127.0.0.1:{free_port()}"))


@pytest.mark.docker
@pytest.mark.prometheus  # its own, with the shipped config
async def test_the_charts_show_traffic_within_15_s(settings, recognizer_image, tmp_path, monkeypatch) -> None:
    """README step 3: after `t`, "within about 15 s the charts show requests/s, latency p50/p95/p99, replicas up
    and the error ratio". Measured as a user has it: a replica deployed as d does, the shipped Prometheus config
    (a scrape every 2 s, not the tests' 1 s), the charts' own poll, from the key to all four charts drawn."""
    from conftest import Prometheus, missing

    from aitui.services.targets.local import LocalTarget
    from aitui.ui.dialogs import NumberScreen

    if shutil.which("prometheus") is None:
        missing("the prometheus binary")
    workload = f"charts15-{os.urandom(3).hex()}"
    prom = Prometheus(tmp_path / "prom", scrape_interval="2s")
    (tmp_path / "state" / "aitui").mkdir(parents=True)
    (tmp_path / "state" / "aitui" / "targets").symlink_to(prom.targets)  # where d's replicas are listed
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    s = Settings(kubeconfig=str(tmp_path / "none"), prometheus_url=prom.url, base_image=settings.base_image)
    target = LocalTarget(s)
    try:
        target.deploy(recognizer_image, 1, workload)  # step 2, before t: deployed, ready, scraped
        wait_until(lambda: prom.query(f'up{{job="recognizer",workload="{workload}"}} == 1'), 30, "the first scrape")
        app = AituiApp(s)
        app.store.default = workload  # t sends to, and the charts show, this workload
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: workload in app.workloads, 20, "the workload listed")
            charts = {c.query_name: c for c in app.query(Chart)}

            def drawn() -> bool:
                lines = {name: {x.name: x.points for x in c.series if x.points} for name, c in charts.items()}
                return (lines["requests"].get("all", ((0, 0),))[-1][1] > 0
                        and {"p50", "p95", "p99"} <= set(lines["latency"])
                        and lines["replicas"].get("up", ((0, 0),))[-1][1] == 1
                        and bool(lines["errors"].get("5xx+429")))

            assert not drawn()  # before t: no request yet, so no latency and no error ratio
            await pilot.press("t")
            assert isinstance(app.screen, NumberScreen)
            await pilot.press("enter")
            started = time.monotonic()
            await until(pilot, drawn, 60, "requests/s, latency, replicas up and the error ratio charted")
            took = time.monotonic() - started
            print(f"charts: all four drawn {took:.1f}s after t (scrape every 2s, poll every {chart_grid.EVERY:g}s)")
            assert took <= 15, f"the charts took {took:.1f}s"
            await pilot.press("t")  # stop the traffic
    finally:
        target.delete(workload)
        target.close()
        prom.stop()
