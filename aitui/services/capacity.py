"""The capacity finder: ramp concurrency step by step against a deployed workload, measure throughput
and p99 at each step (client-side, services/measure.py), find the knee, and size a deployment for a
wanted rate from it. Every number comes from the steps measured here; the formulas are said in the result."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aitui.config import Settings
from aitui.services import labels
from aitui.services.loadtest import Deployed, LoadTestError
from aitui.services.measure import Figures, Machine, MeasureError, Progress, machine, quiet, run_load
from aitui.services.slo import Thresholds
from aitui.services.targets import Target

DEFAULT_STEPS = (1, 2, 4, 8, 16, 32)
MAX_STEPS = 10
MAX_CONCURRENCY = 256
MAX_TOTAL_SECONDS = 600.0


@dataclass(frozen=True)
class Step:
    concurrency: int
    figures: Figures

    @property
    def replicas(self) -> int:
        """Replicas that answered during this step."""
        return max(1, len(self.figures.per_endpoint))

    @property
    def cpu_per_replica(self) -> float | None:
        """Mean CPU cores a replica's process used during the step, from its own process_cpu_seconds_total."""
        used = [self.figures.cpu_cores[e] for e in self.figures.per_endpoint if e in self.figures.cpu_cores]
        return round(sum(used) / len(used), 3) if used else None

    def as_dict(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency, "replicas": self.replicas, "cpu_per_replica": self.cpu_per_replica,
                "figures": self.figures.as_dict()}


@dataclass(frozen=True)
class Knee:
    index: int | None  # into the steps; None: not even the first step met the SLO
    reason: str  # why there, in a sentence with the measured figures
    found: bool  # False: the ramp ended before throughput stopped growing (a lower bound)


@dataclass(frozen=True)
class Suggestion:
    wanted_rate: float
    headroom: float
    per_replica_rate: float  # throughput per replica at the knee
    replicas: int
    formula: str
    cpu_per_replica: float | None  # cores a replica used at the knee
    hpa_cpu_cores: float | None  # CPU a replica should average: the knee's / (1 + headroom)
    hpa_utilization: int | None  # the same as a percentage of the container's CPU request (HPA averageUtilization)
    hpa_formula: str


@dataclass(frozen=True)
class CapacityResult:
    steps: tuple[Step, ...]
    knee: Knee
    suggestion: Suggestion | None
    thresholds: Thresholds
    growth: float  # a step that raises throughput by less than this fraction is past the knee
    step_seconds: float
    deployed: Deployed
    machine: Machine
    started: str

    @property
    def ok(self) -> bool:
        return self.knee.index is not None

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "steps"}
        return {"ok": self.ok, "steps": [s.as_dict() for s in self.steps], **d, "client_bound": self.client_bound}

    def table(self) -> str:
        rows = ["concurrency  req/s    p50 ms   p99 ms  errors  replicas  cpu/replica  client cpu  machine busy"]
        for i, s in enumerate(self.steps):
            f = s.figures
            mark = "  <- knee" if i == self.knee.index else ""
            cpu = f"{s.cpu_per_replica:.2f}" if s.cpu_per_replica is not None else "-"
            busy = f"{f.machine_busy:.0%}" if f.machine_busy is not None else "-"
            rows.append(f"{s.concurrency:>11}  {f.rate:>6.1f}  {f.p50_ms:>7.1f}  {f.p99_ms:>7.1f}  {f.failed:>6}  "
                        f"{s.replicas:>8}  {cpu:>11}  {f.client_cores:>10.2f}  {busy:>12}{mark}")
        return "\n".join(rows)

    @property
    def client_bound(self) -> str:
        """Said when the knee may be the generator's own: its process near a full core (one Python process
        sends all requests) while the replicas are not."""
        if self.knee.index is None:
            return ""
        s = self.steps[self.knee.index]
        client, replica, busy = s.figures.client_cores, s.cpu_per_replica, s.figures.machine_busy
        if busy is not None and busy >= 0.9:
            return (f"this machine's CPU was {busy:.0%} busy at the knee (the generator used {client:.2f} cores, "
                    f"each replica {'?' if replica is None else format(replica, '.2f')}): the knee may be the "
                    "machine's, shared by the generator and the replicas, so the per-replica throughput is a "
                    "lower bound")
        if client >= 0.8 and (replica is None or replica < client):
            return (f"the load generator used {client:.2f} cores at the knee, the replicas "
                    f"{'?' if replica is None else format(replica, '.2f')} each: the knee may be the generator's, "
                    "so the per-replica throughput is a lower bound")
        return ""

    def text(self) -> str:
        out = [self.table(), f"knee: {self.knee.reason}"]
        if self.client_bound:
            out.append(f"note: {self.client_bound}")
        s = self.suggestion
        if s:
            out += [f"suggest: {s.replicas} replica{'s' if s.replicas != 1 else ''} for {s.wanted_rate:g} req/s: "
                    f"{s.formula}", f"hpa: {s.hpa_formula}"]
        return "\n".join(out)


