"""aitui's own screens over fixed data, for SVG snapshot tests: the real app and widgets, with the
engine workers replaced by canned results (a sample config, as Posting's snapshot tests do)."""

from __future__ import annotations

import math
import time

from textual.widgets import Footer, Input, Tabs
from textual.widgets._footer import FooterKey
from textual.widgets._tabs import Underline

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.demo import Demo
from aitui.models import Health, Image, Pod, Series, Service, Workload
from aitui.services.doctor import Check
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.predict import samples
from aitui.services.targets.local import LocalTarget
from aitui.ui.chart_grid import ChartGrid
from aitui.ui.charts import Chart
from aitui.ui.contexts import Contexts
from aitui.ui.doctor import DoctorScreen
from aitui.ui.header import StatusBar
from aitui.ui.traffic import Predictor
from aitui.ui.workloads import Workloads


def images(now: float) -> list[Image]:
    return [
        Image("3f2c1a9b7d10", ("aitui/recognizer:0.1.0-3f2c1a9",), 270_000_000, now - 600, True, "litert",
              "0.1.0-3f2c1a9", 0.9893),
        Image("9ab01c44e2f3", ("aitui/recognizer:0.1.0-9ab01c4",), 1_690_000_000, now - 7200, True, "tensorflow",
              "0.1.0-9ab01c4", 0.9871),
        Image("c0ffee123456", ("aitui/recognizer:0.1.0-c0ffee1",), 290_000_000, now - 10800, True, "litert",
              "0.1.0-c0ffee1", 0.9412),
        Image("5d2e8f0a1b22", ("aitui/base:bookworm",), 123_000_000, now - 86400, False),
        Image("77aa9911cc00", ("prom/prometheus:v2.42.0",), 201_000_000, now - 3 * 86400, False),
        Image("865be2254ec7", (), 290_000_000, now - 1900, True),  # dangling: folded under a count
        Image("86931e2b3428", (), 290_000_000, now - 2300, True),
    ]


def workloads(now: float) -> list[Workload]:
    return [Workload(WORKLOAD, "local", 3, 3, 3, 3, "aitui/recognizer:0.1.0-3f2c1a9", now - 900)]


def pods(now: float) -> list[Pod]:
    return [Pod(f"{WORKLOAD}-{suffix}", WORKLOAD, "Running", True, 0, now - age, "aitui/recognizer:0.1.0-3f2c1a9",
                "local", f"127.0.0.1:{port}")
            for suffix, age, port in (("a1b2c3", 900, 32768), ("d4e5f6", 300, 32769), ("0718ab", 120, 32770))]


def series(query: str, now: float) -> list[Series]:
    """Smooth, fixed curves over the last 5 minutes, one point every 15 s."""
    times = [now - 300 + 15 * i for i in range(21)]
    def line(name: str, f) -> Series:
        return Series(name, tuple((t, f(i)) for i, t in enumerate(times)))
    if query == "requests":
        return [line("all", lambda i: 600 + 300 * math.sin(i / 3))]
    if query == "latency":
        return [line(q, lambda i, k=k: k * (0.004 + 0.001 * math.cos(i / 4))) for q, k in
                (("p50", 1), ("p95", 2.5), ("p99", 4))]
    if query == "replicas":
        return [line("ready", lambda i: 1 if i < 8 else 2 if i < 12 else 3)]
    return [Series("errors", (), "no data: no errors in this window")]


class CannedTarget:
    """The local target's answers that the screens show, without an engine behind them."""

    name = namespace = where = "local"
    namespaced = False
    prometheus_url = None  # the screens take their series from chart_source
    errors: dict[str, str] = {}  # noqa: RUF012

    def __init__(self, now: float) -> None:
        self.now = now

    def workloads(self) -> list[Workload]:
        return workloads(self.now)

    def pods(self, workload: str | None = None) -> list[Pod]:
        return pods(self.now)

    def services(self) -> list[Service]:
        return [Service(WORKLOAD, "published", "127.0.0.1", "8501->32768,32769,32770", 3, 3, self.now - 900)]

    def metrics_selector(self, workload: str = "") -> str:
        return 'job="recognizer"'

    def unscraped(self) -> str:
        return ""

    def deploy_plan(self) -> list[str]:
        return LocalTarget.deploy_plan(self)  # type: ignore[arg-type]

    def close(self) -> None:
        pass


