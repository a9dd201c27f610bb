"""The headless commands as CI runs them: `python -m aitui <command>` in a subprocess against the real
Docker engine and real recognizer containers, read through exit codes, stdout (--json) and the report
files. The workloads are this module's own (cli-test-…), removed afterwards; the state dir (reports, the
Prometheus target list) is a temporary one."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, wait_until

from aitui.config import Settings
from aitui.services.targets.local import QUARANTINED, WORKLOAD_LABEL, LocalTarget

pytestmark = pytest.mark.docker
SUFFIX = secrets.token_hex(3)
WORKLOAD = f"cli-test-{SUFFIX}"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return dict(json.loads(self.out))


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    return Path(tmp_path_factory.mktemp("cli-state"))


def aitui(state: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
          timeout: float = 180) -> Run:
    """The CLI as a user runs it; a traceback on any stream fails the test."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AITUI_") and k != "DOCKER_HOST"}
    base |= {"XDG_STATE_HOME": str(state), "AITUI_CONFIG": str(state / "no-config.toml"),
             "AITUI_BASE_IMAGE": os.environ.get("AITUI_BASE_IMAGE", "aitui/base:bookworm")}
    done = subprocess.run([sys.executable, "-m", "aitui", *args], capture_output=True, text=True, timeout=timeout,
                          env=base | (env or {}), input=stdin, cwd=ROOT)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def target(state: Path) -> LocalTarget:
    return LocalTarget(Settings(), targets_dir=state / "aitui" / "targets")


@pytest.fixture(scope="module")
def image(docker_client, recognizer_image: str) -> Iterator[str]:
    """The recognizer image of these sources, under a tag of this module's own."""
    docker_client.images.get(recognizer_image).tag("aitui/recognizer", f"cli-test-{SUFFIX}")
    yield f"aitui/recognizer:cli-test-{SUFFIX}"
    with contextlib.suppress(Exception):
        docker_client.images.remove(f"aitui/recognizer:cli-test-{SUFFIX}", noprune=True)


@pytest.fixture(scope="module")
def deployed(state: Path, image: str) -> Iterator[dict]:
    """Two replicas deployed by `aitui deploy --smoke`, which must say both answer every sample right."""
    try:
        run = aitui(state, "deploy", "--image", image.split(":")[1], "--replicas", "2", "--smoke", "-w", WORKLOAD,
                    "--json")
        assert run.code == 0, run.err
        yield run.json
    finally:
        target(state).delete(WORKLOAD)


def ready_endpoints(state: Path, workload: str = WORKLOAD, n: int = 2) -> list[str]:
    """The workload's endpoints as a new process sees them: ready once the engine's health check says so."""
    found = wait_until(lambda: (lambda e: e if len(e) == n else None)(target(state).endpoints(workload)), 30,
                       f"{n} ready replicas of {workload}")
    return list(found)  # type: ignore[call-overload]


