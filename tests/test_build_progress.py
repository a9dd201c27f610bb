"""The build's story without an engine: the lines a classic-builder build of serving/Dockerfile streams become
stages, epochs and a result; the estimate comes from the last build of the same kind; the charts' axes."""

from __future__ import annotations

import json

import pytest

from aitui.models import BUILD_STAGES, BuildEvent
from aitui.services import images
from aitui.ui.build import Progress, sparkline
from aitui.ui.charts import nice_ticks, tick_label

# what the engine streamed for a real build (serving/Dockerfile, TRAIN_ARGS="--epochs 2 ..."), trimmed
STREAM = """Step 1/33 : ARG BASE_IMAGE=python:3.11-slim
Step 2/33 : FROM ${BASE_IMAGE} AS python-env
 ---> a319e77d7b84
Step 3/33 : ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
 ---> Using cache
 ---> 2c7e0d1f9a11
Step 6/33 : FROM python-env AS train
 ---> 2c7e0d1f9a11
Step 8/33 : RUN pip-install /opt/train /tmp/requirements-train.txt
 ---> Using cache
Step 10/33 : ARG TRAIN_ARGS="--min-accuracy 0.97"
 ---> Running in 57f4b0a6f1f1
Step 11/33 : RUN cd /src && /opt/train/bin/python -m recognizer.train --out /model ${TRAIN_ARGS}
 ---> Running in 762d36f6413f
[91mWARNING: All log messages before absl::InitializeLog() is called are written to STDERR
[0mdataset: 1000 train / 300 held-out images in 0.2s
Epoch 1/2
AITUI_EPOCH {"epoch": 1, "epochs": 2, "loss": 2.3059, "accuracy": 0.0947, "val_loss": 2.3055, "val_accuracy": 0.12}
AITUI_EPOCH {"epoch": 2, "epochs": 2, "loss": 2.3006, "accuracy": 0.1232, "val_loss": 2.3043, "val_accuracy": 0.1}
AITUI_EPOCH {"epoch": 3, broken
held-out accuracy: 0.1200 on 300 images; training took 2s
AITUI_RESULT {"accuracy": 0.12, "held_out": 300, "seconds": 2}
AITUI_RESULT {"accuracy": 0.11, "held_out": 300, "shipped": true}
Step 12/33 : FROM python-env AS codegen
 ---> 2c7e0d1f9a11
Step 17/33 : FROM python-env AS runtime-env
Step 21/33 : FROM ${BASE_IMAGE}
Step 22/33 : ARG RUNTIME=litert
 ---> Using cache
"""


def read(stream: str) -> tuple[list[BuildEvent], images._Stages]:
    stages = images._Stages(0.0)
    evs = [stages.enter("base")]
    for line in stream.splitlines():
        evs.extend(stages.read(line))
    return evs, stages


def test_the_stream_becomes_stages_epochs_and_a_result() -> None:
    evs, stages = read(STREAM)
    assert [e.stage for e in evs if e.kind == "stage"] == ["base", "packages", "training", "export", "runtime image"]
    epochs = [e for e in evs if e.kind == "epoch"]
    assert [(e.epoch, e.epochs, e.loss, e.accuracy) for e in epochs] == [(1, 2, 2.3059, 0.12), (2, 2, 2.3006, 0.1)]
    assert [e.accuracy for e in evs if e.kind == "result"] == [0.12, 0.11]  # trained, then what ships
    assert any(e.kind == "log" and "broken" in e.text for e in evs)  # a malformed line stays a line
    assert not any("\x1b" in e.text for e in evs)  # no terminal colours in the log widget
    assert any(e.text == "dataset: 1000 train / 300 held-out images in 0.2s" for e in evs)
    assert [e.step for e in evs if e.kind == "cached"] == [3, 8, 22]
    # what ran, not what came from the cache, is what the next estimate learns from
    assert set(stages.ran()) == {"packages", "training", "export"}


