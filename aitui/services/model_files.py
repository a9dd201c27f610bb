"""A model file's inputs and outputs, read from its own bytes: aitui has neither TensorFlow nor LiteRT (`pip install
aitui` must not pull them), and a model it cannot serve is refused before Docker runs.

- `.tflite`: the FlatBuffer's first subgraph (schema.fbs: Model.subgraphs, SubGraph.tensors/inputs/outputs,
  Tensor.shape/type/shape_signature): exact.
- `.keras`: the zip's config.json. Inputs are the InputLayers' batch shapes. The output is worked out from the output
  layer: Keras 3 records each layer's input shape in its inbound nodes, so only that layer's own rule is needed;
  otherwise the shape is followed through the layers (common layers only). What cannot be worked out is None, and the
  build stage, which loads the model with Keras, checks it.
- `.h5`: the same config, the JSON of its `model_config` attribute. Keras writes it as one string, which HDF5 keeps
  in one piece: it is found in the file's bytes (no h5py), after checking the HDF5 signature.
- SavedModel: saved_model.pb's `serving_default` signature, read with a small protocol-buffer reader
  (SavedModel.meta_graphs -> MetaGraphDef.signature_def -> SignatureDef.inputs/outputs -> TensorInfo): exact.

Each returns (inputs, outputs) as (shape, dtype, name) triples (None in a shape: dynamic), outputs None when not
known; a file that is not what its name says raises Unreadable with one line.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from pathlib import Path
from typing import Any

Shape = tuple[int | None, ...]
Triple = tuple[Shape, str, str]


class Unreadable(Exception):
    pass


# --- .tflite ---------------------------------------------------------------------------------------------------

_TFLITE_TYPES = ("float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16", "complex64", "int8",
                 "float64", "complex128", "uint64", "resource", "variant", "uint32", "uint16", "int4")


class _FlatBuffer:
    """Just enough of FlatBuffers to read tables, vectors and strings, every offset checked."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _u32(self, at: int) -> int:
        if not 0 <= at <= len(self.data) - 4:
            raise Unreadable("an offset points outside the file")
        return int(struct.unpack_from("<I", self.data, at)[0])

    def field(self, table: int, index: int) -> int:
        """The position of a table's field, 0 when it is absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0] if 0 <= table <= len(self.data) - 4 else -1
        if not 0 <= vtable <= len(self.data) - 4:
            raise Unreadable("a table's vtable is outside the file")
        size = struct.unpack_from("<H", self.data, vtable)[0]
        slot = 4 + 2 * index
        if slot + 2 > size:
            return 0
        off = struct.unpack_from("<H", self.data, vtable + slot)[0]
        return table + off if off else 0

    def table(self, at: int) -> int:
        return at + self._u32(at)

    def vector(self, at: int) -> tuple[int, int]:
        """(position of the first element, length)."""
        start = at + self._u32(at)
        n = self._u32(start)
        if n > len(self.data):
            raise Unreadable("a vector is longer than the file")
        return start + 4, n

    def ints(self, table: int, index: int) -> list[int] | None:
        at = self.field(table, index)
        if not at:
            return None
        start, n = self.vector(at)
        if start + 4 * n > len(self.data):
            raise Unreadable("a vector runs past the end of the file")
        return list(struct.unpack_from(f"<{n}i", self.data, start))

    def tables(self, table: int, index: int) -> list[int]:
        at = self.field(table, index)
        if not at:
            return []
        start, n = self.vector(at)
        return [self.table(start + 4 * i) for i in range(n)]

    def string(self, table: int, index: int) -> str:
        at = self.field(table, index)
        if not at:
            return ""
        start, n = self.vector(at)
        return self.data[start:start + n].decode("utf-8", "replace")

    def byte(self, table: int, index: int, default: int = 0) -> int:
        at = self.field(table, index)
        return self.data[at] if at and at < len(self.data) else default


def tflite(path: Path) -> tuple[list[Triple], list[Triple]]:
    data = path.read_bytes()
    if len(data) < 16 or data[4:8] != b"TFL3":
        raise Unreadable(f"{path.name}: not a .tflite (LiteRT) model: no TFL3 identifier")
    fb = _FlatBuffer(data)
    try:
        subgraphs = fb.tables(fb.table(0), 2)
        if not subgraphs:
            raise Unreadable(f"{path.name}: the model has no subgraph")
        graph = subgraphs[0]
        tensors = fb.tables(graph, 0)

        def tensor(i: int) -> Triple:
            if not 0 <= i < len(tensors):
                raise Unreadable("a tensor index is out of range")
            t = tensors[i]
            dims = fb.ints(t, 7) or fb.ints(t, 0) or []
            kind = fb.byte(t, 1)
            dtype = _TFLITE_TYPES[kind] if kind < len(_TFLITE_TYPES) else f"type {kind}"
            return tuple(None if d < 0 else d for d in dims), dtype, fb.string(t, 3)

        return [tensor(i) for i in fb.ints(graph, 1) or []], [tensor(i) for i in fb.ints(graph, 2) or []]
    except (Unreadable, struct.error, IndexError) as exc:
        raise Unreadable(f"{path.name}: a damaged .tflite file ({exc})") from None


# --- Keras ----------------------------------------------------------------------------------------------------


def keras(path: Path) -> tuple[list[Triple], list[Triple] | None]:
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, OSError):
        raise Unreadable(f"{path.name}: not a .keras file (a zip archive with config.json)") from None
    except KeyError:
        raise Unreadable(f"{path.name}: a zip archive without config.json: not a .keras model") from None
    except ValueError as exc:
        raise Unreadable(f"{path.name}: its config.json is not valid JSON ({exc})") from None
    return keras_config(config, path.name)


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def h5(path: Path) -> tuple[list[Triple], list[Triple] | None]:
    data = path.read_bytes()
    if not any(data[at:at + 8] == HDF5_SIGNATURE for at in (0, 512, 1024, 2048, 4096)):
        raise Unreadable(f"{path.name}: not an HDF5 file")
    decoder = json.JSONDecoder()
    at = data.find(b'{"class_name"')
    while at >= 0:
        try:
            config, _ = decoder.raw_decode(data[at:at + (64 << 20)].decode("utf-8", "replace"))
            if isinstance(config, dict) and isinstance(config.get("config"), dict):
                return keras_config(config, path.name)
        except ValueError:
            pass
        at = data.find(b'{"class_name"', at + 1)
    raise Unreadable(f"{path.name}: an HDF5 file without a Keras model config (weights only?)")


_SAME = {"Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "Dropout", "SpatialDropout1D",
         "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "BatchNormalization",
         "LayerNormalization", "GroupNormalization", "UnitNormalization", "Rescaling", "Normalization", "RandomFlip",
         "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness", "Identity",
         "ActivityRegularization", "Masking", "ThresholdedReLU"}
_GLOBAL_POOL = {"GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
                "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAvgPool2D", "GlobalMaxPool2D"}
_CONV = {"Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "Conv2DTranspose", "Convolution2D"}
_POOL = {"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
         "MaxPool2D", "AvgPool2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D"}
_MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
_MODELS = {"Functional", "Sequential", "Model"}


def _dtype(value: Any) -> str:
    if isinstance(value, dict):  # Keras 3: a DTypePolicy
        value = (value.get("config") or {}).get("name", "float32")
    value = str(value or "float32")
    return value.removeprefix("mixed_")


def _batch_shape(config: dict) -> Shape | None:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and config.get("shape") is not None:  # Keras 3 InputLayer(shape=…)
        shape = [None, *config["shape"]]
    return tuple(None if d is None else int(d) for d in shape) if isinstance(shape, list) else None


def _layer_out(layer: dict, ins: list[Shape]) -> Shape | None:
    """A layer's output shape from its inputs' (channels last), or None when it is not one of the layers known here."""
    kind, c = layer.get("class_name", ""), layer.get("config") or {}
    if not ins or any(s is None for s in ins):
        return None
    x = ins[0]
    if kind in _MODELS:
        return _model_out(layer, x)
    if kind in _SAME or kind in _MERGE:
        return x
    if kind == "Dense":
        return (*x[:-1], int(c["units"])) if "units" in c else None
    if kind == "Flatten":
        rest = x[1:]
        return (x[0], None if None in rest else math.prod(rest))  # type: ignore[arg-type]
    if kind in _GLOBAL_POOL:
        return (x[0], *(1,) * (len(x) - 2), x[-1]) if c.get("keepdims") else (x[0], x[-1])
    if kind in _CONV:
        return (x[0], *(None,) * (len(x) - 2), int(c["filters"])) if "filters" in c else None
    if kind == "DepthwiseConv2D":
        mult = int(c.get("depth_multiplier", 1))
        return (x[0], None, None, None if x[-1] is None else x[-1] * mult)
    if kind in _POOL:
        return (x[0], *(None,) * (len(x) - 2), x[-1])
    if kind in ("Resizing", "CenterCrop", "RandomCrop"):
        return (x[0], c.get("height"), c.get("width"), x[-1])
    if kind == "Reshape" and isinstance(c.get("target_shape"), list):
        target = [None if d == -1 else d for d in c["target_shape"]]
        return (x[0], *target)
    if kind == "Concatenate" and c.get("axis", -1) in (-1, len(x) - 1):
        lasts = [s[-1] for s in ins if s is not None]
        return (*x[:-1], None if None in lasts else sum(lasts))  # type: ignore[arg-type]
    return None


def _keras3_inputs(node: Any) -> list[Shape] | None:
    """The input shapes a Keras 3 inbound node records (its args' __keras_tensor__ entries)."""
    found: list[Shape] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            shape = (v.get("config") or {}).get("shape")
            if isinstance(shape, list):
                found.append(tuple(None if d is None else int(d) for d in shape))
        elif isinstance(v, list):
            for item in v:
                walk(item)

    if isinstance(node, dict):
        walk(node.get("args", []))
    return found or None


def _inbound_names(node: Any) -> list[str]:
    """The layers feeding a node: Keras 3 (keras_history) or Keras 2 ([[name, i, j, {}], …])."""
    names: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if v.get("class_name") == "__keras_tensor__":
                history = (v.get("config") or {}).get("keras_history")
                if isinstance(history, list) and history:
                    names.append(str(history[0]))
            else:
                for item in v.values():
                    walk(item)
        elif isinstance(v, list):
            if len(v) >= 3 and isinstance(v[0], str) and isinstance(v[1], int):
                names.append(v[0])
            else:
                for item in v:
                    walk(item)

    walk(node)
    return names


def _refs(value: Any) -> list[str]:
    """input_layers / output_layers: [[name, 0, 0], …], or [name, 0, 0] for a single tensor."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value[0]]
    return [v[0] for v in value or [] if isinstance(v, list) and v]


def _model_out(model: dict, given: Shape | None = None) -> Shape | None:
    c = model.get("config") or {}
    layers = c.get("layers") or []
    if model.get("class_name") == "Sequential":
        shape = given
        for layer in layers:
            if layer.get("class_name") == "InputLayer":
                shape = _batch_shape(layer.get("config") or {}) or shape
                continue
            if shape is None:
                shape = _batch_shape(layer.get("config") or {})
            shape = _layer_out(layer, [shape]) if shape is not None else None
            if shape is None:
                return None
        return shape
    by_name = {layer.get("name") or (layer.get("config") or {}).get("name"): layer for layer in layers}
    outputs = _refs(c.get("output_layers"))
    if len(outputs) != 1 or outputs[0] not in by_name:
        return None
    out = by_name[outputs[0]]
    node = (out.get("inbound_nodes") or [None])[0]
    ins = _keras3_inputs(node)  # Keras 3: the output layer's own input shapes are in its node
    if ins is not None and given is None:
        return _layer_out(out, ins)
    shapes: dict[str, Shape | None] = {}
    firsts = _refs(c.get("input_layers"))
    for layer in layers:  # in the config's (topological) order
        name = str(layer.get("name") or (layer.get("config") or {}).get("name"))
        if layer.get("class_name") == "InputLayer":
            shapes[name] = given if given is not None and name in firsts else _batch_shape(layer.get("config") or {})
            continue
        nodes = layer.get("inbound_nodes") or []
        feeding = _inbound_names(nodes[0]) if nodes else []
        shapes[name] = _layer_out(layer, [shapes.get(n) for n in feeding])  # type: ignore[misc]
    return shapes.get(outputs[0])


def keras_config(config: dict, where: str) -> tuple[list[Triple], list[Triple] | None]:
    """(inputs, output or None) of a Keras model's config (Functional or Sequential, Keras 2 or 3)."""
    c = config.get("config") if isinstance(config, dict) else None
    if not isinstance(c, dict) or config.get("class_name") not in _MODELS:
        raise Unreadable(f"{where}: its config is not a Keras model's (class {config.get('class_name')!r})")
    layers = c.get("layers") or []
    inputs: list[Triple] = []
    if config.get("class_name") == "Sequential":
        first = layers[0] if layers else {}
        shape = _batch_shape(first.get("config") or {})
        if shape is None:
            build = config.get("build_config") or {}
            raw = build.get("input_shape") or c.get("build_input_shape")
            shape = tuple(None if d is None else int(d) for d in raw) if isinstance(raw, list) else None
        if shape is None:
            raise Unreadable(f"{where}: a Sequential model whose input shape is not saved (build it before saving)")
        inputs.append((shape, _dtype((first.get("config") or {}).get("dtype")), first.get("name", "")))
    else:
        by_name = {layer.get("name") or (layer.get("config") or {}).get("name"): layer for layer in layers}
        for name in _refs(c.get("input_layers")):
            layer = by_name.get(name) or {}
            shape = _batch_shape(layer.get("config") or {})
            if shape is None:
                raise Unreadable(f"{where}: input {name!r} has no shape in the config")
            inputs.append((shape, _dtype((layer.get("config") or {}).get("dtype")), name))
    try:
        out = _model_out(config)
    except (KeyError, TypeError, ValueError):
        out = None
    return inputs, None if out is None else [(out, "float32", "")]


# --- SavedModel ----------------------------------------------------------------------------------------------

_TF_TYPES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 8: "complex64",
             9: "int64", 10: "bool", 14: "bfloat16", 17: "uint16", 19: "float16", 22: "uint32", 23: "uint64"}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise Unreadable("a varint runs past the end")
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def _fields(data: bytes, start: int, end: int):
    """(field number, value: an int, or the (start, end) of a length-delimited field)."""
    at = start
    while at < end:
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, value
        elif wire == 2:
            n, at = _varint(data, at)
            if at + n > end:
                raise Unreadable("a field runs past its message")
            yield number, (at, at + n)
            at += n
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise Unreadable(f"wire type {wire}")


