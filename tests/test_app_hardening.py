"""The app's hardening (issue 23): a Docker engine behind TLS is reached with DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH (and an untrusted one refused), a build step that never ends its line holds a bounded
buffer, a saved log named after a hostile label value lands in the logs folder, and a kubeconfig that turns
TLS verification off is followed as kubectl does, but said: header, doctor, Activity, the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from apiserver import StandIn
from conftest import ROOT, free_port
from test_app_actions import until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services import doctor, health, images
from aitui.ui.activity import ActivityLog
from aitui.ui.header import StatusBar

pytestmark = pytest.mark.docker


# -- a Docker engine behind TLS -------------------------------------------------------------------
class TLSEngine:
    """tcp://127.0.0.1:PORT speaking TLS (a certificate of the tests' CA) in front of the real engine's
    socket: what `dockerd --tlsverify -H tcp://…:2376` looks like to a client."""

    def __init__(self, cert: Path, key: Path, socket_path: str = "/var/run/docker.sock") -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.socket_path = socket_path
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.handshakes_failed = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1  # a client that does not trust this server (or speaks plain HTTP)
            raw.close()
            return
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(self.socket_path)

        def pipe(a: socket.socket, b: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := a.recv(65536):
                    b.sendall(data)
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()
        pipe(conn, upstream)

    def close(self) -> None:
        self.listener.close()


def cert_dir(path: Path, ca: Path, cert: Path, key: Path) -> Path:
    """DOCKER_CERT_PATH as the docker CLI wants it: ca.pem, cert.pem, key.pem."""
    path.mkdir(parents=True)
    for src, name in ((ca, "ca.pem"), (cert, "cert.pem"), (key, "key.pem")):
        shutil.copy(src, path / name)
    return path


def other_ca(path: Path) -> Path:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(path / "other.key"),
                    "-out", str(path / "other.pem"), "-days", "1", "-subj", "/CN=another CA"],
                   check=True, capture_output=True, timeout=60)
    return path / "other.pem"


def test_a_tls_engine_is_reached_with_the_environments_certificates(test_ca, tmp_path, monkeypatch,
                                                                    docker_client) -> None:
    from aitui.services.targets.local import LocalTarget

    ca, cert, key = test_ca
    engine = TLSEngine(cert, key)
    images._clients.clear()
    try:
        monkeypatch.setenv("DOCKER_HOST", engine.url)
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        monkeypatch.setenv("DOCKER_CERT_PATH", str(cert_dir(tmp_path / "trusted", ca, cert, key)))
        from aitui import config

        settings = config.load(env=os.environ, file=tmp_path / "none.toml")
        assert settings.docker_host == engine.url  # DOCKER_HOST is the setting; TLS comes with it
        assert images.client(settings).ping()
        listed = {i.id for i in images.list_images(settings)}
        assert listed == {i.id.removeprefix("sha256:")[:12] for i in docker_client.images.list()}
        assert health.docker(settings).ok, health.docker(settings)
        target = LocalTarget(settings, targets_dir=tmp_path / "targets")
        target.workloads()  # the local target's own client speaks TLS too
        target.close()
        assert engine.handshakes_failed == 0

        # a server this CA did not sign: refused, said as a TLS failure, not taken for an answer
        monkeypatch.setenv("DOCKER_CERT_PATH", str(cert_dir(tmp_path / "untrusted", other_ca(tmp_path), cert, key)))
        refused = health.docker(settings)
        assert not refused.ok and "TLS certificate verify failed" in refused.detail, refused
        with pytest.raises(images.DockerError):
            images.list_images(settings)
    finally:
        engine.close()
        images._clients.clear()


# -- a build step that never prints a newline -------------------------------------------------------
def test_a_line_without_end_is_held_to_the_bound() -> None:
    """50 MB without a newline, fed as the engine streams it: what is held never exceeds the bound, the
    line is said cut, and the lines after it are whole (a figures line still parses)."""
    from aitui.services.images import LINE_LIMIT, BuildLines, _Stages

    lines, out, held = BuildLines(), [], 0
    chunk = "x" * 65536
    for _ in range(800):
        out += list(lines.feed(chunk))
        held = max(held, len(lines.partial))
    out += list(lines.feed('\nAITUI_RESULT {"accuracy": 0.9}\nand the next line'))
    out += lines.end()
    assert held <= LINE_LIMIT
    assert len(out) == 3 and out[0].endswith("(cut: a line longer than 16 kB)") and len(out[0]) < LINE_LIMIT + 64
    assert out[1:] == ['AITUI_RESULT {"accuracy": 0.9}', "and the next line"]
    stages = _Stages(0.0)
    stages.now = "training"
    assert [e.accuracy for e in stages.read(out[1]) if e.kind == "result"] == [0.9]


def test_a_real_build_step_that_prints_a_long_line(settings, docker_client, tmp_path, monkeypatch) -> None:
    """A real build whose step writes 3 MB without a newline: the build log holds it cut at the bound."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # not taken for a recognizer image by any listing (another test's "newest recognizer") while it exists
    monkeypatch.setattr(images.build, "COMPONENT_LABEL", "io.aitui.test.component")  # what Build labels
    context = tmp_path / "context"
    context.mkdir()
    run = uuid.uuid4().hex[:8]  # a step the engine's cache cannot skip (a cached step prints nothing)
    (context / "Dockerfile").write_text(
        f"FROM {settings.base_image}\n"
        f"RUN python3 -c \"import sys; sys.stdout.write('x' * 3_000_000); sys.stdout.flush()\" # {run}\n"
        f"RUN echo after the long line {run}\n")
    tag = f"aitui-test/long-line:{run}"
    try:
        events = list(images.Build(settings, tag=tag, context=context).events())
        assert events[-1].kind == "done", events[-5:]
        logged = [e.text for e in events if e.kind == "log"]
        assert max(len(t) for t in logged) < 16 * 1024 + 64  # (images.LINE_LIMIT, and the word that it was cut)
        assert any(t.endswith("(cut: a line longer than 16 kB)") for t in logged)
        assert f"after the long line {run}" in logged
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(tag, force=True)


