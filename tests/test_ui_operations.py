"""Issue 15 on screen, by keystroke against the real Docker engine and a real Prometheus: the models view
(`m`: each replica's model from the replica itself, its figures from Prometheus and, with Prometheus
gone, from the replicas' own /metrics; `enter` follows a replica's log), the smoke test after `d` and a
flagged replica, the load test's SLO gate (`L`) and the capacity finder (`C`). Workloads are this test's
own (ui15-<hex>), removed afterwards."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cluster import ADMIN
from conftest import derived_image
from test_app_actions import until
from test_cli_commands import MISLABEL, SELF_CHECK_OFF

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.canary import canary_of
from aitui.services.labels import NAME as WORKLOAD
from aitui.services.model_view import model_info, parse
from aitui.services.predict import samples
from aitui.services.targets.kubernetes import KubeTarget
from aitui.services.targets.local import QUARANTINED, WORKLOAD_LABEL, LocalTarget
from aitui.services.traffic import Traffic
from aitui.ui.browser import ResourceBrowser
from aitui.ui.canary import CanaryScreen
from aitui.ui.capacity import CapacityScreen, ThroughputChart
from aitui.ui.dialogs import ConfirmScreen
from aitui.ui.loadtest import LoadTestScreen

pytestmark = pytest.mark.docker

SUFFIX = secrets.token_hex(3)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def image(docker_client, recognizer_image: str) -> Iterator[str]:
    """The recognizer image of these sources, under a tag of this module's own."""
    docker_client.images.get(recognizer_image).tag("aitui/recognizer", f"ui15-{SUFFIX}")
    yield f"aitui/recognizer:ui15-{SUFFIX}"
    with contextlib.suppress(Exception):
        docker_client.images.remove(f"aitui/recognizer:ui15-{SUFFIX}", noprune=True)


@pytest.fixture
def state(tmp_path: Path, prometheus, monkeypatch) -> Path:
    """The app's state dir; its file_sd list is the test Prometheus's (as the walkthrough does)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    (tmp_path / "aitui").mkdir()
    (tmp_path / "aitui" / "targets").symlink_to(prometheus.targets)
    return tmp_path


@pytest.fixture
def settings_(state: Path, prometheus) -> Settings:
    return Settings(prometheus_url=prometheus.url, kubeconfig=str(state / "none"))


@pytest.fixture
def workload(settings_: Settings, image: str, prometheus) -> Iterator[str]:
    """Two replicas of the image, deployed through the local target, scraped by the test Prometheus."""
    name = f"ui15-{secrets.token_hex(3)}"
    target = LocalTarget(settings_, targets_dir=prometheus.targets)
    try:
        target.deploy(image, 2, name)
        ready(settings_, name, 2)
        yield name
    finally:
        target.delete(name)
        target.delete(f"{name}-canary")  # a canary a failed test left behind (none: nothing to do)
        target.close()


def ready(settings_: Settings, name: str, n: int) -> None:
    """Until a new process's target (the app's) sees n ready replicas: the engine's health check says so."""
    deadline = time.monotonic() + 60
    while len(LocalTarget(settings_).endpoints(name)) < n:
        assert time.monotonic() < deadline, f"{n} ready replicas of {name}"
        time.sleep(0.5)


def select(app: AituiApp, name: str) -> None:
    table = app.query_one("#workloads")
    table.move_cursor(row=table.get_row_index(name))  # type: ignore[attr-defined]


def cells(app: AituiApp, kind: str) -> dict[str, dict[str, str]]:
    """The rows of a view's table: key -> column key -> text."""
    table = app.query_one(ResourceBrowser).table(kind)
    cols = [k for k, _ in table.view.columns]
    keys = list(table.rows) if isinstance(table.rows, dict) else []  # type: ignore[attr-defined]
    return {key: {c: str(table.get_cell(key, c)) for c in cols} for key in keys}