def _map_entries(data: bytes, span: tuple[int, int]) -> tuple[str, tuple[int, int]]:
    key, value = "", (0, 0)
    for number, v in _fields(data, *span):
        if number == 1 and isinstance(v, tuple):
            key = data[v[0]:v[1]].decode("utf-8", "replace")
        elif number == 2 and isinstance(v, tuple):
            value = v
    return key, value


def _tensor_info(data: bytes, name: str, span: tuple[int, int]) -> Triple:
    dtype, dims, unknown_rank = "invalid", [], False
    for number, v in _fields(data, *span):
        if number == 2 and isinstance(v, int):
            dtype = _TF_TYPES.get(v, f"type {v}")
        elif number == 3 and isinstance(v, tuple):
            for n2, dim in _fields(data, *v):
                if n2 == 2 and isinstance(dim, tuple):
                    size = -1
                    for n3, s in _fields(data, *dim):
                        if n3 == 1 and isinstance(s, int):
                            size = s - (1 << 64) if s >= 1 << 63 else s
                    dims.append(None if size < 0 else size)
                elif n2 == 3 and isinstance(dim, int) and dim:
                    unknown_rank = True
    if unknown_rank:
        raise Unreadable(f"the signature's {name!r} has an unknown rank")
    return tuple(dims), dtype, name


def saved_model(directory: Path) -> tuple[list[Triple], list[Triple]]:
    path = directory / "saved_model.pb"
    data = path.read_bytes()
    try:
        for number, graph in _fields(data, 0, len(data)):
            if number != 2 or not isinstance(graph, tuple):
                continue
            for n2, entry in _fields(data, *graph):
                if n2 != 5 or not isinstance(entry, tuple):
                    continue
                key, sig = _map_entries(data, entry)
                if key != "serving_default":
                    continue
                ins: list[Triple] = []
                outs: list[Triple] = []
                for n3, item in _fields(data, *sig):
                    if n3 in (1, 2) and isinstance(item, tuple):
                        name, info = _map_entries(data, item)
                        (ins if n3 == 1 else outs).append(_tensor_info(data, name, info))
                return sorted(ins, key=lambda t: t[2]), sorted(outs, key=lambda t: t[2])
    except Unreadable as exc:
        raise Unreadable(f"{directory.name}/saved_model.pb: damaged ({exc})") from None
    raise Unreadable(f"{directory.name}: the SavedModel has no serving_default signature")