CHECKS = [
    Check("docker", "ok", "engine 20.10.24 (API 1.41) at unix:///var/run/docker.sock"),
    Check("prometheus", "ok", "http://127.0.0.1:9090: version 2.42.0"),
    Check("prometheus rules", "ok", "5 recognizer:* recording rules"),
    Check("prometheus discovery", "ok", "file_sd job(s): recognizer (local replicas; no kubernetes_sd job)"),
    Check("kubeconfig", "ok", "2 context(s): kind-demo, prod-eu; current kind-demo, namespace default"),
    Check("context kind-demo", "ok", "Kubernetes v1.31.0, namespace default"),
    Check("context prod-eu", "warn", "unreachable: timed out",
          "start that cluster, or check its server: and credentials in the kubeconfig"),
    Check("base image", "ok", "python:3.11-slim is in the engine"),
    Check("wheelhouse", "fail", "serving/wheels lacks numpy==2.4.6 (builds install from it only)",
          "pip download -d serving/wheels numpy==2.4.6"),
]


class CannedDoctor(DoctorScreen):
    def run_checks(self) -> None:  # type: ignore[override]
        self.post_message(self.Checked(CHECKS))


class SnapshotApp(AituiApp):
    def __init__(self) -> None:
        super().__init__(Settings(kubeconfig="/nonexistent"), demo=Demo)  # (as `aitui` starts it: :demo works)
        self.now = time.time()  # ages and chart times relative to the app's start: "10m" whenever it runs
        self.target = CannedTarget(self.now)  # type: ignore[assignment]
        self.chart_source = lambda _settings, query, _window, _width, _selector, now: series(query, now)
        self.images_source = lambda _settings: images(self.now)

    def on_mount(self) -> None:
        """p answers with a canned prediction (there is no replica to ask). (Textual runs AituiApp's own
        on_mount after this one.)"""
        labels = (("circle", 0.962), ("ring", 0.021), ("square", 0.009), ("triangle", 0.005), ("cross", 0.002))
        predictor = self.query_one(Predictor)
        predictor.run = lambda *_: predictor.post_message(Predictor.Predicted(  # type: ignore[method-assign]
            "circle", samples()["circle"], labels, "127.0.0.1:32768 answered in 4 ms · esc closes",
            "Predict: a sample 'circle'"))

    def _start_engines(self) -> None:
        """The engines' first answers, posted as their workers would post them; the workloads, pods and
        charts come through the real workers, from CannedTarget and chart_source."""
        for h in (Health("docker", True, "20.10.24"), Health("prometheus", True, "127.0.0.1:9090 ok (v2.42.0)"),
                  Health("kubernetes", True, "2 contexts")):
            self.query_one(StatusBar).post_message(StatusBar.HealthChecked(h))
        self.query_one(Contexts).post_message(Contexts.Listed(contexts=["local", "kind-demo", "prod-eu"]))
        self.query_one(Workloads).refresh_lists()
        self.query_one(ChartGrid).poll()

    def action_doctor(self) -> None:
        self.push_screen(CannedDoctor(self.settings))


async def settled(pilot) -> None:
    """Wait until the snapshot app shows its canned lists, the charts on screen and every engine's health."""
    app = pilot.app
    for _ in range(200):
        await pilot.pause()
        if app.images and app.workloads and all(chart._drawn for chart in app.query(Chart) if chart.display) \
                and None not in app.query_one(StatusBar).health.values():
            return
    raise AssertionError("the snapshot app never settled")


def footer_current(app) -> bool:
    """The screen's footer shows the keys of what is focused now: it recomposes a refresh or two after a
    focus change (a search line, a zoomed panel), so a picture taken too early shows the keys before it."""
    footers = app.screen.query(Footer)
    if not footers:
        return True
    shown = {key.action for key in footers.first().query(FooterKey)} - {"command_palette"}  # its own key
    wanted = {binding.action for (_node, binding, _enabled, _tip) in app.screen.active_bindings.values()
              if binding.show}
    return shown == wanted


def underlines_still(app) -> bool:
    """Every tab bar's underline has reached its active tab (it slides there in 0.3 s, a busy machine later)."""
    for tabs in app.screen.query(Tabs):
        active, underline = tabs.active_tab, tabs.query_one(Underline)
        if active is not None and tabs.display and (underline.highlight_start, underline.highlight_end) != \
                active.virtual_region.shrink(active.styles.gutter).column_span:
            return False
    return True


async def drawn(pilot, check=lambda: True, what: str = "the screen") -> None:
    """Wait until `check()` holds and the footer caught up with the focus, then one more refresh. An input's
    cursor stops blinking (shown, steady): a picture taken half a second later would catch it hidden."""
    for _ in range(300):
        # (a tab's underline moves on a timer, which a bare pause does not give time to fire)
        await pilot.pause(None if underlines_still(pilot.app) else 0.05)
        if check() and footer_current(pilot.app) and underlines_still(pilot.app):
            for field in pilot.app.screen.query(Input):
                field.cursor_blink = False
            await pilot.pause()
            return
    raise AssertionError(f"never drawn: {what}")
