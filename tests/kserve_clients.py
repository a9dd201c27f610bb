"""KServe's own clients against the recognizer; run by tests/test_protocols.py with the Python of a separate
virtual environment that has the `kserve` package (it pins versions of kubernetes and python-dateutil that
differ from aitui's, so it does not go into aitui's environment).

    python kserve_clients.py HTTP_URL GRPC_ADDRESS DIR
DIR holds images.npy (object array of PNG bytes) and pixels.npy (float32 [N, 32, 32, 3]). Prints one JSON
object: for each case, the top-1 labels it got back (or the error it got)."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path

import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

MODEL = "recognizer"


def top1(response) -> list[str]:
    labels = next(o for o in response.outputs if o.name == "labels").as_numpy()
    return [x.decode() if isinstance(x, bytes) else str(x) for x in labels.reshape(len(labels), -1)[:, 0]]


def request(data: np.ndarray, datatype: str, binary: bool, binary_outputs: bool | None = None) -> InferRequest:
    inp = InferInput("image", list(data.shape), datatype)
    inp.set_data_from_numpy(data, binary_data=binary)
    params = None if binary_outputs is None else {"binary_data_output": binary_outputs}
    return InferRequest(MODEL, [inp], request_id="kserve-1", parameters=params)


async def main(http: str, grpc_address: str, folder: Path) -> dict:
    images = np.load(folder / "images.npy", allow_pickle=True)
    pixels = np.load(folder / "pixels.npy")
    b64 = np.array([base64.b64encode(i) for i in images], dtype=np.object_)
    out: dict = {}

    v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
    out["rest_ready"] = [await v2.is_server_live(http), await v2.is_server_ready(http),
                         await v2.is_model_ready(http, MODEL)]
    cases = {"rest_bytes_binary_in_binary_out": request(images, "BYTES", True, True),
             "rest_bytes_binary_in_json_out": request(images, "BYTES", True),
             "rest_bytes_json": request(b64, "BYTES", False),
             "rest_fp32_binary": request(pixels, "FP32", True, True),
             "rest_fp32_json": request(pixels, "FP32", False)}
    for name, req in cases.items():
        out[name] = top1(await v2.infer(http, req, model_name=MODEL))
    picked = request(images, "BYTES", True)
    picked.request_outputs = [RequestedOutput("labels", {"binary_data": True})]
    res = await v2.infer(http, picked, model_name=MODEL)
    out["rest_requested_output"] = [o.name for o in res.outputs] + top1(res)
    await v2.close()

    v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=0))
    res = await v1.infer(http, {"instances": [{"b64": x.decode()} for x in b64]}, model_name=MODEL)
    out["rest_v1"] = [p["labels"][0] for p in res["predictions"]]
    await v1.close()

    g = InferenceGRPCClient(grpc_address, retries=0)
    out["grpc_ready"] = [await g.is_server_live(), await g.is_server_ready(), await g.is_model_ready(MODEL)]
    out["grpc_bytes"] = top1(await g.infer(request(images, "BYTES", True)))
    out["grpc_fp32"] = top1(await g.infer(request(pixels, "FP32", True)))
    try:
        await g.infer(request(np.array([b"junk"], dtype=np.object_), "BYTES", True))
        out["grpc_error"] = None
    except Exception as exc:  # grpc.aio.AioRpcError
        out["grpc_error"] = [str(exc.code()), exc.details()]  # type: ignore[attr-defined]
    await g.close()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))))
