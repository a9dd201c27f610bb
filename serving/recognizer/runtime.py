"""Model runtimes: LiteRT (a .tflite file, the default) or TensorFlow (a SavedModel).

Both take [N, H, W, 3] pixel values in 0..255 (uint8 or float32) and return probabilities [N, classes].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


class Runtime(Protocol):
    name: str
    input_size: int

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelFiles:
    directory: Path
    labels: tuple[str, ...]
    input_size: int
    info: dict

    @classmethod
    def load(cls, directory: str | Path) -> ModelFiles:
        d = Path(directory)
        labels = tuple(s.strip() for s in (d / "labels.txt").read_text().splitlines() if s.strip())
        info = json.loads((d / "model.json").read_text())
        return cls(d, labels, int(info["input_size"]), info)

    def accuracy(self, model_file: str = "model.tflite") -> float | None:
        """Held-out accuracy of the model that serves: model.json has both .tflite models' when the build
        quantized (recognizer/quantize.py)."""
        if model_file == "model_float.tflite":
            return self.info.get("tflite_accuracy", {}).get("float", self.info.get("accuracy"))
        return self.info.get("accuracy")


class LiteRT:
    """One interpreter per batch size, made on first use: resizing an interpreter's input reallocates its
    tensors, which costs more than the inference itself. Every size up to max_batch has its own (~1 ms to
    make; all 32 take 0.3 MB more than six did), so a batch runs no padding rows: with buckets of powers
    of two, a batch of 28 (typical at c=32) ran 32 rows, 35-37 µs an image against 32 at its own size.
    A batch over max_batch (one request can hold more images) is padded to a power of two. A row's answer
    is the same at every size (checked for both models, 1 to 32)."""

    name = "litert"

    def __init__(self, files: ModelFiles, threads: int = 1, max_batch: int = 32,
                 model_file: str = "model.tflite") -> None:
        self._path = str(files.directory / model_file)
        self._threads = threads
        self.input_size = files.input_size
        self._buckets: dict[int, tuple[object, int, int]] = {}
        self._max_batch = max_batch
        it = self._interpreter(1)[0]  # fail at start-up, not on the first request
        # The int8 model takes uint8 pixels (quantized with scale 1, zero point 0), the float model float32.
        self.input_dtype = np.dtype(it.get_input_details()[0]["dtype"])  # type: ignore[attr-defined]

    def _interpreter(self, n: int) -> tuple[object, int, int]:
        if n not in self._buckets:
            from ai_edge_litert.interpreter import Interpreter

            it = Interpreter(model_path=self._path, num_threads=self._threads)
            inp = it.get_input_details()[0]["index"]
            it.resize_tensor_input(inp, [n, self.input_size, self.input_size, 3])
            it.allocate_tensors()
            self._buckets[n] = (it, inp, it.get_output_details()[0]["index"])
        return self._buckets[n]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        if batch.dtype != self.input_dtype:
            # Float pixels for a uint8 model: rounded, as the model's own quantization would round them.
            batch = (np.rint(batch) if self.input_dtype.kind == "u" else batch).astype(self.input_dtype)
        bucket = n if n <= self._max_batch else 1
        while bucket < n:
            bucket *= 2
        if bucket > n:  # pad to the bucket; the padding rows are dropped below
            pad = np.zeros((bucket - n, *batch.shape[1:]), dtype=self.input_dtype)
            batch = np.concatenate([batch, pad])
        it, inp, out = self._interpreter(bucket)
        it.set_tensor(inp, batch)  # type: ignore[attr-defined]
        it.invoke()  # type: ignore[attr-defined]
        probs = np.array(it.get_tensor(out)[:n])  # type: ignore[attr-defined]
        if self.input_dtype.kind == "u":
            # The int8 softmax comes in steps of 1/256 (a sure answer is 255/256), so its rows sum to 1 +- a few
            # steps: scaled back to 1, as probabilities must.
            probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-6)
        return probs


class TensorFlow:
    name = "tensorflow"

    def __init__(self, files: ModelFiles, threads: int = 1) -> None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        self._tf = tf
        self._fn = tf.saved_model.load(str(files.directory / "saved_model")).signatures["serving_default"]
        self._arg = next(iter(self._fn.structured_input_signature[1]))
        self.input_size = files.input_size

    def predict(self, batch: np.ndarray) -> np.ndarray:
        out = self._fn(**{self._arg: self._tf.constant(batch, dtype=self._tf.float32)})
        return np.array(next(iter(out.values())))


def load(files: ModelFiles, runtime: str, threads: int, max_batch: int,
         model_file: str = "model.tflite") -> Runtime:
    if runtime == "litert":
        return LiteRT(files, threads, max_batch, model_file)
    if runtime == "tensorflow":
        return TensorFlow(files, threads)
    raise ValueError(f"unknown runtime {runtime!r}: use litert or tensorflow")
