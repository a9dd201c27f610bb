"""A canary: a second image beside a workload, taking a share of its traffic (Kubernetes: a second
Deployment `<workload>-canary` behind the same Service, weighted by replica counts; local: a second
workload whose replicas the traffic generator counts among the workload's endpoints). Its verbs live on
the targets (deploy_canary, promote_canary, remove_canary, canary_endpoints); here is the comparison:
each sample sent to a replica of each version, their latencies, errors and top-1 agreement on the same
input, measured by the client."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aitui.services.labels import CANARY_SUFFIX as SUFFIX
from aitui.services.labels import TRACK_LABEL, canary_of, is_canary, model_of
from aitui.services.measure import percentile

if TYPE_CHECKING:
    from aitui.services.targets import Target

# the naming lives in labels.py (the targets use it too); kept importable from here
__all__ = ["SUFFIX", "TRACK_LABEL", "CanaryError", "Comparison", "Side", "canary_of", "compare", "compare_round",
           "is_canary"]


@dataclass
class Side:
    """One version's answers so far."""

    endpoints: int = 0
    seconds: list[float] = field(default_factory=list)  # of answered requests
    failed: int = 0

    @property
    def requests(self) -> int:
        return len(self.seconds) + self.failed

    def p(self, q: float) -> float | None:
        return percentile(sorted(self.seconds), q) * 1000 if self.seconds else None

    @property
    def error_ratio(self) -> float | None:
        return self.failed / self.requests if self.requests else None


@dataclass
class Comparison:
    main: Side = field(default_factory=Side)
    canary: Side = field(default_factory=Side)
    compared: int = 0  # samples both answered
    agreed: int = 0  # of those, the same top-1 label
    disagreements: dict[str, int] = field(default_factory=dict)  # "expected: main->canary" -> count

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


class CanaryError(Exception):
    pass


def compare_round(target: Target, workload: str, comparison: Comparison, images: list[tuple[str, bytes]],
                  turn: itertools.count, timeout: float = 10.0) -> Comparison:
    """Each sample once to a replica of each version (round robin over their endpoints); adds to
    `comparison` and returns it. Raises CanaryError when a version has no ready replica."""
    from aitui.services.predict import predict

    main_eps, canary_eps = target.canary_endpoints(workload)
    if not canary_eps:
        raise CanaryError(f"{canary_of(workload)} has no ready replica")
    if not main_eps:
        raise CanaryError(f"{workload} has no ready replica")
    comparison.main.endpoints, comparison.canary.endpoints = len(main_eps), len(canary_eps)
    model = next((w.model for w in target.workloads() if w.name == workload), model_of(workload))
    for label, png in images:
        i = next(turn)
        answers: list[str | None] = []
        for side, eps in ((comparison.main, main_eps), (comparison.canary, canary_eps)):
            p = predict(eps[i % len(eps)], png, timeout, model)
            if p.error:
                side.failed += 1
                answers.append(None)
            else:
                side.seconds.append(p.seconds)
                answers.append(p.labels[0][0] if p.labels else "")
        if answers[0] is not None and answers[1] is not None:
            comparison.compared += 1
            if answers[0] == answers[1]:
                comparison.agreed += 1
            else:
                key = f"{label}: {answers[0]}->{answers[1]}"
                comparison.disagreements[key] = comparison.disagreements.get(key, 0) + 1
    return comparison


def compare(target: Target, workload: str, rounds: int, images: list[tuple[str, bytes]],
            on_round: Callable[[Comparison], None] = lambda _: None,
            stop: Callable[[], bool] = lambda: False) -> Comparison:
    """`rounds` rounds of compare_round (until stop()), `on_round` after each."""
    comparison, turn = Comparison(), itertools.count()
    for _ in range(rounds):
        if stop():
            break
        compare_round(target, workload, comparison, images, turn)
        on_round(comparison)
    return comparison
