"""A user's own image classifier, end to end on the real engine (issue 25): models no one here tuned by hand, trained in
the test on a real dataset a package ships (scikit-learn's 8x8 handwritten digits), in the build's own TensorFlow
stage (tests/own_model_train.py; the test venv has no TensorFlow), then made into model projects as a user would
(a folder: the model file, labels.txt, samples/<label>/*.png, a model.toml where the file cannot say it) and built
with `aitui build --model PATH` into the same serving image as the shipped recognizer:

- digits: a .keras file, grayscale 32x32 in [0, 1], ten labels of its own, int8 tried on its samples;
- rgb: a SavedModel, RGB 48x40 (not square) in [-1, 1], logits;
- digits as a .tflite brought as it is (no TensorFlow in its build), with its samples, without any (unchecked),
  and with samples filed under the wrong labels (never ready, and it says which samples); and quantized, with a
  uint8 input and output.

Each image runs as aitui runs it (non-root, read-only root), checks itself on its samples before it says ready, and
answers a sample file with its label. Every model aitui cannot serve is refused before Docker runs: one line, and
not one request to the engine (a socket of the test's own stands in for it and counts connections).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import pytest
import requests
from conftest import ROOT, Replicas, wait_until
from PIL import Image

from aitui.services import model_files, model_project
from aitui.services.predict import predict

pytestmark = pytest.mark.docker

LABELS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COLOURS = ("alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett")
SAMPLES_PER_LABEL = 6
SESSION = f"tests/test_own_model.py, session {os.getpid()} at {time.time():.0f}"
READ_MODEL = ["python", "-c", "import sys; sys.stdout.write(open('/model/model.json').read())"]


def digit_images() -> dict[str, np.ndarray]:
    """The 1,797 digits as the images a user would have: 64x64 grayscale PNG-sized, and 40 wide x 48 high in a
    light colour on a dark one, each twice the model's size (the decoder halves them), with a fixed train/test split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(25)
    gray64, rgb, gray = [], [], []
    for img in d.images:
        pixels = np.clip(img * 16, 0, 255).astype(np.uint8)
        big = Image.fromarray(pixels).resize((64, 64), Image.Resampling.BILINEAR)
        gray64.append(np.asarray(big))
        gray.append(np.asarray(big.reduce(2))[..., None])
        fg, bg = rng.integers(140, 256, 3), rng.integers(0, 100, 3)  # a light ink of any hue on a dark ground
        a = (img / 16.0)[..., None]
        colour = (bg * (1 - a) + fg * a).astype(np.uint8)
        rgb.append(np.asarray(Image.fromarray(colour).resize((80, 96), Image.Resampling.BILINEAR)))
    order = rng.permutation(len(d.images))
    cut = int(len(order) * 0.8)
    rgb_half = [np.asarray(Image.fromarray(x).reduce(2)) for x in rgb]
    return {"gray": np.stack(gray), "gray64": np.stack(gray64), "rgb": np.stack(rgb_half), "rgb80x96": np.stack(rgb),
            "y": d.target.astype(np.int64), "train": np.sort(order[:cut]), "test": np.sort(order[cut:])}


@pytest.fixture(scope="session")
def tensorflow_stage(settings, docker_client) -> str:
    """serving/Dockerfile's keras-project stage: the build's TensorFlow (the engine's cache has it from the
    recognizer's build, whose training stage installs the same)."""
    tag = "aitui-test/tensorflow-stage:own-model"
    docker_client.images.build(path=str(ROOT / "serving"), target="keras-project", tag=tag, rm=True,
                               buildargs={"BASE_IMAGE": settings.base_image})
    return tag


@pytest.fixture(scope="session")
def trained(tmp_path_factory, docker_client, tensorflow_stage) -> dict:
    """The models tests/own_model_train.py trains, and the images they were trained and are tested on."""
    work = tmp_path_factory.mktemp("own-models")
    data = digit_images()
    np.savez(work / "digits.npz", **{k: data[k] for k in ("gray", "rgb", "y", "train", "test")})
    shutil.copy(ROOT / "tests" / "own_model_train.py", work / "own_model_train.py")
    log = docker_client.containers.run(tensorflow_stage, remove=True, stderr=True,
                                       entrypoint=["/opt/train/bin/python", "/work/own_model_train.py"],
                                       volumes={str(work): {"bind": "/work", "mode": "rw"}})
    result = json.loads((work / "result.json").read_text())
    assert result["digits"] > 0.9 and result["rgb"] > 0.9, log.decode()[-3000:]
    return {"work": work, "data": data, "accuracy": result}


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.squeeze() if pixels.shape[-1] == 1 else pixels).save(buf, format="PNG")
    return buf.getvalue()


