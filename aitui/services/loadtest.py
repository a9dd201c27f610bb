"""A load test with an SLO gate: bounded load against a deployed workload, measured client-side per
request, held to thresholds (by default the alerts' own, services/slo.py), and a report a person or CI
can keep: JSON with every figure, and a short Markdown summary."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aitui.config import is_local, state_dir
from aitui.services import labels
from aitui.services.measure import Figures, Machine, MeasureError, Progress, machine, quiet, run_load
from aitui.services.redact import data as masked_data
from aitui.services.redact import text as masked
from aitui.services.slo import Thresholds
from aitui.services.targets import Target


class LoadTestError(Exception):
    """The test could not run (nothing deployed, no ready replica…); nothing was measured."""


@dataclass(frozen=True)
class Check:
    name: str  # "p99", "error ratio", "answered"
    limit: str
    measured: str
    ok: bool


@dataclass(frozen=True)
class Deployed:
    """What was under test, as the target listed it just before the load."""

    context: str
    namespace: str
    workload: str
    image: str
    replicas: int  # ready replicas when the test started

    @staticmethod
    def of(target: Target, workload: str) -> Deployed:
        found = next((w for w in target.workloads() if w.name == workload), None)
        if found is None:
            raise LoadTestError(f"nothing deployed: no workload {workload!r} on {target.name}; "
                                "'aitui deploy' runs one")
        if found.ready < 1:
            raise LoadTestError(f"{workload} on {target.name} has no ready replica ({found.ready}/{found.desired})")
        return Deployed(target.name, target.namespace, workload, found.image, found.ready)


@dataclass(frozen=True)
class LoadTestResult:
    passed: bool
    checks: tuple[Check, ...]
    figures: Figures
    thresholds: Thresholds
    deployed: Deployed
    concurrency: int
    rate: float | None  # the target rate asked for, None: as fast as the workers go
    duration: float  # asked for
    started: str  # UTC, ISO 8601
    machine: Machine
    report: dict[str, str] = field(default_factory=dict)  # "json"/"markdown" -> path, once written

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        f = self.figures
        verdict = "PASS" if self.passed else "FAIL (" + ", ".join(
            f"{c.name} {c.measured} > {c.limit}" for c in self.checks if not c.ok) + ")"
        return (f"loadtest {verdict}: {f.rate:.1f} req/s, p50 {f.p50_ms:.1f} ms, p95 {f.p95_ms:.1f} ms, "
                f"p99 {f.p99_ms:.1f} ms, {f.failed}/{f.requests} failed, {f.seconds:.1f} s")

    def markdown(self) -> str:
        f, d, t = self.figures, self.deployed, self.thresholds
        rate = f"{self.rate:g} req/s" if self.rate else "as fast as answered"
        rows = "\n".join(f"| {c.name} | {c.limit} | {c.measured} | {'ok' if c.ok else '**FAIL**'} |"
                         for c in self.checks)
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(f.errors.items())) or "none"
        return f"""# Load test: {'PASS' if self.passed else 'FAIL'}

- when: {self.started}
- image: `{d.image}`
- replicas: {d.replicas} ready ({d.workload} on {d.context}{'' if is_local(d.context) else ' / ' + d.namespace}); \
{len(f.per_endpoint)} answered
- machine: {self.machine.line()}
- load: {self.concurrency} concurrent, {rate}, for {self.duration:g} s (measured by the client, per request)
- thresholds from: {t.source}

| check | limit | measured | |
|---|---|---|---|
{rows}

| req/s | p50 | p95 | p99 | max | requests | failed | duration |
|---|---|---|---|---|---|---|---|
| {f.rate:.1f} | {f.p50_ms:.1f} ms | {f.p95_ms:.1f} ms | {f.p99_ms:.1f} ms | {f.max_ms:.1f} ms | \
{f.requests} | {f.failed} | {f.seconds:.1f} s |

Errors: {errors}.
"""


def checks(figures: Figures, thresholds: Thresholds) -> tuple[Check, ...]:
    return (
        Check("answered", "> 0", str(figures.ok), figures.ok > 0),
        Check("p99", f"{thresholds.p99_ms:g} ms", f"{figures.p99_ms:g} ms",
              figures.ok > 0 and figures.p99_ms <= thresholds.p99_ms),
        Check("error ratio", f"{thresholds.error_ratio:g}", f"{figures.error_ratio:g}",
              figures.error_ratio <= thresholds.error_ratio),
    )


def run(target: Target, workload: str, thresholds: Thresholds, concurrency: int = 4, duration: float = 10.0,
        rate: float | None = None, max_requests: int = 100_000, images: tuple[bytes, ...] | list[bytes] = (),
        progress: Progress = quiet, stop: Callable[[], bool] = lambda: False,
        model: str = labels.NAME) -> LoadTestResult:
    """Load `workload` (which serves `model`) for `duration` s with `concurrency` workers (at `rate` req/s if
    given), each request one of `images` (its model's samples: services/samples.py), then hold the figures to
    `thresholds`. Raises LoadTestError when it cannot start."""
    from datetime import UTC, datetime

    if not images:
        raise LoadTestError(f"loadtest: no samples to send {workload}")
    deployed = Deployed.of(target, workload)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        measured = run_load(lambda: target.endpoints(workload), list(images), concurrency, duration, rate,
                            max_requests, "loadtest", progress, stop, model)
    except MeasureError as exc:
        raise LoadTestError(f"loadtest: {exc}") from exc
    found = checks(measured, thresholds)
    return LoadTestResult(all(c.ok for c in found), found, measured, thresholds, deployed, concurrency, rate,
                          duration, started, machine())


def default_report(kind: str = "loadtest") -> Path:
    return state_dir() / "reports" / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"


def write_report(result: LoadTestResult, path: Path) -> LoadTestResult:
    """`path` (.json) gets every figure; the same name with .md the summary. Returns the result with
    `report` naming both."""
    from dataclasses import replace

    path = path if path.suffix == ".json" else path.with_name(path.name + ".json")
    md = path.with_suffix(".md")
    done = replace(result, report={"json": str(path), "markdown": str(md)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(masked_data(done.as_dict()), indent=2) + "\n")  # (what looks secret: redact.py)
    md.write_text(masked(done.markdown()))
    return done
