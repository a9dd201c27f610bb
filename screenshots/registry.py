"""Screenshots of the registry path (issue 26) from the real app on the real cluster of `.ci/cluster up`, pushing
to a real Distribution (the binary `.ci/registry up` built), at 120x36 and 80x24:

    .venv/bin/python screenshots/registry.py

`registry-push`: b, then the push's per-layer progress in Activity (a registry of its own with empty storage,
so every layer goes up: the cold push); `registry-deploy`: d through it, by digest, with the pull secret aitui
made. It uses a namespace of its own (registry-shots-*), a Docker config of its own for that registry, and
removes all of it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this script is registry.py too: its own folder on the path would shadow tests/registry.py
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from aitui import config  # noqa: E402
from aitui.app import AituiApp  # noqa: E402
from aitui.config import Settings  # noqa: E402
from aitui.services import images  # noqa: E402
from aitui.services.labels import NAME as WORKLOAD  # noqa: E402
from aitui.ui.dialogs import ConfirmScreen  # noqa: E402

SIZES = ((120, 36), (80, 24))
CONTEXT = "aitui-admin"
ROOT = HERE.parent


async def until(pilot, check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        await pilot.pause(0.1)
    if not check():
        raise SystemExit(f"screenshots: the app never reached the scene: {what}")


async def shoot(settings: Settings, size: tuple[int, int]) -> None:
    app = AituiApp(settings)
    async with app.run_test(size=size) as pilot:
        activity = app.query_one("#activity-log")

        def said(pattern: str) -> bool:
            return any(re.search(pattern, line) for line in activity.lines)

        def save(name: str) -> None:
            app.save_screenshot(f"{name}-{size[0]}x{size[1]}.svg", str(HERE))

        def halfway() -> bool:  # a totals line a good way into the push
            for line in activity.lines:
                m = re.search(r": ([\d.]+) of ([\d.]+) MB ·", line)
                if m and float(m[2]) > 0 and 0.3 < float(m[1]) / float(m[2]) < 0.8:
                    return True
            return False

        await until(pilot, lambda: app.images, 30, "the image list")
        await pilot.press("b")
        await until(pilot, halfway, 600, "the push under way")
        await pilot.press("escape")  # from the build's story back to the lists and Activity
        await pilot.pause(0.3)
        save("registry-push")
        await until(pilot, lambda: said(r"^pushed "), 300, "the push done")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the deploy dialog")
        await pilot.press("y")
        await until(pilot, lambda: WORKLOAD in app.workloads and app.workloads[WORKLOAD].ready >= 2
                    and said("successfully rolled out"), 300, "2 ready")
        await pilot.pause(0.5)
        save("registry-deploy")
        await pilot.press("ctrl+d")
        if isinstance(app.screen, ConfirmScreen):
            await pilot.press("y")
        await until(pilot, lambda: WORKLOAD not in app.workloads, 60, "the workload deleted")


def main() -> None:
    base = config.load()
    state = config.state_dir()
    kubeconfig = state / "cluster" / "kubeconfig"
    if not kubeconfig.is_file():
        raise SystemExit("screenshots: needs the real cluster: ./.ci/cluster up")
    env = dict(line.split("=", 1) for line in subprocess.run(
        ["bash", str(ROOT / ".ci" / "registry"), "env"], capture_output=True, text=True, check=True).stdout.split())
    if not Path(env["REGISTRY_BIN"]).is_file():
        raise SystemExit("screenshots: needs the registry's binary: ./.ci/registry up")
    if not any(i.recognizer and i.tags for i in images.list_images(base)):
        raise SystemExit("screenshots: no recognizer image: press b in aitui first")
    import conftest  # noqa: F401 - first: tests/registry.py imports it, and it imports registry back
    from registry import Instance, Registry, trust, write_docker_config

    from aitui.services import registry as service

    password = Path(env["REGISTRY_PASSWORD_FILE"]).read_text().strip()
    reg = Registry(env["REGISTRY"], Path(env["REGISTRY_BIN"]), Path(env["REGISTRY_CA"]), Path(env["REGISTRY_CERT"]),
                   Path(env["REGISTRY_KEY"]), Path(env["REGISTRY_HTPASSWD"]), env["REGISTRY_USER"], password,
                   Path(env["REGISTRY_NODE_CERTS"]))
    namespace = f"registry-shots-{uuid.uuid4().hex[:6]}"

    def kubectl(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", f"--context={CONTEXT}", *args], input=stdin,
                       text=True, check=True, capture_output=True, timeout=300)

    with tempfile.TemporaryDirectory(prefix="aitui-registry-shots-") as d:
        work = Path(d)
        kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {
                "pod-security.kubernetes.io/enforce": "restricted"}}}))
        node = reg.node_certs
        try:
            for size in SIZES:  # a registry with empty storage for each: the cold push both times
                cold = Instance(reg, work / f"registry-{size[0]}")
                try:
                    trust(work / "certs.d", cold.host, reg.ca)
                    service.CERTS_D = work / "certs.d"
                    (node / cold.host).mkdir(parents=True, exist_ok=True)  # the node trusts it as it does :5443
                    (node / cold.host / "ca.crt").write_bytes(reg.ca.read_bytes())
                    (node / cold.host / "hosts.toml").write_text(
                        f'server = "https://{cold.host}"\n\n[host."https://{cold.host}"]\n'
                        '  capabilities = ["pull", "resolve"]\n  ca = "ca.crt"\n')
                    os.environ["DOCKER_CONFIG"] = str(write_docker_config(
                        work / f"docker-{size[0]}", {cold.host: (reg.user, reg.password)}).parent)
                    settings = Settings(context=CONTEXT, namespace=namespace, kubeconfig=str(kubeconfig),
                                        prometheus_url="http://127.0.0.1:9091", timeout=10, base_image=base.base_image,
                                        cluster_images={CONTEXT: f"registry://{cold.host}/aitui"})
                    asyncio.run(shoot(settings, size))
                finally:
                    cold.stop()
                    for f in (node / cold.host).glob("*"):
                        f.unlink()
                    (node / cold.host).rmdir()
                    for tag in subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                                               f"{cold.host}/aitui/recognizer"], capture_output=True, text=True,
                                              check=False).stdout.split():
                        subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)
        finally:
            kubectl("delete", "namespace", namespace, "--wait=false")


if __name__ == "__main__":
    main()
