"""A model project (recognizer/card.py) -> the model directory the server reads, in a build stage of serving/Dockerfile:

  python -m recognizer.convert /project /model --formats tflite                # LiteRT: a .tflite, as it is
  python -m recognizer.convert /project /model --formats keras,h5,savedmodel   # TensorFlow: converted to LiteRT

A Keras file or a SavedModel is exported to a float .tflite. Its input and output, read by the interpreter that
will serve it, must pass the card's rules (card.check). The samples are decoded as requests are (codec) and
measured with the server's own runtime (runtime.LiteRT: the same scaling, the same softmax of logits). With samples,
every second one of a label calibrates an int8 model and the rest are held out: the int8 model ships only when its
accuracy on the held-out samples is within the card's int8_tolerance of the float model's; otherwise the float model
ships and this says why. A .tflite ships as it is. model.json gets the accuracy on the held-out samples (or none),
and the samples are copied in for the replica's self-check (recognizer/selfcheck.py), which is run here once too.

Each stage that runs this converts only its own formats: the classic builder builds every stage before the one
asked for, so a stage that is not the project's own leaves an empty directory (as does a build without a project:
the shipped recognizer's). A project that cannot be served stops the build with one line (AITUI_REFUSED).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recognizer import card

BATCH = 32
MAX_PIXELS = 40_000_000  # the server's default limit


class Refused(Exception):
    pass


def emit(kind: str, fields: dict) -> None:
    """A line for aitui's build view (as recognizer/train.py's): KIND {json}."""
    print(f"{kind} {json.dumps(fields)}", flush=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def keras_tflite(project: card.Project, work: Path) -> tuple[bytes, Path]:
    """(float .tflite, SavedModel directory) of a Keras file or a SavedModel."""
    import tensorflow as tf

    path = project.root / project.model
    if project.format == "savedmodel":
        try:
            signatures = tf.saved_model.load(str(path)).signatures
        except Exception as exc:
            raise Refused(f"{project.model}: not a SavedModel TensorFlow can load: {_first_line(exc)}") from None
        if "serving_default" not in signatures:
            raise Refused(f"{project.model}: the SavedModel has no serving_default signature "
                          f"(it has {', '.join(signatures) or 'none'})")
        saved = path
    else:
        import keras

        try:
            model = keras.models.load_model(str(path), compile=False)
        except Exception as exc:
            raise Refused(f"{project.model}: Keras cannot load it: {_first_line(exc)}") from None
        tensors = [card.Tensor(tuple(t.shape), str(getattr(t.dtype, "name", t.dtype))) for t in model.inputs]
        outs = [card.Tensor(tuple(t.shape), str(getattr(t.dtype, "name", t.dtype))) for t in model.outputs]
        try:
            card.check(project.card, tensors, outs, project.labels)
        except card.ProjectError as exc:
            raise Refused(str(exc)) from None
        saved = work / "saved_model"
        model.export(str(saved), format="tf_saved_model", verbose=False)
    try:
        return tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert(), saved
    except Exception as exc:
        raise Refused(f"{project.model}: the LiteRT converter refused it: {_first_line(exc)}") from None


def int8_tflite(saved: Path, calibration) -> bytes:
    """Int8 weights and activations, calibrated on `calibration` (the model's float inputs); float input and output,
    so that it is served exactly as the float model is."""
    import numpy as np
    import tensorflow as tf

    def sample():
        for x in calibration:
            yield [x[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = sample
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()


def served_of(path: Path, project: card.Project) -> card.Served:
    """The model as the interpreter that serves it reads it, through the card's rules."""
    import numpy as np

    from recognizer.runtime import interpreter_class

    try:
        it = interpreter_class()(model_path=str(path))
    except Exception as exc:
        raise Refused(f"{project.model}: not a model LiteRT can load: {_first_line(exc)}") from None

    def tensors(details: list[dict]) -> list[card.Tensor]:
        return [card.Tensor(tuple(None if d < 0 else int(d) for d in t.get("shape_signature", t["shape"])),
                            np.dtype(t["dtype"]).name, t.get("name", "")) for t in details]

    try:
        return card.check(project.card, tensors(it.get_input_details()), tensors(it.get_output_details()),
                          project.labels)
    except card.ProjectError as exc:
        raise Refused(str(exc)) from None


def accuracy(out: Path, model_file: str, pixels, truth) -> float:
    import numpy as np

    from recognizer.runtime import LiteRT, ModelFiles

    rt = LiteRT(ModelFiles.load(out), threads=2, max_batch=BATCH, model_file=model_file)
    top = np.concatenate([np.argmax(rt.predict(pixels[i:i + BATCH]), axis=1) for i in range(0, len(pixels), BATCH)])
    return float(np.mean(top == truth))


def convert(project: card.Project, out: Path) -> dict:
    import numpy as np

    from recognizer import codec, selfcheck
    from recognizer.runtime import LiteRT, ModelFiles, Pixels

    out.mkdir(parents=True, exist_ok=True)
    (out / "labels.txt").write_text("\n".join(project.labels) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        saved = None
        if project.format == "tflite":
            shutil.copyfile(project.root / project.model, out / "model.tflite")
        else:
            data, saved = keras_tflite(project, Path(tmp))
            (out / "model.tflite").write_bytes(data)
        served = served_of(out / "model.tflite", project)
        info: dict = {"name": project.name, "format": project.format, "source": project.model,
                      "input": served.to_json(), "output": served.output,
                      "labels": len(project.labels), "samples": len(project.samples)}
        if served.output == "logits":
            info["served_output"] = "probabilities: a softmax of the model's logits, applied by the server"
        (out / "model.json").write_text(json.dumps(info, indent=2) + "\n")
        print(f"{project.name}: {project.format} model, input {served.input.height}x{served.input.width}x"
              f"{served.input.channels} {served.dtype} ({served.scaling}, {served.input.resize}), "
              f"{served.classes} classes ({served.output}), {len(project.samples)} samples", flush=True)

        pixels, truth = [], []
        for rel, label in project.samples:
            try:
                pixels.append(codec.decode_image((project.root / rel).read_bytes(), served.input, MAX_PIXELS))
            except codec.BadRequest as exc:
                raise Refused(f"{rel}: {exc}") from None
            truth.append(project.labels.index(label))
        x, y = (np.stack(pixels), np.asarray(truth)) if pixels else (None, None)

        why = ""
        if project.format == "tflite":
            why = "a .tflite ships as it is"
        elif not project.card.int8:
            why = f"{card.CARD_FILE} says int8 = false"
        elif not project.samples:
            why = "no samples to calibrate an int8 model on"
        keep, cal = card.held_out(project.samples, calibrate=not why)
        if not why and not cal:
            why = "no label has a second sample to calibrate an int8 model on"
            keep, cal = card.held_out(project.samples, calibrate=False)
        acc: dict[str, float] = {}
        if x is not None:
            acc["float"] = accuracy(out, "model.tflite", x[keep], y[keep])
            emit("AITUI_RESULT", {"accuracy": round(acc["float"], 4), "held_out": len(keep)})
        chosen = "given" if project.format == "tflite" else "float"
        if x is not None and chosen == "given":
            acc["given"] = acc.pop("float")
        if not why:
            calibration = Pixels(served, np.dtype(np.float32), (0.0, 0))(x[cal])
            try:
                (out / "model_int8.tflite").write_bytes(int8_tflite(saved, calibration))  # type: ignore[arg-type]
            except Exception as exc:
                why = f"the int8 conversion failed: {_first_line(exc)}"
            else:
                acc["int8"] = accuracy(out, "model_int8.tflite", x[keep], y[keep])
                lost = acc["float"] - acc["int8"]
                tol = project.card.int8_tolerance
                if lost <= tol + 1e-9:
                    chosen = "int8"
                    why = (f"int8 ships: {acc['int8']:.4f} against float {acc['float']:.4f} on {len(keep)} held-out "
                           f"samples (calibrated on {len(cal)}; tolerance {tol:g})")
                else:
                    why = (f"int8 lost {lost:.4f} against float ({acc['int8']:.4f} < {acc['float']:.4f} on "
                           f"{len(keep)} held-out samples), more than int8_tolerance {tol:g}")
        if chosen == "int8":
            (out / "model.tflite").replace(out / "model_float.tflite")
            (out / "model_int8.tflite").replace(out / "model.tflite")
        else:
            (out / "model_int8.tflite").unlink(missing_ok=True)
        print(why if chosen != "float" else f"the float model ships: {why}", flush=True)

    shipped = acc.get(chosen)
    info.update({"tflite": chosen, "int8": why, "accuracy": None if shipped is None else round(shipped, 4),
                 "held_out": len(keep), "tflite_accuracy": {k: round(v, 4) for k, v in acc.items()}})
    samples_dir = out / "samples"
    samples_dir.mkdir(exist_ok=True)
    listed = []
    for i, (rel, label) in enumerate(project.samples):
        name = f"samples/{i:05d}{Path(rel).suffix.lower()}"
        shutil.copyfile(project.root / rel, out / name)
        listed.append({"file": name, "label": label, "source": rel})
    (out / "samples.json").write_text(json.dumps(listed, indent=1) + "\n")
    (out / "model.json").write_text(json.dumps(info, indent=2) + "\n")
    emit("AITUI_RESULT", {"accuracy": info["accuracy"], "held_out": len(keep), "shipped": True})

    files = ModelFiles.load(out)
    check = selfcheck.run(LiteRT(files, threads=2, max_batch=BATCH).predict, files, 10)
    info["self_check"] = check.summary() if check.passed else check.reason()  # what the replicas will find
    (out / "model.json").write_text(json.dumps(info, indent=2) + "\n")
    if check.passed:
        print(f"self-check of the image: {check.summary()}", flush=True)
    else:
        print(f"warning: its replicas will not become ready: {check.reason()}", flush=True)
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("project", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--formats", required=True, help="comma-separated formats this stage converts")
    p.add_argument("--name", default="", help="the model's name, as aitui made it (the folder's is not here)")
    a = p.parse_args(argv)
    formats = {f.strip() for f in a.formats.split(",") if f.strip()}
    if not any(not f.name.startswith(".") for f in a.project.iterdir()):
        a.out.mkdir(parents=True, exist_ok=True)
        print("no model project: nothing to convert (the shipped recognizer is trained in its own stage)")
        return 0
    try:
        project = card.read_project(a.project)
        if a.name:
            project = replace(project, name=card.model_name(a.name))
        if project.format not in formats:
            a.out.mkdir(parents=True, exist_ok=True)
            print(f"a {project.format} model: converted in another stage")
            return 0
        convert(project, a.out)
    except (card.ProjectError, Refused) as exc:
        emit("AITUI_REFUSED", {"reason": str(exc)})
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
