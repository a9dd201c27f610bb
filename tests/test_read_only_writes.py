"""Read-only writes nothing (issue 23, item 3): a read-only aitui — the app driven by every key, and the
CLI's commands — sends the Docker engine no create, update or delete, and changes no object of a cluster
namespace, while it still lists, shows YAML, follows logs, predicts and smokes.

Proved three ways. The engine's own events stream, watched for the test's workload and for the model
reads aitui labels with its pid (create, start, kill, destroy…: any action at all). Every request aitui
sends the engine, written down by a recorder on the socket it is pointed at (DOCKER_HOST=unix://…): each
one a GET or a HEAD. On the real cluster, a watch of the namespace's objects (deployments, replicasets,
pods, services, hpa, secrets, configmaps, serviceaccounts, pdbs, network policies) from the
resourceVersion they were listed at, and the namespace's own resourceVersion: no ADDED, no DELETED, no
MODIFIED by anyone but the cluster's own controllers — and a change the test makes itself at the end is
seen, so the watch was listening."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, wait_until
from test_app_actions import until
from test_ops_local import command, select_row

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.images import READS_LABEL
from aitui.services.targets.local import WORKLOAD_LABEL, LocalTarget
from aitui.ui.browser import ResourceTable
from aitui.ui.dialogs import PredictionScreen
from aitui.ui.yaml_view import ObjectScreen

pytestmark = pytest.mark.docker

ENGINE_SOCKET = "/var/run/docker.sock"
REFUSED = "read-only: '{}' is not changed by aitui"
# every key that changes something (ui/keys.py's changes=True), and those that only read
CHANGING_KEYS = ("b", "d", "plus", "minus", "s", "r", "ctrl+d", "x", "u", "L", "C", "n", "t")
CHANGING_COMMANDS = ("build", "deploy", "scale 3", "restart", "rollback", "loadtest", "capacity", "canary")


# -- the engine's side --------------------------------------------------------------------------------
class EngineRecorder:
    """A unix socket in front of the engine's that writes down each request's method and path, and passes
    everything through unchanged: what a read-only aitui asked the engine for, all of it."""

    def __init__(self, upstream: str = ENGINE_SOCKET) -> None:
        self.dir = tempfile.mkdtemp(prefix="ro-", dir="/tmp")  # (a socket's path is at most 107 bytes)
        self.path = os.path.join(self.dir, "docker.sock")
        self.upstream = upstream
        self.requests: list[tuple[str, str]] = []
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.url = f"unix://{self.path}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        engine = socket.socket(socket.AF_UNIX)
        engine.connect(self.upstream)

        def back() -> None:
            with contextlib.suppress(OSError):
                while data := engine.recv(65536):
                    conn.sendall(data)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=back, daemon=True).start()
        buffer, body, parsing = b"", 0, True
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                engine.sendall(data)
                if not parsing:
                    continue
                buffer += data
                while parsing:
                    if body:  # the rest of a request's body
                        taken = min(body, len(buffer))
                        buffer, body = buffer[taken:], body - taken
                        if body:
                            break
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head, buffer = buffer[:end].decode("latin-1"), buffer[end + 4:]
                    first, *fields = head.split("\r\n")
                    method, path = [*first.split(" "), "", ""][:2]
                    self.requests.append((method, path))
                    headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
                    body = int(headers.get("content-length") or 0)
                    if "chunked" in headers.get("transfer-encoding", "") or "upgrade" in headers:
                        parsing = False  # a body of unknown length, or a raw stream: writes, recorded already
        for s in (conn, engine):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m not in ("GET", "HEAD")]

    def close(self) -> None:
        self.listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self.dir)


class EngineEvents:
    """The engine's events stream (containers, images, networks, volumes: every action) from now on,
    kept when they concern this test's workload or a model read of this process. The engine's own health
    checks (HEALTHCHECK runs an exec every few seconds, and says the status) are the engine's, not aitui's."""

    def __init__(self, docker_client, workload: str, healthcheck: str) -> None:
        self.workload, self.pid, self.healthcheck = workload, str(os.getpid()), healthcheck
        self.seen: list[dict] = []
        self._since = time.time_ns()
        self._checks: set[str] = set()  # the execIDs of the engine's health checks
        self._stream = docker_client.events(decode=True, since=int(time.time()) - 1,
                                            filters={"type": ["container", "image", "network", "volume"]})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):
            for ev in self._stream:
                attributes = (ev.get("Actor") or {}).get("Attributes") or {}
                action = str(ev.get("Action", ""))
                if int(ev.get("timeNano") or 0) < self._since:
                    continue
                if not (attributes.get(WORKLOAD_LABEL) == self.workload or attributes.get(READS_LABEL) == self.pid):
                    continue
                if action == f"exec_create: {self.healthcheck}":
                    self._checks.add(attributes.get("execID", ""))
                if action.startswith("health_status") or (action.startswith("exec_") and
                                                          attributes.get("execID") in self._checks):
                    continue
                self.seen.append(ev)

    def actions(self) -> list[str]:
        return [f"{e.get('Type')} {e.get('Action')} {(e.get('Actor') or {}).get('Attributes', {}).get('name', '')}"
                for e in self.seen]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


@pytest.fixture
def deployed_locally(settings, recognizer_image, docker_client, tmp_path, monkeypatch) -> Iterator[str]:
    """A workload of this test's own, one ready replica (deployed before anything read-only starts); the
    app's default workload is pointed at it (p predicts to it, the charts select it)."""
    name = f"t-ro-{uuid.uuid4().hex[:6]}"
    target = LocalTarget(settings, targets_dir=tmp_path / "setup")
    target.deploy(recognizer_image, 1, name)
    target.close()
    yield name
    for c in docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={name}"}):
        c.remove(force=True)


