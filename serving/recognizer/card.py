"""A model project and its card. A project is a folder: the model file (`.keras`, `.h5`, `.tflite` or a SavedModel
directory), `labels.txt` (one label a line, in the order of the model's outputs), optionally labelled samples
(`samples/<label>/*.png|jpg…`, or `samples.csv` of path,label rows) and optionally a card, `model.toml`, for what
the file cannot say:

    name = "digits"              # the image's and the workload's name (default: the folder's, else the file's)
    model = "digits.keras"       # which file, when the folder holds more than one
    input_size = [64, 64]        # height, width: only for a model whose input size is dynamic
    scaling = "unit_0_1"         # raw_0_255 (default) | unit_0_1 | sym_-1_1 | mean_std (with mean, std)
    mean = [127.5]               # mean_std: x = (pixel - mean) / std, per channel or one for all, in pixel values
    std = [127.5]
    resize = "stretch"           # stretch (default) | crop (the centre, to the input's aspect) | pad (black bars)
    output = "probabilities"     # probabilities (default) | logits (the server applies a softmax)
    int8 = true                  # try an int8 model, calibrated on the samples (Keras and SavedModel only)
    int8_tolerance = 0.01        # accuracy the int8 model may lose against the float one on held-out samples

Also here: the rules a model must meet to be served (`check`). The build stage (recognizer/convert.py) applies them
to what TensorFlow or LiteRT reads from the model; aitui applies them before Docker runs, to what it reads from the
file's own bytes, and loads this module from the serving directory it builds from, so both refuse with the same
line. Standard library only: aitui has neither numpy nor TensorFlow.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

CARD_FILE = "model.toml"
LABELS_FILE = "labels.txt"
SAMPLES_DIR = "samples"
SAMPLES_CSV = "samples.csv"
SAVED_MODEL = "saved_model.pb"
MODEL_SUFFIXES = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".tflite": "tflite"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")  # what the server decodes (codec.FORMATS)
SCALINGS = {"raw_0_255": (1.0, 0.0), "unit_0_1": (1 / 255, 0.0), "sym_-1_1": (1 / 127.5, -1.0), "mean_std": None}
RESIZES = ("stretch", "crop", "pad")
OUTPUTS = ("probabilities", "logits")
DTYPES = ("float32", "uint8", "int8")  # an image input's; the output is float32 or quantized (u)int8
SHIPPED = "recognizer"  # the model serving/ trains: no project may take its name
NAME_LENGTH = 40  # a workload's name has room for the suffixes of its pods (63 in all)


class ProjectError(Exception):
    """Why a folder is not a model aitui can serve, in one line."""


@dataclass(frozen=True)
class Card:
    name: str = ""
    model: str = ""
    input_size: tuple[int, int] | None = None
    scaling: str = "raw_0_255"
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    resize: str = "stretch"
    output: str = "probabilities"
    int8: bool = True
    int8_tolerance: float = 0.01


def _floats(value: object, key: str) -> tuple[float, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
        raise ProjectError(f"{CARD_FILE}: {key} must be a number or a list of numbers, not {value!r}")
    return tuple(float(v) for v in items)


def parse_card(text: str) -> Card:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{CARD_FILE}: {exc}") from None
    known = set(Card.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ProjectError(f"{CARD_FILE}: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")
    kw: dict[str, object] = {}
    for key in ("name", "model"):
        if key in data:
            if not isinstance(data[key], str) or not data[key].strip():
                raise ProjectError(f"{CARD_FILE}: {key} must be a non-empty string")
            kw[key] = data[key].strip()
    if "input_size" in data:
        size = data["input_size"]
        if not (isinstance(size, list) and len(size) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in size)):
            raise ProjectError(f"{CARD_FILE}: input_size must be [height, width] in pixels, not {size!r}")
        kw["input_size"] = (size[0], size[1])
    for key, choices in (("scaling", tuple(SCALINGS)), ("resize", RESIZES), ("output", OUTPUTS)):
        if key in data:
            if data[key] not in choices:
                raise ProjectError(f"{CARD_FILE}: {key} = {data[key]!r}; one of {', '.join(choices)}")
            kw[key] = data[key]
    for key in ("mean", "std"):
        if key in data:
            kw[key] = _floats(data[key], key)
    if ("mean" in kw or "std" in kw) and kw.get("scaling", "mean_std") != "mean_std":
        raise ProjectError(f"{CARD_FILE}: mean and std go with scaling = \"mean_std\", not {kw['scaling']!r}")
    if "mean" in kw or "std" in kw or kw.get("scaling") == "mean_std":
        if "mean" not in kw or "std" not in kw:
            raise ProjectError(f"{CARD_FILE}: scaling = \"mean_std\" needs both mean and std")
        if any(s == 0 for s in kw["std"]):  # type: ignore[attr-defined]
            raise ProjectError(f"{CARD_FILE}: std must not be 0")
        kw["scaling"] = "mean_std"
    if "int8" in data:
        if not isinstance(data["int8"], bool):
            raise ProjectError(f"{CARD_FILE}: int8 must be true or false")
        kw["int8"] = data["int8"]
    if "int8_tolerance" in data:
        tol = data["int8_tolerance"]
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not 0 <= tol <= 1:
            raise ProjectError(f"{CARD_FILE}: int8_tolerance must be from 0 to 1, not {tol!r}")
        kw["int8_tolerance"] = float(tol)
    return Card(**kw)  # type: ignore[arg-type]


# --- what a model must be to be served -----------------------------------------------------------------------


@dataclass(frozen=True)
class Tensor:
    """An input or output as the model file declares it: None for a dynamic size (the batch, usually)."""

    shape: tuple[int | None, ...]
    dtype: str  # float32, uint8, int8, int64, string…
    name: str = ""


@dataclass(frozen=True)
class Input:
    """What the decoder makes of an image: height x width, 1 (grayscale) or 3 (RGB) channels, uint8, fitted
    to the input's aspect by `resize`."""

    height: int
    width: int
    channels: int = 3
    resize: str = "stretch"

    @property
    def mode(self) -> str:  # Pillow's
        return "L" if self.channels == 1 else "RGB"

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.height, self.width, self.channels


