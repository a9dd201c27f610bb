"""`aitui doctor` against the real parts of this machine, and against broken ones: a dead Prometheus port,
a Prometheus without aitui's rules or pod discovery, DOCKER_HOST at a missing socket, a kubeconfig whose
server is a closed port, a wheelhouse that lacks a pinned requirement. Each check says what it found and
its fix; the exit code is 1 on any fail. The same checks on the `:doctor` screen, through the pilot."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, free_port, wait_until

from aitui.config import Settings
from aitui.services import doctor
from aitui.services.doctor import FAIL, OK, WARN


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def local(settings: Settings, tmp_path: Path, **kw: object) -> Settings:
    base = {"base_image": settings.base_image, "serving_dir": settings.serving_dir,
            "kubeconfig": str(tmp_path / "none"), "timeout": 3.0}
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


def test_this_machine_is_ready_for_the_local_context(settings, prometheus, docker_client, tmp_path) -> None:
    checks = doctor.run(local(settings, tmp_path, prometheus_url=prometheus.url))
    found = by_name(checks)
    assert found["docker"].status == OK and docker_client.version()["Version"].split("+")[0] in found["docker"].found
    assert found["prometheus"].status == OK and prometheus.url in found["prometheus"].found
    assert found["prometheus rules"].status == OK and "recognizer:*" in found["prometheus rules"].found
    assert found["prometheus discovery"].status == OK and "file_sd" in found["prometheus discovery"].found
    assert found["kubeconfig"].status == WARN and found["kubeconfig"].fix  # no kubeconfig: local only
    assert found["base image"].status == OK
    assert found["wheelhouse"].status == OK
    assert all(c.fix for c in checks if c.status != OK)
    assert doctor.exit_code(checks) == 0


def test_a_dead_prometheus_port_fails_with_its_fix(settings, tmp_path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    found = by_name(doctor.run(local(settings, tmp_path, prometheus_url=url)))
    assert found["prometheus"].status == FAIL
    assert found["prometheus"].found == f"{url}: connection refused"
    assert "PROMETHEUS_URL" in found["prometheus"].fix
    assert found["prometheus rules"].status == WARN and "not checked" in found["prometheus rules"].found
    assert doctor.exit_code(list(found.values())) == 1


def test_a_prometheus_without_our_rules_or_pod_discovery(settings, tmp_path) -> None:
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({"scrape_configs": [
        {"job_name": "other", "static_configs": [{"targets": ["127.0.0.1:1"]}]}]}))
    with (tmp_path / "prometheus.log").open("w") as log:
        proc = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"

            def ready() -> bool:  # one that exited fails the wait at once, with its log
                assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
                return requests.get(f"{url}/-/ready", timeout=1).ok

            wait_until(ready, 30, "Prometheus to be ready")
            found = by_name(doctor.run(local(settings, tmp_path, prometheus_url=url)))
        finally:
            proc.terminate()
            proc.wait(10)
    assert found["prometheus"].status == OK
    assert found["prometheus rules"].status == FAIL and "recognizer.yml" in found["prometheus rules"].fix
    assert found["prometheus discovery"].status == WARN and "kubernetes_sd" in found["prometheus discovery"].found


def test_docker_host_at_a_missing_socket(settings, tmp_path, monkeypatch) -> None:
    gone = tmp_path / "gone" / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{gone}")  # as a user's shell would set it
    found = by_name(doctor.run(local(settings, tmp_path, prometheus_url=f"http://127.0.0.1:{free_port()}")))
    assert found["docker"].status == FAIL
    assert found["docker"].found.startswith(f"unix://{gone}: ") and "not found" in found["docker"].found
    assert "DOCKER_HOST" in found["docker"].fix
    assert found["base image"].status == WARN and "not checked" in found["base image"].found


def test_a_base_image_the_engine_lacks(settings, docker_client, tmp_path) -> None:
    found = doctor.base_image(local(settings, tmp_path, base_image="aitui/never-built:0"))
    assert found.status == WARN and found.fix == "docker pull aitui/never-built:0 while online, " \
                                                 "or set --base-image to one you have"


def test_the_wheelhouse_must_hold_every_pinned_requirement(tmp_path) -> None:
    serving = tmp_path / "serving"
    (serving / "wheels").mkdir(parents=True)
    (serving / "requirements-x.txt").write_text("# a comment\nnumpy==2.4.6\nprometheus-client==0.26.0\n")
    assert doctor.wheelhouse(Settings(serving_dir=str(serving))).status == WARN  # empty: online builds
    (serving / "wheels" / "prometheus_client-0.26.0-py3-none-any.whl").write_bytes(b"")
    partial = doctor.wheelhouse(Settings(serving_dir=str(serving)))
    assert partial.status == FAIL and "numpy==2.4.6" in partial.found and "numpy==2.4.6" in partial.fix
    (serving / "wheels" / "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    assert doctor.wheelhouse(Settings(serving_dir=str(serving))).status == OK


def test_the_clusters_contexts_answer_and_its_prometheus_discovers_pods(cluster, settings, tmp_path) -> None:
    found = by_name(doctor.run(local(settings, tmp_path, kubeconfig=str(cluster.kubeconfig), context="aitui-admin",
                                     prometheus_url=cluster.prometheus_url)))
    assert found["kubeconfig"].status == OK and "aitui-admin, aitui-limited" in found["kubeconfig"].found
    assert found["context aitui-admin"].status == OK and f"namespace {cluster.namespace}" in \
        found["context aitui-admin"].found
    assert found["context aitui-limited"].status == OK  # /version: any user may read it
    assert found["prometheus discovery"].status == OK and "kubernetes_sd" in found["prometheus discovery"].found
    assert found["prometheus rules"].status == OK


def test_a_context_whose_server_is_a_closed_port(cluster, settings, tmp_path) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for c in config["clusters"]:
        c["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(config))
    found = by_name(doctor.run(local(settings, tmp_path, kubeconfig=str(broken), context="aitui-admin",
                                     prometheus_url=cluster.prometheus_url)))
    assert found["context aitui-admin"].status == FAIL  # the context in use
    assert found["context aitui-admin"].found == "unreachable: connection refused"
    assert found["context aitui-limited"].status == WARN  # another one: worth knowing, not a failure
    assert doctor.exit_code(list(found.values())) == 1


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aitui", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=env)


def test_the_command_line_exit_code_and_json(settings, prometheus, docker_client, tmp_path) -> None:
    common = ["--kubeconfig", str(tmp_path / "none"), "--base-image", settings.base_image]
    good = run_cli(*common, "--prometheus-url", prometheus.url, "doctor", "--json")
    assert good.returncode == 0, good.stdout + good.stderr
    report = json.loads(good.stdout)
    assert report["exit_code"] == 0 and {c["name"] for c in report["checks"]} >= {"docker", "prometheus", "wheelhouse"}
    dead = run_cli(*common, "--prometheus-url", f"http://127.0.0.1:{free_port()}", "doctor")
    assert dead.returncode == 1
    assert any(line.startswith("FAIL  prometheus ") for line in dead.stdout.splitlines()), dead.stdout
    assert "fix: start Prometheus" in dead.stdout


@pytest.mark.docker
async def test_the_doctor_screen_shows_the_same_checks(settings, tmp_path) -> None:
    from test_app_actions import until

    from aitui.app import AituiApp
    from aitui.ui.doctor import DoctorScreen

    dead = f"http://127.0.0.1:{free_port()}"
    app = AituiApp(local(settings, tmp_path, prometheus_url=dead))
    async with app.run_test(size=(120, 36)) as pilot:
        app.run_command_line(":doctor")
        await until(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.checks is not None, 30,
                    "the doctor's checks")
        screen = app.screen
        assert isinstance(screen, DoctorScreen) and screen.checks is not None
        assert by_name(screen.checks)["prometheus"].status == FAIL
        # the same checks as `aitui doctor` with the same settings, in its order, each found the same
        cli = run_cli("--kubeconfig", str(tmp_path / "none"), "--base-image", settings.base_image,
                      "--prometheus-url", dead, "doctor", "--json")
        report = json.loads(cli.stdout)
        assert [c.as_dict() for c in screen.checks] == report["checks"], cli.stdout
        # each on screen: its status, its name and what it found on one row, then its fix
        static = screen.query_one("#doctor")
        lines = [strip.text for strip in static.render_lines(static.region.reset_offset)]
        flat = " ".join(" ".join(lines).split())
        for c in screen.checks:
            assert any(re.match(rf"\s*{c.status.upper()}\s+{re.escape(c.name)}\s", line) for line in lines), (c, lines)
            row = " ".join(f"{c.status.upper()} {c.name} {c.found}".split())
            assert row in flat and (not c.fix or f"{row} fix: {' '.join(c.fix.split())}" in flat), (c, flat)
        assert f"FAIL prometheus {dead}: connection refused fix: start Prometheus" in flat
        fails = sum(c["status"] == FAIL for c in report["checks"])
        warns = sum(c["status"] == WARN for c in report["checks"])
        subtitle = str(screen.query_one("VerticalScroll").border_subtitle)
        assert fails == 1 and subtitle == f"{len(report['checks'])} checks: {fails} failed, {warns} warnings", subtitle
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DoctorScreen)
