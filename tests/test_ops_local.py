"""Operating what is selected, on the real Docker engine, by keystrokes (y, i, x, u, :rs, :hpa) and through
the local target: YAML and describe of a live container (and of one removed while open), a shell through a
real TTY (and the clear messages for a gone container and an image without a shell), a rollback to the
previous image under traffic with no failed request, and the local engine saying it has no autoscaler.
Each test has workloads of its own (never `recognizer`), removed afterwards."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from test_app_actions import until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.services.predict import samples
from aitui.services.targets import NoShell, NotFound, TargetError
from aitui.services.targets.local import REVISIONS_LABEL, WORKLOAD_LABEL, LocalTarget
from aitui.services.traffic import Traffic
from aitui.ui.browser import ResourceTable
from aitui.ui.dialogs import ConfirmScreen
from aitui.ui.yaml_view import ObjectScreen

pytestmark = pytest.mark.docker


def run_in_tty(argv: tuple[str, ...], typed: str, env: dict[str, str] | None = None,
               timeout: float = 30) -> tuple[int, str]:
    """Run `argv` on a new pseudo-terminal (as the suspended app does on the user's), type `typed`, and
    return its exit code and everything it wrote."""
    main, child = pty.openpty()
    proc = subprocess.Popen(list(argv), stdin=child, stdout=child, stderr=child, close_fds=True,
                            env={**os.environ, **(env or {})})
    os.close(child)
    os.write(main, typed.encode())
    out = io.BytesIO()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            out.write(chunk)
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(timeout=10), out.getvalue().decode(errors="replace")


@pytest.fixture
def local(settings, docker_client, tmp_path, monkeypatch) -> Iterator[tuple[LocalTarget, list[str]]]:
    """The local target, and a list the test adds its workload names to; their containers go afterwards."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    target = LocalTarget(settings, targets_dir=tmp_path / "targets")
    names: list[str] = []
    yield target, names
    for name in names:
        for c in docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={name}"}):
            c.remove(force=True)
    target.close()


@pytest.fixture
def second_tag(docker_client, recognizer_image) -> Iterator[str]:
    """The recognizer under a second name of this test's own: a different image to roll out and back."""
    tag = f"aitui-test/ops-b:{uuid.uuid4().hex[:6]}"
    docker_client.images.get(recognizer_image).tag(tag)
    yield tag
    docker_client.images.remove(tag, noprune=True)


@pytest.fixture
def no_shell_image(docker_client, recognizer_image) -> Iterator[str]:
    """The recognizer with every shell removed (a distroless-like image that still serves)."""
    tag = f"aitui-test/noshell:{uuid.uuid4().hex[:6]}"
    user = docker_client.images.get(recognizer_image).attrs["Config"]["User"] or "10001"
    dockerfile = (f"FROM {recognizer_image}\nUSER root\n"
                  "RUN rm -f /usr/bin/sh /usr/bin/dash /usr/bin/bash /usr/bin/rbash /bin/sh /bin/dash /bin/bash\n"
                  f"USER {user}\n")
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


def app_for(settings: Settings, tmp_path) -> AituiApp:
    return AituiApp(Settings(base_image=settings.base_image, serving_dir=settings.serving_dir,
                             kubeconfig=str(tmp_path / "none"), prometheus_url="http://127.0.0.1:9", timeout=5))


def notices(app: AituiApp) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def said(app: AituiApp, text: str) -> bool:
    return any(text in line for line in app.query_one("#activity-log").lines)


async def command(pilot, line: str) -> None:
    await pilot.press("colon", *[ch if ch != " " else "space" for ch in line], "enter")


async def select_row(pilot, table: ResourceTable, key: str, timeout: float = 30) -> None:
    await until(pilot, lambda: key in table.rows, timeout, f"{key} listed")
    table.move_cursor(row=table.get_row_index(key))
    table.focus()
    await pilot.pause()


async def test_yaml_and_describe_of_a_container_and_of_one_removed_meanwhile(local, settings, recognizer_image,
                                                                          docker_client, tmp_path) -> None:
    target, names = local
    name = f"t-ops-{uuid.uuid4().hex[:6]}"
    names.append(name)
    target.deploy(recognizer_image, 1, name)
    pod = target.pods(name)[0].name
    assert target.manifest("models", pod)["Name"] == f"/{pod}"  # the models view's rows are replicas too
    app = app_for(settings, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        workloads = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, workloads, name)
        await pilot.press("y")  # the workload: the inspect data of its containers
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 20, "yaml")
        screen = app.screen
        assert isinstance(screen, ObjectScreen)
        assert f"{WORKLOAD_LABEL}: {name}" in (screen.text or "") and "ReadonlyRootfs: true" in (screen.text or "")
        await pilot.press("slash", *"readonlyrootfs", "enter")  # search: case-insensitive, the match shown
        assert screen.matches and "match 1 of" in str(screen.query_one("#text").border_subtitle)
        await pilot.press("i")  # describe, in the same screen
        await until(pilot, lambda: "Kind:         container (local Docker engine)" in (screen.text or ""), 20,
                    "describe")
        assert f"Workload {name}: 1 container(s)" in (screen.text or "")
        await pilot.press("d", "colon")  # the App's keys do nothing here (deploy, the command line)
        assert app.screen is screen and app.focused is not app.query_one("#command")
        await pilot.press("escape", "escape")  # the search, then the screen
        assert app.screen is not screen

        await pilot.press("enter")  # the pods; y on the replica; it is removed while its YAML is open
        pods = app.query_one("#pods", ResourceTable)
        await select_row(pilot, pods, pod)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text is not None, 20, "yaml")
        screen = app.screen
        assert isinstance(screen, ObjectScreen) and f"Name: /{pod}" in (screen.text or "")
        docker_client.containers.get(pod).remove(force=True)
        what = screen.query_one("#what")
        await until(pilot, lambda: "was deleted" in str(what.render()), 20, "the deleted line")
        assert f"pods/{pod} was deleted" in str(what.render()) and f"Name: /{pod}" in (screen.text or "")
        await pilot.press("escape")
    assert app.return_code in (0, None)


