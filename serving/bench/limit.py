"""The work one image costs on one core, measured in-process: decode (the recognizer's codec.decode_image of
the bench's 64x64 PNG: open, reduce to the model's 32x32 input, uint8) and inference (its LiteRT runtime, one
thread, the model that ships: model.tflite) at batch 1 and per image at batch 32; the same for the float model
(model_float.tflite) when the build shipped int8. Prints one JSON line, in microseconds (the median of 7
timed rounds). serving/bench/peers.py runs it pinned to the core the servers get:

    taskset -c 1 PYTHON serving/bench/limit.py MODEL_DIR     (PYTHONPATH: the recognizer package)
"""

from __future__ import annotations

import base64
import json
import statistics
import sys
import time

import numpy as np
from recognizer import codec, dataset
from recognizer.runtime import LiteRT, ModelFiles

ROUNDS = 7


def per_call_us(fn, calls: int) -> float:
    fn()
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return statistics.median(times) * 1e6


def main() -> None:
    files = ModelFiles.load(sys.argv[1])
    png = dataset.sample_png("star", seed=11, size=64)
    text = base64.b64encode(png).decode()
    size = files.input
    rt = LiteRT(files, threads=1, max_batch=32)
    one = codec.decode_image(png, size, 40_000_000)[None]
    many = np.repeat(one, 32, axis=0)
    rt.predict(many)
    out = {
        "decode_us": per_call_us(lambda: codec.decode_image(png, size, 40_000_000), 500),
        "base64_us": per_call_us(lambda: codec.b64decode(text), 2000),
        "infer_batch1_us": per_call_us(lambda: rt.predict(one), 500),
        "infer_batch32_us_per_image": per_call_us(lambda: rt.predict(many), 20) / 32,
        "top_label": codec.top_k(rt.predict(one), files.labels, 1)[0][0][0],
        "model_bytes": (files.directory / "model.tflite").stat().st_size,
        "model": files.info.get("tflite", "float"),
    }
    if (files.directory / "model_float.tflite").exists():
        fl = LiteRT(files, threads=1, max_batch=32, model_file="model_float.tflite")
        fl.predict(many)
        out["float_infer_batch1_us"] = per_call_us(lambda: fl.predict(one), 500)
        out["float_infer_batch32_us_per_image"] = per_call_us(lambda: fl.predict(many), 20) / 32
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
