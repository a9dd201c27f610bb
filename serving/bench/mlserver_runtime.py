"""The recognizer's model as an MLServer custom runtime, for serving/bench/peers.py (not in the image).

An `mlserver.MLModel`, the way MLServer's documentation writes a custom runtime: the same .tflite file, the
same LiteRT runtime class and the same image decoding as the recognizer (recognizer.runtime,
recognizer.codec), and the same three outputs. peers.py writes the settings.json and model-settings.json
(`"implementation": "mlserver_runtime.Recognizer"`, `parameters.uri`: the model directory) and runs
`mlserver start` with this folder and the recognizer package on PYTHONPATH.
"""

from __future__ import annotations

import base64

import numpy as np
from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput
from recognizer import codec
from recognizer.runtime import LiteRT, ModelFiles

MAX_PIXELS = 40_000_000


class Recognizer(MLModel):
    async def load(self) -> bool:
        self.files = ModelFiles.load(self.settings.parameters.uri)  # type: ignore[union-attr, arg-type]
        # Adaptive batching (max_batch_size in model-settings.json) hands predict() up to that many images.
        self.runtime = LiteRT(self.files, threads=1, max_batch=max(1, self.settings.max_batch_size))
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        inp = payload.inputs[0]
        if inp.datatype != "BYTES":
            raise MLServerError("send BYTES: base64-encoded images", status_code=400)
        size = self.files.input
        # MLServer may already have turned the JSON strings into bytes; base64 either way.
        items = [base64.b64decode(d, validate=True) if isinstance(d, bytes) else codec.b64decode(d)
                 for d in inp.data]
        batch = np.stack([codec.decode_image(data, size, MAX_PIXELS) for data in items])
        probs = self.runtime.predict(batch)
        outputs = [ResponseOutput(name=name, shape=shape, datatype=datatype,
                                  data=value)
                   for name, datatype, shape, value in codec.v2_outputs(probs, self.files.labels, None)]
        return InferenceResponse(model_name=self.name, model_version="1", id=payload.id, outputs=outputs)