@pytest.fixture
def watched(docker_client, deployed_locally, recognizer_image) -> Iterator[tuple[EngineRecorder, EngineEvents]]:
    recorder = EngineRecorder()
    test = docker_client.images.get(recognizer_image).attrs["Config"]["Healthcheck"]["Test"]
    events = EngineEvents(docker_client, deployed_locally, " ".join(test[1:]))
    yield recorder, events
    events.close()
    recorder.close()


def notices(app: AituiApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def said(app: AituiApp, text: str) -> bool:
    return any(text in line for line in app.query_one("#activity-log").lines)


async def press_every_changing_key(app: AituiApp, pilot, context: str) -> None:
    """Each key and `:` command that changes something: each refused, in words, and no dialog opened."""
    refused = REFUSED.format(context)
    for key in (*CHANGING_KEYS, *(f":{line}" for line in CHANGING_COMMANDS)):
        app.clear_notifications()
        await (command(pilot, key[1:]) if key.startswith(":") else pilot.press(key))
        await until(pilot, lambda: refused in notices(app), 5, f"{key} refused")
        assert app.screen is app.screen_stack[0], f"{key} opened {app.screen}"


async def read_everything(app: AituiApp, pilot, workload: str) -> None:
    """What read-only is for: the workload's YAML and describe, its pods, their log and events, the models
    view, a prediction and the smoke test (requests to the replicas, nothing to the engine)."""
    workloads = app.query_one("#workloads", ResourceTable)
    await select_row(pilot, workloads, workload)
    for key, what in (("y", "Config:"), ("i", "Kind:")):
        await pilot.press(key)
        await until(pilot, lambda w=what: isinstance(app.screen, ObjectScreen) and w in (app.screen.text or ""), 20,
                    f"{key} shown")
        await pilot.press("escape")
    await pilot.press("l")
    log = app.query_one("#pod-log")
    await until(pilot, lambda: any("serving recognizer" in line for line in log.lines), 20, "the replica's log")
    await pilot.press("e")
    await until(pilot, lambda: any(line.strip() for line in app.query_one("#events-log").lines), 20, "its events")
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 20, "a prediction")
    await pilot.press("escape")
    await command(pilot, "smoke")
    await until(pilot, lambda: said(app, "smoke PASS") or said(app, "smoke FAIL"), 30, "the smoke test")
    await pilot.press("m")
    await until(pilot, lambda: app.query_one("#models", ResourceTable).row_count == 1, 20, "the models view")
    await pilot.press("escape")
    await pilot.press("enter")  # the pods
    pods = app.query_one("#pods", ResourceTable)
    await until(pilot, lambda: pods.row_count == 1, 20, "its pod")
    await pilot.press("y")
    await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 20, "pod yaml")
    await pilot.press("escape", "escape")


