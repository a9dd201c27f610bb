"""Secrets never show (issue 23, item 4): values planted where aitui reads them — a replica's env and its
log lines, a Prometheus URL with credentials, a Deployment's env and kubectl's last-applied annotation, a
Secret on the real cluster — are looked for on every screen the app shows (each widget's text, the
notifications, an SVG of the screen), in every file it writes (the saved log, the state dir, aitui.log, a
report) and in the CLI's output. Each one must be absent, and its name with `***` present where it is shown
(so that the test cannot pass by showing nothing)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from test_app_actions import until
from test_ops_local import command, select_row

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.ui.browser import ResourceTable
from aitui.ui.yaml_view import ObjectScreen

pytestmark = pytest.mark.docker

RUN = uuid.uuid4().hex[:6]
ENV_TOKEN, ENV_KEY, LOG_PASSWORD, LOG_URL_TOKEN, LOG_BEARER, PROM_PASSWORD, PROM_TOKEN = (
    f"planted{n}{RUN}" for n in ("envtoken", "envkey", "logpassword", "logurltoken", "logbearer", "prompassword",
                                 "promtoken"))
PLANTED = (ENV_TOKEN, ENV_KEY, LOG_PASSWORD, LOG_URL_TOKEN, LOG_BEARER, PROM_PASSWORD, PROM_TOKEN)


# -- the masking rules -----------------------------------------------------------------------------
def test_names_that_look_secret_are_masked_in_every_shape() -> None:
    from aitui.services import redact

    assert redact.text("API_TOKEN=abc DB_Password='x y' db_passwd=z aws_secret_access_key=w PATH=/bin") == \
        "API_TOKEN=*** DB_Password=*** db_passwd=*** aws_secret_access_key=*** PATH=/bin"
    assert redact.text("http://alice:hunter2@prom:9090/api?token=abc&query=up") == \
        "http://alice:***@prom:9090/api?token=***&query=up"
    assert redact.text("clone https://ghp_abc123@github.com/x") == "clone https://***@github.com/x"
    assert redact.text("ssh://deploy@jump.example:2222") == "ssh://deploy@jump.example:2222"  # a user, not a secret
    assert redact.text('{"password": "x", "apiKey": 1, "key": "app", "name": "n"}') == \
        '{"password": "***", "apiKey": "***", "key": "app", "name": "n"}'
    assert redact.text("spec:\n  password: hunter2\n  - secretToken: abc\n  key: app\n  other: v") == \
        "spec:\n  password: ***\n  - secretToken: ***\n  key: app\n  other: v"
    assert redact.text("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.abc") == "Authorization: Bearer ***"
    for harmless in ("nothing here: 12 replicas, p99 40 ms", "Collecting keyring==23.0", "KeyError: 'x'",
                     "key: app", "SandboxKey: /var/run/docker/netns/1"):
        assert redact.text(harmless) == harmless

    pod = {"kind": "Pod", "spec": {"containers": [{"env": [{"name": "API_TOKEN", "value": "abc"},
                                                          {"name": "LEVEL", "value": "debug"},
                                                          {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
                                                              "name": "db", "key": "password"}}}]}]},
           "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(
               {"spec": {"env": [{"name": "API_TOKEN", "value": "abc"}]}})}}}
    masked = redact.data(pod)
    env = masked["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "API_TOKEN", "value": "***"} and env[1] == {"name": "LEVEL", "value": "debug"}
    assert env[2]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "password"}  # a reference: shown
    assert "abc" not in json.dumps(masked)  # the annotation's copy too
    secret = {"kind": "Secret", "data": {"url": "aHR0cDovL3g="}, "stringData": {"note": "plain"}, "type": "Opaque"}
    assert redact.data(secret) == {"kind": "Secret", "data": {"url": "***"}, "stringData": {"note": "***"},
                                   "type": "Opaque"}
    inspect = {"Config": {"Env": ["MY_SECRET_KEY=v", "HOME=/root"], "Labels": {"io.aitui.workload": "w"}}}
    assert redact.data(inspect)["Config"] == {"Env": ["MY_SECRET_KEY=***", "HOME=/root"],
                                              "Labels": {"io.aitui.workload": "w"}}


# -- what the app shows ------------------------------------------------------------------------------
def plain(renderable: object) -> str:
    if isinstance(renderable, str):
        return renderable
    if hasattr(renderable, "plain"):
        return str(renderable.plain)
    from rich.console import Console

    console = Console(width=300, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def shown(app: AituiApp) -> str:
    """Everything the app's screens hold as text: every widget's content, table cells, log lines, titles,
    the header, an open object's whole text (scrolled away or not), notifications, and an SVG of the top one."""
    from textual.widgets import DataTable, Log, Static

    from aitui.ui.header import StatusBar

    parts: list[str] = []
    for screen in app.screen_stack:
        for w in screen.query("*"):
            parts += [plain(w.border_title or ""), plain(w.border_subtitle or "")]
            if isinstance(w, Log):
                parts += list(w.lines)
            elif isinstance(w, DataTable):
                parts += [plain(cell) for row in w.rows for cell in w.get_row(row)]
            elif isinstance(w, StatusBar):
                parts += [w.render().plain, w._line(0).plain]  # as shown, and as a wide terminal shows it
            elif isinstance(w, Static):
                parts.append(plain(w.content))
        if isinstance(screen, ObjectScreen):
            parts.append(screen.text or "")
    parts += [str(n.message) for n in app._notifications]
    parts.append(app.export_screenshot())
    return "\n".join(parts)


