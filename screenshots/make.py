"""Regenerate the SVG screenshots in this folder from the real app, against the real engines
(this machine's Docker engine and Prometheus, as configured for aitui), at 120x36 and 80x24:

    .venv/bin/python screenshots/make.py

Scenes follow the README's walkthrough: `main` (as aitui opens), `1-build-story` (a real build at its
eighth epoch), `1-build`, `2-deploy`, `3-traffic`,
`4-scale` (3 replicas under traffic), `charts-replicas` (c: CPU, memory, batch size, in flight per replica),
`logs-zoomed` (l z t: the three replicas' merged log, full screen, with timestamps), `5-predict`,
`6-rollout` (mid-rollout, one replica at a time),
`7-scale-down`; then `pods` (enter on the workload), `help`, and `cluster` (the real single-node cluster of
`.ci/cluster up`, context aitui-admin: 3 pods under traffic through aitui's port-forwards, charted by the
cluster's Prometheus). Needs the recognizer image's build cache (press b in aitui once). It deploys the
workload "recognizer" on both and leaves them as it found them (deleted).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from aitui import config  # noqa: E402
from aitui.app import AituiApp  # noqa: E402
from aitui.services import images  # noqa: E402
from aitui.services.labels import NAME as WORKLOAD  # noqa: E402
from aitui.ui.browser import ResourceBrowser, ResourceTable  # noqa: E402
from aitui.ui.build import BuildPanel  # noqa: E402
from aitui.ui.chart_grid import ChartGrid  # noqa: E402
from aitui.ui.dialogs import PredictionScreen  # noqa: E402
from aitui.ui.doctor import DoctorScreen  # noqa: E402
from aitui.ui.header import StatusBar  # noqa: E402
from aitui.ui.logs import PodLog  # noqa: E402
from aitui.ui.workloads import Workloads  # noqa: E402

SIZES = ((120, 36), (80, 24))


async def until(pilot, check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        await pilot.pause(0.2)
    if not check():
        tail = "\n".join(pilot.app.query_one("#activity-log").lines[-8:])
        raise SystemExit(f"screenshots: the app never reached the scene: {what}\n{tail}")


def ready(app: AituiApp, n: int) -> bool:
    w = app.workloads.get(WORKLOAD)
    return w is not None and w.ready == n and w.desired == n and WORKLOAD not in app.store.wishes


async def shoot(size: tuple[int, int]) -> None:
    app = AituiApp(config.load())
    cluster = config.state_dir() / "cluster"
    if not (cluster / "kubeconfig").is_file():
        raise SystemExit("screenshots: the cluster scene needs the real cluster: ./.ci/cluster up")
    app.settings.kubeconfig = str(cluster / "kubeconfig")
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: None not in app.query_one(StatusBar).health.values(), 20, "the header")
        await pilot.pause(1)
        activity = app.query_one("#activity-log")

        def save(name: str) -> None:
            app.save_screenshot(f"{name}-{size[0]}x{size[1]}.svg", str(HERE))
            print(HERE / f"{name}-{size[0]}x{size[1]}.svg", flush=True)

        save("main")
        # :doctor on this machine: each check, what it found, and the one-line fix of any that fails
        await pilot.press("colon", *"doctor", "enter")
        await until(pilot, lambda: isinstance(app.screen, DoctorScreen) and bool(app.screen.checks), 120,
                    "the doctor's checks")
        await pilot.pause(0.5)
        save("doctor")
        await pilot.press("escape")
        # the build's story mid-training: a real training (a seed of its own, so the engine's cache cannot skip
        # it; a seed does not change its time, so the last build's estimate applies), shown at its eighth epoch
        # and cancelled (a cancelled build tags nothing); then b builds the walkthrough's image
        panel = app.query_one(BuildPanel)
        seed = int(time.time())
        real_build = images.Build
        setattr(images, "Build", lambda s: real_build(s, tag=f"aitui/recognizer:screenshot-{seed}",  # noqa: B010
                                                      buildargs={"TRAIN_ARGS": f"--seed {seed}"}))
        try:
            await pilot.press("b")
            await until(pilot, lambda: panel.progress is not None and len(panel.progress.losses) >= 8, 900,
                        "the eighth epoch")
            save("1-build-story")
            await pilot.press("b")
            await until(pilot, lambda: not panel.busy, 60, "the cancelled build")
        finally:
            setattr(images, "Build", real_build)  # noqa: B010
        await pilot.press("b")
        await until(pilot, lambda: not panel.busy and any("build: aitui/recognizer" in line and " in " in line
                                                          for line in activity.lines), 900, "the build")
        save("1-build")
        if WORKLOAD not in app.workloads:
            await pilot.press("d", "y")
        await until(pilot, lambda: ready(app, 1), 60, "1 replica")
        save("2-deploy")
        await pilot.press("t", "enter")
        await pilot.pause(15)
        app.query_one(ChartGrid).poll()
        await pilot.pause(2)
        save("3-traffic")
        await pilot.press("plus", "plus")
        await until(pilot, lambda: ready(app, 3), 90, "3 replicas")
        await pilot.pause(12)  # two chart polls with all replicas taking load
        app.query_one(ChartGrid).poll()
        await pilot.pause(2)
        save("4-scale")
        # m: each replica's model and its own figures, under the same traffic
        await pilot.press("m")
        models = app.query_one("#models", ResourceTable)
        await until(pilot, lambda: models.row_count == 3 and all(
            models.get_cell(k, "rate") != "-" for k in models.rows), 60, "each replica's figures")
        save("models")
        await pilot.press("escape")
        # the replicas page of the charts (c), then the merged log of the three replicas, zoomed (l z) with
        # the engine's timestamps (t), each replica in its colour
        grid = app.query_one(ChartGrid)
        while grid.page != 1:
            await pilot.press("c")
        await pilot.pause(6)  # a poll of the page just shown
        save("charts-replicas")
        while grid.page != 0 or grid.has_class("flipped"):
            await pilot.press("c")
        table = app.query_one(ResourceBrowser).table()
        table.focus()
        table.move_cursor(row=table.get_row_index(WORKLOAD))
        await pilot.press("l", "z", "t")
        log = app.query_one(PodLog)
        await until(pilot, lambda: len({line.replica for line in log.buffer.lines}) >= 3, 30, "three replicas' lines")
        await pilot.pause(1)
        save("logs-zoomed")
        await pilot.press("t", "escape")
        table.focus()
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30, "the prediction")
        await pilot.pause(0.5)
        save("5-predict")
        await pilot.press("escape", "r", "y")
        await until(pilot, lambda: any("rollout recognizer: 2/3" in line for line in activity.lines), 120,
                    "the rollout's second replica")
        save("6-rollout")
        await until(pilot, lambda: any("rollout recognizer: 3 replicas" in line for line in activity.lines), 120,
                    "the rollout's end")
        await pilot.press("minus", "minus")
        await until(pilot, lambda: ready(app, 1), 90, "back to 1 replica")
        await pilot.press("t")  # traffic stops: its totals are the last Activity line
        await pilot.pause(1)
        save("7-scale-down")
        await pilot.press("enter")
        await pilot.pause(1)
        save("pods")
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.5)
        save("help")
        await pilot.press("escape")
        app.query_one(Workloads).run(lambda t, p: t.delete(WORKLOAD, p))
        await until(pilot, lambda: WORKLOAD not in app.workloads, 60, "the delete")

        app.settings.prometheus_url = "http://127.0.0.1:9091"  # the cluster's: it finds the pods (kubernetes_sd)
        await pilot.press("colon", *({"-": "minus", " ": "space"}.get(c, c) for c in "ctx aitui-admin"), "enter")
        await until(pilot, lambda: app.settings.context == "aitui-admin", 10, "the context switch")
        await until(pilot, lambda: "none yet" in str(app.query_one("#workloads").border_subtitle), 20,
                    "the cluster's (empty) lists")
        await pilot.press("d", "y")
        await until(pilot, lambda: ready(app, 2), 120, "the deploy to the cluster (the autoscaler's minimum: 2)")
        await pilot.press("t")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.press("plus")
        await until(pilot, lambda: ready(app, 3), 120, "3 replicas on the cluster")
        await pilot.pause(30)  # the charts fill from the cluster's Prometheus (a 2 s scrape, 10 s rates)
        await pilot.press("enter")
        await pilot.pause(1)
        save("cluster")
        await pilot.press("escape", "t")
        app.query_one(Workloads).run(lambda t, p: t.delete(WORKLOAD, p))
        await until(pilot, lambda: WORKLOAD not in app.workloads, 60, "the delete on the cluster")


def main() -> None:
    if len(sys.argv) == 2:  # one size per process: a Textual app runs once per interpreter here
        w, h = (int(n) for n in sys.argv[1].split("x"))
        asyncio.run(shoot((w, h)))
        return
    import subprocess

    for old in HERE.glob("*.svg"):
        if not old.name.startswith(("ops-", "model-")):  # ops.py and model_ops.py make those
            old.unlink()
    for w, h in SIZES:
        subprocess.run([sys.executable, __file__, f"{w}x{h}"], check=True)


if __name__ == "__main__":
    main()
