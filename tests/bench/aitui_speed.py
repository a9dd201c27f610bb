"""aitui's speed, measured against the targets of issue #5. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/aitui_speed.py [--pods 5000] [--images 1000] [--idle 30]

- first frame: `python -m aitui` in a pseudo-terminal (120x36, local context) until "Workloads" is drawn;
- idle CPU: the same process, left alone with everything open, from /proc/<pid>/stat;
- scale: the app (Textual pilot, 120x36) on a Kubernetes context served by the API-server stand-in, run as
  its own process, holding one Deployment of --pods replicas; and --images images in the Images table.
  The images are generated rows (a Docker engine with 1,000 images would take minutes to fill); the pods
  are real objects that went through the stand-in's HTTP, watch and the client's informer cache.
- with --cluster, the scale part again against the real kube-apiserver of `.ci/cluster up`: a Deployment
  of --pods replicas that the real controller-manager and scheduler place on a fake node kwok keeps Ready
  (tests/bench/kwok_cluster.py); no container runs and nothing connects to the fake pod addresses.
Docker and Prometheus should be up (./.ci/up --no-run) for the first two, as a user's would be.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from conftest import free_port  # noqa: E402

from aitui.app import AituiApp  # noqa: E402
from aitui.config import Settings  # noqa: E402
from aitui.models import Image, Series  # noqa: E402
from aitui.ui.charts import Chart  # noqa: E402
from aitui.ui.images import ImagesTable  # noqa: E402


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Terminal:
    """aitui in a pseudo-terminal of a given size, read continuously as a terminal would."""

    def __init__(self, cols: int = 120, rows: int = 36) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "aitui"], stdin=slave, stdout=slave, stderr=slave,
                                     env={**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols),
                                          "LINES": str(rows)}, start_new_session=True)
        os.close(slave)
        self.output = b""

    def pump(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    self.output += os.read(self.master, 1 << 16)
                except OSError:
                    return
            self.output = self.output[-(1 << 20):]

    def wait_for(self, text: bytes, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while text not in self.output:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{text!r} not drawn within {timeout}s")
            self.pump(0.01)
        return time.perf_counter() - self.started

    def close(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)
        os.close(self.master)


def first_frame_and_idle(runs: int, idle: float) -> None:
    frames = []
    for _ in range(runs):
        term = Terminal()
        try:
            frames.append(term.wait_for(b"Workloads", 20))
        finally:
            term.close()
    print(f"first frame (python -m aitui in a 120x36 pty, local context): median {statistics.median(frames):.3f} s "
          f"over {runs} runs (min {min(frames):.3f}, max {max(frames):.3f}); target < 0.35 s")
    term = Terminal()
    try:
        term.wait_for(b"Workloads", 20)
        term.pump(5.0)  # first probes, lists and charts settle
        before, t0 = cpu_seconds(term.proc.pid), time.perf_counter()
        term.pump(idle)
        used, wall = cpu_seconds(term.proc.pid) - before, time.perf_counter() - t0
        print(f"idle CPU over {wall:.0f} s (main screen, charts and health polls running, Docker events open): "
              f"{100 * used / wall:.2f}% of one core; RSS {rss_mb(term.proc.pid):.0f} MB; target < 1%")
    finally:
        term.close()


def start_standin(workdir: Path) -> tuple[subprocess.Popen, Path]:
    port = free_port()
    kubeconfig = workdir / "kubeconfig"
    proc = subprocess.Popen([sys.executable, str(TESTS / "apiserver.py"), "--port", str(port), "--kubeconfig",
                             str(kubeconfig), "--token", "", "--ready-after", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and "stand-in on" in proc.stdout.readline()
    return proc, kubeconfig


def seed(kubeconfig: Path, pods: int) -> None:
    from kubernetes import client, config

    apps = client.AppsV1Api(config.new_client_from_config(str(kubeconfig)))
    labels = {"app.kubernetes.io/name": "recognizer", "app.kubernetes.io/instance": "recognizer"}
    apps.create_namespaced_deployment("default", {
        "metadata": {"name": "recognizer", "labels": labels},
        "spec": {"replicas": pods, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "recognizer", "image": "aitui/recognizer:0.1.0"}]}}}})
    t0 = time.perf_counter()
    while (apps.read_namespaced_deployment("recognizer", "default").status.ready_replicas or 0) < pods:
        if time.perf_counter() - t0 > 600:
            raise TimeoutError("the stand-in did not make the pods ready")
        time.sleep(0.5)
    print(f"stand-in: {pods} pods ready after {time.perf_counter() - t0:.1f} s (its own process)")


async def until(pilot, check, timeout: float, since: float | None = None) -> float:
    t0 = time.perf_counter() if since is None else since
    while not check():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("condition not met")
        await pilot.pause(0.005)
    return time.perf_counter() - t0


def keyname(k: object) -> str:
    return str(k)  # the virtual table's row key


async def frame_time(pilot, change, idle: float) -> float:  # type: ignore[no-untyped-def]
    """A change applied and drawn: its time to the next idle screen, less an idle turn's own time."""
    t0 = time.perf_counter()
    change()
    await pilot.pause()
    return max(0.0, time.perf_counter() - t0 - idle)


