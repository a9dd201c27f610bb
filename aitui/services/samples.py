"""The labelled images aitui sends a model: the smoke test, predict's default image, the load test, capacity and
the canary's agreement. The shipped recognizer's are drawn by serving/recognizer/dataset.py into aitui/samples;
a project's are its own (samples/<label>/*, or samples.csv), read from the project the settings name."""

from __future__ import annotations

from aitui.config import Settings
from aitui.services import labels, model_project, predict
from aitui.services.targets import Target

Sample = tuple[str, bytes]  # (its label, the image file's bytes)


class NoSamples(Exception):
    """Why there are no samples to send that model, in one line."""


def shipped() -> list[Sample]:
    """One drawn image per class of the recognizer serving/ trains."""
    return list(predict.samples().items())


def served(target: Target, workload: str) -> str:
    """The model `workload` serves (its MODEL_LABEL), by the name its requests go to; a workload not listed (yet):
    the model it is named after."""
    found = next((w for w in target.workloads() if w.name == workload), None)
    return found.model if found is not None else labels.model_of(workload)


def of(settings: Settings, model: str) -> list[Sample]:
    """The samples of `model`: the shipped recognizer's drawn ones, or its project's (the one the settings name)."""
    if model == model_project.SHIPPED:
        return shipped()
    try:
        project = model_project.of(settings)
    except model_project.ModelError as exc:
        raise NoSamples(f"the samples of {model}: {exc}") from None
    if project.name != model:
        raise NoSamples(f"no samples of {model} here: `aitui --model PATH` names its project"
                        + ("" if project.shipped else f" (the one named now is {project.name})"))
    if not project.sample_files or project.path is None:
        raise NoSamples(f"{model} has no samples to send: add samples/<label>/*.png to {project.path}")
    try:
        return [(label, (project.path / path).read_bytes()) for path, label in project.sample_files]
    except OSError as exc:
        raise NoSamples(f"the samples of {model}: {exc.strerror or exc}: {exc.filename}") from None


def for_workload(settings: Settings, target: Target, workload: str) -> tuple[str, list[Sample]]:
    """(the model `workload` serves, its samples): what every check and load sends it."""
    model = served(target, workload)
    return model, of(settings, model)


def one_per_label(found: list[Sample]) -> dict[str, bytes]:
    """label -> its first sample: what predict picks from."""
    out: dict[str, bytes] = {}
    for label, data in found:
        out.setdefault(label, data)
    return out


def min_accuracy(model: str) -> float:
    """What a replica must get right of its samples not to be flagged: all of the recognizer's drawn ones; of a
    project's, what the replica's own self-check asks (serving/recognizer/selfcheck.py, PASS_RATIO): a user's
    samples are real images, some of them hard."""
    return 1.0 if model == model_project.SHIPPED else PROJECT_MIN_ACCURACY


PROJECT_MIN_ACCURACY = 0.8
