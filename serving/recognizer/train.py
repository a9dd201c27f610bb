"""Train (or wrap) the recognizer and export it as a SavedModel and a .tflite model.

  python -m recognizer.train --out /model                      # the bundled shape classifier
  python -m recognizer.train --arch mobilenetv2 --weights w.h5 # a standard architecture, local weights
  python -m recognizer.train --keras-model m.keras --labels labels.txt   # bring your own model

Every model takes `image`: float32 [N, H, W, 3] pixel values in 0..255 and returns class
probabilities; the server reads H, W and the labels from what this script writes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def small_cnn(size: int, classes: int):
    import keras
    from keras import layers

    inp = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1 / 255.0)(inp)
    # A strided first layer: a 32x32 input needs no full-resolution feature maps to tell shapes apart,
    # and it makes the model ~3x cheaper per image than stacking convolutions at 32x32.
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out, name="recognizer")


def mobilenet_v2(size: int, classes: int, weights: str | None):
    import keras

    inp = keras.Input((size, size, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inp)
    base = keras.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False, weights=None,
                                          pooling="avg")
    if weights:  # a local file only: nothing is fetched from a hub
        base.load_weights(weights)
    out = keras.layers.Dense(classes, activation="softmax", name="probabilities")(base(x))
    return keras.Model(inp, out, name="recognizer_mobilenetv2")


def export(model, out: Path, labels: list[str], info: dict) -> None:
    import keras
    import tensorflow as tf

    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, keras.Model):
        model.save(out / "model.keras")  # for the naive baseline of the benchmark
    saved = out / "saved_model"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    (out / "model.tflite").write_bytes(converter.convert())
    (out / "labels.txt").write_text("\n".join(labels) + "\n")
    size = int(model.input_shape[1])
    info = {**info, "input_size": size, "labels": len(labels)}
    (out / "model.json").write_text(json.dumps(info, indent=2) + "\n")


def emit(kind: str, fields: dict) -> None:
    """One machine-readable line for whoever watches the build (aitui charts these): KIND {json}.
    Flushed: a build's stdout is a pipe, and the watcher wants each line as it happens."""
    print(f"{kind} {json.dumps(fields)}", flush=True)


def progress(keras, epochs: int):
    """A callback that emits each epoch's loss and accuracy on the validation split (held out from training)."""

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            figures = {k: round(float(logs[k]), 4) for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                       if k in logs}
            emit("AITUI_EPOCH", {"epoch": epoch + 1, "epochs": epochs, **figures})

    return Progress()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("model"))
    p.add_argument("--arch", choices=["small", "mobilenetv2"], default="small")
    p.add_argument("--weights", help="local weights file for --arch mobilenetv2 (no download)")
    p.add_argument("--keras-model", help="wrap your own .keras/.h5 model or SavedModel dir instead of training")
    p.add_argument("--labels", help="labels file (one per line) for --keras-model")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--train", type=int, default=12000)
    p.add_argument("--test", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--min-accuracy", type=float, default=0.0, help="fail if held-out accuracy is lower")
    p.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True,
                   help="also quantize to int8 (recognizer/quantize.py) and ship it if it keeps --min-accuracy")
    a = p.parse_args(argv)

    import keras
    import numpy as np

    from recognizer import dataset

    if a.keras_model:
        if not a.labels:
            p.error("--keras-model needs --labels")
        labels = [s.strip() for s in Path(a.labels).read_text().splitlines() if s.strip()]
        model = keras.models.load_model(a.keras_model) if not Path(a.keras_model).is_dir() \
            else keras.layers.TFSMLayer(a.keras_model)
        export(model, a.out, labels, {"name": "recognizer", "arch": "user", "accuracy": None})
        print(f"exported your model with {len(labels)} labels to {a.out}")
        return 0

    keras.utils.set_random_seed(a.seed)
    t0 = time.monotonic()
    x_train, y_train = dataset.generate(a.train, seed=a.seed, size=a.size)
    x_test, y_test = dataset.generate(a.test, seed=a.seed + 1000, size=a.size)  # held out: another seed
    labels = list(dataset.LABELS)
    print(f"dataset: {len(x_train)} train / {len(x_test)} held-out images in {time.monotonic() - t0:.1f}s")

    model = small_cnn(a.size, len(labels)) if a.arch == "small" else mobilenet_v2(a.size, len(labels), a.weights)
    steps = a.epochs * int(np.ceil(len(x_train) * 0.95 / 64))
    lr = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t1 = time.monotonic()
    model.fit(x_train.astype("float32"), y_train, epochs=a.epochs, batch_size=64, verbose=2,
              validation_split=0.05, callbacks=[progress(keras, a.epochs)])
    probs = model.predict(x_test.astype("float32"), batch_size=256, verbose=0)
    acc = float(np.mean(np.argmax(probs, axis=1) == y_test))
    print(f"held-out accuracy: {acc:.4f} on {len(y_test)} images; training took {time.monotonic() - t1:.0f}s")
    emit("AITUI_RESULT", {"accuracy": round(acc, 4), "held_out": len(y_test), "seconds": round(time.monotonic() - t1)})
    export(model, a.out, labels, {"name": "recognizer", "arch": a.arch, "accuracy": round(acc, 4),
                                  "held_out": len(y_test), "seed": a.seed})
    if a.int8:  # ships the int8 model only if it passes the gate; model.json's accuracy is what ships
        from recognizer import quantize

        acc = quantize.ship(a.out, x_train, x_test, y_test, a.min_accuracy)["accuracy"]
        emit("AITUI_RESULT", {"accuracy": round(acc, 4), "held_out": len(y_test), "shipped": True})  # what ships
    if acc < a.min_accuracy:
        print(f"accuracy {acc:.4f} is below --min-accuracy {a.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