def write_samples(folder: Path, images: np.ndarray, data: dict, labels: tuple[str, ...], shift: int = 0) -> None:
    """SAMPLES_PER_LABEL test-split images of each class in samples/<label>/ (under the label `shift` further on:
    samples filed wrongly)."""
    for k, label in enumerate(labels):
        picked = [i for i in data["test"] if data["y"][i] == k][:SAMPLES_PER_LABEL]
        target = folder / "samples" / labels[(k + shift) % len(labels)]
        target.mkdir(parents=True, exist_ok=True)
        for i in picked:
            (target / f"{label}-{i}.png").write_bytes(png(images[i]))


def project(root: Path, name: str, model: Path, labels: tuple[str, ...], card: str = "",
            samples: np.ndarray | None = None, data: dict | None = None, shift: int = 0) -> Path:
    folder = root / name
    folder.mkdir()
    if model.is_dir():
        shutil.copytree(model, folder / model.name)
    else:
        shutil.copy(model, folder / model.name)
    (folder / "labels.txt").write_text("\n".join(labels) + "\n")
    # (a line of this session's: every session converts its projects anew, and the build says what it found)
    (folder / "model.toml").write_text(f"# {SESSION}\n{card}")
    if samples is not None and data is not None:
        write_samples(folder, samples, data, labels, shift)
    return folder


@pytest.fixture(scope="session")
def projects(trained, tmp_path_factory) -> dict[str, Path]:
    root, work, data = tmp_path_factory.mktemp("projects"), trained["work"], trained["data"]
    unit = 'scaling = "unit_0_1"\n'
    return {
        "digits": project(root, "digits", work / "digits.keras", LABELS, unit + "int8_tolerance = 0.05\n",
                          data["gray64"], data),
        "rgb": project(root, "rgb", work / "rgb_saved_model", COLOURS,
                       'name = "RGB Digits"\nscaling = "sym_-1_1"\noutput = "logits"\nint8 = false\n',
                       data["rgb80x96"], data),
        "lite": project(root, "lite", work / "digits.tflite", LABELS, unit, data["gray64"], data),
        "quantized": project(root, "quantized", work / "digits_uint8.tflite", LABELS, unit, data["gray64"], data),
        "bare": project(root, "bare", work / "digits.tflite", LABELS, unit),
        "misfiled": project(root, "misfiled", work / "digits.tflite", LABELS, unit, data["gray64"], data, shift=1),
    }


BUILT: dict[str, dict] = {}