def files_under(root: Path) -> dict[Path, str]:
    return {p: p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()}


def leaked(text: str) -> list[str]:
    return [s for s in PLANTED if s in text]


@pytest.fixture
def replica_with_secrets(settings, docker_client) -> Iterator[str]:
    """A container the local target lists as a workload's replica, with secrets in its env and in what it
    logs (and one plain value, which shows as it is)."""
    from aitui.services.targets.local import WORKLOAD_LABEL

    name = f"t-secrets-{RUN}"
    script = (f"echo DB_PASSWORD={LOG_PASSWORD}; echo fetching https://bob:{LOG_URL_TOKEN}@registry.invalid/x; "
              f"echo Authorization: Bearer {LOG_BEARER}; echo a plain line; sleep 600")
    c = docker_client.containers.run(settings.base_image, ["sh", "-c", script], detach=True, network_disabled=True,
                                     environment={"API_TOKEN": ENV_TOKEN, "MY_SECRET_KEY": ENV_KEY,
                                                  "PLAIN_SETTING": "shown-as-it-is"},
                                     labels={WORKLOAD_LABEL: name})
    yield name
    c.remove(force=True)


async def test_planted_secrets_never_show_on_screen_nor_in_files(settings, replica_with_secrets, tmp_path,
                                                                 monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    name = replica_with_secrets
    prometheus = f"http://aitui:{PROM_PASSWORD}@127.0.0.1:{free_port()}/?token={PROM_TOKEN}"  # nothing listens
    app = AituiApp(Settings(base_image=settings.base_image, serving_dir=settings.serving_dir, timeout=3,
                            kubeconfig=str(tmp_path / "none"), prometheus_url=prometheus))
    seen: list[str] = []
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        activity = app.query_one("#activity-log")
        await until(pilot, lambda: any("charts: Prometheus at" in line for line in activity.lines), 30,
                    "the charts' word on Prometheus")
        header = app.query_one("#status")
        await until(pilot, lambda: "prometheus" in header.render().plain and "…" not in header.render().plain, 20,
                    "the header's probes")
        widest = header._line(0).plain  # (what a terminal wide enough for it shows)
        assert "aitui:***@127.0.0.1" in widest, widest  # the URL is shown, its password is not
        seen.append(shown(app))

        workloads = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, workloads, name)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 20, "yaml")
        text = app.screen.text or ""  # type: ignore[attr-defined]
        assert "API_TOKEN=***" in text and "MY_SECRET_KEY=***" in text and "PLAIN_SETTING=shown-as-it-is" in text
        seen.append(shown(app))
        await pilot.press("i")
        await until(pilot, lambda: "Kind:         container" in (app.screen.text or ""), 20,  # type: ignore[attr-defined]
                    "describe")
        seen.append(shown(app))
        await pilot.press("escape")

        await pilot.press("l")  # every replica's log, merged
        log = app.query_one("#pod-log")
        await until(pilot, lambda: any("a plain line" in line for line in log.lines), 20, "the log")
        assert any("DB_PASSWORD=***" in line for line in log.lines)
        assert any("https://bob:***@registry.invalid/x" in line for line in log.lines)
        app.screen.set_focus(log)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("logs: saved to" in line for line in activity.lines), 10, "the saved log")
        seen.append(shown(app))

        await command(pilot, "doctor")
        await until(pilot, lambda: getattr(app.screen, "checks", None) is not None, 30, "the doctor's checks")
        doctor_text = shown(app)
        assert "aitui:***@127.0.0.1" in doctor_text
        seen.append(doctor_text)
        await pilot.press("escape")

    everything = "\n".join(seen)
    assert not leaked(everything), leaked(everything)
    written = files_under(tmp_path / "state")
    saved = [text for path, text in written.items() if path.parent.name == "logs"]
    assert len(saved) == 1 and "DB_PASSWORD=***" in saved[0] and "Bearer ***" in saved[0]
    assert not {str(p): leaked(t) for p, t in written.items() if leaked(t)}