def find_knee(steps: list[Step], growth: float, thresholds: Thresholds) -> Knee:
    """The last step before the SLO breaks (p99 or error ratio above its threshold) or before a step whose
    throughput grows by less than `growth` over the one before."""
    for i, s in enumerate(steps):
        f = s.figures
        broke = ""
        if f.ok == 0 or f.p99_ms > thresholds.p99_ms:
            broke = f"p99 {f.p99_ms:g} ms at concurrency {s.concurrency} is above the SLO's {thresholds.p99_ms:g} ms"
        elif f.error_ratio > thresholds.error_ratio:
            broke = (f"error ratio {f.error_ratio:g} at concurrency {s.concurrency} is above the SLO's "
                     f"{thresholds.error_ratio:g}")
        if broke:
            if i == 0:
                return Knee(None, f"no step meets the SLO: {broke}", True)
            return Knee(i - 1, f"concurrency {steps[i - 1].concurrency} ({steps[i - 1].figures.rate:g} req/s): "
                               f"the next step breaks the SLO: {broke}", True)
        if i and f.rate < steps[i - 1].figures.rate * (1 + growth):
            p = steps[i - 1]
            gained = (f.rate / p.figures.rate - 1) * 100 if p.figures.rate else 0.0
            return Knee(i - 1, f"concurrency {p.concurrency} ({p.figures.rate:g} req/s, p99 {p.figures.p99_ms:g} ms): "
                               f"concurrency {s.concurrency} raised throughput by {gained:.1f}%, "
                               f"less than {growth * 100:g}%", True)
    last = steps[-1]
    return Knee(len(steps) - 1, f"not reached: throughput still grew up to concurrency {last.concurrency} "
                                f"({last.figures.rate:g} req/s); capacity is at least that", False)


def suggest(step: Step, wanted_rate: float, headroom: float, cpu_request: float | None) -> Suggestion:
    """Replicas so that each runs at most 1/(1 + headroom) of its measured knee throughput, and the
    autoscaler's CPU target that keeps it there."""
    per_replica = step.figures.rate / step.replicas
    replicas = max(1, math.ceil(wanted_rate * (1 + headroom) / per_replica)) if per_replica > 0 else 0
    formula = (f"replicas = ceil(rate x (1 + headroom) / per-replica throughput at the knee) = "
               f"ceil({wanted_rate:g} x {1 + headroom:g} / {per_replica:.1f}) = {replicas} "
               f"(knee: {step.figures.rate:g} req/s over {step.replicas} replica{'s' if step.replicas != 1 else ''})")
    cpu = step.cpu_per_replica
    if cpu is None:
        return Suggestion(wanted_rate, headroom, round(per_replica, 2), replicas, formula, None, None, None,
                          "no CPU target: the replicas did not report process_cpu_seconds_total")
    target = cpu / (1 + headroom)
    utilization = round(target / cpu_request * 100) if cpu_request else None
    hpa = f"CPU per replica = CPU at the knee / (1 + headroom) = {cpu:.2f} / {1 + headroom:g} = {target:.2f} cores"
    if utilization is not None and cpu_request:
        hpa += (f" = averageUtilization {utilization}% of the {cpu_request * 1000:g}m request "
                "in manifests/base/deployment.yaml")
    return Suggestion(wanted_rate, headroom, round(per_replica, 2), replicas, formula, cpu, round(target, 3),
                      utilization, hpa)