def aitui(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aitui", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "AITUI_SERVING_DIR": str(ROOT / "serving"), **(env or {})})


def build(settings, folder: Path) -> dict:
    """`aitui build --model FOLDER --json`, once a session for each project."""
    if folder.name not in BUILT:
        done = aitui("build", "--model", str(folder), "--json", env={"AITUI_BASE_IMAGE": settings.base_image})
        assert done.returncode == 0, done.stderr[-4000:]
        BUILT[folder.name] = {**json.loads(done.stdout), "log": done.stderr}
    return BUILT[folder.name]


@pytest.fixture(scope="session", autouse=True)
def _remove_built_images(docker_client) -> Iterator[None]:
    yield
    for built in BUILT.values():
        with suppress(Exception):
            docker_client.images.remove(built["tag"], force=True)


def model_json(docker_client, tag: str) -> dict:
    return json.loads(docker_client.containers.run(tag, entrypoint=READ_MODEL, remove=True))


@contextmanager
def serving(docker_client, tag: str) -> Iterator[Replicas]:
    replicas = Replicas(docker_client, tag)
    try:
        yield replicas
    finally:
        replicas.close()


# --- what aitui reads from the files, before Docker runs -----------------------------------------------------


def test_the_model_files_are_read_without_tensorflow(trained) -> None:
    """What aitui reads from each file's own bytes (model_files.py) is what TensorFlow and LiteRT read from them."""
    work = trained["work"]
    assert model_files.keras(work / "digits.keras") == ([((None, 32, 32, 1), "float32", "image")],
                                                         [((None, 10), "float32", "")])
    ins, outs = model_files.tflite(work / "digits.tflite")
    assert [t[:2] for t in ins] == [((None, 32, 32, 1), "float32")]
    assert [t[:2] for t in outs] == [((None, 10), "float32")]
    ins, outs = model_files.tflite(work / "digits_uint8.tflite")
    assert [t[:2] for t in ins] == [((None, 32, 32, 1), "uint8")] and [t[:2] for t in outs] == [((None, 10), "uint8")]
    ins, outs = model_files.saved_model(work / "rgb_saved_model")
    assert [t[:2] for t in ins] == [((None, 48, 40, 3), "float32")]
    assert [t[:2] for t in outs] == [((None, 10), "float32")]
    ins, outs = model_files.h5(work / "flat.h5")  # (the name Keras gave its input layer)
    assert [t[:2] for t in ins] == [((None, 64), "float32")] and outs == [((None, 10), "float32", "")]
    assert model_files.keras(work / "rank4.keras")[1] == [((None, None, None, 10), "float32", "")]


def test_a_project_is_named_and_checked_from_its_folder(projects) -> None:
    serving = ROOT / "serving"
    digits = model_project.read(projects["digits"], serving)
    assert (digits.name, digits.format, digits.repository, digits.target) == ("digits", "keras", "aitui/digits",
                                                                                "keras-image")
    assert digits.input == "32x32x1 float32 (unit_0_1)" and digits.samples == 10 * SAMPLES_PER_LABEL
    assert digits.unchecked == ""  # the output's shape too was read from the file
    rgb = model_project.read(projects["rgb"] / "rgb_saved_model", serving)  # its SavedModel names its project
    assert (rgb.name, rgb.format, rgb.input) == ("rgb-digits", "savedmodel", "48x40x3 float32 (sym_-1_1)")
    assert model_project.read(projects["lite"] / "digits.tflite", serving).name == "digits"  # the file's name
    assert model_project.read(projects["bare"], serving).samples == 0


# --- a user's models, built and served ----------------------------------------------------------------------


def served_right(docker_client, settings, folder: Path, labels: tuple[str, ...], shape: list[int]) -> dict:
    """Built, run as aitui runs it, self-checked on its samples, and a sample file of each of three labels answered
    with its label; returns its model.json."""
    built = build(settings, folder)
    with serving(docker_client, built["tag"]) as replicas:
        replica = replicas.run()
        logs = replica.container.logs().decode()
        assert re.search(r"self-check: (8|9|10) of 10 samples answered right", logs), logs[-2000:]
        answers = []
        for label in (labels[0], labels[3], labels[7]):
            for file in sorted((folder / "samples" / label).iterdir()):
                answer = predict(f"127.0.0.1:{replica.port}", file.read_bytes(), model=built["model"])
                assert answer.error == "", answer
                answers.append((label, answer.labels[0][0]))
        assert sum(want == got for want, got in answers) >= len(answers) - 1, answers  # a model ~97% right
        # served under its own name (the recognizer's is not found there)
        assert requests.get(f"{replica.url}/v2/models/recognizer", timeout=5).status_code == 404
        meta = requests.get(f"{replica.url}/v2/models/{built['model']}", timeout=5).json()
        assert meta["name"] == built["model"] and meta["inputs"][0]["shape"] == shape
        assert meta["parameters"]["labels"] == list(labels)
        assert re.match(r"(8|9|10) of 10 samples answered right", meta["parameters"]["self_check"])
    return model_json(docker_client, built["tag"])


def test_a_keras_file_of_grayscale_digits(docker_client, settings, projects, trained) -> None:
    model = served_right(docker_client, settings, projects["digits"], LABELS, [-1, 32, 32, 1])
    built = BUILT["digits"]
    assert built["tag"].startswith("aitui/digits:") and built["model"] == "digits"
    assert docker_client.images.get(built["tag"]).labels["io.aitui.name"] == "digits"
    # every second sample calibrated the int8 model; the rest measured both
    assert model["held_out"] == 5 * SAMPLES_PER_LABEL and model["samples"] == 10 * SAMPLES_PER_LABEL
    assert set(model["tflite_accuracy"]) == {"float", "int8"} and model["accuracy"] > 0.85
    ships = model["tflite"]
    assert model["accuracy"] == model["tflite_accuracy"][ships]
    assert (ships == "int8") == (model["tflite_accuracy"]["float"] - model["tflite_accuracy"]["int8"] <= 0.05 + 1e-9)
    assert model["int8"] in built["log"]  # the build said why


def test_a_savedmodel_of_colour_digits_not_square_with_logits(docker_client, settings, projects) -> None:
    model = served_right(docker_client, settings, projects["rgb"], COLOURS, [-1, 48, 40, 3])
    assert BUILT["rgb"]["tag"].startswith("aitui/rgb-digits:")  # the card's name, made fit for an image
    assert model["input"]["scaling"] == "sym_-1_1" and model["output"] == "logits"
    assert "softmax" in model["served_output"]
    assert model["tflite"] == "float" and model["int8"] == "model.toml says int8 = false"
    assert model["held_out"] == 10 * SAMPLES_PER_LABEL and model["accuracy"] > 0.85  # all held out: none calibrated


def test_a_tflite_as_it_is(docker_client, settings, projects) -> None:
    model = served_right(docker_client, settings, projects["lite"], LABELS, [-1, 32, 32, 1])
    assert model["tflite"] == "given" and model["held_out"] == 10 * SAMPLES_PER_LABEL
    # no TensorFlow in its build: the converting stage of Keras files was never reached
    assert "keras-project" not in BUILT["lite"]["log"] and "pip-install /opt/train" not in BUILT["lite"]["log"]


def test_a_quantized_tflite_with_uint8_input_and_output(docker_client, settings, projects) -> None:
    """Pixels go in quantized by the input's own scale and zero point; the uint8 output is dequantized."""
    model = served_right(docker_client, settings, projects["quantized"], LABELS, [-1, 32, 32, 1])
    assert model["input"]["dtype"] == "uint8" and model["accuracy"] > 0.85


def test_a_model_without_samples_is_unchecked_and_ready(docker_client, settings, projects) -> None:
    built = build(settings, projects["bare"])
    with serving(docker_client, built["tag"]) as replicas:
        replica = replicas.run()
        assert "self-check: unchecked" in replica.container.logs().decode()
        meta = requests.get(f"{replica.url}/v2/models/bare", timeout=5).json()
        assert meta["parameters"]["self_check"].startswith("unchecked") and meta["parameters"]["accuracy"] is None
    assert model_json(docker_client, built["tag"])["accuracy"] is None


def test_a_model_its_samples_call_wrong_never_becomes_ready(docker_client, settings, projects) -> None:
    built = build(settings, projects["misfiled"])
    assert "warning: its replicas will not become ready" in built["log"]  # the build said so
    assert model_json(docker_client, built["tag"])["self_check"].startswith("self-check failed: ")
    with serving(docker_client, built["tag"]) as replicas:
        url = replicas.run(ready=False).url

        def refusal() -> dict | None:
            r = requests.get(f"{url}/v2/health/ready", timeout=2)
            return r.json() if r.status_code == 503 and r.json().get("reason") else None

        reason = wait_until(refusal, 60, "the replica's refusal")["reason"]  # type: ignore[index]
        assert re.match(r"self-check failed: [0-2] of 10 samples answered right \(needs 80%; ", reason), reason
        assert "samples/one/zero-" in reason and ": one -> zero" in reason, reason  # which file, filed as what


# --- models aitui cannot serve: one line each, before Docker runs ------------------------------------------


class CountingEngine:
    """A unix socket where DOCKER_HOST points: it counts the connections aitui makes to 'the engine'."""

    def __init__(self, path: Path) -> None:
        self.path, self.connections = path, 0
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def bad(root: Path, name: str, files: dict[str, bytes | Path], labels: tuple[str, ...] | None = LABELS,
        card: str = "") -> Path:
    folder = root / name
    folder.mkdir()
    for file, content in files.items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, folder / file)
        else:
            (folder / file).write_bytes(content)
    if labels is not None:
        (folder / "labels.txt").write_text("\n".join(labels) + "\n")
    if card:
        (folder / "model.toml").write_text(card)
    return folder


