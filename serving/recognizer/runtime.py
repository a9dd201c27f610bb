"""Model runtimes: LiteRT (a .tflite file, the default) or TensorFlow (a SavedModel).

Both take [N, H, W, C] pixel values in 0..255 (uint8 or float32) and return probabilities [N, classes]: LiteRT
scales the pixels to what the model takes (model.json's input: the card's scaling, then the input tensor's
quantization when it is uint8 or int8) and turns logits into probabilities when the card says logits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from recognizer.card import SHIPPED, Input, Served


class Runtime(Protocol):
    name: str
    input: Input

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelFiles:
    directory: Path
    labels: tuple[str, ...]
    served: Served
    info: dict

    @property
    def input(self) -> Input:
        return self.served.input

    @classmethod
    def load(cls, directory: str | Path) -> ModelFiles:
        """A model directory: labels.txt and model.json, with the input a project's build read from the model
        and its card ("input"), or the square RGB size of the recognizer trained here ("input_size")."""
        d = Path(directory)
        labels = tuple(s.strip() for s in (d / "labels.txt").read_text().splitlines() if s.strip())
        info = json.loads((d / "model.json").read_text())
        if "input" in info:
            served = Served.from_json(info["input"])
        else:
            size = int(info["input_size"])
            served = Served(Input(size, size), classes=len(labels))
        return cls(d, labels, served, info)

    @property
    def name(self) -> str:
        """The name the model is served under: its project's, or the recognizer's trained here."""
        return str(self.info.get("name") or SHIPPED)

    def samples(self) -> list[tuple[str, str, str]] | None:
        """(file in the directory, label, path in the project) of each sample the build copied in; None for a
        model that came with no project (the recognizer trained here checks itself on drawn images)."""
        if "samples" not in self.info:
            return None
        try:
            found = json.loads((self.directory / "samples.json").read_text())
        except FileNotFoundError:
            return []
        return [(s["file"], s["label"], s["source"]) for s in found]

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
        self.input = files.input
        self._buckets: dict[int, tuple[object, int, int]] = {}
        self._max_batch = max_batch
        it = self._interpreter(1)[0]  # fail at start-up, not on the first request
        inp, out = it.get_input_details()[0], it.get_output_details()[0]  # type: ignore[attr-defined]
        # The recognizer's int8 model takes uint8 pixels (quantized with scale 1, zero point 0), its float model
        # float32; a project's model takes what its card and its input's quantization say (Pixels).
        self.input_dtype = np.dtype(inp["dtype"])
        self._pixels = Pixels(files.served, self.input_dtype, inp["quantization"])
        self._answers = Answers(files.served, np.dtype(out["dtype"]), out["quantization"], self.input_dtype)
        if max_batch > 1:
            try:
                self._interpreter(2)
            except (RuntimeError, ValueError):  # a model whose graph fixes its batch at 1: one image a call
                self._max_batch = 1

    def _interpreter(self, n: int) -> tuple[object, int, int]:
        if n not in self._buckets:
            it = interpreter_class()(model_path=self._path, num_threads=self._threads)
            inp = it.get_input_details()[0]["index"]
            it.resize_tensor_input(inp, [n, *self.input.shape])
            it.allocate_tensors()
            self._buckets[n] = (it, inp, it.get_output_details()[0]["index"])
        return self._buckets[n]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        if self._max_batch == 1 and n > 1:
            return np.concatenate([self.predict(batch[i:i + 1]) for i in range(n)])
        batch = self._pixels(batch)
        bucket = n if n <= self._max_batch else 1
        while bucket < n:
            bucket *= 2
        if bucket > n:  # pad to the bucket; the padding rows are dropped below
            pad = np.zeros((bucket - n, *batch.shape[1:]), dtype=self.input_dtype)
            batch = np.concatenate([batch, pad])
        it, inp, out = self._interpreter(bucket)
        it.set_tensor(inp, batch)  # type: ignore[attr-defined]
        it.invoke()  # type: ignore[attr-defined]
        return self._answers(np.array(it.get_tensor(out)[:n]))  # type: ignore[attr-defined]


def interpreter_class() -> type:
    """LiteRT's interpreter; in the build stage (recognizer/convert.py) TensorFlow's copy of the same one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter  # type: ignore[no-any-return]
    return Interpreter  # type: ignore[no-any-return]


class Pixels:
    """Pixels 0..255 -> the model's input: x = pixel * scale + offset (the card's scaling) in float32, then, for a
    uint8 or int8 input, x's quantized value round(x / s) + zero point. Pixels that are already what the model
    takes (the recognizer's: raw pixels, as float32 or as uint8 with s = 1, zero point 0) go in as they are."""

    def __init__(self, served: Served, dtype: np.dtype, quantization: tuple[float, int]) -> None:
        scale, offset = np.asarray(served.scale, np.float32), np.asarray(served.offset, np.float32)
        s, zp = quantization if quantization and quantization[0] else (1.0, 0)
        self.dtype = dtype
        self.raw = bool(np.all(scale == 1) and np.all(offset == 0) and s == 1 and zp == 0)
        if dtype.kind in "ui":
            scale, offset = scale / np.float32(s), offset / np.float32(s) + np.float32(zp)
            info = np.iinfo(dtype)
            self.bounds = (info.min, info.max)
        self.scale, self.offset = scale, offset

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.raw:
            if batch.dtype == self.dtype:
                return batch
            # Float pixels for a uint8 model: rounded, as the model's own quantization would round them.
            return (np.rint(batch) if self.dtype.kind == "u" else batch).astype(self.dtype)
        x = batch.astype(np.float32) * self.scale + self.offset
        if self.dtype.kind in "ui":
            return np.clip(np.rint(x), *self.bounds).astype(self.dtype)
        return x.astype(self.dtype, copy=False)


class Answers:
    """The output tensor -> probabilities: dequantized when it is uint8 or int8, a softmax of logits, and the rows
    of a quantized model scaled back to a sum of 1."""

    def __init__(self, served: Served, dtype: np.dtype, quantization: tuple[float, int], input_dtype: np.dtype) -> None:
        self.quant = quantization if dtype.kind in "ui" and quantization and quantization[0] else None
        self.logits = served.output == "logits"
        # The int8 softmax comes in steps of 1/256 (a sure answer is 255/256), so its rows sum to 1 +- a few steps
        self.renormalize = not self.logits and (input_dtype.kind in "ui" or dtype.kind in "ui")

    def __call__(self, out: np.ndarray) -> np.ndarray:
        if self.quant is not None:
            out = (out.astype(np.float32) - np.float32(self.quant[1])) * np.float32(self.quant[0])
        if self.logits:
            out = np.exp(out - out.max(axis=1, keepdims=True))
            out /= out.sum(axis=1, keepdims=True)
        elif self.renormalize:
            out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-6)
        return out


class TensorFlow:
    name = "tensorflow"

    def __init__(self, files: ModelFiles, threads: int = 1) -> None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        self._tf = tf
        self._fn = tf.saved_model.load(str(files.directory / "saved_model")).signatures["serving_default"]
        self._arg = next(iter(self._fn.structured_input_signature[1]))
        self.input = files.input

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
