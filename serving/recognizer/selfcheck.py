"""A replica checks its own answers before it says ready: it sends images whose labels it knows through the request
path's decode and the model, and compares the top-1 labels with them. A model project's images are its samples,
copied into the image by the build (recognizer/convert.py; a model without samples is "unchecked" and ready); the
recognizer trained here draws images of every class (recognizer/dataset.py, a seed no training run uses). A wrong
labels file, a model from another build or a broken runtime answers wrong here, and the replica stays unready
(503 on /v2/health/ready with the reason, gRPC ServerReady false): no Service, load balancer or aitui sends it
traffic, whoever started it (a rollout, an autoscaler, a node restart), and it keeps running to be looked at.
aitui's smoke test asks the same question from outside."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recognizer import codec, dataset

if TYPE_CHECKING:
    from recognizer.card import Input
    from recognizer.runtime import ModelFiles

SEED = 424_242  # not a training or held-out seed (recognizer/train.py: 7 and 1007 by default)
PASS_RATIO = 0.8  # the models that ship are ~97% right on held-out images; a wrong one is near 10% or below
CHUNK = 32  # the server's default largest batch: the check asks the model for no larger one
SEND_SIZE = 64  # drawn at the size clients send (the bench's and aitui's samples), then decoded as a request


@dataclass(frozen=True)
class Result:
    correct: int
    total: int
    wrong: tuple[tuple[str, str], ...]  # (drawn, answered), the first few; samples: ("path: label", answered)
    seconds: float
    what: str = "drawn images"  # or "samples"; "": none to check (a model project without samples)

    @property
    def passed(self) -> bool:
        return self.total == 0 or self.correct >= PASS_RATIO * self.total

    def summary(self) -> str:
        if not self.what:
            return "unchecked: the model came without samples"
        return f"{self.correct} of {self.total} {self.what} answered right ({self.seconds * 1000:.0f} ms)"

    def reason(self) -> str:
        shown = ", ".join(f"{drawn} -> {answered}" for drawn, answered in self.wrong)
        why = ("the model or its labels file is not the one it was built with" if self.what == "drawn images" else
               "the model, its labels file or its card (model.toml) does not fit its samples")
        return (f"self-check failed: {self.correct} of {self.total} {self.what} answered right (needs "
                f"{PASS_RATIO:.0%}; {shown}): {why}")


def images(count: int, size: int | Input) -> tuple[np.ndarray, list[str]]:
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


def pick(samples: list[tuple[str, str, str]], count: int) -> list[tuple[str, str, str]]:
    """Up to `count` samples, a label each in turn (in the order they come), so every label is asked about."""
    by_label: dict[str, list[tuple[str, str, str]]] = {}
    for s in samples:
        by_label.setdefault(s[1], []).append(s)
    queues, chosen = list(by_label.values()), []
    while len(chosen) < count and any(queues):
        for q in queues:
            if q and len(chosen) < count:
                chosen.append(q.pop(0))
    return chosen


def sample_images(files: ModelFiles, count: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Up to `count` of the samples, decoded as requests are; their labels; how to name each (path: label)."""
    chosen = pick(files.samples() or [], count)
    pixels = [codec.decode_image((files.directory / f).read_bytes(), files.input, 40_000_000) for f, _, _ in chosen]
    return codec.stack(pixels), [label for _, label, _ in chosen], [f"{src}: {label}" for _, label, src in chosen]


def run(predict, files: ModelFiles, count: int) -> Result:
    """Check `count` images with `predict` (a batch -> probabilities), answers named by the model's labels."""
    t0 = time.perf_counter()
    samples = files.samples()
    if count <= 0:
        return Result(0, 0, (), 0.0)
    if samples is None:
        batch, names = images(count, files.input)
        shown, what = names, "drawn images"
    elif not samples:
        return Result(0, 0, (), 0.0, what="")
    else:
        batch, names, shown = sample_images(files, count)
        what = "samples"
    n, labels = len(names), files.labels
    top = np.concatenate([np.argmax(predict(batch[i:i + CHUNK]), axis=1) for i in range(0, n, CHUNK)])
    answers = [labels[i] if i < len(labels) else f"#{i}" for i in top]
    wrong = tuple((s, a) for s, want, a in zip(shown, names, answers, strict=True) if want != a)
    return Result(n - len(wrong), n, wrong[:3], time.perf_counter() - t0, what)
