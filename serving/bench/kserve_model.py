"""The recognizer's model behind KServe's Python ModelServer, for serving/bench/peers.py (not in the image).

A custom kserve.Model, the way KServe's documentation writes one: the same .tflite file, the same LiteRT
runtime class and the same image decoding as the recognizer (recognizer.runtime, recognizer.codec), one image
per call (the ModelServer has no batcher of its own), and the same three outputs. Run with a Python that has
`kserve` and `ai-edge-litert`, with the recognizer package on PYTHONPATH:

    python kserve_model.py --model_dir DIR --http_port 8080 --grpc_port 8081 --enable_latency_logging false
"""

from __future__ import annotations

import argparse
import logging

import kserve
import numpy as np
from kserve import InferOutput, InferRequest, InferResponse
from recognizer import codec
from recognizer.runtime import LiteRT, ModelFiles

MAX_PIXELS = 40_000_000


class Recognizer(kserve.Model):
    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.load()

    def load(self) -> bool:
        self.files = ModelFiles.load(self.model_dir)
        self.runtime = LiteRT(self.files, threads=1, max_batch=1)
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers: dict[str, str] | None = None) -> InferResponse:
        inp = payload.inputs[0]
        if inp.datatype != "BYTES":
            raise kserve.errors.InvalidInput("send BYTES: base64-encoded images")
        size = self.files.input
        batch = np.stack([codec.decode_image(codec.b64decode(d), size, MAX_PIXELS) for d in inp.data])
        probs = self.runtime.predict(batch)
        outputs = []
        for name, datatype, shape, value in codec.v2_outputs(probs, self.files.labels, None):
            out = InferOutput(name=name, shape=shape, datatype=datatype)
            if datatype == "BYTES":
                out.data = value
            else:
                out.set_data_from_numpy(np.asarray(value, np.float32).reshape(shape), binary_data=False)
            outputs.append(out)
        return InferResponse(response_id=payload.id or "", model_name=self.name, model_version="1",
                             infer_outputs=outputs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_dir", required=True)
    args, _ = parser.parse_known_args()
    model = Recognizer("recognizer", args.model_dir)
    server = kserve.ModelServer()
    # Like the recognizer (which logs no access line): no line logged per request.
    logging.getLogger("uvicorn.access").disabled = True
    server.start([model])
