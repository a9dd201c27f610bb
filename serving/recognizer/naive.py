"""The benchmark's baseline: what most tutorials do. One synchronous HTTP server that calls
Keras `model.predict` once per request. Runs only in the tensorflow image:
    python -m recognizer.naive
"""

from __future__ import annotations

import base64
import io
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import keras
import numpy as np
from PIL import Image

MODEL_DIR = os.environ.get("RECOGNIZER_MODEL_DIR", "/model")
model = keras.models.load_model(f"{MODEL_DIR}/model.keras")
with open(f"{MODEL_DIR}/labels.txt") as f:
    labels = f.read().split()
size = int(model.input_shape[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"live": True})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        images = [np.asarray(Image.open(io.BytesIO(base64.b64decode(i["b64"]))).convert("RGB")
                             .resize((size, size)), dtype=np.float32) for i in body["instances"]]
        probs = model.predict(np.stack(images), verbose=0)
        self._send(200, {"predictions": [{"labels": [labels[int(np.argmax(p))]]} for p in probs]})


HTTPServer(("0.0.0.0", 8501), Handler).serve_forever()