# -- a saved log named after a label value -----------------------------------------------------------
@pytest.mark.parametrize("name", ["../../escaped", "..", "a/../../b", "we ird\nname"])
def test_a_saved_logs_file_name_stays_in_the_logs_folder(tmp_path, name) -> None:
    from aitui.ui.logs import Line, save

    folder = tmp_path / "state" / "aitui" / "logs"
    path = save([Line("abc123", "hello", "2024-01-01T00:00:00Z")], folder, name)
    assert path.parent == folder and path.read_text() == "2024-01-01T00:00:00Z abc123 │ hello\n"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]  # nothing anywhere else


# -- a kubeconfig that turns TLS verification off ----------------------------------------------------
@pytest.fixture
def insecure_standin(test_ca, tmp_path):
    """The API-server stand-in on https, and a kubeconfig with two contexts on it: `insecure` (its cluster
    has insecure-skip-tls-verify: true and no CA) and `verified` (the CA)."""
    ca, cert, key = test_ca
    with StandIn(tls=(cert, key), ca=ca, ready_after=0.05, terminate_after=0.05) as s:
        path = s.kubeconfig(tmp_path / "kubeconfig", {"insecure": "default", "verified": "default"},
                            current="insecure")
        kubeconfig = json.loads(path.read_text())
        verified = kubeconfig["clusters"][0]
        kubeconfig["clusters"] = [verified, {"name": "skipping", "cluster": {"server": s.url,
                                                                             "insecure-skip-tls-verify": True}}]
        kubeconfig["contexts"][0]["context"]["cluster"] = "skipping"
        path.write_text(json.dumps(kubeconfig))
        s.kubeconfig_path = path
        yield s


def test_skipped_tls_verification_is_said_by_the_header_and_the_doctor(insecure_standin) -> None:
    path = str(insecure_standin.kubeconfig_path)
    insecure = Settings(context="insecure", kubeconfig=path, timeout=3)
    assert health.kubernetes(insecure).warning == "TLS UNVERIFIED"
    assert health.kubernetes(Settings(context="verified", kubeconfig=path)).warning == ""
    assert health.kubernetes(Settings(context="local", kubeconfig=path)).warning == ""
    checks = {c.name: c for c in doctor.contexts(insecure)}
    # (the stand-in's /version is not a whole VersionInfo: unreachable to the check, which says TLS all the same)
    assert "; TLS not verified (insecure-skip-tls-verify: true)" in checks["context insecure"].found
    assert "certificate-authority-data" in checks["context insecure"].fix
    assert "TLS" not in checks["context verified"].found

    done = subprocess.run([sys.executable, "-m", "aitui", "--kubeconfig", path, "--context", "insecure",
                           "--prometheus-url", f"http://127.0.0.1:{free_port()}", "doctor"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "TLS not verified (insecure-skip-tls-verify: true)" in done.stdout, done.stdout


async def test_skipped_tls_verification_is_said_in_the_app(insecure_standin, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = AituiApp(Settings(context="insecure", kubeconfig=str(insecure_standin.kubeconfig_path),
                            prometheus_url=f"http://127.0.0.1:{free_port()}", timeout=2))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        activity = app.query_one(ActivityLog)
        await until(pilot, lambda: any("TLS not verified" in line for line in activity.lines), 15,
                    "the Activity line")
        assert sum("TLS not verified" in line for line in activity.lines) == 1  # one line, not one per list
        header = app.query_one(StatusBar)
        await until(pilot, lambda: "TLS UNVERIFIED" in header.render().plain, 15, "the header's warning")
        assert any("TLS not verified" in str(n.message) for n in app._notifications)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: "TLS UNVERIFIED" in header.render().plain, 5, "the warning at 80 columns")
        assert app.target is not None and app.target.synced(1.0)  # it connected, as kubectl would


# -- a port-forward the cluster forbids -----------------------------------------------------------------
def test_a_forbidden_port_forward_is_said_as_rbac(cluster, namespace, cluster_image, tmp_path) -> None:
    """The limited user may read the namespace, not open a port-forward: predict and smoke say so in the
    server's words, as a typed error ("forbidden (RBAC)"), not a connection that closed."""
    from cluster import ADMIN, LIMITED

    from aitui.services.targets.kubernetes import KubeTarget

    target = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=10), ADMIN, namespace)
    target.deploy(cluster_image, 1)
    target.close()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    for command in ("predict", "smoke"):
        done = subprocess.run([sys.executable, "-m", "aitui", "--kubeconfig", str(cluster.kubeconfig), "--context",
                               LIMITED, "-n", namespace, command], capture_output=True, text=True, timeout=120,
                              env=env, cwd=ROOT)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        said = done.stderr.strip().splitlines()[-1]
        assert f"aitui {command}: port-forward pods/recognizer-" in said and ": forbidden (RBAC): " in said, said
        # the port-forward is a websocket, a GET: the API server authorizes it as "get" (before any "create"
        # it may also ask for), and the limited user has neither
        assert f'User "{LIMITED}" cannot get resource "pods/portforward"' in said, said
        assert "Handshake status" not in said and "-+-+-" not in said  # not the websocket's raw answer