def cpu_request(settings: Settings) -> float | None:
    """The recognizer container's CPU request in manifests/base (cores), what an HPA's utilization is of."""
    from aitui.services import labels, manifests

    try:
        docs = manifests.render(settings, "unused", 1, "default")
    except manifests.ManifestError:
        return None
    for d in docs:
        if d["kind"] != "Deployment":
            continue
        for c in d["spec"]["template"]["spec"]["containers"]:
            raw = str(((c.get("resources") or {}).get("requests") or {}).get("cpu", ""))
            if c["name"] == labels.NAME and raw:
                return float(raw[:-1]) / 1000 if raw.endswith("m") else float(raw)
    return None


def run(target: Target, workload: str, thresholds: Thresholds, steps: tuple[int, ...] = DEFAULT_STEPS,
        step_seconds: float = 5.0, growth: float = 0.10, wanted_rate: float | None = None, headroom: float = 0.3,
        cpu_request: float | None = None, progress: Progress = quiet,
        stop: Callable[[], bool] = lambda: False, on_step: Callable[[Step], None] = lambda _: None,
        images: tuple[bytes, ...] | list[bytes] = (), model: str = labels.NAME) -> CapacityResult:
    """Measure each concurrency in `steps` for `step_seconds` (each request one of `images`, the model's
    samples), stopping once the knee is found; `progress` gets a Tick about once a second, `on_step` each
    measured Step (a chart of throughput against p99 grows with it). Raises LoadTestError when it cannot start
    or the ramp is out of bounds."""
    from datetime import UTC, datetime

    if not images:
        raise LoadTestError(f"capacity: no samples to send {workload}")
    if not steps or len(steps) > MAX_STEPS or any(not 1 <= c <= MAX_CONCURRENCY for c in steps):
        raise LoadTestError(f"capacity: 1 to {MAX_STEPS} steps, each a concurrency from 1 to {MAX_CONCURRENCY}")
    if list(steps) != sorted(set(steps)):
        raise LoadTestError("capacity: steps must rise: e.g. 1,2,4,8")
    if step_seconds <= 0 or step_seconds * len(steps) > MAX_TOTAL_SECONDS:
        raise LoadTestError(f"capacity: steps x seconds must be at most {MAX_TOTAL_SECONDS:.0f} s")
    if growth <= 0 or headroom < 0:
        raise LoadTestError("capacity: growth must be above 0 and headroom 0 or more")
    deployed = Deployed.of(target, workload)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    done: list[Step] = []
    knee = Knee(None, "not measured", False)
    for c in steps:
        if stop():
            break
        try:
            f = run_load(lambda: target.endpoints(workload), list(images), c, step_seconds, phase=f"capacity c={c}",
                         progress=progress, stop=stop, model=model)
        except MeasureError as exc:
            raise LoadTestError(f"capacity at concurrency {c}: {exc}") from exc
        done.append(Step(c, f))
        on_step(done[-1])
        knee = find_knee(done, growth, thresholds)
        if knee.found:
            break
    suggestion = None
    if knee.index is not None and wanted_rate:
        suggestion = suggest(done[knee.index], wanted_rate, headroom, cpu_request)
    return CapacityResult(tuple(done), knee, suggestion, thresholds, growth, step_seconds, deployed, machine(),
                          started)
