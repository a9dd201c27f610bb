"""The model operations' scenes (issue 15), from the real app on this machine's Docker engine and Prometheus,
at 120x36 and 80x24:

    .venv/bin/python screenshots/model_ops.py

`model-loadtest` (L: a bounded load with the SLO gate of manifests/monitoring's alert rules, PASS),
`model-capacity` (C: concurrency ramped 1..16, p99 against req/s, the knee and the suggestion for 500 req/s),
`model-canary` (n: a second image beside the workload, both sides' figures and top-1 agreement; then aborted),
`model-quarantine` (:smoke on a workload one of whose replicas answers every sample wrong: flagged, taken out
of traffic and replaced; the pods view). It deploys the workload "recognizer" (2 replicas) and deletes it
at the end; it refuses to start if one is already deployed. Needs a recognizer image (press b in aitui).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from make import until  # noqa: E402 (this folder's walkthrough: its wait for a scene)

from aitui import config  # noqa: E402
from aitui.app import AituiApp  # noqa: E402
from aitui.services import images  # noqa: E402
from aitui.services.labels import NAME as WORKLOAD  # noqa: E402
from aitui.services.targets.local import QUARANTINED, WORKLOAD_LABEL, LocalTarget  # noqa: E402
from aitui.ui.browser import ResourceBrowser  # noqa: E402
from aitui.ui.canary import CanaryScreen  # noqa: E402
from aitui.ui.capacity import CapacityScreen  # noqa: E402
from aitui.ui.dialogs import ConfirmScreen  # noqa: E402
from aitui.ui.header import StatusBar  # noqa: E402
from aitui.ui.loadtest import LoadTestScreen  # noqa: E402

SIZES = ((120, 36), (80, 24))
CANARY_TAG = "aitui/recognizer:canary-screenshot"


def said(app: AituiApp, text: str) -> bool:
    return any(text in line for line in app.query_one("#activity-log").lines)


async def shoot(size: tuple[int, int], image: str) -> None:
    # a replica that serves, healthy, with its labels reversed and its self-check off
    from test_cli_commands import MISLABEL, SELF_CHECK_OFF

    settings = config.load()
    target = LocalTarget(settings)
    target.deploy(image, 2, WORKLOAD, print)
    app = AituiApp(settings)
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            await until(pilot, lambda: None not in app.query_one(StatusBar).health.values(), 20, "the header")
            await until(pilot, lambda: WORKLOAD in app.workloads and app.workloads[WORKLOAD].ready == 2, 30,
                        "the workload listed")

            async def save(name: str) -> None:
                app.clear_notifications()  # the toasts would cover what the scene is about
                await pilot.pause(0.3)
                app.save_screenshot(f"{name}-{size[0]}x{size[1]}.svg", str(HERE))
                print(HERE / f"{name}-{size[0]}x{size[1]}.svg", flush=True)

            def select() -> None:
                table = app.query_one("#workloads")
                table.focus()
                table.move_cursor(row=table.get_row_index(WORKLOAD))  # type: ignore[attr-defined]

            select()
            await pilot.press("L")
            screen = app.screen
            assert isinstance(screen, LoadTestScreen)
            screen.query_one("#duration").value = "8"  # type: ignore[attr-defined]
            screen.query_one("#duration").focus()
            await pilot.press("enter")
            await until(pilot, lambda: screen.result is not None, 60, "the load test's verdict")
            screen.query_one("#duration").blur()
            await pilot.pause(0.5)
            await save("model-loadtest")
            await pilot.press("escape")

            await pilot.press("C")
            cap = app.screen
            assert isinstance(cap, CapacityScreen)
            cap.query_one("#steps-in").value = "1,2,4,8,16"  # type: ignore[attr-defined]
            cap.query_one("#seconds").value = "3"  # type: ignore[attr-defined]
            cap.query_one("#wanted").value = "500"  # type: ignore[attr-defined]
            cap.query_one("#seconds").focus()
            await pilot.press("enter")
            await until(pilot, lambda: cap.result is not None, 120, "the capacity result")
            cap.query_one("#seconds").blur()
            await pilot.pause(0.5)
            await save("model-capacity")
            await pilot.press("escape")

            select()
            await pilot.press("n")
            canary = app.screen
            assert isinstance(canary, CanaryScreen)
            canary.query_one("#image").value = CANARY_TAG  # type: ignore[attr-defined]
            canary.query_one("#image").focus()
            await pilot.press("enter")
            await until(pilot, lambda: canary.running and canary.figures is not None and canary.figures.compared >= 160,
                        120, "the canary up and compared")
            await pilot.pause(1)
            await save("model-canary")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10, "the abort dialog")
            await pilot.press("y")
            await until(pilot, lambda: canary.outcome == "aborted", 120, "the canary aborted")
            await pilot.press("escape")

            # a replica that answers every sample wrong joins the workload; :smoke flags it, takes it out
            # of traffic (kept running, renamed) and starts a replacement
            bad = target.docker.containers.run(
                image, name=f"{WORKLOAD}-wrong", detach=True, read_only=True, tmpfs={"/tmp": "size=64m"},
                labels={WORKLOAD_LABEL: WORKLOAD}, ports={"8501/tcp": ("127.0.0.1", None)}, entrypoint="python",
                command=["-c", MISLABEL], environment=SELF_CHECK_OFF,
                healthcheck={"test": ["CMD", "python", "-m", "recognizer.healthcheck"], "interval": 2 * 10**9})
            await until(pilot, lambda: app.workloads[WORKLOAD].ready == 3, 60, "the wrong replica ready")
            select()
            await pilot.press("colon", *"smoke", "enter")
            await until(pilot, lambda: said(app, f"scale {WORKLOAD}: 3 replicas"), 120, "the quarantine's replacement")
            select()
            await pilot.press("enter")
            browser = app.query_one(ResourceBrowser)
            await until(pilot, lambda: bad.name + QUARANTINED in browser.table("pods").rows, 30, "the pods view")
            await pilot.pause(1)
            await save("model-quarantine")
    finally:
        target.delete(WORKLOAD, print)
        target.close()


def main() -> None:
    settings = config.load()
    if len(sys.argv) == 3:  # one size per process: a Textual app runs once per interpreter here
        w, h = (int(n) for n in sys.argv[1].split("x"))
        asyncio.run(shoot((w, h), sys.argv[2]))
        return
    import subprocess

    target = LocalTarget(settings)
    if any(w.name == WORKLOAD for w in target.workloads()):
        raise SystemExit(f"screenshots: {WORKLOAD} is deployed on the local engine; delete it first (ctrl+d)")
    found = [i for i in images.list_images(settings) if i.recognizer and i.tags and i.runtime == "litert"]
    if not found:
        raise SystemExit("screenshots: no recognizer image: press b in aitui first")
    image = found[0].tags[0]
    target.docker.images.get(image).tag(*CANARY_TAG.split(":"))  # the canary: the same model under a second tag
    try:
        for w, h in SIZES:
            subprocess.run([sys.executable, __file__, f"{w}x{h}", image], check=True)
    finally:
        target.docker.images.remove(CANARY_TAG, noprune=True)


if __name__ == "__main__":
    main()