def text_of(static) -> str:
    """What a Static shows, as plain text."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(static.content)
    return console.export_text()


async def waiting(pilot, app: AituiApp, check, timeout: float, what: str) -> None:
    """until(), and on a timeout what Activity said (why a deploy or a canary did not get there)."""
    try:
        await until(pilot, check, timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; Activity:\n{activity(app)[-3000:]}") from None


def activity(app: AituiApp) -> str:
    return "\n".join(app.query_one("#activity-log").lines)  # type: ignore[attr-defined]


async def test_models_view_per_replica_from_prometheus_then_from_each_replica(settings_: Settings, workload: str,
                                                                               prometheus) -> None:
    target = LocalTarget(settings_, targets_dir=prometheus.targets)
    reach = target.replica_endpoints(workload)
    assert len(reach) == 2
    # what each replica says it serves, read here on our own
    served = {pod: model_info(parse(requests.get(f"http://{ep}/metrics", timeout=5).text)) for pod, ep in reach.items()}
    load = Traffic(lambda: target.endpoints(workload), list(samples().values()), concurrency=2, duration=120,
                   record=True).start()
    app = AituiApp(settings_)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: workload in app.workloads, 20, "the workload listed")
            select(app, workload)
            await pilot.press("m")
            browser = app.query_one(ResourceBrowser)
            assert browser.top == ("models", workload)

            def measured(source: str) -> bool:
                rows = cells(app, "models")
                return len(rows) == 2 and all(r["source"] == source and r["rate"] != "-" and r["p99"] != "-"
                                              for r in rows.values())

            def agrees() -> bool:  # the view's req/s against what the client counts (its window fills first)
                shown = sum(float(r["rate"]) for r in cells(app, "models").values())
                return 0.5 * load.stats.rate() < shown < 2 * load.stats.rate()

            await until(pilot, lambda: measured("prom") and agrees(), 60, "each replica's figures from Prometheus")
            rows = cells(app, "models")
            print("models (prometheus):", rows)
            for pod, info in served.items():
                assert rows[pod]["version"] == info["version"].rsplit("-", 1)[-1]  # the hash of the image's tag
                assert rows[pod]["runtime"] == info["runtime"]
                assert rows[pod]["accuracy"] == f"{float(info['accuracy']):.1%}"
                assert float(rows[pod]["rate"]) > 0 and float(rows[pod]["errors"]) == 0
            assert "from Prometheus" in str(browser.table("models").border_subtitle)
            # the same figure from the source itself: Prometheus, asked here
            got = prometheus.query(f'sum(rate(recognizer_requests_total{{workload="{workload}"}}[30s]))')
            assert got and float(got[0]["value"][1]) > 0

            # Prometheus gone (for this app): each replica's own /metrics, and the screen says so
            app.settings.prometheus_url = "http://127.0.0.1:1"
            await until(pilot, lambda: measured("direct"), 30, "figures from each replica's /metrics")
            sub = str(browser.table("models").border_subtitle)
            assert "each replica's /metrics" in sub and "Prometheus:" in sub, sub

            # enter on a replica: its log
            pod = sorted(reach)[0]
            table = browser.table("models")
            table.move_cursor(row=table.get_row_index(pod))
            await pilot.press("enter")
            await until(pilot, lambda: app.query_one("#bottom").active == "logs", 10, "the Logs tab")  # type: ignore[attr-defined]
            assert pod in str(app.query_one("#bottom").get_tab("logs").label)  # type: ignore[attr-defined]
            assert browser.top == ("models", workload)  # the view stays; esc still pops it
    finally:
        load.stop()
    assert load.stats.failed == 0


@pytest.fixture
def mixed(settings_: Settings, image: str, prometheus, docker_client) -> Iterator[tuple[str, str]]:
    """One good replica deployed by aitui and one that joins it with its labels reversed and its self-check
    off (it serves and is healthy, but answers every sample wrong)."""
    name = f"ui15-{secrets.token_hex(3)}"
    target = LocalTarget(settings_, targets_dir=prometheus.targets)
    try:
        target.deploy(image, 1, name)
        bad = docker_client.containers.run(
            image, name=f"{name}-wrong", detach=True, read_only=True, tmpfs={"/tmp": "size=64m"},
            labels={WORKLOAD_LABEL: name}, ports={"8501/tcp": ("127.0.0.1", None)}, entrypoint="python",
            command=["-c", MISLABEL], environment=SELF_CHECK_OFF,
            healthcheck={"test": ["CMD", "python", "-m", "recognizer.healthcheck"], "interval": 300_000_000,
                         "start_period": 300_000_000})
        ready(settings_, name, 2)
        yield name, bad.name
    finally:
        target.delete(name)
        target.close()


async def test_smoke_after_deploy_and_a_flagged_replica(settings_: Settings, image: str, mixed, monkeypatch,
                                                        docker_client) -> None:
    name, bad = mixed
    fresh = f"ui15-{secrets.token_hex(3)}"
    app = AituiApp(settings_)
    app.store.default = fresh  # d deploys this test's own workload, not recognizer
    try:
        async with app.run_test(size=(160, 40), notifications=True) as pilot:
            await until(pilot, lambda: app.images and name in app.workloads, 20, "images and workloads")
            await pilot.press("d")
            assert any("smoke" in line for line in app.screen.lines)  # type: ignore[attr-defined]
            await pilot.press("y")
            await waiting(pilot, app, lambda: f"deploy: {fresh} runs" in activity(app), 180,
                          "the deploy, then its smoke")
            log = activity(app)
            n = len(samples())
            assert f"smoke PASS: 1/1 replicas of {fresh}" in log and f"{n}/{n} correct (100%)" in log, log
            assert log.index("smoke PASS") < log.index(f"deploy: {fresh} runs")  # checked before it is said done

            # the mixed workload: :smoke flags the wrong one, and the models view shows which
            select(app, name)
            await pilot.press("colon", *"smoke", "enter")
            await until(pilot, lambda: f"smoke FAIL: 1/2 replicas of {name}" in activity(app), 60, "the flag")
            assert f"FLAGGED: {bad}" in activity(app)
            # taken out of traffic, kept running to be looked at; a replacement keeps the workload at 2
            out = f"{bad}{QUARANTINED}"
            await until(pilot, lambda: f"quarantine: {bad} out of traffic" in activity(app), 60, "the quarantine")
            await until(pilot, lambda: f"scale {name}: 2 replicas" in activity(app), 90, "the replacement")
            kept = docker_client.containers.get(out)
            assert kept.status == "running"
            target = app.target
            assert target is not None
            bad_port = kept.attrs["NetworkSettings"]["Ports"]["8501/tcp"][0]["HostPort"]
            endpoints = target.endpoints(name)
            assert len(endpoints) == 2 and f"127.0.0.1:{bad_port}" not in endpoints
            assert LocalTarget(settings_).endpoints(name) == endpoints  # the mark lives with the container
            [w] = [w for w in target.workloads() if w.name == name]
            assert (w.desired, w.ready) == (2, 2)
            assert {p.name: p.status for p in target.pods(name)}[out] == "Quarantined"
            await pilot.press("m")
            await until(pilot, lambda: len(cells(app, "models")) == 3, 30, "the models view")
            await until(pilot, lambda: cells(app, "models").get(out, {}).get("smoke") == f"FLAG 0/{n}", 20,
                        "the flag in the models view")
            assert cells(app, "models")[out]["ready"] == "0/1"
            good = next(k for k in cells(app, "models") if cells(app, "models")[k]["smoke"] == f"ok {n}/{n}")
            assert good != out
            assert "1 FLAGGED" in str(app.query_one(ResourceBrowser).table("models").border_subtitle)
    finally:
        LocalTarget(settings_).delete(fresh)
    assert not docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={fresh}"})


async def test_load_test_gate_and_capacity_on_screen(settings_: Settings, workload: str, state: Path) -> None:
    app = AituiApp(settings_)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: workload in app.workloads, 20, "the workload listed")
        select(app, workload)
        await pilot.press("L")
        screen = app.screen
        assert isinstance(screen, LoadTestScreen)
        rules = (ROOT / "manifests" / "monitoring" / "prometheusrule.yaml").read_text()
        assert "recognizer:latency_seconds:p99_1m > 0.5" in rules  # the form's 500 ms comes from here
        assert screen.query_one("#p99").value == "500"  # type: ignore[attr-defined]
        # a gate this shared machine meets whatever else runs on it (the FAIL below uses one none meets)
        screen.query_one("#p99").value = "10000"  # type: ignore[attr-defined]
        screen.query_one("#duration").value = "3"  # type: ignore[attr-defined]
        screen.query_one("#concurrency").value = "2"  # type: ignore[attr-defined]
        screen.query_one("#duration").focus()
        await pilot.press("enter")
        await until(pilot, lambda: screen.result is not None, 40, "the load test's verdict")
        r = screen.result
        print(r.line())
        assert r.passed and r.figures.failed == 0 and r.figures.ok > 20, r.checks
        assert r.thresholds.p99_ms == 10000 and r.thresholds.source == "this screen"
        report = json.loads(Path(r.report["json"]).read_text())
        assert report["figures"]["requests"] == r.figures.requests and str(state) in r.report["json"]
        shown = text_of(screen.query_one("#verdict"))
        assert "PASS" in shown and f"{r.figures.rate:,.1f} req/s" in shown and f"p99 {r.figures.p99_ms:.1f}" in shown
        assert Path(r.report["markdown"]).read_text().startswith("# Load test: PASS")

        # the same load held to a p99 no server meets: FAIL, said on screen and in Activity
        screen.query_one("#p99").value = "0.001"  # type: ignore[attr-defined]
        screen.query_one("#p99").focus()
        await pilot.press("enter")
        await until(pilot, lambda: screen.result is not r, 40, "the second verdict")
        failed = screen.result
        assert not failed.passed and not next(c for c in failed.checks if c.name == "p99").ok
        assert "FAIL" in text_of(screen.query_one("#verdict"))
        assert "loadtest FAIL (p99" in activity(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, LoadTestScreen)

        # capacity: two short steps, each on the chart as it lands, then the knee and a suggestion
        await pilot.press("C")
        cap = app.screen
        assert isinstance(cap, CapacityScreen)
        cap.query_one("#steps-in").value = "1,2,4"  # type: ignore[attr-defined]
        cap.query_one("#seconds").value = "2"  # type: ignore[attr-defined]
        cap.query_one("#wanted").value = "500"  # type: ignore[attr-defined]
        cap.query_one("#seconds").focus()
        await pilot.press("enter")
        chart = cap.query_one(ThroughputChart)
        await until(pilot, lambda: len(chart.steps) >= 1, 20, "the first step on the chart")
        await until(pilot, lambda: cap.result is not None, 60, "the capacity result")
        res = cap.result
        print(res.text())
        assert [s.concurrency for s in res.steps] == [1, 2, 4][:len(res.steps)]
        assert chart.steps == list(res.steps) and chart.knee == res.knee.index
        text = text_of(cap.query_one("#verdict"))
        assert "knee:" in text
        if res.suggestion:
            s = res.suggestion
            import math

            at = res.steps[res.knee.index]
            assert s.replicas == math.ceil(500 * 1.3 / (at.figures.rate / at.replicas))
            assert f"suggest: {s.replicas} replica" in text
        await pilot.press("escape")


@pytest.fixture(scope="module")
def other_image(docker_client, image: str) -> Iterator[str]:
    """A second recognizer image for the canary: `image` with another version label (another image id)."""
    tag = derived_image(docker_client, image, f"aitui/recognizer:ui15-canary-{SUFFIX}",
                        f"LABEL org.opencontainers.image.version=canary-{SUFFIX}")
    yield tag
    with contextlib.suppress(Exception):
        docker_client.images.remove(tag, force=True)


async def test_canary_side_by_side_then_promote_and_abort_without_a_failed_request(
        settings_: Settings, workload: str, image: str, other_image: str, prometheus, docker_client) -> None:
    def images_of(name: str) -> set[str]:
        return {c.attrs["Config"]["Image"] for c in
                docker_client.containers.list(filters={"label": f"{WORKLOAD_LABEL}={name}"})}

    app = AituiApp(settings_)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await until(pilot, lambda: app.images and workload in app.workloads, 20, "the workload listed")
        target = app.target  # the app's own: it knows which replicas it saw become ready
        assert target is not None
        for round_ in ("promote", "abort"):
            select(app, workload)
            await pilot.press("n")
            screen = app.screen
            assert isinstance(screen, CanaryScreen) and not screen.running
            screen.query_one("#image").value = other_image  # type: ignore[attr-defined]
            screen.query_one("#image").focus()
            await pilot.press("enter")
            await until(pilot, lambda s=screen: s.running and s.figures is not None and s.figures.compared >= 16,
                        90, "the canary up and compared")
            f = screen.figures
            print("canary (local):", f.main, f.canary, f"agreed {f.agreed}/{f.compared}")
            assert (f.main.replicas, f.canary.replicas) == (2, 1)
            assert f.main.failed == f.canary.failed == 0 and f.main.p99_ms and f.canary.p99_ms
            assert len(target.endpoints(workload)) == 3  # the canary's replica takes a third of the traffic
            shown = text_of(screen.query_one("#sides"))
            assert canary_of(workload) in shown and f"{f.agreed:,}/{f.compared:,}" in shown
            assert images_of(canary_of(workload)) == {other_image}

            load = Traffic(lambda: target.endpoints(workload), list(samples().values()), concurrency=2, duration=300,
                           record=True).start()
            try:
                await pilot.press("p" if round_ == "promote" else "a")
                assert isinstance(app.screen, ConfirmScreen)
                await pilot.press("y")
                want = "promoted" if round_ == "promote" else "aborted"
                await until(pilot, lambda s=screen, w=want: s.outcome == w, 180, f"the canary {round_}d")
                assert load.stats.ok > 20
            finally:
                load.stop()
            # not one request failed while the canary went away (and, on promote, the workload rolled out)
            print(f"canary {round_} (local):", load.totals())
            assert load.stats.failed == 0, (load.totals(), [r for r in load.stats.records if r.outcome][:6])
            assert not images_of(canary_of(workload))
            assert images_of(workload) == {other_image if round_ == "promote" else image}
            if round_ == "promote":
                assert "smoke PASS: 1/1 replicas of " + canary_of(workload) in activity(app)
                image, other_image = other_image, image  # the next canary: back to the first image
            await pilot.press("escape")
            await until(pilot, lambda: canary_of(workload) not in app.workloads, 20, "the list without the canary")


# -- the real cluster (.ci/cluster): the models view of a Deployment's pods, and a canary promoted --------
def pod_images(cluster, namespace: str) -> dict[str, set[str]]:
    """Deployment name -> the images its live pods run (from kubectl, not from aitui)."""
    out: dict[str, set[str]] = {}
    for p in cluster.get("pods", "-n", namespace, "-l", "app.kubernetes.io/name=recognizer")["items"]:
        if not p["metadata"].get("deletionTimestamp"):
            owner = p["metadata"]["ownerReferences"][0]["name"].rsplit("-", 1)[0]
            out.setdefault(owner, set()).add(p["spec"]["containers"][0]["image"])
    return out


async def test_models_and_a_canary_promoted_on_the_cluster(cluster, namespace: str, image: str, other_image: str,
                                                          tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                        prometheus_url=cluster.prometheus_url, timeout=5)
    setup = KubeTarget(settings, ADMIN, namespace)
    setup.watch()
    try:
        # both images onto the node first: a load of 200 MB into containerd can time out on a machine this
        # busy (seen at load 8 on 2 cores); the canary's own publish then finds its image there
        for ref in (image, other_image):
            for attempt in range(3):
                try:
                    setup.publish(ref)
                    break
                except Exception:
                    if attempt == 2:
                        raise
        setup.deploy(image, 2, WORKLOAD)
    finally:
        setup.close()
    app = AituiApp(settings)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await until(pilot, lambda: WORKLOAD in app.workloads and app.workloads[WORKLOAD].ready == 2, 60, "2 ready")
        target = app.target
        assert target is not None
        load = Traffic(lambda: target.endpoints(WORKLOAD), list(samples().values()), concurrency=2, duration=400,
                       record=True).start()
        try:
            # the models view: both pods, their model from each pod itself, their own figures
            await pilot.press("m")
            browser = app.query_one(ResourceBrowser)

            def measured() -> bool:
                rows = cells(app, "models")
                return len(rows) == 2 and all(r["version"] != "-" and r["rate"] not in ("-", "0.0") for r in
                                              rows.values())

            await until(pilot, measured, 90, "both pods' models and figures")
            rows = cells(app, "models")
            assert {r["runtime"] for r in rows.values()} == {"litert"}
            assert set(rows) == {p.name for p in target.pods(WORKLOAD)}
            source = {r["source"] for r in rows.values()}
            sub = str(browser.table("models").border_subtitle)
            assert ("from Prometheus" in sub) == (source == {"prom"}), (sub, source)
            await pilot.press("escape")

            # the canary: a second Deployment behind the same Service, compared side by side
            await pilot.press("n")
            screen = app.screen
            assert isinstance(screen, CanaryScreen)
            screen.query_one("#image").value = other_image  # type: ignore[attr-defined]
            screen.query_one("#image").focus()
            await pilot.press("enter")
            await waiting(pilot, app,
                          lambda: screen.running and screen.figures is not None and screen.figures.compared >= 16,
                          300, "the canary up and compared")
            f = screen.figures
            assert (f.main.replicas, f.canary.replicas) == (2, 1) and f.main.failed == f.canary.failed == 0
            assert "recognizer-canary" in text_of(screen.query_one("#sides"))
            dep = cluster.get("deployment", canary_of(WORKLOAD), "-n", namespace)
            assert dep["spec"]["template"]["metadata"]["labels"]["track"] == "canary"
            svc = cluster.get("service", WORKLOAD, "-n", namespace)
            assert all(dep["spec"]["template"]["metadata"]["labels"][k] == v
                       for k, v in svc["spec"]["selector"].items())  # the Service selects its pods too
            assert len(target.endpoints(WORKLOAD)) == 3  # and aitui's traffic spreads over the three
            sent_before = load.stats.sent

            await pilot.press("p")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await until(pilot, lambda: screen.outcome == "promoted", 400, "the canary promoted")
            assert load.stats.sent - sent_before > 50
        finally:
            load.stop()
        print("canary promote (cluster):", f.main, f.canary, f"agreed {f.agreed}/{f.compared};", load.totals())
        assert load.stats.failed == 0, load.totals()
        images = pod_images(cluster, namespace)
        assert canary_of(WORKLOAD) not in images, images
        ref = other_image  # the node runs the reference deploy named (containerd: the same name)
        assert images.get(WORKLOAD) == {ref}, images
        deadline = time.monotonic() + 30
        while "canary" in str(cluster.kubectl("get", "deployments", "-n", namespace).stdout):
            assert time.monotonic() < deadline, "the canary Deployment is still there"
            time.sleep(1)


# -- demo mode ------------------------------------------------------------------------------------------
async def test_demo_replays_the_walkthrough_step_by_step(settings_: Settings, image: str, monkeypatch,
                                                         docker_client) -> None:
    import re

    from aitui.demo import STEPS, Demo

    name = f"ui15-{secrets.token_hex(3)}"
    app = AituiApp(settings_, demo=Demo)  # (as `aitui` starts it)
    app.store.default = name  # the walkthrough's keys act on this test's own workload
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await until(pilot, lambda: app.images, 20, "the images")
            await pilot.press("colon", *"demo", "enter")
            assert app.demo is not None
            caption = app.query_one("#demo-caption")
            assert "Demo 1/8: build" in text_of(caption) and "space: do it" in str(caption.border_subtitle)
            await pilot.press("escape")  # esc leaves the demo, its caption goes
            assert app.demo is None and not app.query("#demo-caption")

            # the build step is the README's first; the image is there, so this replay starts at d
            app.demo = demo = Demo(app, first=2)
            demo.start()
            await pilot.pause()
            for step in STEPS[1:]:
                assert demo.step is step and demo.phase == "ready"
                assert step.caption[:40] in text_of(app.query_one("#demo-caption")).replace("\n", " ")
                await pilot.press("space")
                await until(pilot, lambda: demo.phase == "done", step.timeout + 5, f"the demo's {step.title} step")
                assert demo.history[-1][:2] == (step.title, "done"), demo.history
                if step is not STEPS[-1]:
                    await pilot.press("space")
            print("demo:", demo.history)
            log = activity(app)
            stopped = re.search(r"traffic: stopped after (\d+) requests, (\d+) ok, (\d+) failed", log)
            assert stopped and int(stopped[2]) > 100 and stopped[3] == "0", log
            assert f"rollout {name}: 3 replicas on" in log
    finally:
        LocalTarget(settings_).delete(name)
    assert not docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={name}"})
