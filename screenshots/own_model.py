"""The README's "your own model" scenes, from the real app on this machine's Docker engine and Prometheus, at
120x36 and 80x24:

    .venv/bin/python screenshots/own_model.py

`own-model`: a user's digits classifier (trained here, as tests/test_own_model.py trains it, on scikit-learn's
handwritten digits, in the build's own TensorFlow stage) built with `aitui build --model`, deployed by `d` as the
workload `digits` beside the recognizer's, scaled to 2 under traffic; Images groups the two models, the charts
follow the selected workload. `own-predict`: `:predict FILE`, one of its samples sent as a file. The project
is kept under the state dir (screenshots/own-model); the workloads are deleted at the end. Needs the recognizer
image (press b in aitui once); refuses to start if a digits or recognizer workload is deployed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from make import until  # noqa: E402 (this folder's walkthrough: its wait for a scene)

from aitui import config  # noqa: E402
from aitui.app import AituiApp  # noqa: E402
from aitui.services import images  # noqa: E402
from aitui.services.targets.local import LocalTarget  # noqa: E402
from aitui.ui.dialogs import NumberScreen, PredictionScreen  # noqa: E402
from aitui.ui.header import StatusBar  # noqa: E402

SIZES = ((120, 36), (80, 24))
MODEL, SHIPPED = "digits", "recognizer"
KEYS = {"/": "slash", ".": "full_stop", "-": "minus", "_": "underscore", " ": "space"}


def project(settings: config.Settings) -> Path:
    """The digits project a user would bring: digits.keras, labels.txt, samples/<label>/*.png, a model.toml."""
    import numpy as np
    from test_own_model import LABELS, digit_images, write_samples

    root = config.state_dir() / "screenshots" / "own-model"
    folder = root / MODEL
    if (folder / "digits.keras").is_file():
        return folder
    import docker

    client, work = docker.from_env(), root / "work"
    work.mkdir(parents=True, exist_ok=True)
    data = digit_images()
    np.savez(work / "digits.npz", **{k: data[k] for k in ("gray", "rgb", "y", "train", "test")})
    shutil.copy(HERE.parent / "tests" / "own_model_train.py", work / "own_model_train.py")
    stage = "aitui-test/tensorflow-stage:own-model"
    client.images.build(path=str(HERE.parent / "serving"), target="keras-project", tag=stage, rm=True,
                        buildargs={"BASE_IMAGE": settings.base_image})
    client.containers.run(stage, remove=True, entrypoint=["/opt/train/bin/python", "/work/own_model_train.py"],
                          volumes={str(work): {"bind": "/work", "mode": "rw"}})
    print("trained:", json.loads((work / "result.json").read_text()), flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "digits.keras", folder / "digits.keras")
    (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")
    (folder / "model.toml").write_text('scaling = "unit_0_1"   # the model was trained on pixels / 255\n')
    write_samples(folder, data["gray64"], data, LABELS)
    return folder


async def shoot(size: tuple[int, int], folder: Path) -> None:
    settings = config.load()
    settings.model = str(folder)
    app = AituiApp(settings)
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: None not in app.query_one(StatusBar).health.values(), 20, "the header")
        await until(pilot, lambda: {MODEL, SHIPPED} <= set(app.workloads), 30, "both workloads listed")

        async def save(name: str) -> None:
            app.clear_notifications()  # the toasts would cover what the scene is about
            await pilot.pause(0.3)
            app.save_screenshot(f"{name}-{size[0]}x{size[1]}.svg", str(HERE))
            print(HERE / f"{name}-{size[0]}x{size[1]}.svg", flush=True)

        table = app.query_one("#workloads")
        table.focus()
        table.move_cursor(row=table.get_row_index(MODEL))  # type: ignore[attr-defined]
        await pilot.press("plus")
        await until(pilot, lambda: app.workloads[MODEL].ready == 2, 90, "2 replicas of digits")
        await pilot.press("t")
        assert isinstance(app.screen, NumberScreen)
        await pilot.press("enter")
        charts = list(app.query("Chart"))

        def lines() -> bool:  # a line of a few points for all, and for each replica (the first points are alone)
            series = [s for s in charts[0].series if len(s.points) >= 8]
            return len(series) == 3 and all(len(s.points) >= 8 for s in charts[1].series)

        await until(pilot, lines, 120, "requests/s per replica and latency charted")
        await save("own-model")

        sample = sorted((folder / "samples" / "seven").iterdir())[0]
        await pilot.press("colon", *[KEYS.get(ch, ch) for ch in f"predict {sample}"], "enter")
        await until(pilot, lambda: isinstance(app.screen, PredictionScreen), 30, "the prediction")
        await save("own-predict")


def main() -> None:
    settings = config.load()
    if len(sys.argv) == 3:  # one size per process: a Textual app runs once per interpreter here
        w, h = (int(n) for n in sys.argv[1].split("x"))
        asyncio.run(shoot((w, h), Path(sys.argv[2])))
        return
    target = LocalTarget(settings)
    if any(w.name in (MODEL, SHIPPED) for w in target.workloads()):
        raise SystemExit(f"screenshots: {MODEL} or {SHIPPED} is deployed on the local engine; delete it first")
    shipped = [i for i in images.list_images(settings)
               if i.recognizer and (i.model or SHIPPED) == SHIPPED and i.tags and i.runtime == "litert"]
    if not shipped:
        raise SystemExit("screenshots: no recognizer image: press b in aitui first")
    folder = project(settings)
    built = subprocess.run([sys.executable, "-m", "aitui", "build", "--model", str(folder), "--json"], check=True,
                           capture_output=True, text=True)
    tag = json.loads(built.stdout)["tag"]
    try:
        target.deploy(shipped[0].tags[0], 1, SHIPPED, print)
        target.deploy(tag, 1, MODEL, print)
        for w, h in SIZES:
            target.scale(1, MODEL, print)  # each scene scales it to 2 with +
            subprocess.run([sys.executable, __file__, f"{w}x{h}", str(folder)], check=True)
    finally:
        for workload in (MODEL, SHIPPED):
            target.delete(workload, print)
        target.close()


if __name__ == "__main__":
    main()
