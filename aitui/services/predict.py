"""Send one image to a replica and read back its top labels; the sample images of the recognizer aitui ships."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from pathlib import Path

from aitui.services import labels
from aitui.services.errors import reason

SAMPLES = Path(__file__).resolve().parents[1] / "samples"  # drawn by serving/recognizer/dataset.py


@dataclass(frozen=True)
class Prediction:
    endpoint: str
    labels: tuple[tuple[str, float], ...]  # (label, score), best first
    seconds: float
    error: str = ""


def samples() -> dict[str, bytes]:
    """label -> PNG bytes, one per class."""
    return {p.stem: p.read_bytes() for p in sorted(SAMPLES.glob("*.png"))}


def pick_sample(label: str | None = None) -> tuple[str, bytes]:
    s = samples()
    name = label if label in s else random.choice(sorted(s))
    return name, s[name]


def predict(endpoint: str, image: bytes, timeout: float = 10.0, model: str = labels.NAME) -> Prediction:
    """`model`: the name the replica serves its model under (labels.model_of(workload))."""
    import time

    import requests

    body = {"instances": [{"b64": base64.b64encode(image).decode()}]}
    t0 = time.perf_counter()
    try:
        r = requests.post(f"http://{endpoint}/v1/models/{model}:predict", json=body, timeout=timeout)
        data = r.json()
    except Exception as exc:
        return Prediction(endpoint, (), time.perf_counter() - t0, f"predict failed: {reason(exc)}")
    if r.status_code != 200:
        return Prediction(endpoint, (), time.perf_counter() - t0, f"{r.status_code}: {data.get('error', r.text)}")
    p = data["predictions"][0]
    return Prediction(endpoint, tuple(zip(p["labels"], p["scores"], strict=True)), time.perf_counter() - t0)