def test_models_that_cannot_be_served_get_one_line_and_no_build(trained, tmp_path) -> None:
    work = trained["work"]
    cases = {
        "no-model": ({}, LABELS, "", "no model in"),
        "no-labels": ({"digits.tflite": work / "digits.tflite"}, None, "", "no labels.txt in"),
        "corrupt-keras": ({"m.keras": b"not a zip at all"}, LABELS, "", "m.keras: not a .keras file"),
        "corrupt-tflite": ({"m.tflite": b"\x1c\x00\x00\x00TFL3" + b"\xff" * 40}, LABELS, "", "m.tflite: a damaged"),
        "not-tflite": ({"m.tflite": b"PK\x03\x04 a zip, named .tflite"}, LABELS, "", "not a .tflite"),
        "rank4-output": ({"rank4.keras": work / "rank4.keras"}, LABELS, "",
                         "the model's output is [?, ?, ?, 10], not [N, classes]"),
        "nine-labels": ({"digits.tflite": work / "digits.tflite"}, LABELS[:9], "",
                        "labels.txt has 9 labels; the model's output has 10 classes"),
        "int32-input": ({"int32.keras": work / "int32.keras"}, LABELS, "",
                        "the model's input is int32; float32, uint8, int8 inputs are served"),
        "rank2-input": ({"flat.h5": work / "flat.h5"}, LABELS, "", "the model's input has rank 2 ([?, 64])"),
        "dynamic-size": ({"dynamic.keras": work / "dynamic.keras"}, LABELS, "",
                         "the model's input size is dynamic ([?, ?, ?, 3]) and model.toml gives no input_size"),
        "two-models": ({"a.tflite": work / "digits.tflite", "b.keras": work / "digits.keras"}, LABELS, "",
                       "2 models in"),
        "bad-card": ({"digits.tflite": work / "digits.tflite"}, LABELS, 'scaling = "0..1"\n', "model.toml: scaling"),
        "stray-label": ({"digits.tflite": work / "digits.tflite", "samples/ten/x.png": b"\x89PNG"}, LABELS, "",
                        "samples/ten: 'ten' is not in labels.txt"),
    }
    engine = CountingEngine(tmp_path / "engine.sock")
    for name, (files, labels, card, words) in cases.items():
        folder = bad(tmp_path, name, files, labels, card)
        done = aitui("build", "--model", str(folder), env={"DOCKER_HOST": f"unix://{engine.path}"}, timeout=60)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("aitui build: "), (name, done.stderr)
        assert words in lines[0], (name, lines[0])
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert engine.connections == 0  # nothing was asked of the engine, let alone built
    # the dynamic size is servable once the card gives it
    folder = bad(tmp_path, "sized", {"dynamic.keras": work / "dynamic.keras"}, LABELS, "input_size = [30, 20]\n")
    assert model_project.read(folder, ROOT / "serving").input == "30x20x3 float32 (raw_0_255)"