def test_the_clis_output_and_its_log_file_mask_them(tmp_path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "KUBECONFIG": str(tmp_path / "none"),
           "PROMETHEUS_URL": f"http://aitui:{PROM_PASSWORD}@127.0.0.1:{free_port()}/?token={PROM_TOKEN}"}
    for args in (["doctor"], ["doctor", "--json"]):
        done = subprocess.run([sys.executable, "-m", "aitui", *args], capture_output=True, text=True, timeout=60,
                              env=env, cwd=ROOT)
        assert "aitui:***@127.0.0.1" in done.stdout, done.stdout
        assert not leaked(done.stdout + done.stderr)
    # aitui.log: a library's warning (a retried URL) as the CLI's handler writes it
    code = ("from aitui import cli; cli.quiet_libraries(); import logging; "
            f"logging.getLogger('urllib3.connectionpool').warning('Retrying after %s', "
            f"'http://aitui:{PROM_PASSWORD}@127.0.0.1:9/api?token={PROM_TOKEN}')")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT, timeout=60)
    logged = (tmp_path / "state" / "aitui" / "aitui.log").read_text()
    assert "Retrying after http://aitui:***@127.0.0.1:9/api?token=***" in logged and not leaked(logged)


def test_a_report_is_written_masked(tmp_path) -> None:
    """Whatever a report holds (an error said by a replica's client, the thresholds' source) is masked."""
    from aitui.services.loadtest import Deployed, LoadTestResult, write_report
    from aitui.services.measure import Figures, machine
    from aitui.services.slo import Thresholds

    error = f"GET http://aitui:{PROM_PASSWORD}@127.0.0.1:9/v2?token={PROM_TOKEN}: connection refused"
    figures = Figures(requests=3, ok=0, failed=3, errors={error: 3}, seconds=1.0, rate=0.0, sent_rate=3.0,
                      p50_ms=0, p95_ms=0, p99_ms=0, max_ms=0, error_ratio=1.0, per_endpoint={})
    result = LoadTestResult(False, (), figures, Thresholds(250, 0.01, f"rules at https://x:{PROM_PASSWORD}@h/"),
                            Deployed("local", "local", "recognizer", "aitui/recognizer:1", 1), 1, None, 1.0,
                            "2025-01-01T00:00:00+00:00", machine())
    done = write_report(result, tmp_path / "reports" / "loadtest.json")
    written = files_under(tmp_path / "reports")
    assert set(written) == {Path(done.report["json"]), Path(done.report["markdown"])}
    assert all("aitui:***@127.0.0.1" in text for text in written.values())
    assert not {str(p): leaked(t) for p, t in written.items() if leaked(t)}


# -- on the real cluster -------------------------------------------------------------------------------
CLUSTER_TOKEN, SECRET_VALUE = f"plantedclustertoken{RUN}", f"plantedsecretvalue{RUN}"


async def test_a_clusters_env_and_secret_never_show(cluster, namespace, tmp_path, monkeypatch) -> None:
    """A Deployment (no replicas: nothing to run) applied client-side, as `kubectl apply` does, so that its
    env is twice in the object: in the spec and in kubectl's last-applied annotation; and a Secret."""
    import base64

    from cluster import ADMIN

    from aitui.services.describe import to_yaml

    planted = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "planted", "namespace": namespace},
               "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "planted"}},
                        "template": {"metadata": {"labels": {"app": "planted"}}, "spec": {"containers": [{
                            "name": "main", "image": "registry.invalid/planted:1",
                            "env": [{"name": "API_TOKEN", "value": CLUSTER_TOKEN}, {"name": "LEVEL", "value": "debug"},
                                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "planted",
                                                                                           "key": "password"}}}]}]}}}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "planted", "namespace": namespace},
              "data": {"password": base64.b64encode(SECRET_VALUE.encode()).decode()}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                          "items": [planted, secret]}))
    live = cluster.get("secret", "planted", "-n", namespace)
    assert base64.b64encode(SECRET_VALUE.encode()).decode() in json.dumps(live)  # it is there, in the clear
    secret_yaml, _ = to_yaml(live)  # what the YAML view shows of an object
    assert "password: '***'" in secret_yaml and base64.b64encode(SECRET_VALUE.encode()).decode() not in secret_yaml
    assert SECRET_VALUE not in secret_yaml

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = AituiApp(Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                            prometheus_url=cluster.prometheus_url, timeout=10))
    seen = []
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        workloads = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, workloads, "planted")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen)
                    and "kind: Deployment" in (app.screen.text or ""), 30, "the Deployment's YAML")
        text = app.screen.text or ""  # type: ignore[attr-defined]
        assert "name: API_TOKEN\n" in text and "value: '***'" in text and "value: debug" in text
        assert "kubectl.kubernetes.io/last-applied-configuration" in text and '"value":"***"' in text
        seen.append(shown(app))
        await pilot.press("i")
        await until(pilot, lambda: "Kind:         Deployment" in (app.screen.text or ""), 30,  # type: ignore[attr-defined]
                    "describe")
        seen.append(shown(app))
        await pilot.press("escape")
    everything = "\n".join(seen)
    assert CLUSTER_TOKEN not in everything and SECRET_VALUE not in everything
    assert not [p for p, t in files_under(tmp_path / "state").items() if CLUSTER_TOKEN in t]
