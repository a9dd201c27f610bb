"""Regenerate the SVG screenshots in this folder from the real app, against the real engines
(this machine's Docker engine and Prometheus, as configured for aitui), at 120x36 and 80x24:

    .venv/bin/python screenshots/make.py

Scenes: `main` (as aitui opens), `running` (deployed, 2 replicas, traffic on, charts filling),
`predict` (a sample image and its top-5 labels). Needs a recognizer image (press b in aitui once).
The `running` scene deploys the workload "recognizer" and leaves it as it found it (deleted).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aitui import config  # noqa: E402
from aitui.app import WORKLOAD, AituiApp  # noqa: E402
from aitui.ui.dialogs import PredictionScreen  # noqa: E402
from aitui.ui.header import StatusBar  # noqa: E402

SIZES = ((120, 36), (80, 24))


async def until(pilot, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        await pilot.pause(0.2)
    if not check():
        raise SystemExit("screenshots: the app never reached the scene (is a recognizer image built?)")


async def shoot(size: tuple[int, int], scenes: tuple[str, ...]) -> None:
    app = AituiApp(config.load())
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: None not in app.query_one(StatusBar).health.values(), 20)
        await pilot.pause(1)

        def save(name: str) -> None:
            app.save_screenshot(f"{name}-{size[0]}x{size[1]}.svg", str(HERE))
            print(HERE / f"{name}-{size[0]}x{size[1]}.svg")

        if "main" in scenes:
            save("main")
        if "running" in scenes:
            if WORKLOAD not in app.workloads:
                await pilot.press("d", "y")
                await until(pilot, lambda: WORKLOAD in app.workloads and app.workloads[WORKLOAD].ready == 1, 60)
            await pilot.press("t", "enter")
            await pilot.pause(8)
            await pilot.press("plus")
            await until(pilot, lambda: app.workloads[WORKLOAD].ready == 2, 60)
            await pilot.pause(12)  # two chart polls with both replicas taking load
            app.poll_charts()
            await pilot.pause(3)
            save("running")
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30)
            await pilot.pause(0.5)
            save("predict")
            await pilot.press("escape", "t")
            app.run_change(lambda t, p: t.delete(WORKLOAD, p))
            await until(pilot, lambda: WORKLOAD not in app.workloads, 60)


def main() -> None:
    if len(sys.argv) == 2:  # one size per process: a Textual app runs once per interpreter here
        w, h = (int(n) for n in sys.argv[1].split("x"))
        asyncio.run(shoot((w, h), ("main", "running")))
        return
    import subprocess

    for w, h in SIZES:
        subprocess.run([sys.executable, __file__, f"{w}x{h}"], check=True)


if __name__ == "__main__":
    main()
