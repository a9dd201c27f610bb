"""What the HTTP server (recognizer/server.py) and the gRPC server (recognizer/grpc_server.py) share: the
replica's state, the model's name and metadata, and the check of a model name and version. Both import it;
it imports neither, so the two servers have no import circle between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recognizer import codec
from recognizer.batcher import Batcher
from recognizer.card import SHIPPED
from recognizer.decoder import Decoder
from recognizer.runtime import ModelFiles, Runtime

MODEL = SHIPPED  # the shipped model's name; a project's model is served under its own (ModelFiles.name)
SERVER_NAME = "aitui-recognizer"
EXTENSIONS = ["binary_tensor_data"]


@dataclass
class State:
    settings: Any  # recognizer.server.Settings, where the environment is read
    files: ModelFiles
    runtime: Runtime
    batcher: Batcher
    decoder: Decoder
    ready: bool = False
    refusal: str = ""  # why the replica will not say ready: its self-check failed (recognizer/selfcheck.py)
    self_check: str = ""  # how its self-check went, or "unchecked: …" (a model without samples)
    in_flight: int = 0
    last_done: float = 0.0  # time.monotonic() when an inference request last finished (the drain's quiet check)


def check_model(served: str, name: str, version: str | None = None, label: str | None = None,
                labels: str = "") -> None:
    """One model, `served`, version 1, which the TF Serving version labels in `labels` also name."""
    if name != served:
        raise codec.BadRequest(f"Servable not found for request: Latest({name})", status=404)
    if version not in (None, "", "1"):
        raise codec.BadRequest(f"Servable not found for request: Specific({name}, {version})", status=404)
    if label is not None and label not in [x.strip() for x in labels.split(",") if x.strip()]:
        raise codec.BadRequest(f"Unrecognized servable version label: {label}", status=404)


def model_metadata(state: State) -> dict[str, Any]:
    """OIP model metadata, the same over REST and gRPC."""
    labels = state.files.labels
    return {
        "name": state.files.name, "versions": ["1"], "platform": f"{state.runtime.name}",
        "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, *state.files.input.shape]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, len(labels)]},
                    {"name": "labels", "datatype": "BYTES", "shape": [-1, 5]},
                    {"name": "scores", "datatype": "FP32", "shape": [-1, 5]}],
        "parameters": {"labels": list(labels), "accuracy": state.files.accuracy(state.settings.model_file),
                       "self_check": state.self_check}}
