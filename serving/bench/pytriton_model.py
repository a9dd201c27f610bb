"""The recognizer's model behind Triton Inference Server, for serving/bench/peers.py (not in the image).

Triton's own server binary is on PyPI inside NVIDIA's PyTriton wheel (nvidia-pytriton: tritonserver, its
HTTP/gRPC frontends, dynamic batcher and Python backend); a Python function is bound to it as a model, the
way PyTriton's documentation serves one. The same .tflite file, LiteRT runtime class and image decoding as the
recognizer (recognizer.runtime, recognizer.codec), the same three outputs, and Triton's dynamic batcher at
the recognizer's settings (32 images, 1 ms). Requests go HTTP -> tritonserver -> its Python backend stub ->
this process and back. Run with a Python that has `nvidia-pytriton` and `ai-edge-litert`, the recognizer
package on PYTHONPATH:

    python pytriton_model.py MODEL_DIR HTTP_PORT GRPC_PORT METRICS_PORT
"""

from __future__ import annotations

import sys

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig
from recognizer import codec
from recognizer.runtime import LiteRT, ModelFiles

MAX_PIXELS = 40_000_000
MAX_BATCH = 32


def main() -> None:
    model_dir, http_port, grpc_port, metrics_port = sys.argv[1], *map(int, sys.argv[2:5])
    files = ModelFiles.load(model_dir)
    runtime = LiteRT(files, threads=1, max_batch=MAX_BATCH)
    size = files.input

    @batch
    def infer(image: np.ndarray) -> dict[str, np.ndarray]:
        # image: [N, 1] of bytes; Triton's JSON BYTES are the strings' bytes, here the base64 text
        images = np.stack([codec.decode_image(codec.b64decode(bytes(b).decode("ascii")), size, MAX_PIXELS)
                           for b in image.reshape(-1)])
        probs = runtime.predict(images)
        out = {name: (np.array(value, dtype=np.bytes_).reshape(shape) if datatype == "BYTES"
                     else np.asarray(value, np.float32).reshape(shape))
               for name, datatype, shape, value in codec.v2_outputs(probs, files.labels, None)}
        return out

    config = TritonConfig(http_address="127.0.0.1", http_port=http_port, grpc_address="127.0.0.1",
                          grpc_port=grpc_port, metrics_address="127.0.0.1", metrics_port=metrics_port,
                          log_verbose=0)
    with Triton(config=config) as triton:
        triton.bind(model_name="recognizer", infer_func=infer,
                    inputs=[Tensor(name="image", dtype=np.bytes_, shape=(1,))],
                    outputs=[Tensor(name="probabilities", dtype=np.float32, shape=(len(files.labels),)),
                             Tensor(name="labels", dtype=np.bytes_, shape=(5,)),
                             Tensor(name="scores", dtype=np.float32, shape=(5,))],
                    config=ModelConfig(max_batch_size=MAX_BATCH,
                                       batcher=DynamicBatcher(max_queue_delay_microseconds=1000)))
        triton.serve()


if __name__ == "__main__":
    main()
