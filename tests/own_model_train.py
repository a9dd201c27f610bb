"""Trains tests/test_own_model.py's models in the build's TensorFlow stage (serving/Dockerfile's keras-project): the
test venv has no TensorFlow. Reads /work/digits.npz (scikit-learn's 8x8 digits, as the test made them into images)
and writes into /work:

- digits.keras: grayscale 32x32x1 in [0, 1] (the card's unit_0_1: no rescaling in the graph), softmax;
- digits.tflite: the same model as a float .tflite; digits_uint8.tflite, quantized, with uint8 input and output;
- rgb_saved_model/: RGB 48x40 (height 48, width 40) in [-1, 1] (sym_-1_1), logits (no softmax), a SavedModel;
  rgb.tflite: the same model as a float .tflite (its second version, in the canary on the cluster);
- bad models, for the refusals before Docker runs: an output [N, 32, 32, 10] (rank4.keras), an int32 input
  (int32.keras), a rank-2 input (flat.h5, Keras's legacy HDF5), a dynamic input size (dynamic.keras);
- result.json: each model's accuracy on the test split (TensorFlow's own, for the test to compare with).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from keras import layers

WORK = Path(sys.argv[1] if len(sys.argv) > 1 else "/work")


def small_cnn(shape: tuple[int, int, int], softmax: bool) -> keras.Model:
    inp = keras.Input(shape, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inp)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Dense(128, activation="relu")(layers.Flatten()(x))
    out = layers.Dense(10, activation="softmax" if softmax else None, name="classes")(x)
    return keras.Model(inp, out)


def fit(model: keras.Model, x: np.ndarray, y: np.ndarray, logits: bool, epochs: int) -> None:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=2)


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def main() -> None:
    keras.utils.set_random_seed(0)
    d = np.load(WORK / "digits.npz")
    train, test, y = d["train"], d["test"], d["y"]
    result = {}

    gray = d["gray"].astype("float32") / 255.0  # what unit_0_1 makes of the pixels
    digits = small_cnn((32, 32, 1), softmax=True)
    fit(digits, gray[train], y[train], logits=False, epochs=15)
    digits.save(WORK / "digits.keras")
    result["digits"] = accuracy(digits, gray[test], y[test])
    with tempfile.TemporaryDirectory() as tmp:
        digits.export(tmp, format="tf_saved_model", verbose=False)
        (WORK / "digits.tflite").write_bytes(tf.lite.TFLiteConverter.from_saved_model(tmp).convert())
        # fully quantized: uint8 in (scale ~1/255: unit_0_1's pixels), uint8 out (scale 1/256)
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([gray[i:i + 1]] for i in train[:300])
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.uint8
        (WORK / "digits_uint8.tflite").write_bytes(conv.convert())

    rgb = d["rgb"].astype("float32") / 127.5 - 1.0  # sym_-1_1
    colour = small_cnn((48, 40, 3), softmax=False)
    fit(colour, rgb[train], y[train], logits=True, epochs=15)
    colour.export(str(WORK / "rgb_saved_model"), format="tf_saved_model", verbose=False)
    (WORK / "rgb.tflite").write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(WORK / "rgb_saved_model")).convert())
    result["rgb"] = accuracy(colour, rgb[test], y[test])

    inp = keras.Input((32, 32, 1))
    keras.Model(inp, layers.Conv2D(10, 3, padding="same")(inp)).save(WORK / "rank4.keras")
    inp = keras.Input((32, 32, 1), dtype="int32")
    keras.Model(inp, layers.Dense(10, activation="softmax")(layers.Flatten()(inp))).save(WORK / "int32.keras")
    inp = keras.Input((64,))
    keras.Model(inp, layers.Dense(10, activation="softmax")(inp)).save(WORK / "flat.h5")
    inp = keras.Input((None, None, 3))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 3)(inp))
    keras.Model(inp, layers.Dense(10, activation="softmax")(x)).save(WORK / "dynamic.keras")

    (WORK / "result.json").write_text(json.dumps(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
