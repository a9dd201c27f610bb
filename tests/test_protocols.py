"""The recognizer against other people's clients (issue #16): Triton's `tritonclient` over OIP v2 REST
(binary tensor data extension and plain JSON, FP32 and BYTES, in and out) and over OIP v2 gRPC; TF
Serving's v1 URL forms (versions/N, labels/L); the new paths fuzzed like the JSON ones. All against a real
container from the real image, both ports published on 127.0.0.1."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from conftest import Replica, Replicas, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from recognizer import dataset
from test_hostile_input import assert_clean
from test_recognizer import metric
from tritonclient.grpc import service_pb2 as pb
from tritonclient.utils import InferenceServerException, serialize_byte_tensor

pytestmark = pytest.mark.docker
MODEL = "recognizer"
SIZE = 32
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
INFER = "/inference.GRPCInferenceService/ModelInfer"


class Ports(Replica):
    def __init__(self, container, port: int, grpc_port: int) -> None:
        super().__init__(container, port)
        self.grpc = f"127.0.0.1:{grpc_port}"


def start(replicas: Replicas, env: dict[str, str] | None = None) -> Ports:
    """A recognizer with its HTTP (8501) and gRPC (8500) ports published on 127.0.0.1, once ready."""
    c = replicas.docker.containers.run(replicas.image, detach=True, read_only=True, labels={"io.aitui.test": "1"},
                                       environment=env or {},
                                       ports={"8501/tcp": ("127.0.0.1", None), "8500/tcp": ("127.0.0.1", None)})
    replicas.started.append(c)

    def ports() -> tuple[int, int] | None:
        c.reload()
        if c.status == "exited":
            raise AssertionError(f"container exited: {c.logs().decode()[-2000:]}")
        p = c.attrs["NetworkSettings"]["Ports"] or {}
        if not (p.get("8501/tcp") and p.get("8500/tcp")):
            return None
        http, grpc_ = int(p["8501/tcp"][0]["HostPort"]), int(p["8500/tcp"][0]["HostPort"])
        return (http, grpc_) if requests.get(f"http://127.0.0.1:{http}/v2/health/ready", timeout=1).ok else None

    http, grpc_port = wait_until(ports, 60, "the recognizer to be ready on both ports")  # type: ignore[misc]
    return Ports(c, http, grpc_port)


@pytest.fixture(scope="module")
def server(docker_client, recognizer_image: str) -> Iterator[Ports]:
    replicas = Replicas(docker_client, recognizer_image)
    yield start(replicas)
    replicas.close()


def pngs(n: int, seed: int) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """n held-out images: (PNG bytes drawn at 64x64, the same images as 32x32 pixels, labels)."""
    big, y = dataset.generate(n, seed=seed, size=64)
    encoded = []
    for img in big:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        encoded.append(buf.getvalue())
    small, _ = dataset.generate(n, seed=seed, size=SIZE)
    return encoded, small.astype(np.float32), y


def v1_top1(server: Replica, images: list[bytes]) -> list[str]:
    import base64

    r = requests.post(f"{server.url}/v1/models/{MODEL}:predict", timeout=30,
                      json={"instances": [{"b64": base64.b64encode(i).decode()} for i in images]})
    assert r.status_code == 200, r.text
    return [p["labels"][0] for p in r.json()["predictions"]]


def accuracy(top1: list[str], y: np.ndarray) -> float:
    return float(np.mean([t == dataset.LABELS[k] for t, k in zip(top1, y, strict=True)]))


# --- OIP v2 REST with tritonclient.http -------------------------------------------------------------------


def test_tritonclient_http_health_and_metadata(server: Ports) -> None:
    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert c.is_server_live() and c.is_server_ready() and c.is_model_ready(MODEL)
    assert not c.is_model_ready("nope")
    meta = c.get_model_metadata(MODEL)
    assert meta["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, SIZE, SIZE, 3]}]
    assert [o["name"] for o in meta["outputs"]] == ["probabilities", "labels", "scores"]
    assert "binary_tensor_data" in c.get_server_metadata()["extensions"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("datatype", ["BYTES", "FP32"])
def test_tritonclient_http_infer(server: Ports, binary: bool, datatype: str) -> None:
    """tritonclient's defaults (binary_data=True, no outputs named: all outputs come back binary) and its
    JSON mode; encoded images as BYTES (raw bytes in binary mode, base64 text in JSON) and pixel tensors."""
    import base64

    images, pixels, y = pngs(12, seed=515151)
    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    if datatype == "BYTES":
        data = np.array(images if binary else [base64.b64encode(i) for i in images], dtype=np.object_)
    else:
        data = pixels
    inp = httpclient.InferInput("image", list(data.shape), datatype)
    inp.set_data_from_numpy(data, binary_data=binary)
    outputs = None if binary else [httpclient.InferRequestedOutput(n, binary_data=False)
                                   for n in ("labels", "probabilities", "scores")]
    result = c.infer(MODEL, [inp], outputs=outputs, request_id="r-7")
    resp = result.get_response()
    assert resp["id"] == "r-7" and resp["model_name"] == MODEL
    assert all(("data" in o) != binary for o in resp["outputs"]), resp  # binary outputs carry no "data"
    labels, probs, scores = result.as_numpy("labels"), result.as_numpy("probabilities"), result.as_numpy("scores")
    assert labels.shape == (12, 5) and probs.shape == (12, 10) and scores.shape == (12, 5)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(axis=1), 1, atol=1e-3)
    top1 = [(s.decode() if isinstance(s, bytes) else str(s)) for s in labels[:, 0]]
    assert np.allclose(scores[:, 0], probs.max(axis=1), atol=1e-5)
    assert accuracy(top1, y) >= 0.9, top1
    if datatype == "BYTES":
        assert top1 == v1_top1(server, images)  # same images, same answers as TF Serving's protocol


def test_tritonclient_http_mixed_binary_outputs_and_version_url(server: Ports) -> None:
    images, _, _ = pngs(3, seed=8)
    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    inp = httpclient.InferInput("image", [3], "BYTES")
    inp.set_data_from_numpy(np.array(images, dtype=np.object_))
    result = c.infer(MODEL, [inp], model_version="1", outputs=[
        httpclient.InferRequestedOutput("labels", binary_data=True),
        httpclient.InferRequestedOutput("scores", binary_data=False)])
    out = {o["name"]: o for o in result.get_response()["outputs"]}
    assert set(out) == {"labels", "scores"}
    assert "data" not in out["labels"] and len(out["scores"]["data"]) == 15
    assert result.as_numpy("labels").shape == (3, 5)
    with pytest.raises(InferenceServerException) as e:
        c.infer(MODEL, [inp], model_version="2")
    assert e.value.status() == "404"


def test_tritonclient_http_errors_are_clear(server: Ports) -> None:
    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    bad = httpclient.InferInput("image", [1, 8, 8, 3], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(InferenceServerException) as e:
        c.infer(MODEL, [bad])
    assert e.value.status() == "400" and "shape" in e.value.message()
    junk = httpclient.InferInput("image", [1], "BYTES")
    junk.set_data_from_numpy(np.array([b"hello"], dtype=np.object_))
    with pytest.raises(InferenceServerException) as e:
        c.infer(MODEL, [junk])
    assert e.value.status() == "400" and "not an image" in e.value.message()


# --- OIP v2 gRPC with tritonclient.grpc -------------------------------------------------------------------


def test_tritonclient_grpc_health_and_metadata(server: Ports) -> None:
    c = grpcclient.InferenceServerClient(url=server.grpc)
    assert c.is_server_live() and c.is_server_ready() and c.is_model_ready(MODEL)
    meta = c.get_model_metadata(MODEL, as_json=True)
    assert meta["name"] == MODEL and meta["versions"] == ["1"]
    assert meta["inputs"][0]["datatype"] == "FP32" and meta["inputs"][0]["shape"] == ["-1", "32", "32", "3"]
    assert [o["name"] for o in meta["outputs"]] == ["probabilities", "labels", "scores"]
    assert "binary_tensor_data" in c.get_server_metadata(as_json=True)["extensions"]
    with pytest.raises(InferenceServerException) as e:
        c.get_model_metadata("nope")
    assert e.value.status() == "StatusCode.NOT_FOUND"
    c.close()


@pytest.mark.parametrize("datatype", ["BYTES", "FP32"])
def test_tritonclient_grpc_infer(server: Ports, datatype: str) -> None:
    images, pixels, y = pngs(12, seed=626262)
    c = grpcclient.InferenceServerClient(url=server.grpc)
    data = np.array(images, dtype=np.object_) if datatype == "BYTES" else pixels
    inp = grpcclient.InferInput("image", list(data.shape), datatype)
    inp.set_data_from_numpy(data)  # raw_input_contents
    result = c.infer(MODEL, [inp], request_id="g-1")
    assert result.get_response().id == "g-1"
    labels, probs = result.as_numpy("labels"), result.as_numpy("probabilities")
    assert labels.shape == (12, 5) and probs.shape == (12, 10) and probs.dtype == np.float32
    top1 = [s.decode() for s in labels[:, 0]]
    assert accuracy(top1, y) >= 0.9, top1
    only = c.infer(MODEL, [inp], outputs=[grpcclient.InferRequestedOutput("scores")])
    assert [o.name for o in only.get_response().outputs] == ["scores"]
    assert np.allclose(only.as_numpy("scores")[:, 0], probs.max(axis=1), atol=1e-6)
    if datatype == "BYTES":
        assert top1 == v1_top1(server, images)
    c.close()


def test_grpc_typed_contents_and_errors(server: Ports) -> None:
    """The other way to send tensors (InferTensorContents instead of raw bytes), and bad requests get the
    gRPC status TF Serving maps the same HTTP code to, with a message that says why."""
    images, pixels, _ = pngs(2, seed=3)
    with grpc.insecure_channel(server.grpc) as ch:
        infer = ch.unary_unary(INFER, request_serializer=pb.ModelInferRequest.SerializeToString,
                               response_deserializer=pb.ModelInferResponse.FromString)
        req = pb.ModelInferRequest(model_name=MODEL)
        req.inputs.add(name="image", datatype="BYTES", shape=[2]).contents.bytes_contents.extend(images)
        assert len(infer(req, timeout=10).raw_output_contents) == 3
        req = pb.ModelInferRequest(model_name=MODEL)
        req.inputs.add(name="image", datatype="FP32", shape=[2, SIZE, SIZE, 3]).contents.fp32_contents.extend(
            pixels.reshape(-1).tolist())
        assert len(infer(req, timeout=10).outputs) == 3

        def status(req: pb.ModelInferRequest) -> tuple[grpc.StatusCode, str]:
            with pytest.raises(grpc.RpcError) as e:
                infer(req, timeout=10)
            return e.value.code(), e.value.details()

        req = pb.ModelInferRequest(model_name="nope")
        assert status(req)[0] == grpc.StatusCode.NOT_FOUND
        req = pb.ModelInferRequest(model_name=MODEL)
        req.inputs.add(name="image", datatype="FP32", shape=[1, SIZE, SIZE, 3])
        req.raw_input_contents.append(b"\0" * 100)
        code, details = status(req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "12288 bytes" in details
        req = pb.ModelInferRequest(model_name=MODEL)
        req.inputs.add(name="image", datatype="BYTES", shape=[1])
        req.raw_input_contents.append(serialize_byte_tensor(np.array([b"hello"], dtype=np.object_)).item())
        code, details = status(req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "not an image" in details
        req = pb.ModelInferRequest(model_name=MODEL)
        req.inputs.add(name="image", datatype="BYTES", shape=[1000])
        code, details = status(req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "limit" in details


def test_grpc_requests_are_in_the_same_prometheus_metrics(server: Ports) -> None:
    def counts() -> tuple[float, float, float]:
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        return (metric(text, "recognizer_requests_total", protocol="grpc", code="200"),
                metric(text, "recognizer_requests_total", protocol="grpc", code="400"),
                metric(text, "recognizer_request_duration_seconds_count", protocol="grpc"))

    ok0, bad0, n0 = counts()
    images, _, _ = pngs(1, seed=11)
    c = grpcclient.InferenceServerClient(url=server.grpc)
    inp = grpcclient.InferInput("image", [1], "BYTES")
    inp.set_data_from_numpy(np.array(images, dtype=np.object_))
    for _ in range(3):
        c.infer(MODEL, [inp])
    bad = grpcclient.InferInput("image", [1], "BYTES")
    bad.set_data_from_numpy(np.array([b"junk"], dtype=np.object_))
    with pytest.raises(InferenceServerException):
        c.infer(MODEL, [bad])
    c.close()
    ok1, bad1, n1 = counts()
    assert (ok1 - ok0, bad1 - bad0, n1 - n0) == (3, 1, 4)


# --- KServe's own clients (REST v1/v2 and gRPC), from their own environment ------------------------------

KSERVE = "kserve==0.21.0"


@pytest.fixture(scope="session")
def kserve_python() -> str:
    """The Python of a virtual environment with KServe's package, made once per machine (~1 min) in the user's
    cache. Separate from aitui's: kserve pins kubernetes and python-dateutil to other versions."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aitui" / KSERVE.replace("==", "-")
    python = home / "bin" / "python"
    if not (home / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True, timeout=120)
        r = subprocess.run([str(python), "-m", "pip", "install", "-q", KSERVE], capture_output=True, text=True,
                           timeout=900)
        if r.returncode != 0:
            pytest.fail(f"installing {KSERVE} into {home} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        (home / ".complete").touch()
    return str(python)


def test_kserve_rest_and_grpc_clients(server: Ports, kserve_python: str, tmp_path) -> None:
    import subprocess
    from pathlib import Path

    images, pixels, y = pngs(10, seed=737373)
    np.save(tmp_path / "images.npy", np.array(images, dtype=np.object_), allow_pickle=True)
    np.save(tmp_path / "pixels.npy", pixels)
    script = Path(__file__).with_name("kserve_clients.py")
    r = subprocess.run([kserve_python, str(script), server.url, server.grpc, str(tmp_path)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got.pop("rest_ready") == [True, True, True] and got.pop("grpc_ready") == [True, True, True]
    code, details = got.pop("grpc_error")
    assert code == "StatusCode.INVALID_ARGUMENT" and "not an image" in details
    picked = got.pop("rest_requested_output")
    assert picked[0] == "labels" and len(picked) == 11
    reference = v1_top1(server, images)
    assert accuracy(reference, y) >= 0.9
    for case in ("rest_bytes_binary_in_binary_out", "rest_bytes_binary_in_json_out", "rest_bytes_json", "rest_v1",
                 "grpc_bytes"):
        assert got.pop(case) == reference, case
    for case in ("rest_fp32_binary", "rest_fp32_json", "grpc_fp32"):  # the same images drawn at 32x32
        assert accuracy(got.pop(case), y) >= 0.9, case
    assert got == {}


# --- TF Serving v1 URL forms ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/versions/1", "/labels/stable"])
def test_tf_serving_version_and_label_urls(server: Ports, prefix: str) -> None:
    import base64

    base = f"{server.url}/v1/models/{MODEL}{prefix}"
    status = requests.get(base, timeout=5)
    assert status.status_code == 200 and status.json()["model_version_status"][0]["state"] == "AVAILABLE"
    assert requests.get(f"{base}/metadata", timeout=5).json()["model_spec"]["version"] == "1"
    images, _, _ = pngs(2, seed=5)
    r = requests.post(f"{base}:predict", timeout=10,
                      json={"instances": [{"b64": base64.b64encode(i).decode()} for i in images]})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2


@pytest.mark.parametrize(("prefix", "words"), [("/versions/2", "Specific(recognizer, 2)"),
                                               ("/labels/canary", "label: canary")])
def test_unknown_versions_and_labels_are_404(server: Ports, prefix: str, words: str) -> None:
    base = f"{server.url}/v1/models/{MODEL}{prefix}"
    for r in (requests.get(base, timeout=5), requests.get(f"{base}/metadata", timeout=5),
              requests.post(f"{base}:predict", json={"instances": []}, timeout=5)):
        assert r.status_code == 404 and words in r.json()["error"], r.text


# --- the new paths, fuzzed --------------------------------------------------------------------------------

GOOD_PNG = pngs(1, seed=1)[0][0]
DATATYPES = st.sampled_from(["BYTES", "FP32", "UINT8", "INT64", "FP16", "BOOL", "", "fp32"])
SHAPES = st.lists(st.integers(-3, 2**62) | st.sampled_from([0, 1, 3, SIZE]), max_size=5) | \
    st.sampled_from([[1], [2], [1, SIZE, SIZE, 3], [1, 1], [2**40]])


def binary_tensor(data: st.DataObject, datatype: str, shape: list[int]) -> bytes:
    """Tensor bytes that may or may not fit the declared datatype and shape."""
    kind = data.draw(st.sampled_from(["fit", "png", "lying-lengths", "random"]))
    if kind == "fit" and datatype != "BYTES" and all(0 <= d < 64 for d in shape) and np.prod(shape) < 20000:
        return np.full(shape, data.draw(st.sampled_from([0.0, 255.0, 300.0, float("nan")])), "<f4").tobytes()
    if kind in ("fit", "png"):
        png = GOOD_PNG[: data.draw(st.integers(0, len(GOOD_PNG)))]
        return len(png).to_bytes(4, "little") + png
    if kind == "lying-lengths":
        return b"".join(data.draw(st.integers(0, 2**32 - 1)).to_bytes(4, "little") + data.draw(st.binary(max_size=40))
                        for _ in range(data.draw(st.integers(1, 3))))
    return data.draw(st.binary(max_size=300))


@FUZZ
@given(data=st.data())
def test_binary_extension_with_lying_headers_truncated_bodies_and_huge_shapes(server: Ports, data) -> None:
    datatype, shape = data.draw(DATATYPES), data.draw(SHAPES)
    raw = binary_tensor(data, datatype, shape)
    declared = data.draw(st.sampled_from([len(raw), len(raw) + 1, max(len(raw) - 1, 0), -1, 2**40, "x", True]))
    inp = {"name": "image", "datatype": datatype, "shape": shape, "parameters": {"binary_data_size": declared}}
    if data.draw(st.booleans()):
        inp["data"] = [1.0]
    req = {"inputs": [inp], "parameters": {"binary_data_output": data.draw(st.sampled_from([True, False, "yes"]))}}
    head = json.dumps(req).encode()
    body = head + raw
    cut = data.draw(st.sampled_from([len(body), len(head), len(head) - 1, len(body) // 2, 0]))
    header = data.draw(st.sampled_from([str(len(head)), str(len(head) + 5), str(len(head) - 3), "0", "-4",
                                        str(2**64), "12abc", "1.5", "", str(len(body) + 10)]))
    r = requests.post(f"{server.url}/v2/models/{MODEL}/infer", data=body[:cut], timeout=30,
                      headers={"Inference-Header-Content-Length": header, "Content-Type": "application/octet-stream"})
    assert_clean(r, (header, req, cut))


@FUZZ
@given(data=st.data())
def test_grpc_infer_with_hostile_messages(server: Ports, data) -> None:
    datatype, shape = data.draw(DATATYPES), data.draw(SHAPES)
    req = pb.ModelInferRequest(model_name=data.draw(st.sampled_from([MODEL, MODEL, "", "x" * 300])),
                               model_version=data.draw(st.sampled_from(["", "1", "2"])))
    for _ in range(data.draw(st.integers(0, 2))):
        req.inputs.add(name="image", datatype=datatype, shape=shape)
    if req.inputs and data.draw(st.booleans()):
        req.inputs[0].contents.fp32_contents.extend(data.draw(st.lists(st.floats(width=32), max_size=50)))
    for _ in range(data.draw(st.integers(0, 2))):
        req.raw_input_contents.append(binary_tensor(data, datatype, shape))
    for name in data.draw(st.lists(st.sampled_from(["labels", "nope", ""]), max_size=2)):
        req.outputs.add(name=name)
    message = req.SerializeToString()
    if data.draw(st.integers(0, 4)) == 0:  # not even a valid protobuf message
        message = message[: data.draw(st.integers(0, len(message)))] + data.draw(st.binary(max_size=20))
    with grpc.insecure_channel(server.grpc) as ch:
        infer = ch.unary_unary(INFER, request_serializer=lambda m: m,
                               response_deserializer=pb.ModelInferResponse.FromString)
        try:
            infer(message, timeout=30)
        except grpc.RpcError as e:
            assert e.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (e.code(), e.details())
            assert e.details().strip()


def test_the_server_is_still_ready_and_never_restarted_after_the_fuzzing(server: Ports) -> None:
    assert requests.get(f"{server.url}/v2/health/ready", timeout=5).status_code == 200
    c = grpcclient.InferenceServerClient(url=server.grpc)
    assert c.is_server_ready()
    c.close()
    server.container.reload()
    assert server.container.attrs["RestartCount"] == 0 and server.container.status == "running"


def test_grpc_drains_on_sigterm_like_rest(docker_client, recognizer_image: str) -> None:
    """SIGTERM under gRPC load: ServerReady turns false at once, requests keep being answered during the
    drain, and the process exits cleanly."""
    import threading
    import time

    replicas = Replicas(docker_client, recognizer_image)
    try:
        s = start(replicas, env={"RECOGNIZER_DRAIN_SECONDS": "5"})
        inp = grpcclient.InferInput("image", [1], "BYTES")
        inp.set_data_from_numpy(np.array([GOOD_PNG], dtype=np.object_))
        stop = threading.Event()
        outcomes: list[tuple[float, str]] = []

        def client() -> None:
            c = grpcclient.InferenceServerClient(url=s.grpc)
            deadline = time.monotonic() + 30
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    c.infer(MODEL, [inp], client_timeout=10)
                    outcomes.append((time.monotonic(), "OK"))
                except InferenceServerException as exc:
                    outcomes.append((time.monotonic(), str(exc.status())))
                    time.sleep(0.05)
            c.close()

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(outcomes) >= 20, 20, "gRPC load to be flowing")
        probe = grpcclient.InferenceServerClient(url=s.grpc)
        s.container.kill(signal="SIGTERM")
        wait_until(lambda: not probe.is_server_ready(), 5, "gRPC ServerReady to turn false")
        ready_false_at = time.monotonic()
        assert s.container.wait(timeout=20)["StatusCode"] == 0
        stop.set()
        for t in threads:
            t.join(30)
        probe.close()
        answered_while_draining = sum(1 for t, o in outcomes if t > ready_false_at and o == "OK")
        assert answered_while_draining > 0, outcomes[-10:]
        # Every request during the drain (5 s) is answered; at its end the listener closes, and what is in
        # flight or arrives then is refused (UNAVAILABLE) or cut (CANCELLED): a client's cue to retry elsewhere.
        early = [(t - ready_false_at, o) for t, o in outcomes if o != "OK" and t < ready_false_at + 4.0]
        assert early == [], early
        assert {o for _, o in outcomes if o != "OK"} <= {"StatusCode.UNAVAILABLE", "StatusCode.CANCELLED"}
        assert "stopped" in s.container.logs().decode()
    finally:
        replicas.close()