# --- a user's model beside the recognizer: the local engine, then the cluster -------------------------------
#
# As a user runs it: `aitui --model PROJECT deploy --smoke`, `predict FILE`, `smoke`, `loadtest` (the workload is
# named after the model, beside the recognizer's), then the app: + and - under traffic, and a canary of a second
# version of the same model (the .tflite a user exported, under the same name), compared on its samples and
# promoted. Not one request of the traffic fails or is retried. The local engine runs the grayscale digits, the
# cluster the RGB model (48x40, [-1, 1], logits).


def second_version(root: Path, folder: Path, model: Path) -> Path:
    """The project again with the .tflite a user exported themselves instead of its model: the same name (the
    card's, else the first version's folder's), labels and samples."""
    v2 = root / f"{folder.name}-v2"
    shutil.copytree(folder, v2, ignore=lambda d, names: [n for n in names if Path(d) == folder
                                                           and n not in ("labels.txt", "model.toml", "samples")])
    shutil.copy(model, v2 / model.name)
    card = (v2 / "model.toml").read_text()
    if "name = " not in card:
        (v2 / "model.toml").write_text(f'{card}name = "{folder.name}"\n')
    return v2


def cli(state: Path, *args: str, env: dict[str, str], timeout: float = 600) -> dict:
    """The CLI with --json as a user runs it (this test's state dir, no config file); its JSON answer."""
    done = aitui(*args, "--json", env={"XDG_STATE_HOME": str(state), "AITUI_CONFIG": str(state / "none.toml"),
                                       **env}, timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return dict(json.loads(done.stdout))


def beside_the_recognizer(state: Path, on: list[str], env: dict[str, str], folder: Path, built: dict,
                          labels: tuple[str, ...], recognizer: str, beside: str, replicas: int) -> None:
    """The user's model deployed beside the recognizer's workload `beside`, then checked, predicted and loaded."""
    name, model = built["model"], ["--model", str(folder)]
    out = cli(state, *on, *model, "deploy", "--image", built["tag"], "--replicas", str(replicas), "--smoke", env=env)
    assert (out["workload"], out["ready"]) == (name, replicas)  # named after its model
    assert out["smoke"]["passed"] and len(out["smoke"]["replicas"]) == replicas
    assert all(r["model"]["name"] == name and len(r["answers"]) == 10 * SAMPLES_PER_LABEL
               and r["correct"] >= 0.8 * len(r["answers"]) for r in out["smoke"]["replicas"])
    out = cli(state, *on, "deploy", "--image", recognizer, "--replicas", str(replicas), "--smoke", "-w", beside,
              env=env)
    assert out["workload"] == beside and out["smoke"]["passed"]  # its own samples, its own model's name
    for label in (labels[3], labels[7]):
        file = sorted((folder / "samples" / label).iterdir())[0]
        out = cli(state, *on, *model, "predict", str(file), env=env)
        assert out["labels"][0]["label"] == label and len(out["labels"]) == 5, out
    assert cli(state, *on, *model, "smoke", env=env)["passed"]
    out = cli(state, *on, *model, "loadtest", "--duration", "3", "-c", "2", "--report", str(state / "load.json"),
              env=env)
    assert out["passed"] and out["figures"]["failed"] == 0 and out["figures"]["ok"] > 10, out["figures"]
    assert len(out["figures"]["per_endpoint"]) == replicas
    # one workload per model, each with its own model
    out = cli(state, *on, "smoke", "-w", beside, env=env)
    assert {r["model"]["name"] for r in out["replicas"]} == {"recognizer"}


async def scaled_and_promoted(settings, name: str, label: str, v2: str, beside: str, replicas: int) -> None:
    """In the app: + then - on the model's workload under traffic, `:predict` a sample file of `label`, then the
    canary of v2, promoted."""
    from test_app_actions import until
    from test_several_models import KEYS
    from test_ui_operations import select, waiting

    from aitui.app import AituiApp
    from aitui.services import samples
    from aitui.services.canary import canary_of
    from aitui.services.traffic import Traffic
    from aitui.ui.canary import CanaryScreen
    from aitui.ui.dialogs import ConfirmScreen, PredictionScreen

    images = [png for _, png in samples.of(settings, name)]
    app = AituiApp(settings)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await until(pilot, lambda: {name, beside} <= set(app.workloads)
                    and app.workloads[name].ready == replicas, 60, "both workloads listed")
        assert app.workloads[name].model == name and app.workloads[beside].model == "recognizer"
        target = app.target
        assert target is not None
        load = Traffic(lambda: target.endpoints(name), images, concurrency=2, duration=600, model=name,
                       record=True).start()
        try:
            select(app, name)
            app.query_one("#workloads").focus()
            await pilot.press("plus")
            await waiting(pilot, app, lambda: app.workloads[name].ready == replicas + 1
                          and len(target.endpoints(name)) == replicas + 1, 180, "one more replica ready")
            assert app.workloads[beside].desired == replicas  # the other model's workload untouched
            await pilot.press("minus")
            await waiting(pilot, app, lambda: app.workloads[name].desired == replicas
                          and len(target.endpoints(name)) == replicas, 180, "back to where it was")

            # :predict FILE: a sample file of the user's, as typed (→ would complete it), at its own size
            file = sorted((Path(settings.model) / "samples" / label).iterdir())[0]
            await pilot.press("colon", *[KEYS.get(ch, ch) for ch in f"predict {file}"], "enter")
            await waiting(pilot, app, lambda: isinstance(app.screen, PredictionScreen), 30, "the prediction")
            assert app.screen.heading == f"Predict: {file.name}" and app.screen.labels[0][0] == label
            assert len(app.screen.labels) == 5
            await pilot.press("escape")

            await pilot.press("n")
            screen = app.screen
            assert isinstance(screen, CanaryScreen)
            screen.query_one("#image").value = v2  # type: ignore[attr-defined]
            screen.query_one("#image").focus()
            await pilot.press("enter")
            await waiting(pilot, app, lambda: screen.running and screen.figures is not None
                          and screen.figures.compared >= 2 * len(images), 300, "the canary up and compared")
            f = screen.figures
            assert f is not None and f.main.failed == f.canary.failed == 0
            assert f.agreed >= 0.8 * f.compared, f  # two versions of one model agree on its samples
            await pilot.press("p")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await waiting(pilot, app, lambda: screen.outcome == "promoted", 400, "the canary promoted")
            await until(pilot, lambda: canary_of(name) not in app.workloads
                        and app.workloads[name].image == v2, 60, f"{name} on v2, the canary gone")
        finally:
            stats = load.stop()
        assert stats.ok > 50 and (stats.failed, stats.retried) == (0, 0), \
            (load.totals(), [r for r in stats.records if r.outcome][:6])


def test_a_users_model_beside_the_recognizer_on_the_local_engine(docker_client, settings, projects, trained,
                                                                 recognizer_image, tmp_path, monkeypatch) -> None:
    """The grayscale digits (a .keras), and as v2 its .tflite."""
    import asyncio

    from aitui.config import Settings
    from aitui.services.targets.local import LocalTarget

    folder = projects["digits"]
    digits = build(settings, folder)
    v2 = build(settings, second_version(tmp_path, folder, trained["work"] / "digits.tflite"))
    assert v2["model"] == "digits" and v2["tag"].startswith("aitui/digits:") and v2["tag"] != digits["tag"]
    state, beside = tmp_path / "state", f"beside-{os.getpid()}"  # (the suite's other tests use "recognizer")
    env = {"DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")}
    try:
        beside_the_recognizer(state, [], env, folder, digits, LABELS, recognizer_image, beside, 2)
        monkeypatch.setenv("XDG_STATE_HOME", str(state))  # the app's targets: the ones the CLI wrote
        asyncio.run(scaled_and_promoted(Settings(model=str(folder), timeout=5), "digits", LABELS[7], v2["tag"],
                                        beside, 2))
    finally:
        local = LocalTarget(Settings(), targets_dir=state / "aitui" / "targets")
        for workload in ("digits", "digits-canary", beside):
            with suppress(Exception):
                local.delete(workload)