def metric(endpoint: str, name: str) -> float:
    """The sum of a counter's samples on one replica's /metrics."""
    total = 0.0
    for line in requests.get(f"http://{endpoint}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def alert_threshold(alert: str) -> float:
    doc = yaml.safe_load((ROOT / "manifests" / "monitoring" / "prometheusrule.yaml").read_text())
    [rule] = [r for g in doc["spec"]["groups"] for r in g["rules"] if r.get("alert") == alert]
    return float(rule["expr"].split(">")[1])


def test_deploy_smokes_each_replica(deployed: dict, image: str, docker_client) -> None:
    assert (deployed["image"], deployed["replicas"], deployed["ready"]) == (image, 2, 2)
    smoke = deployed["smoke"]
    assert smoke["passed"] and len(smoke["replicas"]) == 2
    version = docker_client.images.get(image).labels["org.opencontainers.image.version"]
    assert all(r["model"]["version"] == version and r["model"]["name"] == "recognizer" for r in smoke["replicas"])
    assert len({r["endpoint"] for r in smoke["replicas"]}) == 2  # each replica on its own, not one twice
    for r in smoke["replicas"]:
        assert r["correct"] == len(r["answers"]) == 10 and r["ok"]
        assert all(a["got"] == a["expected"] for a in r["answers"])


def test_loadtest_passes_and_its_report_holds_the_run(deployed: dict, state: Path, image: str) -> None:
    endpoints = ready_endpoints(state)
    before = {e: metric(e, "recognizer_requests_total") for e in endpoints}
    report = state / "reports" / "pass.json"
    run = aitui(state, "loadtest", "-w", WORKLOAD, "--duration", "3", "-c", "2", "--report", str(report), "--json")
    assert run.code == 0, run.err
    out = run.json
    assert out["passed"] and out["ok"] and out["exit_code"] == 0
    f = out["figures"]
    # the SLO's defaults are the alert rules' thresholds
    assert out["thresholds"]["p99_ms"] == alert_threshold("RecognizerHighLatencyP99") * 1000
    assert out["thresholds"]["error_ratio"] == alert_threshold("RecognizerHighErrorRatio")
    assert f["requests"] == f["ok"] + f["failed"] and f["failed"] == 0 and f["ok"] > 20
    assert f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"] <= f["max_ms"] and f["p99_ms"] <= out["thresholds"]["p99_ms"]
    assert f["rate"] == pytest.approx(f["ok"] / f["seconds"], rel=0.01)
    assert 2.5 <= f["seconds"] <= 3 + 10  # bounded: its duration plus the last answers
    # the client's count per replica is what each replica's own counter saw
    assert set(f["per_endpoint"]) == set(endpoints)
    for e in endpoints:
        assert metric(e, "recognizer_requests_total") - before[e] == f["per_endpoint"][e]
    # the report files: the same figures, and a summary that names image, replicas and machine
    saved = json.loads(report.read_text())
    assert saved["figures"] == f and saved["passed"] is True
    assert saved["deployed"]["image"] == image and saved["deployed"]["replicas"] == 2
    md = report.with_suffix(".md").read_text()
    assert md.startswith("# Load test: PASS") and image in md and "2 ready" in md
    assert saved["machine"]["cpu_model"] in md and f"{saved['machine']['cores']} cores" in md
    assert f"| {f['rate']:.1f} | {f['p50_ms']:.1f} ms | {f['p95_ms']:.1f} ms | {f['p99_ms']:.1f} ms |" in md


def test_loadtest_that_misses_its_slo_exits_1_with_the_report(deployed: dict, state: Path) -> None:
    report = state / "reports" / "fail.json"
    run = aitui(state, "loadtest", "-w", WORKLOAD, "--duration", "2", "-c", "2", "--p99", "0.001",
                "--report", str(report))
    assert run.code == 1, run.err
    assert run.out.startswith("loadtest FAIL (p99 ")
    saved = json.loads(report.read_text())
    [p99] = [c for c in saved["checks"] if c["name"] == "p99"]
    assert not saved["passed"] and not p99["ok"] and p99["limit"] == "0.001 ms"
    assert p99["measured"] == f"{saved['figures']['p99_ms']:g} ms" and saved["figures"]["p99_ms"] > 0.001
    assert saved["thresholds"]["error_ratio"] == alert_threshold("RecognizerHighErrorRatio")  # the one not given
    assert "# Load test: FAIL" in report.with_suffix(".md").read_text()


def test_capacity_finds_a_knee_and_sizes_from_its_own_steps(deployed: dict, state: Path) -> None:
    report = state / "reports" / "capacity.json"
    run = aitui(state, "capacity", "-w", WORKLOAD, "--steps", "1,2,4", "--step-seconds", "2", "--rate", "100",
                "--headroom", "25", "--report", str(report), "--json")
    assert run.code == 0, run.err
    out = run.json
    steps = out["steps"]
    assert 2 <= len(steps) <= 3 and [s["concurrency"] for s in steps] == [1, 2, 4][: len(steps)]
    # the knee by the rule, recomputed from the measured steps: the last step before one that breaks the SLO
    # or raises throughput by less than 10%
    slo = alert_threshold("RecognizerHighLatencyP99") * 1000
    knee = len(steps) - 1
    for i, s in enumerate(steps):
        if s["figures"]["p99_ms"] > slo or (i and s["figures"]["rate"] < steps[i - 1]["figures"]["rate"] * 1.1):
            knee = i - 1
            break
    assert out["knee"]["index"] == knee and knee >= 0
    # found: the ramp stopped right after the step that showed it; else it ran every step (a lower bound)
    assert out["knee"]["found"] == (knee < len(steps) - 1)
    assert len(steps) == (knee + 2 if out["knee"]["found"] else 3)
    at = steps[knee]
    per_replica = at["figures"]["rate"] / at["replicas"]
    s = out["suggestion"]
    assert at["replicas"] == 2 and s["per_replica_rate"] == pytest.approx(per_replica, abs=0.01)
    assert s["replicas"] == math.ceil(100 * 1.25 / per_replica)
    assert f"ceil(100 x 1.25 / {per_replica:.1f}) = {s['replicas']}" in s["formula"]
    assert s["cpu_per_replica"] == at["cpu_per_replica"] and at["cpu_per_replica"] > 0  # from the replicas
    assert s["hpa_utilization"] == round(at["cpu_per_replica"] / 1.25 / 0.25 * 100)  # manifests' 250m request
    assert json.loads(report.read_text())["steps"] == steps
    assert "<- knee" in report.with_suffix(".md").read_text()


# Python only (the slim image has no shell to count on): the model's files, its labels reversed
MISLABEL = """
import os, pathlib
model, mine = pathlib.Path("/model"), pathlib.Path("/tmp/m")
mine.mkdir()
for f in model.iterdir():
    if f.name != "labels.txt":
        (mine / f.name).symlink_to(f)
(mine / "labels.txt").write_text("\\n".join(reversed((model / "labels.txt").read_text().split())) + "\\n")
os.execvp("python", ["python", "-m", "recognizer"])
"""
# Its own self-check off (serving/recognizer/selfcheck.py would keep it unready): a replica that says ready
# and answers wrong, which only a check from outside (aitui's smoke) finds.
SELF_CHECK_OFF = {"RECOGNIZER_MODEL_DIR": "/tmp/m", "RECOGNIZER_SELF_CHECK": "0"}


@pytest.fixture
def mixed(state: Path, image: str, docker_client) -> Iterator[str]:
    """A workload of one recognizer deployed by aitui and one container that joins it whose labels file
    is reversed and whose self-check is off: it serves, passes its health check, and answers every sample
    wrong."""
    name = f"cli-test-{SUFFIX}-mixed"
    try:
        assert aitui(state, "deploy", "--image", image, "-w", name).code == 0
        bad = docker_client.containers.run(
            image, name=f"{name}-wrong", detach=True, read_only=True, tmpfs={"/tmp": "size=64m"},
            labels={WORKLOAD_LABEL: name}, ports={"8501/tcp": ("127.0.0.1", None)}, entrypoint="python",
            command=["-c", MISLABEL], environment=SELF_CHECK_OFF,
            healthcheck={"test": ["CMD", "python", "-m", "recognizer.healthcheck"], "interval": 300_000_000,
                         "start_period": 300_000_000})
        ready_endpoints(state, name, 2)
        yield bad.name
    finally:
        target(state).delete(name)


def test_smoke_flags_the_replica_that_answers_wrong(mixed: str, state: Path) -> None:
    run = aitui(state, "smoke", "-w", f"cli-test-{SUFFIX}-mixed", "--json")
    assert run.code == 1, run.err
    out = run.json
    assert not out["passed"] and len(out["replicas"]) == 2
    bad_port = target(state).docker.containers.get(mixed).attrs["NetworkSettings"]["Ports"]["8501/tcp"][0]["HostPort"]
    flagged = [r for r in out["replicas"] if not r["ok"]]
    assert [r["endpoint"] for r in flagged] == [f"127.0.0.1:{bad_port}"]
    assert flagged[0]["correct"] == 0 and flagged[0]["accuracy"] == 0  # reversed labels: none right
    [good] = [r for r in out["replicas"] if r["ok"]]
    assert good["correct"] == 10 and good["failed"] == 0
    assert flagged[0]["model"] == good["model"]  # the same model by its metadata: only its answers tell
    text = aitui(state, "smoke", "-w", f"cli-test-{SUFFIX}-mixed")
    assert text.code == 1 and "FLAG" in text.out and text.out.count("ok  ") == 1

    # --quarantine: the flagged replica leaves the endpoints, kept running; a replacement answers right
    kept = aitui(state, "smoke", "-w", f"cli-test-{SUFFIX}-mixed", "--quarantine", "--json")
    assert kept.code == 1 and kept.json["quarantined"] == [mixed + QUARANTINED], kept.err
    assert target(state).docker.containers.get(mixed + QUARANTINED).status == "running"
    assert f"127.0.0.1:{bad_port}" not in target(state).endpoints(f"cli-test-{SUFFIX}-mixed")
    again = aitui(state, "smoke", "-w", f"cli-test-{SUFFIX}-mixed", "--json")
    assert again.code == 0 and [r["ok"] for r in again.json["replicas"]] == [True, True], again.out


def test_a_script_stops_at_its_first_failing_step(deployed: dict, state: Path, tmp_path: Path) -> None:
    script = tmp_path / "ci.aitui"
    report = tmp_path / "slo.json"
    script.write_text(f"""# a CI gate: the right answers, then the SLO
predict star -w {WORKLOAD}
smoke -w {WORKLOAD}   # every replica
loadtest -w {WORKLOAD} --duration 2 -c 2 --p99 0.001 --report {report}

scale 1 -w {WORKLOAD}
""")
    run = aitui(state, "run", str(script), "--json")
    assert run.code == 1, run.err
    out = run.json
    assert [s["line"] for s in out["steps"]] == [2, 3, 4] and [s["exit_code"] for s in out["steps"]] == [0, 0, 1]
    assert out["stopped_at"] == 4 and out["not_run"] == 1
    assert out["steps"][0]["correct"] is True and out["steps"][0]["labels"][0]["label"] == "star"
    assert f"{script}:4:" in run.err and "stopped (1 not run)" in run.err
    assert json.loads(report.read_text())["passed"] is False
    assert len(ready_endpoints(state)) == 2  # the scale after the failure never ran


def test_a_script_with_a_bad_line_runs_nothing(deployed: dict, state: Path, tmp_path: Path) -> None:
    script = tmp_path / "typo.aitui"
    script.write_text(f"scale 1 -w {WORKLOAD}\ndeplyo --replicas 3\n")
    run = aitui(state, "run", str(script))
    assert run.code == 2 and f"{script}:2: 'deplyo' is not a command a script runs" in run.err
    assert run.err.count("\n") == 1  # one line
    script.write_text(f"scale 1 -w {WORKLOAD}\nloadtest --duration soon\n")
    run = aitui(state, "run", str(script))
    assert run.code == 2 and f"{script}:2:" in run.err and "--duration" in run.err
    assert len(ready_endpoints(state)) == 2  # line 1 was not run


def test_bad_input_says_what_is_wrong_and_changes_nothing(deployed: dict, state: Path, image: str) -> None:
    fresh = f"cli-test-{SUFFIX}-none"
    run = aitui(state, "deploy", "--image", "aitui/recognizer:no-such-tag", "-w", fresh)
    assert run.code == 2 and run.err.startswith("aitui deploy: no image 'aitui/recognizer:no-such-tag'")
    assert run.err.count("\n") == 1 and not target(state).pods(fresh)
    for args in (["loadtest", "--duration", "1"], ["capacity", "--steps", "1"], ["smoke"], ["scale", "2"],
                 ["predict"]):
        run = aitui(state, *args, "-w", fresh)
        assert run.code == 2, (args, run.err)
        assert f"nothing deployed: no workload '{fresh}' on local" in run.err and run.err.count("\n") == 1
    assert not target(state).pods(fresh) and not (state / "aitui" / "reports").exists()
    # usage: a bound out of range, an unknown sample
    assert aitui(state, "loadtest", "-w", WORKLOAD, "--duration", "9999").code == 2
    assert "no such file, nor a sample" in aitui(state, "predict", "pentagon", "-w", WORKLOAD).err
    # read-only: refused before anything is sent
    run = aitui(state, "--readonly", "scale", "1", "-w", WORKLOAD)
    assert run.code == 2 and "read-only" in run.err
    assert len(ready_endpoints(state)) == 2


@pytest.mark.parametrize("args", [["deploy", "-w", WORKLOAD], ["build"], ["scale", "1", "-w", WORKLOAD],
                                  ["loadtest", "-w", WORKLOAD], ["smoke", "-w", WORKLOAD],
                                  ["capacity", "-w", WORKLOAD], ["predict", "star", "-w", WORKLOAD]],
                         ids=lambda a: a[0])
def test_an_unreachable_engine_is_one_line_and_exit_2(state: Path, args: list[str]) -> None:
    run = aitui(state, *args, env={"DOCKER_HOST": "unix:///nonexistent"}, timeout=60)
    assert run.code == 2, run.err
    assert run.err.count("\n") == 1 and "not found" in run.err, run.err
    assert "Docker engine at unix:///nonexistent; 'aitui doctor' says how to fix it" in run.err
    assert run.out == ""
    run = aitui(state, *args, "--json", env={"DOCKER_HOST": "unix:///nonexistent"}, timeout=60)
    assert run.code == 2 and run.json["exit_code"] == 2 and "not found" in run.json["error"]


def test_on_the_real_cluster_deploy_smoke_scale_and_loadtest(cluster, namespace: str, image: str, state: Path) -> None:
    """The same commands on a Kubernetes context: the image is published into the node, each pod is smoked
    through its own port-forward, and the load test's replicas are the pods."""
    on = ["--context", "aitui-admin", "-n", namespace]
    env = {"KUBECONFIG": str(cluster.kubeconfig)}
    try:
        on_the_cluster(cluster, namespace, image, state, on, env)
    finally:  # the tag deploy loaded into the node is this module's (its content is shared with the image's)
        subprocess.run(["ctr", "--address", str(cluster.dir / "containerd" / "containerd.sock"), "-n", "k8s.io",
                        "images", "rm", f"docker.io/{image}"], capture_output=True, timeout=60)


def on_the_cluster(cluster, namespace: str, image: str, state: Path, on: list[str], env: dict[str, str]) -> None:
    run = aitui(state, *on, "deploy", "--image", image, "--replicas", "2", "--smoke", "--json", env=env, timeout=400)
    assert run.code == 0, run.err
    out = run.json
    assert (out["context"], out["namespace"], out["ready"]) == ("aitui-admin", namespace, 2)
    pods = {p["metadata"]["name"] for p in cluster.get("pods", "-n", namespace)["items"]}
    smoked = {r["replica"].split()[0].removeprefix("pod/") for r in out["smoke"]["replicas"]}
    assert out["smoke"]["passed"] and smoked == pods and len(pods) == 2
    run = aitui(state, *on, "scale", "3", env=env, timeout=300)
    assert run.code == 0 and run.out.strip() == "scaled recognizer to 3: 3 ready", run.err
    run = aitui(state, *on, "scale", "1", env=env)  # below the autoscaler's minimum: refused, nothing sent
    assert run.code == 1 and "keeps it between 2 and 10 replicas" in run.err and run.err.count("\n") == 1
    assert cluster.get("deployment", "recognizer", "-n", namespace)["spec"]["replicas"] == 3
    report = state / "reports" / "cluster.json"
    run = aitui(state, *on, "loadtest", "--duration", "3", "-c", "3", "--report", str(report), "--json", env=env)
    assert run.code == 0, run.err
    out = run.json
    assert out["deployed"]["context"] == "aitui-admin" and out["deployed"]["replicas"] == 3
    assert len(out["figures"]["per_endpoint"]) == 3 and out["figures"]["failed"] == 0  # a forward per pod
    assert json.loads(report.read_text())["figures"] == out["figures"]