async def test_shell_through_a_real_tty_and_its_clear_refusals(local, settings, recognizer_image, no_shell_image,
                                                               docker_client, tmp_path) -> None:
    target, names = local
    name, bare = f"t-ops-{uuid.uuid4().hex[:6]}", f"t-ops-bare-{uuid.uuid4().hex[:6]}"
    names += [name, bare]
    target.deploy(recognizer_image, 1, name)
    target.deploy(no_shell_image, 1, bare)  # it serves (its probes are HTTP) but has no shell
    pod, bare_pod = target.pods(name)[0].name, target.pods(bare)[0].name

    shell = target.shell(pod)  # probed: bash is there
    assert shell.argv == ("docker", "exec", "-it", pod, "bash")
    code, out = run_in_tty(shell.argv, "echo $((6*7)) $(id -u); tty; exit 3\n")
    assert code == 3 and "42 10001" in out and "/dev/pts/" in out, out  # a real TTY, as the user, exit code back
    with pytest.raises(NoShell, match="its image has no shell"):
        target.shell(bare_pod)
    with pytest.raises(NotFound, match="gone"):
        target.shell(f"{name}-gone00")

    app = app_for(settings, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        workloads = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, workloads, name)
        # ready as this app's target sees it (the engine's healthcheck: the test's target started it)
        await until(pilot, lambda: str(workloads.get_cell(name, "ready")) == "1/1", 30, "the replica ready")
        await pilot.press("x")  # on a workload: its first ready replica. A pilot cannot hand the terminal over:
        await until(pilot, lambda: said(app, f"run it yourself: docker exec -it {pod} bash"), 90, "the command")
        await select_row(pilot, workloads, bare)
        await pilot.press("enter")
        pods = app.query_one("#pods", ResourceTable)
        await select_row(pilot, pods, bare_pod)
        await pilot.press("x")
        await until(pilot, lambda: "its image has no shell" in notices(app), 90, "no shell, said")
        docker_client.containers.get(bare_pod).remove(force=True)  # gone, still on screen: x says so
        await pilot.press("x")
        await until(pilot, lambda: "it is gone" in notices(app), 90, "a gone replica, said")
        await command(pilot, "services")
        await pilot.press("x")  # a verb of another view: refused with its reason
        await until(pilot, lambda: "does not apply to services" in notices(app), 5, "x refused on services")


