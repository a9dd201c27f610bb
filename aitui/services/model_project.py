"""The model aitui builds and serves: a model project of the user's, or the recognizer serving/ trains.

What a project is (a folder: model file, labels.txt, samples, model.toml) and the rules a model must meet to be
served live in serving/recognizer/card.py, which the build stage runs too; it is loaded here from the serving
directory aitui builds from, so that a project is refused before Docker runs with the very line the build would
give. The model file's inputs and outputs come from its own bytes (model_files.py): no TensorFlow here.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from aitui.config import Settings, serving_dir
from aitui.services import model_files

SHIPPED = "recognizer"  # the model serving/ trains (recognizer/card.py: no project may take its name)
REPOSITORY_PREFIX = "aitui/"
# the Dockerfile stage whose image serves a project's model, by the project's format (serving/Dockerfile)
TARGETS = {"tflite": "tflite-image", "keras": "keras-image", "h5": "keras-image", "savedmodel": "keras-image"}
PROJECT_STAGES = {"tflite-image": "tflite-project", "keras-image": "keras-project"}


class ModelError(Exception):
    """Why aitui cannot build or serve the model, in one line."""


@dataclass(frozen=True)
class Model:
    name: str  # the image's repository (aitui/<name>) and the workload's name
    path: Path | None = None  # the project's folder; None: the recognizer serving/ trains
    format: str = "trained"  # keras, h5, savedmodel, tflite; "trained": the shipped recognizer
    files: tuple[str, ...] = ()  # what the build sends of the folder, relative to it
    labels: tuple[str, ...] = ()
    sample_files: tuple[tuple[str, str], ...] = ()  # (path in the folder, label) of each labelled sample
    input: str = ""  # as read before the build: "32x32x1 float32 (unit_0_1)"
    unchecked: str = ""  # what only the build stage can check, when something is

    @property
    def shipped(self) -> bool:
        return self.path is None

    @property
    def samples(self) -> int:
        return len(self.sample_files)

    @property
    def repository(self) -> str:
        return REPOSITORY_PREFIX + self.name

    @property
    def target(self) -> str | None:
        """The Dockerfile stage to build; None: the whole file (the shipped recognizer's image)."""
        return TARGETS.get(self.format)


def shipped() -> Model:
    return Model(SHIPPED)


def card_module(serving: Path) -> ModuleType:
    """serving/recognizer/card.py, loaded from the serving directory (standard library only)."""
    path = serving / "recognizer" / "card.py"
    name = f"_aitui_card_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ModelError(f"no {path}: aitui builds models from its serving directory (AITUI_SERVING_DIR)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


def _io(card: Any, project: Any) -> tuple[list[Any], list[Any] | None]:
    path = project.root / project.model
    reader = {"tflite": model_files.tflite, "keras": model_files.keras, "h5": model_files.h5,
              "savedmodel": model_files.saved_model}[project.format]
    try:
        inputs, outputs = reader(path)
    except model_files.Unreadable as exc:
        raise ModelError(str(exc)) from None
    except OSError as exc:
        raise ModelError(f"{project.model}: cannot be read: {exc.strerror or exc}") from None

    def tensors(triples: list[model_files.Triple]) -> list[Any]:
        return [card.Tensor(shape, dtype, name) for shape, dtype, name in triples]

    return tensors(inputs), None if outputs is None else tensors(outputs)


def read(path: str | Path, serving: Path) -> Model:
    """The project at `path` (its folder or its model file), checked: raises ModelError with one line."""
    card = card_module(serving)
    try:
        project = card.read_project(path)
        inputs, outputs = _io(card, project)
        # An output whose classes could not be worked out from a Keras config is left to the build stage.
        known = outputs is not None and not (len(outputs) == 1 and len(outputs[0].shape) == 2
                                             and outputs[0].shape[1] is None)
        served = card.check(project.card, inputs, outputs if known else None, project.labels)
    except card.ProjectError as exc:
        raise ModelError(str(exc)) from None
    i = served.input
    return Model(project.name, project.root, project.format, tuple(project.files()), project.labels,
                 tuple(project.samples), f"{i.height}x{i.width}x{i.channels} {served.dtype} ({served.scaling})",
                 "" if known else "the output's shape (the build stage checks it with Keras)")


def of(settings: Settings) -> Model:
    """The model the settings name (--model, AITUI_MODEL, `model =` in the config file), or the shipped one."""
    if not settings.model:
        return shipped()
    return read(settings.model, serving_dir(settings))


def name_of(settings: Settings) -> str:
    """The name of the model the settings name (the shipped recognizer's when none), "" when it cannot be read:
    what the newest image to deploy is chosen by, among the images of every model on the engine."""
    if not settings.model:
        return shipped().name
    try:
        return of(settings).name
    except ModelError:
        return ""
