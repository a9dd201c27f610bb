"""`b` against the real engine, told as a story: a real build of serving/ with a short training of its own
(its own seed, so the engine's cache cannot skip it) reports its stages and each epoch while it runs, and the
image it makes shows in Images with the accuracy its own model.json states."""

from __future__ import annotations

import json
import os
import time

import pytest
from test_app_actions import building, until

from aitui.app import AituiApp
from aitui.config import Settings
from aitui.models import BUILD_STAGES
from aitui.services import images as image_service
from aitui.ui.build import BuildPanel, TrainingChart
from aitui.ui.images import ImagesTable, _percent

pytestmark = pytest.mark.docker

EPOCHS = 3
# the image's own python reads it (the slimmed image keeps no shell or coreutils)
READ_MODEL = ["python", "-c", "import sys; sys.stdout.write(open('/model/model.json').read())"]


async def test_b_tells_the_stages_the_epochs_and_the_accuracy(settings, docker_client, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # the stage times and model cache of this test only
    seed = int(time.time())
    tag = f"aitui/recognizer:0.0.0-story{seed}"
    train_args = f"--epochs {EPOCHS} --train 1500 --test 400 --seed {seed} --min-accuracy 0"
    real_build = image_service.Build
    monkeypatch.setattr(image_service, "Build",
                        lambda s: real_build(s, tag=tag, buildargs={"TRAIN_ARGS": train_args}))
    app = AituiApp(Settings(base_image=settings.base_image, serving_dir=settings.serving_dir,
                            kubeconfig=str(tmp_path / "none"), prometheus_url="http://127.0.0.1:9"))
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one(ImagesTable)
            await until(pilot, lambda: table.row_count > 0, 20, "the image list")
            panel = app.query_one(BuildPanel)
            await pilot.press("b")
            await until(pilot, lambda: panel.progress is not None, 20, "the build to begin")
            assert app.screen.maximized is panel  # the story has the screen while it runs

            # training streams its epochs: the chart shows them while the build still runs
            await until(pilot, lambda: panel.progress.losses or not building(app), 600, "the first epoch")
            assert building(app) and panel.progress.stage == "training", panel.progress
            assert app.query_one(TrainingChart).display and app.query_one(TrainingChart).size.height > 5
            label = str(app.query_one("#bottom").get_tab("build").label)
            assert label.startswith("Build: step ") and f"training {len(panel.progress.losses)}/{EPOCHS}" in label

            await until(pilot, lambda: building(app) is None, 600, "the build to end")
            p = panel.progress
            assert p.outcome == "done", (p, "\n".join(app.query_one("#build-log").lines[-20:]))
            assert list(p.began) == list(BUILD_STAGES)  # each stage, in order, as the engine reached it
            assert p.epochs == EPOCHS and len(p.losses) == EPOCHS and None not in p.accuracies
            assert p.accuracy is not None and 0 <= p.accuracy <= 1
            assert str(app.query_one("#bottom").get_tab("build").label).startswith(f"Build: built {tag} in ")
            assert app.screen.maximized is None  # the dashboard again, where the image is

            # the Images table's accuracy is the model's own word: model.json inside the image
            image_id = docker_client.images.get(tag).id.removeprefix("sha256:")[:12]
            model = json.loads(docker_client.containers.run(tag, entrypoint=READ_MODEL,
                                                            remove=True))
            await until(pilot, lambda: image_id in table.rows and str(table.get_cell(image_id, "accuracy")).strip()
                        not in ("", "…"), 30, "the new image's accuracy")
            assert str(table.get_cell(image_id, "accuracy")).strip() == _percent(model["accuracy"])
            assert p.accuracy == model["accuracy"]  # the story's last word is the model that ships
            assert str(table.get_cell(image_id, "name")) == f"★ story{seed}"  # what tells it from the others
            assert str(table.get_cell(image_id, "runtime")).strip() == "lite"

            # the next build of this kind has an estimate: what each stage that ran took
            times = json.loads((tmp_path / "aitui" / "build-times.json").read_text())
            assert "training" in times[f"litert --epochs {EPOCHS} --train 1500 --test 400"]  # (seed: same time)
    finally:
        for image in docker_client.images.list(filters={"reference": tag}):
            docker_client.images.remove(image.id, force=True)


def test_model_json_is_read_once_per_image(settings, docker_client, recognizer_image, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    ids = {ref: docker_client.images.get(ref).id.removeprefix("sha256:")[:12]
           for ref in (recognizer_image, settings.base_image)}
    found = image_service.read_models(settings, [*ids.values(), "0123456789ab"])
    model = json.loads(docker_client.containers.run(recognizer_image, entrypoint=READ_MODEL,
                                                    remove=True))
    assert found[ids[recognizer_image]] == model
    assert found[ids[settings.base_image]] == {} and found["0123456789ab"] == {}  # no model.json; no such image
    assert image_service.known_models() == found  # kept: the next listing reads nothing from the engine
    mine = f"{image_service.READS_LABEL}={os.getpid()}"  # (other processes may be reading their images now)
    assert not docker_client.containers.list(all=True, filters={"label": mine})  # none left behind
    listed = {i.id: i for i in image_service.list_images(settings)}
    assert listed[ids[recognizer_image]].accuracy == model["accuracy"]