async def test_rollback_goes_back_one_image_without_a_failed_request(local, settings, recognizer_image, second_tag,
                                                                     docker_client, tmp_path) -> None:
    target, names = local
    name, single = f"t-ops-{uuid.uuid4().hex[:6]}", f"t-ops-one-{uuid.uuid4().hex[:6]}"
    names += [name, single]
    target.deploy(recognizer_image, 2, name)
    target.deploy(second_tag, 2, name)  # a rollout: revision 2
    target.deploy(recognizer_image, 1, single)
    assert [(r.revision, r.image, r.current) for r in target.revisions(name)] == \
        [(1, recognizer_image, False), (2, second_tag, True)]

    app = app_for(settings, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        workloads = app.query_one("#workloads", ResourceTable)
        await select_row(pilot, workloads, single)
        await pilot.press("u")  # one revision only: nothing to go back to
        await until(pilot, lambda: f"rollback {single}: no previous revision to go back to (only revision 1"
                    in notices(app), 20, "no previous revision")
        assert not isinstance(app.screen, ConfirmScreen)

        await command(pilot, "rs")  # the revisions of every workload
        revisions = app.query_one("#revisions", ResourceTable)
        await until(pilot, lambda: f"{name}-2" in revisions.rows and f"{name}-1" in revisions.rows, 20, "revisions")
        assert str(revisions.get_cell(f"{name}-2", "revision")) == "2 (current)"
        assert str(revisions.get_cell(f"{name}-1", "image")) == recognizer_image.rsplit("/", 1)[-1]
        await select_row(pilot, revisions, f"{name}-1")
        # through the app's own target: it knows which replicas are leaving (out of the endpoints first)
        own = app.target
        assert own is not None
        sent = Traffic(lambda: own.endpoints(name), list(samples().values())[:3], concurrency=2,
                       duration=300).start()
        try:
            await until(pilot, lambda: sent.stats.ok > 20, 30, "traffic before the rollback")
            await pilot.press("u")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 20, "the rollback dialog")
            lines = " ".join(app.screen.lines)  # type: ignore[attr-defined]
            assert f"from revision 2: {second_tag}" in lines and f"to revision 1: {recognizer_image}" in lines
            await pilot.press("y")
            await until(pilot, lambda: said(app, f"rollback: {name} runs revision 1's template"), 120, "the rollback")
            ok_at_end = sent.stats.ok
            await until(pilot, lambda: sent.stats.ok > ok_at_end + 10, 30, "traffic after the rollback")
        finally:
            stats = sent.stop()
        assert (stats.failed, stats.retried) == (0, 0) and stats.ok > 50, stats
        running = docker_client.containers.list(filters={"label": f"{WORKLOAD_LABEL}={name}"})
        assert {c.attrs["Config"]["Image"] for c in running} == {recognizer_image} and len(running) == 2
        assert f"[3, \"{recognizer_image}\"" in running[0].labels[REVISIONS_LABEL]  # renumbered, as kubectl does
        await until(pilot, lambda: f"{name}-3" in revisions.rows and f"{name}-1" not in revisions.rows, 20,
                    "the revisions after the rollback")
        assert str(revisions.get_cell(f"{name}-3", "revision")) == "3 (current)"


async def test_the_local_engine_says_it_has_no_autoscaler(local, settings, tmp_path) -> None:
    target, _ = local
    with pytest.raises(TargetError, match="no autoscaler"):
        target.autoscalers()
    with pytest.raises(TargetError, match="no autoscaler"):
        target.set_autoscaler("x", 1, 2)
    app = app_for(settings, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await command(pilot, "hpa")
        table = app.query_one("#hpa", ResourceTable)
        await until(pilot, lambda: table.row_count == 1, 20, "the one row")
        assert "no autoscaler" in str(table.get_cell("-", "targets"))
        assert "local engine" in str(table.get_cell("-", "name"))
        assert str(table.border_subtitle).startswith("the local Docker engine has no autoscaler")


def test_revision_history_rules() -> None:
    from aitui.services.targets.local import KEEP_REVISIONS, next_history

    h = next_history([], "a", 1.0)
    assert h == [[1, "a", 1.0]] and next_history(h, "a", 2.0) is h  # a scale or restart: the same revision
    h = next_history(next_history(h, "b", 2.0), "a", 3.0)  # back to a: renumbered, its old entry gone
    assert h == [[2, "b", 2.0], [3, "a", 3.0]]
    for i in range(20):
        h = next_history(h, f"i{i}", 4.0 + i)
    assert len(h) == KEEP_REVISIONS and h[-1][0] == 23


async def test_read_only_refuses_a_shell_and_a_rollback(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = AituiApp(Settings(kubeconfig=str(tmp_path / "none"), prometheus_url="http://127.0.0.1:9", readonly=True))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("x", "u")
        await until(pilot, lambda: notices(app).count("read-only: 'local' is not changed by aitui") == 2, 10,
                    "both refused")
        assert not isinstance(app.screen, ConfirmScreen)
