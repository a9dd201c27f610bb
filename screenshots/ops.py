"""Screenshots of operating what is selected (issue 14: YAML, describe, the HPA, revisions, rollback, a scale
beyond the autoscaler's bounds) from the real app on the real cluster of `.ci/cluster up`, at 120x36 and 80x24:

    .venv/bin/python screenshots/ops.py

It makes a namespace of its own (ops-shots-*), deploys manifests/base there with the newest recognizer image
loaded into the node, restarts it once (a second revision), shoots, and deletes the namespace. The shell (x)
hands the terminal over, which a headless app cannot: `exec-80x24.txt` is a tmux capture of it instead
(see the README).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aitui import config  # noqa: E402
from aitui.app import AituiApp  # noqa: E402
from aitui.config import Settings  # noqa: E402
from aitui.services import images  # noqa: E402
from aitui.services.labels import NAME as WORKLOAD  # noqa: E402
from aitui.services.targets.kubernetes import KubeTarget  # noqa: E402
from aitui.ui.dialogs import ConfirmScreen  # noqa: E402
from aitui.ui.yaml_view import ObjectScreen  # noqa: E402

SIZES = ((120, 36), (80, 24))
CONTEXT = "aitui-admin"


async def until(pilot, check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        await pilot.pause(0.2)
    if not check():
        raise SystemExit(f"screenshots: the app never reached the scene: {what}")


async def shoot(settings: Settings, size: tuple[int, int]) -> None:
    app = AituiApp(settings)
    async with app.run_test(size=size) as pilot:
        def save(name: str) -> None:
            app.save_screenshot(f"ops-{name}-{size[0]}x{size[1]}.svg", str(HERE))

        table = app.query_one("#workloads")
        await until(pilot, lambda: WORKLOAD in app.workloads and "hpa" in str(table.border_subtitle), 60, "workload")
        await pilot.pause(1)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ObjectScreen) and app.screen.text, 30, "yaml")
        await pilot.press("slash", *"maxunavailable", "enter")
        await pilot.pause(0.5)
        save("yaml")
        await pilot.press("escape", "i")
        await until(pilot, lambda: "Kind:" in (getattr(app.screen, "text", "") or ""), 30, "describe")
        save("describe")
        await pilot.press("escape", "colon", *"hpa", "enter")
        await until(pilot, lambda: WORKLOAD in app.query_one("#hpa").rows, 30, "hpa")
        await pilot.pause(0.5)
        save("hpa")
        await pilot.press("escape", "colon", *"rs", "enter")
        await until(pilot, lambda: app.query_one("#revisions").row_count == 2, 30, "revisions")
        await pilot.pause(0.5)
        save("revisions")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "rollback dialog")
        save("rollback")
        await pilot.press("n", "escape", "minus")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "bounds dialog")
        save("scale-beyond-hpa")
        await pilot.press("n")


def main() -> None:
    base = config.load()
    kubeconfig = config.state_dir() / "cluster" / "kubeconfig"
    if not kubeconfig.is_file():
        raise SystemExit("screenshots: needs the real cluster: ./.ci/cluster up")
    found = [i for i in images.list_images(base) if i.recognizer and i.tags and i.runtime == "litert"]
    if not found:
        raise SystemExit("screenshots: no recognizer image: press b in aitui first")
    namespace = f"ops-shots-{uuid.uuid4().hex[:6]}"

    def kubectl(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", f"--context={CONTEXT}", *args], input=stdin,
                       text=True, check=True, capture_output=True, timeout=300)

    kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}}))
    settings = Settings(context=CONTEXT, namespace=namespace, kubeconfig=str(kubeconfig),
                        prometheus_url="http://127.0.0.1:9091", timeout=10)
    try:
        target = KubeTarget(settings, CONTEXT, namespace)
        target.deploy(found[0].tags[0], 2, progress=print)
        target.restart(progress=print)  # a second revision to go back to
        target.close()
        for size in SIZES:
            asyncio.run(shoot(settings, size))
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")


if __name__ == "__main__":
    main()
