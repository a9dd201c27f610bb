"""aitui under faults (issue #8), each injected for real where it can be: the Docker engine's socket cut
(during a build) and restored, Prometheus killed and restarted or answering nothing, the API server failing,
hanging or refusing credentials, broken kubeconfigs, a terminal shrunk to 40x12. Each time: a clear
message, the rest of the app working, recovery without help, and no traceback or secret on screen."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import Prometheus, deployment, free_port, kube_client, missing, wait_until
from test_app_actions import building, until
from test_app_kube import command, notices, switch

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.images import recognizer_tag
from aitui.services.targets.local import WORKLOAD_LABEL
from aitui.ui.browser import ResourceTable
from aitui.ui.chart_grid import NARROW, SHORT, ChartGrid
from aitui.ui.header import StatusBar
from aitui.ui.help import HelpScreen


def screen_text(app: AituiApp) -> str:
    """Everything the user can read now: the screen (its text, from the SVG export), the Activity log,
    the notifications."""
    shown = html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot()))
    return "\n".join([shown, *app.query_one("#activity-log").lines, notices(app)])


def no_traceback(app: AituiApp) -> None:
    text = screen_text(app)
    assert "Traceback" not in text and 'File "' not in text, text[-2000:]


def health(app: AituiApp, name: str):
    return app.query_one(StatusBar).health[name]


class SocketProxy:
    """A unix socket in front of the Docker engine's: stop() cuts every connection (the engine is gone
    for aitui), start() brings it back on the same path."""

    def __init__(self, path: Path, upstream: str = "/var/run/docker.sock") -> None:
        self.path, self.upstream = path, upstream
        self.conns: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.upstream)
            self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        assert self.listener is not None
        self.listener.close()
        self.path.unlink()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self.conns.clear()


@pytest.mark.docker
async def test_docker_engine_cut_during_a_build_and_back(docker_client, settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    proxy = SocketProxy(Path(tempfile.mkdtemp(prefix="aitui-")) / "docker.sock")
    proxy.start()
    slow = tmp_path / "slow"
    slow.mkdir()
    marker = os.urandom(8).hex()  # a new step each run (never cached), and a way to find its container
    (slow / "Dockerfile").write_text(f"FROM {settings.base_image}\nRUN echo {marker} && sleep 30\n")
    (slow / "recognizer").mkdir()
    (slow / "recognizer" / "__init__.py").write_text('__version__ = "0.0.0-slow"\n')
    app = AituiApp(Settings(docker_host=f"unix://{proxy.path}", serving_dir=str(slow), timeout=2,
                            prometheus_url=f"http://127.0.0.1:{free_port()}", kubeconfig=str(tmp_path / "none")))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await until(pilot, lambda: health(app, "docker") and health(app, "docker").ok, 15, "docker ok")
        await until(pilot, lambda: app.images, 15, "the images")
        await pilot.press("b")
        await until(pilot, lambda: "step 2/" in str(app.query_one("#bottom").get_tab("build").label), 60,
                    "the build to reach its slow step")
        proxy.stop()
        await until(pilot, lambda: building(app) is None, 30, "the build to end")
        # the build's end is said once, as an error, with what happened to it (not the client's exception)
        ends = [(str(n.message), n.severity) for n in app._notifications if str(n.message).startswith("build: ")]
        assert ends == [("build: build failed: connection lost mid-answer", "error")], ends
        await until(pilot, lambda: not health(app, "docker").ok, 15, "the header to say docker is unreachable")
        assert "unreachable" in health(app, "docker").detail
        await pilot.press("question_mark")  # the app keeps working
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        proxy.start()
        await until(pilot, lambda: health(app, "docker").ok, 20, "docker back in the header")
        await until(pilot, lambda: str(app.query_one("#images").border_subtitle).isdigit(), 20, "images listed again")
        no_traceback(app)
    # the engine cancels a build whose client is gone: its step's container goes, and no image is tagged
    wait_until(lambda: not [c for c in docker_client.containers.list(all=True)
                            if marker in " ".join(c.attrs["Config"].get("Cmd") or [])], 30,
               "the cut build's container to be removed")
    assert not docker_client.images.list(name=recognizer_tag(slow))
    proxy.stop()


@pytest.mark.docker
async def test_a_replica_that_fails_to_stop_is_said_not_hidden(docker_client, settings, tmp_path, monkeypatch) -> None:
    """The engine goes away while `-` is stopping a replica: the stop fails in the thread that stops it, and
    that failure reaches Activity and a notification; the scale does not claim it reached 1 replica."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    workload = "stop-fails-" + os.urandom(3).hex()
    # two replicas whose process ignores SIGTERM (sleep as PID 1): a stop waits out STOP_TIMEOUT, time to cut
    replicas = [docker_client.containers.run(settings.base_image, ["sleep", "600"], detach=True, name=f"{workload}-{i}",
                                             labels={WORKLOAD_LABEL: workload}) for i in range(2)]
    proxy = SocketProxy(Path(tempfile.mkdtemp(prefix="aitui-")) / "docker.sock")
    proxy.start()
    try:
        app = AituiApp(Settings(docker_host=f"unix://{proxy.path}", timeout=2, kubeconfig=str(tmp_path / "none"),
                                prometheus_url=f"http://127.0.0.1:{free_port()}"))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            table = app.query_one("#workloads", ResourceTable)
            await until(pilot, lambda: workload in table.rows, 20, "the workload listed")
            table.focus()
            table.move_cursor(row=table.get_row_index(workload))
            since = int(time.time()) - 1
            await pilot.press("minus")

            def sigterm_sent() -> bool:  # the engine has begun the stop: it sent a replica SIGTERM
                return any(e.get("Action") == "kill" for e in docker_client.events(
                    since=since, until=int(time.time()) + 1, decode=True,
                    filters={"label": f"{WORKLOAD_LABEL}={workload}", "event": "kill"}))

            await until(pilot, sigterm_sent, 20, "the stop under way")
            proxy.stop()  # the engine is gone for aitui while its stop call waits
            failed = re.compile(rf"stopping {workload}-[01] failed: connection lost before an answer")
            await until(pilot, lambda: failed.search(notices(app)), 30, "the failed stop as an error message")
            activity = list(app.query_one("#activity-log").lines)
            assert any(failed.search(line) for line in activity), activity
            assert not any(line == f"scale {workload}: 1 replica" for line in activity), activity
            no_traceback(app)
    finally:
        with contextlib.suppress(Exception):
            proxy.stop()
        for c in replicas:
            with contextlib.suppress(Exception):
                c.remove(force=True)


