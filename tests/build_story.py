"""A recognizer build as its events tell it, fixed (for snapshots and the README's screenshots): the steps of
serving/Dockerfile up to the ninth of fourteen epochs, with a timed build of the same kind before it."""

from __future__ import annotations

from aitui.models import BuildEvent

TAG = "aitui/recognizer:0.1.0-5e1f0c2"
KIND = "litert"
ESTIMATE = {"base": 9.0, "packages": 41.0, "training": 118.0, "export": 22.0, "runtime image": 35.0}
LOSSES = (1.412, 0.621, 0.344, 0.221, 0.163, 0.129, 0.104, 0.089, 0.078, 0.069, 0.062, 0.058, 0.055, 0.054)
ACCURACIES = (0.612, 0.842, 0.913, 0.947, 0.958, 0.969, 0.975, 0.978, 0.981, 0.984, 0.986, 0.987, 0.988, 0.988)


def events(epochs: int = 9) -> list[BuildEvent]:
    evs = [BuildEvent("stage", stage="base")]
    steps = [("ARG BASE_IMAGE=python:3.11-slim", "base"), ("FROM ${BASE_IMAGE} AS python-env", "base"),
             ("ENV PIP_DISABLE_PIP_VERSION_CHECK=1", "base"), ("COPY wheels/ /wheels/", "base"),
             ("COPY pip-install /usr/local/bin/pip-install", "base"), ("FROM python-env AS train", "packages"),
             ("COPY requirements-train.txt /tmp/", "packages"),
             ("RUN pip-install /opt/train /tmp/requirements-train.txt", "packages"),
             ("COPY recognizer/__init__.py recognizer/dataset.py recognizer/train.py /src/recognizer/", "packages"),
             ('ARG TRAIN_ARGS="--min-accuracy 0.97"', "packages"),
             ("RUN cd /src && /opt/train/bin/python -m recognizer.train --out /model ${TRAIN_ARGS}", "training")]
    at = 0.0
    stage = "base"
    for n, (text, in_stage) in enumerate(steps, 1):
        at += 4.0
        if in_stage != stage:
            stage = in_stage
            evs.append(BuildEvent("stage", stage=stage, seconds=at))
        evs.append(BuildEvent("step", text, n, 33, seconds=at, stage=stage))
        evs.append(BuildEvent("log", " ---> Using cache" if stage == "base" else " ---> Running in 4be1c0de77a2",
                              stage=stage))
    evs.append(BuildEvent("log", "dataset: 12000 train / 4000 held-out images in 1.9s", stage="training"))
    for e in range(epochs):
        at += 8.0
        evs.append(BuildEvent("epoch", seconds=at, stage="training", epoch=e + 1, epochs=14, loss=LOSSES[e],
                              accuracy=ACCURACIES[e]))
        evs.append(BuildEvent("log", f"179/179 - 8s - 45ms/step - accuracy: {ACCURACIES[e] - 0.01:.4f} - "
                                     f"loss: {LOSSES[e]:.4f} - val_accuracy: {ACCURACIES[e]:.4f}", stage="training"))
    return evs
