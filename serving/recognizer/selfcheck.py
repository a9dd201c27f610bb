"""A replica checks its own answers before it says ready: it draws images of every class (recognizer/dataset.py,
a seed no training run uses), sends them through the request path's decode and the model, and compares the
top-1 labels with what it drew. A wrong labels file, a model from another build or a broken runtime answers
wrong here, and the replica stays unready (503 on /v2/health/ready with the reason, gRPC ServerReady false):
no Service, load balancer or aitui sends it traffic, whoever started it (a rollout, an autoscaler, a node
restart), and it keeps running to be looked at. aitui's smoke test asks the same question from outside."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np

from recognizer import codec, dataset

SEED = 424_242  # not a training or held-out seed (recognizer/train.py: 7 and 1007 by default)
PASS_RATIO = 0.8  # the models that ship are ~97% right on held-out images; a wrong one is near 10% or below
CHUNK = 32  # the server's default largest batch: the check asks the model for no larger one
SEND_SIZE = 64  # drawn at the size clients send (the bench's and aitui's samples), then decoded as a request


@dataclass(frozen=True)
class Result:
    correct: int
    total: int
    wrong: tuple[tuple[str, str], ...]  # (drawn, answered), the first few
    seconds: float

    @property
    def passed(self) -> bool:
        return self.total == 0 or self.correct >= PASS_RATIO * self.total

    def reason(self) -> str:
        shown = ", ".join(f"{drawn} -> {answered}" for drawn, answered in self.wrong)
        return (f"self-check failed: {self.correct} of {self.total} drawn images answered right (needs "
                f"{PASS_RATIO:.0%}; {shown}): the model or its labels file is not the one it was built with")


def images(count: int, size: int) -> tuple[np.ndarray, list[str]]:
    """`count` drawn images (every class in turn) decoded as requests are, and their classes' names."""
    rng = np.random.default_rng(SEED)
    pixels, names = [], []
    for i in range(count):
        label = i % len(dataset.LABELS)
        buf = io.BytesIO()
        dataset.render(label, rng, SEND_SIZE).save(buf, format="PNG", compress_level=1)  # fast; decoded the same
        pixels.append(codec.decode_image(buf.getvalue(), size, SEND_SIZE * SEND_SIZE))
        names.append(dataset.LABELS[label])
    return codec.stack(pixels), names


def run(predict, labels: tuple[str, ...], size: int, count: int) -> Result:
    """Check `count` images with `predict` (a batch -> probabilities), answers named by `labels`."""
    t0 = time.perf_counter()
    if count <= 0:
        return Result(0, 0, (), 0.0)
    batch, names = images(count, size)
    top = np.concatenate([np.argmax(predict(batch[i:i + CHUNK]), axis=1) for i in range(0, count, CHUNK)])
    answers = [labels[i] if i < len(labels) else f"#{i}" for i in top]
    wrong = tuple((n, a) for n, a in zip(names, answers, strict=True) if n != a)
    return Result(count - len(wrong), count, wrong[:3], time.perf_counter() - t0)