async def scale(kubeconfig: Path, pods: int, images: int, context: str = "standin", namespace: str = "default",
                table_kind: str = "virtual") -> None:
    from kubernetes import client, config

    from aitui.ui import browser

    core = client.CoreV1Api(config.new_client_from_config(str(kubeconfig), context=context))
    settings = Settings(kubeconfig=str(kubeconfig), context=context, namespace=namespace,
                        prometheus_url=f"http://127.0.0.1:{free_port()}", docker_host="unix:///nonexistent")
    app = AituiApp(settings)
    timings: list[tuple[int, float]] = []
    rss0 = rss_mb()
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one("#workloads", browser.ResourceTable)
        t = await until(pilot, lambda: "recognizer" in table.rows
                        and str(table.get_cell("recognizer", "ready")) == f"{pods}/{pods}", 60)
        print(f"context with {pods} pods: workloads shown from the caches {t:.2f} s after start "
              f"(list + watch of {pods} pods through HTTP and the informer)")
        listed = await until(pilot, lambda: app.target is not None and app.target.synced(0), 120)  # type: ignore[attr-defined]
        print(f"  every pod in the cache {listed:.2f} s later (enter is timed from there)")
        pods_table = app.query_one("#pods", browser.ResourceTable)
        show_pods = pods_table.show

        cpu: list[float] = []  # the UI thread's own CPU time per change: what a busy machine does not inflate

        def timed_show_pods(found, now) -> None:  # each change the pods table takes, timed
            t0, c0 = time.perf_counter(), time.thread_time()
            show_pods(found, now)
            timings.append((len(found), time.perf_counter() - t0))
            cpu.append(time.thread_time() - c0)

        pods_table.show = timed_show_pods  # type: ignore[method-assign]
        t0 = time.perf_counter()
        app.query_one(browser.ResourceBrowser).open("pods", "recognizer")  # what enter on the workload does
        t = await until(pilot, lambda: pods_table.row_count == pods, 60, since=t0)
        await pilot.pause()  # and drawn
        drawn = time.perf_counter() - t0
        fill, fill_cpu = next((dt, c) for (n, dt), c in zip(timings, cpu, strict=True) if n == pods)
        print(f"[{table_kind}] pods table, enter to the first full table of {pods} rows: {t:.3f} s, drawn at "
              f"{drawn:.3f} s (of which filling the table {fill:.3f} s, {fill_cpu:.3f} s of UI-thread CPU); "
              "target < 0.5 s")
        pods_table.move_cursor(row=100)
        kept = pods_table.selected
        victims = [keyname(k) for k in list(pods_table.rows)[200:250]]
        timings.clear()
        cpu.clear()
        for name in victims:
            core.delete_namespaced_pod(name, namespace)
        await until(pilot, lambda: not any(v in pods_table.rows for v in victims) and pods_table.row_count == pods,
                    60)
        changes = [dt for n, dt in timings]
        print(f"[{table_kind}] 50 pods deleted and replaced: {len(changes)} table updates, slowest "
              f"{max(changes) * 1000:.1f} ms, "
              f"median {statistics.median(changes) * 1000:.1f} ms; cursor kept on its pod: "
              f"{pods_table.selected == kept}; UI-thread CPU median {statistics.median(cpu) * 1000:.1f} ms; "
              "target < 30 ms median, < 60 ms slowest")
        # the same change, 50 rows gone and 50 new, to the table alone: no watch thread decoding beside it
        current = app.target.pods("recognizer") if app.target is not None else []
        renamed = current[:200] + current[250:] + [dataclasses.replace(p, name=p.name + "-b") for p in current[200:250]]
        alone, drawn_too = [], []
        idle = []
        for _ in range(5):
            t0 = time.perf_counter()
            await pilot.pause()
            idle.append(time.perf_counter() - t0)
        turn = statistics.median(idle)
        for rows in [renamed, current] * 5:
            t0 = time.perf_counter()
            show_pods(rows, time.time())
            alone.append(time.perf_counter() - t0)
            await pilot.pause()
        for rows in [renamed, current] * 5:
            drawn_too.append(await frame_time(pilot, lambda rows=rows: show_pods(rows, time.time()), turn))
        print(f"[{table_kind}] the same 50-row change to the pods table alone (no watch beside it), {len(alone)} "
              f"times: applied in median {statistics.median(alone) * 1000:.1f} ms "
              f"({min(alone) * 1000:.1f}–{max(alone) * 1000:.1f}); applied and drawn: median "
              f"{statistics.median(drawn_too) * 1000:.1f} ms (max {max(drawn_too) * 1000:.1f})")
        await pilot.press("escape")
        await pilot.pause()
        t0 = time.perf_counter()
        await pilot.press("plus")
        shown = await until(pilot, lambda: str(table.get_cell("recognizer", "ready")).endswith(f"/{pods + 1}"), 5,
                            since=t0)
        target = app.target
        confirmed = await until(pilot, lambda: target is not None and any(
            w.desired == pods + 1 for w in target.workloads()), 10, since=t0)
        print(f"keystroke + to the new desired count on screen: {shown * 1000:.0f} ms; in the watch cache (the cluster "
              f"has it) at {confirmed * 1000:.0f} ms; target < 100 ms")

        now = time.time()
        fake = [Image(f"{i:012x}", (f"example/app-{i}:1.{i}",), 10_000_000 + i, now - i * 60, i % 10 == 0)
                for i in range(images)]
        images_table = app.query_one(ImagesTable)
        t0 = time.perf_counter()
        images_table.show(fake)
        first = time.perf_counter() - t0
        images_table.move_cursor(row=500)
        kept_image = images_table.cursor_key
        changed = fake[:20] + fake[70:] + [Image(f"{i:012x}", (f"example/new-{i}:1",), 1, now, False)
                                           for i in range(images, images + 50)]
        t0 = time.perf_counter()
        images_table.show(changed)
        change = time.perf_counter() - t0
        after = images_table.cursor_key
        print(f"images table: first fill of {images} rows {first * 1000:.0f} ms; 100 rows changed (50 gone, 50 new) "
              f"{change * 1000:.1f} ms; cursor kept: {after == kept_image}")

        chart = app.query_one("#chart-requests", Chart)
        width = max(10, chart.size.width - 8)
        hour = [Series(name, tuple((now - 3600 + i * 3600 / width, 100 + i % 7) for i in range(width)))
                for name in ("p50", "p95", "p99")]
        redraws = []
        for _ in range(20):
            t0 = time.perf_counter()
            chart.show(hour, 3600)
            chart.render()
            redraws.append(time.perf_counter() - t0)
        print(f"chart redraw, 1-hour window, 3 series x {width} points: median {statistics.median(redraws) * 1000:.1f}"
              f" ms (max {max(redraws) * 1000:.1f}); target < 20 ms")
        print(f"memory: aitui's process RSS {rss_mb():.0f} MB with {pods} pods and {images} images loaded "
              f"(the benchmark itself started at {rss0:.0f} MB); target < 200 MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", default="5000,20000", help="pod counts, each its own run (targets x2 at 20,000)")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale-only", action="store_true", help="skip the first-frame and idle-CPU measures")
    ap.add_argument("--cluster", action="store_true",
                    help="also against the real API server of .ci/cluster, with the pods on kwok's fake node")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d %H:%M')}")
    if not args.scale_only:
        first_frame_and_idle(args.runs, args.idle)
    counts = [int(n) for n in args.pods.split(",")]
    for pods in counts:
        kinds = ("virtual",)  # (DataTable's path went with ui/tables.py: every list is the virtual table now)
        with tempfile.TemporaryDirectory(prefix="aitui-bench-") as d:
            proc, kubeconfig = start_standin(Path(d))
            try:
                seed(kubeconfig, pods)
                for kind in kinds:
                    asyncio.run(scale(kubeconfig, pods, args.images, table_kind=kind))
            finally:
                proc.terminate()
                proc.wait(10)
        if args.cluster:
            from kwok_cluster import KwokPods

            print(f"-- {pods} pods against the real kube-apiserver (etcd, controller-manager, scheduler; "
                  "kwok's fake node)")
            with KwokPods(pods) as real:
                for kind in kinds:
                    asyncio.run(scale(real.kubeconfig, pods, args.images, real.context, real.namespace, kind))
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