def test_the_estimate_is_the_last_build_of_the_same_kind(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    images.record_stage_times("litert", {"training": 100.0, "base": 5.0})
    images.record_stage_times("litert", {"training": 80.0})
    images.record_stage_times("tensorflow", {"training": 300.0})
    assert images.stage_times("litert") == {"training": 80.0, "base": 5.0}
    assert json.loads((tmp_path / "aitui" / "build-times.json").read_text())["tensorflow"] == {"training": 300.0}
    assert images.stage_times("never") == {}


def test_progress_and_time_left() -> None:
    estimate = {"base": 10.0, "packages": 20.0, "training": 100.0, "export": 10.0, "runtime image": 60.0}
    p = Progress(tag="t", kind="litert", estimate=estimate)
    assert p.fraction(0) == 0.0 and p.left(0) is not None
    for ev in (BuildEvent("stage", stage="base"), BuildEvent("stage", stage="packages", seconds=10),
               BuildEvent("stage", stage="training", seconds=30),
               *(BuildEvent("epoch", seconds=30 + 10 * e, epoch=e, epochs=10, loss=1 / e, accuracy=0.5)
                 for e in (1, 2))):
        p.apply(ev)
    assert [p.state(s) for s in BUILD_STAGES] == ["done", "done", "now", "todo", "todo"]
    assert p.fraction(50) == pytest.approx((10 + 20 + 100 * 0.2) / 200)
    # two epochs in 20 s: eight more take 80 s, then export and the runtime image as last time
    assert p.left(50) == pytest.approx(80 + 10 + 60)
    p.apply(BuildEvent("error", "killed", seconds=55))
    assert p.state("training") == "failed" and p.left(55) is None
    assert Progress(estimate={"training": 1.0}).left(0) is None  # not a whole build of this kind timed yet


def test_sparkline_and_round_ticks() -> None:
    assert sparkline([0.0, None, 1.0], 0.0, 1.0) == "▁ █"
    assert nice_ticks(0, 898.6, 5) == [0, 250, 500, 750, 1000]
    ticks = nice_ticks(0, 20.4, 5)  # 20.4 ms: one tick past it, whole numbers
    assert [tick_label(t, ticks) for t in ticks] == ["0", "10", "20", "30"]
    ticks = nice_ticks(0, 1, 5)
    assert [tick_label(t, ticks) for t in ticks] == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert nice_ticks(0, 0, 3)[-1] > 0  # a flat zero still has an axis


def test_a_builds_kind_is_what_changes_its_time(settings) -> None:
    def kind(**buildargs: str) -> str:
        return images.Build(settings, tag="aitui/recognizer:kind", buildargs=buildargs).kind

    assert kind() == kind(TRAIN_ARGS="--seed 3 --min-accuracy 0.9") == "litert"
    assert kind(RUNTIME="tensorflow") == "tensorflow"
    assert kind(TRAIN_ARGS="--epochs 3 --seed=5") == "litert --epochs 3"


# a model project's build (serving/Dockerfile --target keras-image): the stages before its own run nothing for it
PROJECT_STREAM = """Step 1/51 : ARG BASE_IMAGE=python:3.11-slim
Step 2/51 : FROM ${BASE_IMAGE} AS python-env
 ---> Using cache
Step 21/51 : FROM scratch AS server
Step 36/51 : FROM runtime-env AS tflite-project
Step 40/51 : RUN cd /src && /opt/venv/bin/python -m recognizer.convert /project /model --formats tflite
 ---> Running in 0f2a6b1c9d3e
a keras model: converted in another stage
Step 41/51 : FROM server AS tflite-image
Step 43/51 : FROM python-env AS keras-project
Step 45/51 : RUN pip-install /opt/train /tmp/requirements-train.txt
 ---> Using cache
Step 49/51 : RUN cd /src && /opt/train/bin/python -m recognizer.convert /project /model --formats keras,h5,savedmodel
 ---> Running in 5e1d0c7a2b4f
digits: keras model, input 32x32x1 float32 (unit_0_1, stretch), 10 classes (probabilities), 60 samples
AITUI_RESULT {"accuracy": 0.9667, "held_out": 30}
AITUI_RESULT {"accuracy": 0.9667, "held_out": 30, "shipped": true}
Step 50/51 : FROM server AS keras-image
Step 51/51 : COPY --from=keras-project /model /model
"""


def test_a_model_projects_build_tells_the_same_stages() -> None:
    stages = images._Stages(0.0, "keras-project")
    evs = [stages.enter("base")]
    for line in PROJECT_STREAM.splitlines():
        evs.extend(stages.read(line))
    assert [e.stage for e in evs if e.kind == "stage"] == list(BUILD_STAGES)  # converting is its training
    assert next(e.text for e in evs if e.kind == "step" and e.stage == "training").endswith("savedmodel")
    assert [e.accuracy for e in evs if e.kind == "result"] == [0.9667, 0.9667]
    assert stages.refused == ""
    list(stages.read('AITUI_REFUSED {"reason": "labels.txt has 9 labels; the model\'s output has 10 classes"}'))
    assert stages.refused == "labels.txt has 9 labels; the model's output has 10 classes"  # the build's error


def test_a_project_that_cannot_be_read_is_refused_before_the_engine(settings, tmp_path) -> None:
    """The app's `b` with a model setting that names no project: one error event, nothing sent."""
    from dataclasses import replace

    build = images.Build(replace(settings, model=str(tmp_path / "nowhere"), docker_host="tcp://127.0.0.1:9"))
    assert [(e.kind, e.text) for e in build.events()] == [("error", f"{tmp_path / 'nowhere'}: no such file or folder")]