def test_a_users_model_beside_the_recognizer_on_the_cluster(cluster, namespace, settings, projects, trained,
                                                            recognizer_image, tmp_path, monkeypatch) -> None:
    """The RGB model (a SavedModel: 48x40, [-1, 1], logits), and as v2 its .tflite."""
    import asyncio

    from cluster import ADMIN

    from aitui.config import Settings

    folder = projects["rgb"]
    rgb = build(settings, folder)
    v2 = build(settings, second_version(tmp_path, folder, trained["work"] / "rgb.tflite"))
    assert v2["model"] == rgb["model"] == "rgb-digits" and v2["tag"] != rgb["tag"]
    state = tmp_path / "state"
    on = ["--context", ADMIN, "-n", namespace]
    env = {"KUBECONFIG": str(cluster.kubeconfig)}
    try:
        beside_the_recognizer(state, on, env, folder, rgb, COLOURS, recognizer_image, "recognizer", 2)
        monkeypatch.setenv("XDG_STATE_HOME", str(state))
        asyncio.run(scaled_and_promoted(Settings(model=str(folder), context=ADMIN, namespace=namespace,
                                                 kubeconfig=str(cluster.kubeconfig),
                                                 prometheus_url=cluster.prometheus_url, timeout=5),
                                        "rgb-digits", COLOURS[7], v2["tag"], "recognizer", 2))
    finally:  # the tags deploy loaded into the node are this test's
        for tag in (rgb["tag"], v2["tag"]):
            subprocess.run(["ctr", "--address", str(cluster.dir / "containerd" / "containerd.sock"), "-n", "k8s.io",
                            "images", "rm", f"docker.io/{tag}"], capture_output=True, timeout=60)