async def test_the_read_only_app_sends_the_engine_no_write(watched, deployed_locally, recognizer_image, tmp_path,
                                                           monkeypatch) -> None:
    recorder, events = watched
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # no model.json read before: a read is due
    app = AituiApp(Settings(docker_host=recorder.url, kubeconfig=str(tmp_path / "none"),
                            prometheus_url="http://127.0.0.1:9", readonly_contexts=["local"], timeout=5))
    app.store.default = deployed_locally
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        images = app.query_one("#images")
        await until(pilot, lambda: images.row_count > 0, 20, "the images")
        image_id = next(i.id for i in app.images if recognizer_image in i.tags)
        await until(pilot, lambda: str(images.get_cell(image_id, "accuracy")).strip() not in ("", "…"), 20,
                    "the recognizer's figures (its label's, else not known: never read in read-only)")
        await read_everything(app, pilot, deployed_locally)
        await press_every_changing_key(app, pilot, "local")
        await pilot.pause(1.0)  # what a refused key might still have started
    asked = {(m, route(p)) for m, p in recorder.requests}
    assert {("GET", "/events"), ("GET", "/images/json"), ("GET", "/containers/json")} <= asked, asked  # it listened
    assert recorder.writes() == []
    assert events.actions() == [], events.actions()


def route(path: str) -> str:
    """/v1.41/containers/json?all=1 -> /containers/json"""
    return re.sub(r"^/v[0-9.]+", "", path.split("?")[0])


def test_aituis_build_writes_model_jsons_figures_on_the_image(settings, recognizer_image, docker_client, tmp_path,
                                                               monkeypatch) -> None:
    """A build labels its image with model.json (what Images shows is then listed, never read through a
    container, on any machine); built again, the engine's cache gives the same image (no dangling one)."""
    from aitui.services import images

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # (not a recognizer image to another process while it exists: no one deploys it as the newest)
    monkeypatch.setattr(images.build, "COMPONENT_LABEL", "io.aitui.test.component")  # what Build labels
    tag = "aitui-test/labelled:" + images.recognizer_tag(images.serving_dir(settings)).split(":")[1]
    try:
        built = [list(images.Build(settings, tag=tag).events())[-1] for _ in range(2)]
        assert [b.kind for b in built] == ["done", "done"], built
        assert built[0].image_id == built[1].image_id  # the label's build came from the cache the second time
        model = json.loads(docker_client.containers.run(tag, entrypoint=["python", "-c", "import sys; sys.stdout."
                                                                         "write(open('/model/model.json').read())"],
                                                        remove=True))
        labels = docker_client.images.get(tag).labels
        assert json.loads(labels[images.MODEL_LABEL]) == model
        (tmp_path / "state" / "aitui" / "models.json").unlink(missing_ok=True)
        listed = {i.id: i for i in images.list_images(Settings(readonly=True))}
        assert listed[built[0].image_id].accuracy == model["accuracy"]
        assert images.read_models(Settings(readonly=True), [built[0].image_id]) == {}  # and nothing to read
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(tag, force=True)


def cli(*args: str, docker_host: str, state: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aitui", *args], capture_output=True, text=True, timeout=180,
                          cwd=ROOT, env={**os.environ, "DOCKER_HOST": docker_host, "XDG_STATE_HOME": str(state),
                                         "KUBECONFIG": str(state / "none"), **(env or {})})


