"""Int8 post-training quantization of the exported model, shipped only if it keeps the accuracy gate.

The converter calibrates every activation's range on a representative sample of the training images, and
the model takes uint8 pixels: its input's range is 0..255, so its quantization is scale 1, zero point 0
and a decoded image goes in as it is, without a conversion to float32 (the server rounds FP32 inputs
to uint8, which is what the quantized model's first op would do anyway). The output stays float32.

Both .tflite files are measured on the same held-out images, with LiteRT's interpreter (what serves them),
and model.json gets both accuracies. model.tflite is the one that ships: the int8 model when it passes
`min_accuracy`, the float model otherwise; the float model stays beside it as model_float.tflite.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CALIBRATION_IMAGES = 500


def tflite_accuracy(path: Path, x: np.ndarray, y: np.ndarray, batch: int = 200) -> float:
    import tensorflow as tf

    it = tf.lite.Interpreter(model_path=str(path), num_threads=2)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.resize_tensor_input(inp["index"], [batch, *x.shape[1:]])
    it.allocate_tensors()
    hits = 0
    for i in range(0, len(x), batch):
        chunk = x[i:i + batch]
        n = len(chunk)
        if n < batch:
            chunk = np.concatenate([chunk, np.zeros((batch - n, *x.shape[1:]), x.dtype)])
        it.set_tensor(inp["index"], chunk.astype(inp["dtype"]))
        it.invoke()
        hits += int(np.sum(np.argmax(it.get_tensor(out["index"])[:n], axis=1) == y[i:i + n]))
    return hits / len(x)


def int8_model(saved_model: Path, calibration: np.ndarray) -> bytes:
    import tensorflow as tf

    def sample():
        for img in calibration:
            yield [img[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = sample
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    return conv.convert()


def ship(out: Path, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, min_accuracy: float) -> dict:
    """Quantize, measure both models, pick the one that ships; returns what model.json now says about it."""
    rng = np.random.default_rng(0)
    calibration = x_train[rng.choice(len(x_train), min(CALIBRATION_IMAGES, len(x_train)), replace=False)]
    float_path, int8_path = out / "model_float.tflite", out / "model_int8.tflite"
    (out / "model.tflite").replace(float_path)
    int8_path.write_bytes(int8_model(out / "saved_model", calibration))
    acc = {"float": tflite_accuracy(float_path, x_test, y_test), "int8": tflite_accuracy(int8_path, x_test, y_test)}
    chosen = "int8" if acc["int8"] >= min_accuracy else "float"
    (out / "model.tflite").write_bytes((int8_path if chosen == "int8" else float_path).read_bytes())
    int8_path.unlink()
    info = json.loads((out / "model.json").read_text())
    info.update({"accuracy": round(acc[chosen], 4), "tflite": chosen,
                 "tflite_accuracy": {k: round(v, 4) for k, v in acc.items()},
                 "keras_accuracy": info.get("accuracy")})
    (out / "model.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"held-out accuracy of the .tflite models: float {acc['float']:.4f}, int8 {acc['int8']:.4f}; "
          f"model.tflite is the {chosen} model (gate {min_accuracy})")
    return info
