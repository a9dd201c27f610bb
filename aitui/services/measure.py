"""Measured load: run the load generator for a bounded time and turn its own per-request records into
figures (req/s, p50/p95/p99, errors), and say which machine measured them. Shared by the load test and
the capacity finder; no Textual, so the UI can run it in a worker and a script from the command line."""

from __future__ import annotations

import os
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aitui.services import labels
from aitui.services.traffic import Sent, Traffic

MAX_SECONDS = 600.0  # one measurement never runs longer, whatever it is asked
MAX_REQUESTS = 100_000


class MeasureError(Exception):
    """The measurement could not start or measured nothing; the message says why."""


@dataclass(frozen=True)
class Tick:
    """Progress while load runs, about once a second: enough for a live line or a gauge."""

    phase: str  # "loadtest", or "capacity c=8" for a capacity step
    elapsed: float
    duration: float
    sent: int
    ok: int
    failed: int
    text: str  # the same, in a line for a terminal


Progress = Callable[[Tick], None]


def quiet(_: Tick) -> None:
    pass


@dataclass(frozen=True)
class Figures:
    """What the client saw. Latencies are of answered (200) requests; errors are every other outcome,
    counted per request as TrafficStats does (a refused connection, a 429, a timeout…)."""

    requests: int
    ok: int
    failed: int
    errors: dict[str, int]
    seconds: float  # from the first request sent to the last one answered
    rate: float  # answered requests per second (throughput)
    sent_rate: float  # requests sent per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    error_ratio: float  # failed / requests
    per_endpoint: dict[str, int]  # answered requests per endpoint (replica)
    cpu_cores: dict[str, float] = field(default_factory=dict)  # endpoint -> CPU cores its process used
    client_cores: float = 0.0  # CPU cores the generator's own process used: near 1, Python's lock is its limit
    machine_busy: float | None = None  # fraction of this machine's CPU time busy (all processes), from /proc/stat

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank, as TrafficStats.percentile: the value below which a fraction q of them lie."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def figures(records: list[Sent], cpu: dict[str, float] | None = None, client_cores: float = 0.0,
            machine_busy: float | None = None) -> Figures:
    if not records:
        raise MeasureError("no request was sent")
    ok = sorted(r.seconds for r in records if not r.outcome)
    errors = Counter(r.outcome for r in records if r.outcome)
    first = min(r.start for r in records)
    last = max(r.start + r.seconds for r in records)
    seconds = max(last - first, 1e-9)
    per_endpoint = Counter(r.endpoint for r in records if not r.outcome)
    return Figures(requests=len(records), ok=len(ok), failed=sum(errors.values()), errors=dict(errors),
                   seconds=round(seconds, 3), rate=round(len(ok) / seconds, 2),
                   sent_rate=round(len(records) / seconds, 2),
                   p50_ms=round(percentile(ok, 0.50) * 1000, 2), p95_ms=round(percentile(ok, 0.95) * 1000, 2),
                   p99_ms=round(percentile(ok, 0.99) * 1000, 2), max_ms=round((ok[-1] if ok else 0) * 1000, 2),
                   error_ratio=round(sum(errors.values()) / len(records), 4),
                   per_endpoint=dict(sorted(per_endpoint.items())), cpu_cores=cpu or {},
                   client_cores=round(client_cores, 3),
                   machine_busy=None if machine_busy is None else round(machine_busy, 3))


@dataclass(frozen=True)
class Machine:
    """Where the figures were measured: the load generator shares this machine with what it loads
    (local target), so its CPU is part of the figures' story."""

    hostname: str
    cpu_model: str
    cores: int
    system: str
    python: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"{self.cpu_model}, {self.cores} cores ({self.system})"


def machine() -> Machine:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)
    return Machine(platform.node(), model, cores, f"{platform.system()} {platform.release()}",
                   platform.python_version())


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_between(first: tuple[int, int] | None, last: tuple[int, int] | None) -> float | None:
    if first is None or last is None or last[1] <= first[1]:
        return None
    return (last[0] - first[0]) / (last[1] - first[1])


def cpu_seconds(endpoint: str, timeout: float = 2.0) -> float | None:
    """The replica's own process_cpu_seconds_total, read from its /metrics (the same port it serves on);
    None when it does not say."""
    import requests

    try:
        text = requests.get(f"http://{endpoint}/metrics", timeout=timeout).text
    except requests.RequestException:
        return None
    for line in text.splitlines():
        if line.startswith("process_cpu_seconds_total "):
            try:
                return float(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None


def run_load(endpoints: Callable[[], list[str]], images: list[bytes], concurrency: int, duration: float,
             rate: float | None = None, max_requests: int = MAX_REQUESTS, phase: str = "load",
             progress: Progress = quiet, stop: Callable[[], bool] = lambda: False, model: str = labels.NAME) -> Figures:
    """Send load (to the model served as `model`) for `duration` seconds (at most MAX_SECONDS) or
    `max_requests`, from `concurrency` workers (at `rate` req/s in all when given), and measure it. `stop()`
    returning True ends it early (the UI's cancel). Raises MeasureError when no replica is ready or nothing was sent."""
    if concurrency < 1:
        raise MeasureError("concurrency must be 1 or more")
    if not 0 < duration <= MAX_SECONDS:
        raise MeasureError(f"duration must be more than 0 and at most {MAX_SECONDS:.0f} s, not {duration:g}")
    ready = endpoints()
    if not ready:
        raise MeasureError("no ready replica to send load to")
    before = {ep: cpu_seconds(ep) for ep in ready}
    traffic = Traffic(endpoints, images, concurrency=concurrency, rate=rate, duration=duration,
                      max_requests=min(max_requests, MAX_REQUESTS), record=True, idle_limit=min(10.0, duration),
                      model=model)
    t0, cpu0, busy0 = time.monotonic(), time.process_time(), cpu_times()
    traffic.start()
    try:
        while traffic.running:
            if stop():
                break
            time.sleep(min(1.0, max(0.05, duration / 20)))
            s = traffic.stats
            elapsed = time.monotonic() - t0
            progress(Tick(phase, elapsed, duration, s.sent, s.ok, s.failed,
                          f"{phase}: {elapsed:.0f}/{duration:.0f} s, {s.sent} sent, {s.ok} ok, {s.failed} failed"))
    finally:
        stats = traffic.stop()
    wall = time.monotonic() - t0
    client, busy = (time.process_time() - cpu0) / wall, busy_between(busy0, cpu_times())
    cpu: dict[str, float] = {}
    for ep, first in before.items():
        last = cpu_seconds(ep)
        if first is not None and last is not None:
            cpu[ep] = round((last - first) / wall, 3)
    return figures(list(stats.records), cpu, client, busy)