def test_the_read_only_cli_sends_the_engine_no_write(watched, deployed_locally, tmp_path) -> None:
    recorder, events = watched
    workload = deployed_locally
    script = tmp_path / "steps"
    script.write_text(f"predict -w {workload}\nsmoke -w {workload}\nscale 2 -w {workload}\n")
    for args, code in ((["doctor"], None), (["predict", "-w", workload], 0), (["smoke", "-w", workload], 0),
                       (["build"], 2), (["deploy", "-w", workload], 2), (["scale", "2", "-w", workload], 2),
                       (["smoke", "--quarantine", "-w", workload], 2),
                       (["loadtest", "-w", workload, "--duration", "1"], 2),
                       (["capacity", "-w", workload, "--steps", "1", "--step-seconds", "1"], 2),
                       (["run", str(script)], 2)):
        done = cli("--readonly", *args, docker_host=recorder.url, state=tmp_path / "state")
        assert code is None or done.returncode == code, (args, done.returncode, done.stderr)
        if code == 2:
            verb = "quarantine" if "--quarantine" in args else "scale" if args[0] == "run" else args[0]
            assert f"read-only (local): {verb} refused, nothing sent" in done.stderr, (args, done.stderr)
    done = cli("loadtest", "-w", workload, "--duration", "1", docker_host=recorder.url, state=tmp_path / "state",
               env={"AITUI_READONLY": "1"})  # read-only by the environment too
    assert done.returncode == 2 and "read-only (local): loadtest refused, nothing sent" in done.stderr
    assert not list((tmp_path / "state").rglob("reports/*"))  # no report: nothing ran
    assert len(recorder.requests) > 20
    assert recorder.writes() == []
    assert events.actions() == [], events.actions()


def test_the_recorder_sees_a_write(watched, docker_client) -> None:
    """The proof's own check: a write through the recorder is recorded (and the events stream sees it)."""
    import docker

    recorder, events = watched
    client = docker.DockerClient(base_url=recorder.url, timeout=30)
    try:
        c = client.containers.create(docker_client.images.list()[0].id, command=["true"],
                                     labels={WORKLOAD_LABEL: events.workload})
        c.remove(force=True)
    finally:
        client.close()
    assert [m for m, _ in recorder.writes()] == ["POST", "DELETE"]
    wait_until(lambda: {"create", "destroy"} <= {e["Action"] for e in events.seen}, 10, "the events")


# -- the cluster's side --------------------------------------------------------------------------------
CONTROLLERS = {"kube-controller-manager", "kubelet", "kube-scheduler"}  # the cluster's own writers


class NamespaceWatch:
    """Watches of every kind of object aitui deploys or could touch in one namespace, each from the
    resourceVersion it was listed at; what anyone but the cluster's controllers did meanwhile is kept."""

    KINDS = (("apps", "deployments"), ("apps", "replicasets"), ("", "pods"), ("", "services"),
             ("autoscaling/v2", "horizontalpodautoscalers"), ("", "secrets"), ("", "configmaps"),
             ("", "serviceaccounts"), ("policy/v1", "poddisruptionbudgets"),
             ("networking.k8s.io/v1", "networkpolicies"))

    def __init__(self, kubeconfig: Path, context: str, namespace: str) -> None:
        from kubernetes import client, config

        self.api = config.new_client_from_config(str(kubeconfig), context=context, persist_config=False)
        self.core = client.CoreV1Api(self.api)
        self.namespace = namespace
        self.since = time.time() - 1
        self.changes: list[str] = []
        self.seen: list[str] = []
        self._stop = threading.Event()
        self.namespace_version = self.core.read_namespace(namespace).metadata.resource_version
        self._threads = [threading.Thread(target=self._watch, args=kind, daemon=True) for kind in self.KINDS]
        self._ready = threading.Barrier(len(self.KINDS) + 1, timeout=60)
        for t in self._threads:
            t.start()
        self._ready.wait()

    def _path(self, group: str, plural: str) -> str:
        prefix = "/api/v1" if not group else f"/apis/{group if '/' in group else group + '/v1'}"
        return f"{prefix}/namespaces/{self.namespace}/{plural}"

    def _get(self, path: str, query: list[tuple[str, str]]) -> Any:
        """A GET as the admin, its body unread (the client's param_serialize, then call_api: as client.py asks)."""
        method, url, headers, body, _ = self.api.param_serialize(
            "GET", path, query_params=query, header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"])
        response = self.api.call_api(method, url, headers, body)
        assert response.status == 200, (path, response.status, response.read())
        return response.response  # urllib3's: iterating it gives the body's lines as they come

    def _watch(self, group: str, plural: str) -> None:
        path = self._path(group, plural)
        version = json.loads(self._get(path, []).read())["metadata"]["resourceVersion"]
        self._ready.wait()
        while not self._stop.is_set():
            response = self._get(path, [("watch", "true"), ("resourceVersion", version), ("timeoutSeconds", "5"),
                                        ("allowWatchBookmarks", "false")])
            for line in response:
                event = json.loads(line)
                obj = event["object"]
                meta = obj.get("metadata") or {}
                version = meta.get("resourceVersion", version)
                what = f"{event['type']} {plural}/{meta.get('name')}"
                self.seen.append(what)
                if event["type"] == "MODIFIED":
                    writers = {m.get("manager", "?") for m in meta.get("managedFields") or []
                               if _stamp(m.get("time")) >= self.since} - CONTROLLERS
                    if writers:
                        self.changes.append(f"{what} by {', '.join(sorted(writers))}")
                elif event["type"] in ("ADDED", "DELETED"):
                    self.changes.append(what)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        self.api.close()


def _stamp(value: str | None) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else 0.0


@pytest.fixture
def deployed_on_cluster(cluster, namespace, cluster_image) -> Iterator[str]:
    """manifests/base applied in a fresh namespace (2 replicas, the HPA's minimum), rolled out, as the admin."""
    from cluster import ADMIN

    from aitui.services.targets.kubernetes import KubeTarget

    target = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=10), ADMIN, namespace)
    target.deploy(cluster_image, 2)
    target.close()
    yield namespace