@pytest.mark.docker
@pytest.mark.prometheus  # its own server, killed and started again
async def test_prometheus_killed_restarted_and_black_holed(tmp_path, monkeypatch) -> None:
    if shutil.which("prometheus") is None:
        missing("the prometheus binary")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    prom = Prometheus(tmp_path / "prom")
    settings = Settings(prometheus_url=prom.url, timeout=1, kubeconfig=str(tmp_path / "none"))
    app = AituiApp(settings)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await until(pilot, lambda: health(app, "prometheus") and health(app, "prometheus").ok, 15, "prometheus ok")
            prom.stop()
            await until(pilot, lambda: not health(app, "prometheus").ok, 15, "prometheus down in the header")
            assert "connection refused" in health(app, "prometheus").detail
            chart = app.query_one("#chart-requests")
            app.query_one(ChartGrid).poll()
            await until(pilot, lambda: any("connection refused" in series.error for series in chart.series), 15,
                        "the chart's reason")
            prom = Prometheus(tmp_path / "prom", port=prom.port)  # the same server, back
            await until(pilot, lambda: health(app, "prometheus").ok, 20, "prometheus back")
            no_traceback(app)
    finally:
        prom.stop()

    hole = socket.socket()  # accepts connections and never answers: the slowest Prometheus there is
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    settings.prometheus_url = f"http://127.0.0.1:{hole.getsockname()[1]}"
    app = AituiApp(settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await until(pilot, lambda: health(app, "prometheus") is not None, 15, "a verdict on prometheus")
        assert "timed out" in health(app, "prometheus").detail
        await pilot.press("question_mark")  # the UI never waits on the network
        assert isinstance(app.screen, HelpScreen)
        no_traceback(app)
    hole.close()


async def test_api_server_failures_hangs_and_recovery(standin, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web", replicas=1))
    app = AituiApp(Settings(kubeconfig=str(standin.kubeconfig_path), timeout=1,
                            prometheus_url=f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        standin.cluster.fail("list", "deployments", 500)
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "500" in str(table.border_subtitle), 10, "the 500 shown")
        assert "Internal Server Error" in str(table.border_subtitle)
        standin.cluster.clear_faults()
        await until(pilot, lambda: "web" in table.rows, 20, "recovery after the 500")

        standin.cluster.hang("list", "deployments", 3)
        await command(pilot, "ns other")
        await until(pilot, lambda: "timed out" in str(table.border_subtitle), 10, "the hang shown as a timeout")
        standin.cluster.clear_faults()
        await command(pilot, "ns default")
        await until(pilot, lambda: "web" in table.rows, 20, "back after the hang")
        no_traceback(app)


async def only_local_is_offered(settings: Settings, expect: str) -> None:
    app = AituiApp(settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await until(pilot, lambda: health(app, "kubernetes") is not None, 10, "the kube verdict")
        assert expect in health(app, "kubernetes").detail
        await command(pilot, "ctx")
        await until(pilot, lambda: "contexts: local" in notices(app), 5, "only local offered")
        assert "s3cret" not in screen_text(app)
        no_traceback(app)


async def test_bad_kubeconfigs_and_a_switch_to_an_unreachable_cluster(standin, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    dead = standin.kubeconfig_path.read_text().replace(standin.url, f"http://127.0.0.1:{free_port()}")
    (tmp_path / "dead").write_text(dead)
    (tmp_path / "corrupt").write_text("apiVersion: v1\nclusters: [ {broken\n  token: s3cret\n")
    for name, expect in (("missing", "no kubeconfig"), ("corrupt", "kubeconfig unreadable")):
        await only_local_is_offered(Settings(kubeconfig=str(tmp_path / name), timeout=1,
                                             prometheus_url=f"http://127.0.0.1:{free_port()}"), expect)

    app = AituiApp(Settings(kubeconfig=str(tmp_path / "dead"), timeout=1,
                            prometheus_url=f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "cluster unreachable: connection refused" in str(table.border_subtitle), 15,
                    "unreachable shown")
        await command(pilot, "ctx local")
        await until(pilot, lambda: app.settings.context == "local" and "local" in str(table.border_title), 10,
                    "back on local")
        no_traceback(app)


async def test_credentials_never_reach_the_screen(standin, tmp_path, monkeypatch) -> None:
    """A kubeconfig whose token the server refuses: the 401 is explained, the token never shown. Then a
    token the server takes for reading and refuses for a change (revoked mid-session): the verbs' 401s
    are on screen, the token is not."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    secret = "s3cret-token-" + os.urandom(6).hex()
    wrong = tmp_path / "wrong"
    wrong.write_text(standin.kubeconfig_path.read_text().replace(standin.token, secret))
    app = AituiApp(Settings(kubeconfig=str(wrong), timeout=1, prometheus_url=f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "unauthorized" in str(table.border_subtitle), 10, "the 401 explained")
        assert secret not in screen_text(app) and standin.token not in screen_text(app)
        no_traceback(app)

    apps, _ = kube_client(standin)
    apps.create_namespaced_deployment("default", deployment("web", replicas=1))
    standin.cluster.fail("patch", "deployments/scale", 401)
    refused = "scale deployments/web: unauthorized: the cluster refused the kubeconfig's credentials"
    app = AituiApp(Settings(kubeconfig=str(standin.kubeconfig_path), timeout=1,
                            prometheus_url=f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await switch(app, pilot, "standin")
        table = app.query_one("#workloads", ResourceTable)
        await until(pilot, lambda: "web" in table.rows, 10, "web listed with the token")
        await pilot.press("plus")
        await until(pilot, lambda: notices(app).count(refused) == 1, 10, "the verb's 401 on screen")
        await command(pilot, "scale 3")
        await until(pilot, lambda: notices(app).count(refused) == 2, 10, ":scale's 401 on screen")
        assert sum(m == "PATCH" and "/deployments/web/scale" in p for m, p, _ in standin.cluster.requests) == 2
        assert standin.token not in screen_text(app)
        no_traceback(app)


async def test_resize_to_40x12_and_back(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = AituiApp(Settings(kubeconfig=str(tmp_path / "none"), docker_host="unix:///nonexistent", timeout=1,
                            prometheus_url=f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        charts = app.query_one("#charts")
        for size in ((40, 12), (80, 24), (40, 12), (120, 36)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert app.size == size
            # the layout follows the size: two charts below NARROW columns, side by side within the width
            assert (charts.has_class("narrow"), charts.has_class("short")) == (size[0] < NARROW, size[1] < SHORT)
            shown = [c.region for c in app.query("Chart") if c.display]
            assert len(shown) == (2 if size[0] < NARROW else 4) and sum(r.width for r in shown) <= size[0], shown
            assert app.query_one(StatusBar).region.right <= size[0]
        assert not charts.has_class("narrow") and all(c.display for c in app.query("Chart"))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        no_traceback(app)

