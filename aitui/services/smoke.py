"""The smoke test: every sample image of the workload's model, sent to each ready replica on its own (not through a
balancer, which would hide one bad replica among good ones), and each replica's accuracy. A replica that
answers wrong, or not at all, is flagged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aitui.services import labels
from aitui.services.targets import Target, TargetError

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    pass


class SmokeError(Exception):
    """Nothing to test: no workload, or no ready replica."""


@dataclass(frozen=True)
class Answer:
    expected: str
    got: str  # the top label, "" when the request failed
    score: float
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.got == self.expected


@dataclass(frozen=True)
class ReplicaResult:
    endpoint: str
    replica: str  # which replica the endpoint reaches (a pod through its port-forward, or the endpoint)
    answers: tuple[Answer, ...]
    min_accuracy: float
    model: dict[str, str] = field(default_factory=dict)  # its recognizer_model_info labels: name, version, runtime…

    @property
    def correct(self) -> int:
        return sum(a.ok for a in self.answers)

    @property
    def accuracy(self) -> float:
        return self.correct / len(self.answers) if self.answers else 0.0

    @property
    def failed(self) -> int:
        return sum(bool(a.error) for a in self.answers)

    @property
    def ok(self) -> bool:
        return bool(self.answers) and not self.failed and self.accuracy >= self.min_accuracy

    def line(self) -> str:
        wrong = [f"{a.expected}->{a.got or 'error: ' + a.error}" for a in self.answers if not a.ok]
        model = f" ({self.model.get('version', '?')}, {self.model.get('runtime', '?')})" if self.model else \
            " (no recognizer_model_info)"
        return (f"{'ok  ' if self.ok else 'FLAG'} {self.replica}{model}: {self.correct}/{len(self.answers)} correct "
                f"({self.accuracy:.0%})" + (f"; wrong: {', '.join(wrong)}" if wrong else ""))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "correct": self.correct, "accuracy": round(self.accuracy, 4), "failed": self.failed,
                "ok": self.ok}


@dataclass(frozen=True)
class SmokeResult:
    workload: str
    context: str
    replicas: tuple[ReplicaResult, ...]
    min_accuracy: float

    @property
    def passed(self) -> bool:
        return bool(self.replicas) and all(r.ok for r in self.replicas)

    @property
    def flagged(self) -> list[ReplicaResult]:
        return [r for r in self.replicas if not r.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "workload": self.workload, "context": self.context,
                "min_accuracy": self.min_accuracy, "replicas": [r.as_dict() for r in self.replicas]}

    def text(self) -> str:
        head = (f"smoke {'PASS' if self.passed else 'FAIL'}: {len(self.replicas) - len(self.flagged)}/"
                f"{len(self.replicas)} replicas of {self.workload} answer the samples right")
        return "\n".join([head, *(r.line() for r in self.replicas)])


def model_info(endpoint: str, timeout: float = 5.0) -> dict[str, str]:
    """What the replica says it serves: the labels of its recognizer_model_info on /metrics ({} if none)."""
    import re

    import requests

    try:
        text = requests.get(f"http://{endpoint}/metrics", timeout=timeout).text
    except requests.RequestException:
        return {}
    line = next((x for x in text.splitlines() if x.startswith("recognizer_model_info{")), "")
    return dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))


def check_replica(endpoint: str, replica: str, images: list[tuple[str, bytes]], min_accuracy: float,
                  timeout: float = 10.0, model: str = labels.NAME) -> ReplicaResult:
    from aitui.services.predict import predict

    answers = []
    for label, png in images:
        p = predict(endpoint, png, timeout, model)
        top, score = p.labels[0] if p.labels else ("", 0.0)
        answers.append(Answer(label, top, round(score, 4), round(p.seconds, 4), p.error))
    return ReplicaResult(endpoint, replica, tuple(answers), min_accuracy, model_info(endpoint))


def keep_out(target: Target, workload: str, result: SmokeResult, names: dict[str, str],
             progress: Progress = quiet) -> list[tuple[str, str]]:
    """Quarantine the flagged replicas (out of traffic, kept running to be looked at, a replacement started)
    when others answer right: a bad replica, not a bad image. When every replica answers wrong, the image
    is wrong and replacing them would change nothing: none is touched. `names` maps endpoint -> replica.
    Returns (name, name once quarantined) of each; raises TargetError from the target."""
    flagged = [names[r.endpoint] for r in result.flagged if r.endpoint in names]
    if not flagged:
        return []
    if len(result.flagged) == len(result.replicas):
        progress(f"smoke: every replica of {workload} answers wrong: the image is wrong, not a replica "
                 "(none taken out of traffic; a rollback goes back)")
        return []
    return [(pod, target.quarantine(pod, workload, progress)) for pod in flagged]


def run(target: Target, workload: str, model: str, images: list[tuple[str, bytes]], min_accuracy: float = 1.0,
        progress: Progress = quiet) -> SmokeResult:
    """Send each sample (label, image: services/samples.py) to every ready replica of `workload`, which serves
    `model`.
    Raises SmokeError when there is no ready replica to test, or no sample to send."""
    if not images:
        raise SmokeError(f"no samples to send {workload}")
    if not any(w.name == workload for w in target.workloads()):
        raise SmokeError(f"nothing deployed: no workload {workload!r} on {target.name}; 'aitui deploy' runs one")
    try:
        endpoints = target.endpoints(workload)
    except TargetError as exc:  # a port-forward the cluster forbids
        raise SmokeError(str(exc)) from exc
    if not endpoints:
        raise SmokeError(f"{workload} on {target.name} has no ready replica to test")
    out = []
    for ep in endpoints:
        progress(f"smoke: {len(images)} samples to {target.route(ep)}")
        result = check_replica(ep, target.route(ep), images, min_accuracy, model=model)
        out.append(result)
    return SmokeResult(workload, target.name, tuple(out), min_accuracy)