@dataclass(frozen=True)
class Served:
    """How the model is served: its image input, the pixel scaling the model wants (x = pixel * scale + offset,
    per channel), its input dtype, its classes and whether its output is logits."""

    input: Input
    dtype: str = "float32"
    classes: int = 0
    scale: tuple[float, ...] = (1.0,)
    offset: tuple[float, ...] = (0.0,)
    output: str = "probabilities"
    scaling: str = "raw_0_255"

    def to_json(self) -> dict:
        i = self.input
        return {"height": i.height, "width": i.width, "channels": i.channels, "resize": i.resize,
                "dtype": self.dtype, "scaling": self.scaling, "scale": list(self.scale),
                "offset": list(self.offset), "output": self.output, "classes": self.classes}

    @classmethod
    def from_json(cls, d: dict) -> Served:
        return cls(Input(int(d["height"]), int(d["width"]), int(d["channels"]), str(d["resize"])),
                   str(d["dtype"]), int(d["classes"]), tuple(d["scale"]), tuple(d["offset"]), str(d["output"]),
                   str(d["scaling"]))


def _shape(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def check(card: Card, inputs: list[Tensor], outputs: list[Tensor] | None, labels: tuple[str, ...]) -> Served:
    """The served form of a model with these inputs and outputs (None: not known yet; checked when built), or
    the one line that says why it cannot be served."""
    if len(inputs) != 1:
        raise ProjectError(f"the model has {len(inputs)} inputs; one image input [N, height, width, channels] "
                           "is served")
    t = inputs[0]
    if len(t.shape) != 4:
        raise ProjectError(f"the model's input has rank {len(t.shape)} ({_shape(t.shape)}); an image input is "
                           "[N, height, width, channels]")
    _, h, w, c = t.shape
    if c not in (1, 3):
        first = " (channels first? NHWC is served)" if h in (1, 3) else ""
        raise ProjectError(f"the model's input {_shape(t.shape)} has {'?' if c is None else c} channels{first}; "
                           "1 (grayscale) or 3 (RGB) are served")
    if t.dtype not in DTYPES:
        raise ProjectError(f"the model's input is {t.dtype}; {', '.join(DTYPES)} inputs are served")
    if h is None or w is None:
        if card.input_size is None:
            raise ProjectError(f"the model's input size is dynamic ({_shape(t.shape)}) and {CARD_FILE} gives no "
                               "input_size = [height, width]")
        h, w = card.input_size
    elif card.input_size is not None and card.input_size != (h, w):
        raise ProjectError(f"{CARD_FILE} says input_size = {list(card.input_size)}; the model's input is "
                           f"{h}x{w} ({_shape(t.shape)})")
    classes = len(labels)
    if outputs is not None:
        if len(outputs) != 1:
            raise ProjectError(f"the model has {len(outputs)} outputs; one [N, classes] output is served")
        o = outputs[0]
        if len(o.shape) != 2 or o.shape[1] is None:
            raise ProjectError(f"the model's output is {_shape(o.shape)}, not [N, classes]")
        if o.dtype not in DTYPES:
            raise ProjectError(f"the model's output is {o.dtype}; float32 (or quantized uint8, int8) is served")
        if o.shape[1] != len(labels):
            raise ProjectError(f"{LABELS_FILE} has {len(labels)} labels; the model's output has {o.shape[1]} "
                               "classes")
    if card.scaling == "mean_std":
        for key, values in (("mean", card.mean), ("std", card.std)):
            if len(values) not in (1, c):
                raise ProjectError(f"{CARD_FILE}: {key} has {len(values)} values; the input has {c} channels")
        mean, std = (v * c if len(v) == 1 else v for v in (card.mean, card.std))
        scale, offset = tuple(1 / s for s in std), tuple(-m / s for m, s in zip(mean, std, strict=True))
    else:
        a, b = SCALINGS[card.scaling]  # type: ignore[misc]
        scale, offset = (a,), (b,)
    return Served(Input(h, w, c, card.resize), t.dtype, classes, scale, offset, card.output, card.scaling)


# --- the folder -------------------------------------------------------------------------------------------


def model_name(text: str) -> str:
    """A name fit for an image repository and a Kubernetes workload: lower case, digits and '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:NAME_LENGTH].strip("-")


@dataclass(frozen=True)
class Project:
    root: Path
    card: Card
    name: str
    format: str  # keras, h5, savedmodel, tflite
    model: str  # the model file (or SavedModel directory) relative to root; "." when root is the SavedModel
    labels: tuple[str, ...]
    samples: tuple[tuple[str, str], ...] = field(default=())  # (path relative to root, label), in label order

    def files(self) -> list[str]:
        """What the build needs of the folder, relative to root: nothing else is sent."""
        found = [LABELS_FILE] + ([CARD_FILE] if (self.root / CARD_FILE).is_file() else [])
        if self.format == "savedmodel":
            base = self.root / self.model
            found += sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                            if p.is_file() and not _hidden(p.relative_to(base))
                            and (self.model != "." or p.relative_to(base).parts[0] in _SAVED_MODEL_PARTS))
        else:
            found.append(self.model)
        if (self.root / SAMPLES_CSV).is_file():
            found.append(SAMPLES_CSV)
        found += [path for path, _ in self.samples]
        return list(dict.fromkeys(found))


_SAVED_MODEL_PARTS = {SAVED_MODEL, "saved_model.pbtxt", "fingerprint.pb", "variables", "assets", "assets.extra"}


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in rel.parts)


def _format_of(path: Path) -> str | None:
    if path.is_dir():
        return "savedmodel" if (path / SAVED_MODEL).is_file() else None
    return MODEL_SUFFIXES.get(path.suffix.lower())


def find_model(root: Path, card: Card) -> tuple[str, str]:
    """(format, path relative to root) of the project's model."""
    if card.model:
        rel = PurePosixPath(card.model)
        if rel.is_absolute() or ".." in rel.parts:
            raise ProjectError(f"{CARD_FILE}: model = {card.model!r} must be a path inside the folder")
        path = root / rel
        if not path.exists():
            raise ProjectError(f"{CARD_FILE}: model = {card.model!r}: no such file in {root}")
        kind = _format_of(path)
        if kind is None:
            raise ProjectError(f"{card.model}: not a model file (.keras, .h5, .tflite or a SavedModel directory "
                               f"with {SAVED_MODEL})")
        return kind, str(rel)
    if (root / SAVED_MODEL).is_file():
        return "savedmodel", "."
    found = sorted((kind, p.name) for p in root.iterdir() if not p.name.startswith(".")
                   for kind in [_format_of(p)] if kind)
    if not found:
        raise ProjectError(f"no model in {root}: a .keras, .h5 or .tflite file, or a SavedModel directory")
    if len(found) > 1:
        names = ", ".join(name for _, name in found)
        raise ProjectError(f"{len(found)} models in {root} ({names}): name one with model = \"…\" in {CARD_FILE}")
    return found[0]


def read_labels(root: Path) -> tuple[str, ...]:
    path = root / LABELS_FILE
    if not path.is_file():
        raise ProjectError(f"no {LABELS_FILE} in {root}: one label a line, in the order of the model's outputs")
    try:
        labels = tuple(s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{LABELS_FILE}: cannot be read as UTF-8 text: {exc}") from None
    if not labels:
        raise ProjectError(f"{LABELS_FILE} is empty: one label a line, in the order of the model's outputs")
    twice = next((x for i, x in enumerate(labels) if x in labels[:i]), None)
    if twice is not None:
        raise ProjectError(f"{LABELS_FILE} has {twice!r} twice")
    return labels


def _sample_path(root: Path, text: str, where: str) -> str:
    rel = PurePosixPath(text.strip())
    if not text.strip() or rel.is_absolute() or ".." in rel.parts:
        raise ProjectError(f"{where}: {text!r} must be a path inside the folder")
    if not (root / rel).is_file():
        raise ProjectError(f"{where}: no such file {text.strip()!r}")
    if rel.suffix.lower() not in IMAGE_SUFFIXES:
        raise ProjectError(f"{where}: {text.strip()!r} is not an image ({', '.join(IMAGE_SUFFIXES)})")
    return str(rel)


def read_samples(root: Path, labels: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Labelled samples: samples/<label>/<image>, or samples.csv rows of path,label (a first row
    `path,label` is a header). Sorted by the label's index, then path: the same on every machine."""
    folder, table = root / SAMPLES_DIR, root / SAMPLES_CSV
    if folder.is_dir() and table.is_file():
        raise ProjectError(f"both {SAMPLES_DIR}/ and {SAMPLES_CSV} in {root}: keep one")
    found: list[tuple[str, str]] = []
    if table.is_file():
        try:
            rows = list(csv.reader(table.read_text(encoding="utf-8").splitlines()))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ProjectError(f"{SAMPLES_CSV}: {exc}") from None
        for n, row in enumerate(rows, 1):
            if not row or (n == 1 and [c.strip().lower() for c in row] == ["path", "label"]):
                continue
            if len(row) != 2:
                raise ProjectError(f"{SAMPLES_CSV}: row {n} has {len(row)} fields; path,label")
            where = f"{SAMPLES_CSV}: row {n}"
            label = row[1].strip()
            if label not in labels:
                raise ProjectError(f"{where}: label {label!r} is not in {LABELS_FILE}")
            found.append((_sample_path(root, row[0], where), label))
    elif folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if sub.name.startswith("."):
                continue
            if not sub.is_dir():
                raise ProjectError(f"{SAMPLES_DIR}/{sub.name}: a sample goes in {SAMPLES_DIR}/<label>/")
            if sub.name not in labels:
                raise ProjectError(f"{SAMPLES_DIR}/{sub.name}: {sub.name!r} is not in {LABELS_FILE}")
            found += [(f"{SAMPLES_DIR}/{sub.name}/{p.name}", sub.name) for p in sorted(sub.iterdir())
                      if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES]
    index = {label: i for i, label in enumerate(labels)}
    return tuple(sorted(found, key=lambda s: (index[s[1]], s[0])))


def read_project(path: str | Path) -> Project:
    """The project at `path`: its folder, or its model file (the folder is then the file's)."""
    given = Path(path).expanduser()
    if not given.exists():
        raise ProjectError(f"{path}: no such file or folder")
    # a model file, or a SavedModel directory inside a project, names the project that holds it
    is_model = given.is_file() or ((given / SAVED_MODEL).is_file() and not (given / LABELS_FILE).is_file())
    root = (given.parent if is_model else given).resolve()
    card = Card()
    if (root / CARD_FILE).is_file():
        try:
            card = parse_card((root / CARD_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{CARD_FILE}: cannot be read as UTF-8 text: {exc}") from None
    if is_model and not card.model:
        card = replace(card, model=given.name)
    kind, model = find_model(root, card)
    labels = read_labels(root)
    raw = card.name or (Path(model).stem if is_model else root.name)
    name = model_name(raw)
    if not name:
        raise ProjectError(f"the name {raw!r} has no letter or digit: give one with name = \"…\" in {CARD_FILE}")
    if name == SHIPPED:
        raise ProjectError(f"the name {name!r} is the shipped model's: give yours with name = \"…\" in {CARD_FILE}")
    return Project(root, card, name, kind, model, labels, read_samples(root, labels))


def held_out(samples: tuple[tuple[str, str], ...], calibrate: bool) -> tuple[list[int], list[int]]:
    """(held-out, calibration) indices into `samples`. With `calibrate`, every second sample of a label (in path
    order) calibrates the int8 model and the rest are held out for measuring; without, all are held out."""
    if not calibrate:
        return list(range(len(samples))), []
    seen: dict[str, int] = {}
    keep, cal = [], []
    for i, (_, label) in enumerate(samples):
        n = seen[label] = seen.get(label, -1) + 1
        (cal if n % 2 else keep).append(i)
    return keep, cal
