"""Fixtures that bring up real parts: the Docker engine, a Prometheus server, the recognizer's
image and containers (the real cluster's are in tests/cluster.py).

A missing engine, Prometheus or cluster fails the test that needs it, wherever the suite runs, with the
command that brings it up: a run that passes has tested the real parts. A run that knows it is partial says
so: `AITUI_PARTIAL=1` turns what is missing into skips (listed by `-rs`), and `-m "not cluster"` (or
`not docker`, `not prometheus`: marks given from the fixtures a test uses) leaves those tests out. Without
AITUI_PARTIAL=1 any skip makes the run's exit status a failure."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "serving"))  # the recognizer's dataset and codec, for test inputs

from aitui.config import Settings  # noqa: E402

PARTIAL = os.environ.get("AITUI_PARTIAL") == "1"  # asked for: what is missing is skipped, not failed
SETUP_HINT = "run ./.ci/up --no-run first (it starts dockerd and Prometheus)"
# fixture -> mark
MARKS = {"docker_client": "docker", "prometheus": "prometheus", "cluster": "cluster", "registry": "registry"}


def missing(what: str, hint: str = SETUP_HINT) -> NoReturn:
    """`what` is not here: the test fails, unless the run was asked to be partial (then it is a skip)."""
    if PARTIAL:
        pytest.skip(f"{what} is not available (AITUI_PARTIAL=1): {hint}")
    pytest.fail(f"{what} is not available: {hint} (AITUI_PARTIAL=1 runs without it, as skips)", pytrace=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the real parts its fixtures bring up, so `-m "not cluster"` leaves out all of them."""
    for item in items:
        for fixture, mark in MARKS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)


SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skip is a test that did not run: a complete run has none, so its exit status says it failed."""
    if SKIPPED and not PARTIAL and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if SKIPPED and not PARTIAL:
        terminalreporter.write_line(f"{len(SKIPPED)} skipped, so this run fails: a complete run skips nothing "
                                    "(AITUI_PARTIAL=1 accepts skips)", red=True, bold=True)


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.1) -> object:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds. Any other
    exception from `check` is retried (the last one is said at the deadline), except an AssertionError: a
    check that knows it failed for good (a container that exited) ends the wait at once."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except AssertionError:
            raise
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(base_image=os.environ.get("AITUI_BASE_IMAGE", "aitui/base:bookworm"),
                    serving_dir=str(ROOT / "serving"), timeout=5.0)


@pytest.fixture(scope="session")
def docker_client(settings: Settings):
    import docker

    try:
        c = docker.from_env(timeout=30)
        c.ping()
        return c
    except Exception as exc:
        why = str(exc).splitlines()[0][:200]
    missing(f"the Docker engine ({why})")  # outside the except: the message alone, not the chain behind it


class Prometheus:
    """A real Prometheus server on 127.0.0.1, scraping the targets the test lists: the shipped config
    (manifests/local), scraping every `scrape_interval` (the shipped 2 s, or the tests' quicker 1 s)."""

    def __init__(self, workdir: Path, port: int | None = None, scrape_interval: str = "1s") -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets = workdir / "targets"
        self.targets.mkdir(parents=True, exist_ok=True)
        config = (ROOT / "manifests" / "local" / "prometheus.yml").read_text()
        assert "scrape_interval: 2s" in config, "the shipped scrape interval changed: say it here"
        config = config.replace("scrape_interval: 2s", f"scrape_interval: {scrape_interval}")
        config = config.replace("127.0.0.1:9090", f"127.0.0.1:{self.port}")
        (workdir / "prometheus.yml").write_text(config)
        shutil.copytree(ROOT / "manifests" / "local" / "rules", workdir / "rules", dirs_exist_ok=True)
        self.log = open(workdir / "prometheus.log", "w")  # noqa: SIM115 - open while the server runs
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"],
            stdout=subprocess.DEVNULL, stderr=self.log)

        def ready() -> bool:  # a server that exited (a bad config, its port taken) fails the wait at once
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited ({self.proc.returncode}): "
                                     f"{(workdir / 'prometheus.log').read_text()[-2000:]}")
            return requests.get(f"{self.url}/-/ready", timeout=1).ok

        wait_until(ready, 30, "Prometheus to be ready")

    def query(self, promql: str) -> list[dict]:
        r = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        r.raise_for_status()
        return list(r.json()["data"]["result"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def prometheus() -> Iterator[Prometheus]:
    if shutil.which("prometheus") is None:
        missing("the prometheus binary")
    with tempfile.TemporaryDirectory(prefix="aitui-prom-") as d:
        p = Prometheus(Path(d))
        yield p
        p.stop()


RECOGNIZER_IDS: dict[str, str] = {}  # tag -> the image id recognizer_image chose (a later build may take the tag)


@pytest.fixture(scope="session")
def recognizer_image(settings: Settings, docker_client) -> str:
    """The recognizer's image, built from serving/ through aitui's own build service."""
    from aitui.services.images import Build

    build = Build(settings)
    try:  # an image of these sources, built with its revision (a copy outside git, or older aitui: "unknown")
        found = docker_client.images.get(build.tag)
        if found.labels.get("org.opencontainers.image.revision") != "unknown":
            RECOGNIZER_IDS[build.tag] = found.id
            return build.tag
    except Exception:
        pass
    log = []
    for ev in build.events():
        log.append(ev)
        if ev.kind == "error":
            pytest.fail(f"building the recognizer failed: {ev.text}\n" +
                        "\n".join(e.text for e in log[-30:]))
    assert log[-1].kind == "done", log[-1]
    RECOGNIZER_IDS[build.tag] = docker_client.images.get(build.tag).id
    return build.tag


def derived_image(docker_client, base: str, tag: str, lines: str, files: dict[str, str] | None = None) -> str:
    """`tag`, built FROM `base` with `lines` (Dockerfile instructions) and `files` in its context: no
    network, no shell in the image needed (COPY and LABEL only)."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in {"Dockerfile": f"FROM {base}\n{lines}\n", **(files or {})}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    docker_client.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, tag=tag, rm=True)
    return tag


@pytest.fixture(scope="session")
def mislabelled_image(recognizer_image: str, docker_client) -> Iterator[str]:
    """The recognizer's image with its labels file reversed: what a build that mixed up its files ships.
    Not a recognizer to aitui (its label and repository): nothing takes it for the newest recognizer image."""
    from aitui.services.images import COMPONENT_LABEL

    labels = docker_client.containers.run(recognizer_image, entrypoint="python", remove=True,
                                          command=["-c", "print(open('/model/labels.txt').read(), end='')"])
    tag = derived_image(docker_client, recognizer_image, "aitui-test/mislabelled:" + recognizer_image.split(":")[-1],
                        f"LABEL {COMPONENT_LABEL}=test\nCOPY labels.txt /model/labels.txt",
                        {"labels.txt": "\n".join(reversed(labels.decode().split())) + "\n"})
    yield tag
    docker_client.images.remove(tag, force=True)


class Replica:
    def __init__(self, container, port: int) -> None:
        self.container = container
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


class Replicas:
    """Start recognizer containers as aitui's local target does: non-root, read-only root
    filesystem, port 8501 published on 127.0.0.1 only. close() removes them."""

    def __init__(self, docker_client, image: str) -> None:
        self.docker = docker_client
        self.image = image
        self.started: list = []

    def run(self, image: str | None = None, env: dict[str, str] | None = None, ready: bool = True,
            tmpfs: dict[str, str] | None = None, restart: str = "no") -> Replica:
        c = self.docker.containers.run(
            image or self.image, detach=True, read_only=True, ports={"8501/tcp": ("127.0.0.1", None)},
            environment=env or {}, labels={"io.aitui.test": "1"}, tmpfs=tmpfs or {},
            restart_policy={"Name": restart})
        self.started.append(c)

        def alive() -> None:  # an exit without a restart policy is for good: the waits below end at once
            c.reload()
            if c.status in ("exited", "dead") and restart == "no":
                raise AssertionError(f"container {c.name} exited ({c.attrs['State'].get('ExitCode')}): "
                                     f"{c.logs().decode()[-2000:]}")

        def port() -> int:
            alive()
            binding = (c.attrs["NetworkSettings"]["Ports"] or {}).get("8501/tcp")
            return int(binding[0]["HostPort"]) if binding else 0

        replica = Replica(c, int(wait_until(port, 30, "the published port")))  # type: ignore[call-overload]
        if ready:
            def is_ready() -> bool:
                alive()
                return requests.get(f"{replica.url}/v2/health/ready", timeout=1).status_code == 200

            wait_until(is_ready, 60, "the recognizer to be ready")
        return replica

    def close(self) -> None:
        for c in self.started:
            with contextlib.suppress(Exception):
                c.remove(force=True)


@pytest.fixture
def run_recognizer(docker_client, recognizer_image: str) -> Iterator[Callable[..., Replica]]:
    replicas = Replicas(docker_client, recognizer_image)
    yield replicas.run
    replicas.close()


@pytest.fixture(scope="module")
def replica(docker_client, recognizer_image: str) -> Iterator[Replica]:
    """One recognizer shared by a module's read-only tests."""
    replicas = Replicas(docker_client, recognizer_image)
    yield replicas.run()
    replicas.close()


@pytest.fixture
def standin(tmp_path: Path):
    """The API-server stand-in (tests/apiserver.py) on 127.0.0.1, with a kubeconfig for two contexts."""
    from apiserver import StandIn

    with StandIn(ready_after=0.05, terminate_after=0.05, bookmark_every=0.3) as s:
        s.cluster.create("namespaces", "", {"metadata": {"name": "other"}})
        s.kubeconfig_path = s.kubeconfig(tmp_path / "kubeconfig", {"standin": "default", "other": "other"})
        yield s


def kube_client(standin, context: str = "standin"):
    from kubernetes import client, config

    api = config.new_client_from_config(str(standin.kubeconfig_path), context=context, persist_config=False)
    return client.AppsV1Api(api), client.CoreV1Api(api)


def deployment(name: str = "web", replicas: int = 2, image: str = "aitui/recognizer:1") -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": image}]}}}}


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A CA made for this run, and a server certificate for 127.0.0.1 it signed: (ca, cert, key)."""
    d = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=aitui test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                           "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext")
    return d / "ca.pem", d / "server.pem", d / "server.key"


from cluster import cluster, cluster_image, namespace  # noqa: E402, F401 - the real cluster's fixtures
from registry import docker_config, instances, registry  # noqa: E402, F401 - the real registry's fixtures