async def test_a_read_only_cluster_context_changes_no_object(cluster, deployed_on_cluster, tmp_path,
                                                             monkeypatch) -> None:
    from cluster import ADMIN

    from aitui.services.labels import NAME as WORKLOAD

    namespace = deployed_on_cluster
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    watch = NamespaceWatch(cluster.kubeconfig, ADMIN, namespace)
    try:
        app = AituiApp(Settings(context=ADMIN, namespace=namespace, kubeconfig=str(cluster.kubeconfig),
                                prometheus_url=cluster.prometheus_url, readonly_contexts=[ADMIN], timeout=10))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            workloads = app.query_one("#workloads", ResourceTable)
            await until(pilot, lambda: WORKLOAD in workloads.rows and
                        str(workloads.get_cell(WORKLOAD, "ready")) == "2/2", 60, "the workload ready")
            await select_row(pilot, workloads, WORKLOAD)
            for key, what in (("y", "kind: Deployment"), ("i", "Kind:         Deployment")):
                await pilot.press(key)
                await until(pilot, lambda w=what: isinstance(app.screen, ObjectScreen) and w in (app.screen.text or ""),
                            20, f"{key} shown")
                await pilot.press("escape")
            await pilot.press("p")  # through a port-forward: a pod subresource, not an object
            await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30, "a prediction")
            await pilot.press("escape")
            await command(pilot, "smoke")
            await until(pilot, lambda: said(app, "smoke PASS") or said(app, "smoke FAIL"), 60, "the smoke test")
            for view in ("hpa", "rs", "svc"):
                await command(pilot, view)
                await pilot.pause(0.5)
                await pilot.press("escape")
            await press_every_changing_key(app, pilot, ADMIN)
            await pilot.pause(2.0)
        kubeconfig = ["--kubeconfig", str(cluster.kubeconfig), "--context", ADMIN, "-n", namespace]
        for args, code in ((["predict"], 0), (["smoke"], 0), (["deploy"], 2), (["scale", "3"], 2),
                           (["loadtest", "--duration", "1"], 2), (["capacity", "--steps", "1"], 2),
                           (["smoke", "--quarantine"], 2)):
            done = cli("--readonly", *kubeconfig, *args, docker_host="unix://" + ENGINE_SOCKET,
                       state=tmp_path / "state", env={"KUBECONFIG": str(cluster.kubeconfig)})
            assert done.returncode == code, (args, done.stderr)
        # the watch's own check: a change the test makes is seen
        cluster.kubectl("create", "configmap", "watch-check", "-n", namespace)
        wait_until(lambda: "ADDED configmaps/watch-check" in watch.seen, 20, "the watch to see the test's change")
    finally:
        watch.close()
    assert [c for c in watch.changes if "watch-check" not in c] == []
    assert cluster.get("namespace", namespace)["metadata"]["resourceVersion"] == watch.namespace_version
