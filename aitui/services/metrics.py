"""Named PromQL queries -> time series for the charts (prometheus-api-client).

The metric names are the recognizer's (serving/recognizer/metrics.py); tests/test_metrics_service.py
checks that every name queried here is one the running server exports. The Grafana dashboard
(manifests/monitoring/dashboard.py) is generated from these same queries.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from aitui.config import Settings
from aitui.models import ReplicaStats, Series
from aitui.services.errors import reason
from aitui.services.redact import text as masked

REQUESTS = "recognizer_requests_total"
LATENCY = "recognizer_request_duration_seconds"
BATCH = "recognizer_batch_size"
IN_FLIGHT = "recognizer_requests_in_flight"
QUEUE = "recognizer_queue_images"
QUERIED = (REQUESTS, LATENCY + "_bucket", BATCH + "_sum", BATCH + "_count", IN_FLIGHT, QUEUE)
MIN_STEP = 2.0  # seconds: the local Prometheus scrapes every 2 s


@dataclass(frozen=True)
class Query:
    title: str
    unit: str
    lines: tuple[tuple[str, str], ...]  # (legend, PromQL with {sel} and {rate} placeholders)


# PromQL templates: <sel> becomes the label selector, <rate> the rate window.
QUERIES: dict[str, Query] = {
    "requests": Query("Requests/s", "req/s", (
        ("all", f"sum(rate({REQUESTS}{{<sel>}}[<rate>]))"),
        ("{replica}", f"sum by (replica) (rate({REQUESTS}{{<sel>}}[<rate>]))"),
    )),
    "latency": Query("Latency", "s", tuple(
        (f"p{q}", f"histogram_quantile(0.{q}, sum by (le) (rate({LATENCY}_bucket{{<sel>}}[<rate>])))")
        for q in ("50", "95", "99"))),
    "errors": Query("Errors", "ratio", (
        # "or vector(0)": no failed request yet is a ratio of 0, not an empty chart
        ("5xx+429", f'(sum(rate({REQUESTS}{{<sel>,code=~"5..|429"}}[<rate>])) or vector(0)) / '
                    f"sum(rate({REQUESTS}{{<sel>}}[<rate>]))"),
    )),
    "replicas": Query("Replicas", "", (("up", "count(up{<sel>} == 1)"),)),
    # per replica: a replica that batches less or queues more than the others shows as its own line
    "batch": Query("Batch size", "images", (
        ("{replica}", f"sum by (replica) (rate({BATCH}_sum{{<sel>}}[<rate>])) / "
                      f"sum by (replica) (rate({BATCH}_count{{<sel>}}[<rate>]))"),)),
    "in_flight": Query("In flight", "requests", (("{replica}", f"sum by (replica) ({IN_FLIGHT}{{<sel>}})"),)),
    "queue": Query("Queue", "images", (("{replica}", f"sum by (replica) ({QUEUE}{{<sel>}})"),)),
    "cpu": Query("CPU", "cores", (("{replica}", "sum by (replica) (rate(process_cpu_seconds_total{<sel>}[<rate>]))"),)),
    "memory": Query("Memory", "bytes", (("{replica}", "sum by (replica) (process_resident_memory_bytes{<sel>})"),)),
}


FALLBACK = ("cpu", "memory")  # what the charts still show without Prometheus (from the target's stats)
KEEP = 3600.0  # seconds of fallback samples kept: the longest window


class StatsHistory:
    """The fallback's samples: each replica's CPU and memory at each poll, the last hour of them."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, float, float]]] = {}

    def add(self, stats: list[ReplicaStats], now: float) -> None:
        for s in stats:
            self._samples.setdefault(s.replica, deque()).append((now, s.cpu, s.memory))
        for name, samples in list(self._samples.items()):
            while samples and samples[0][0] < now - KEEP:
                samples.popleft()
            if not samples:
                del self._samples[name]  # a replica gone for an hour

    def clear(self) -> None:
        self._samples.clear()

    def series(self, kind: str, window: float, now: float, scale: float = 1.0) -> list[Series]:
        """One series per replica of `kind` (cpu or memory) over the last `window` seconds."""
        i = FALLBACK.index(kind) + 1
        out = []
        for name in sorted(self._samples):
            points = tuple((s[0], s[i] * scale) for s in self._samples[name] if s[0] >= now - window)
            if points:
                out.append(Series(name, points))
        return out


def unreachable(settings: Settings) -> str:
    """Why Prometheus does not answer (one quick call), or "" when it does."""
    import requests

    try:
        r = requests.get(f"{settings.prometheus_url.rstrip('/')}/-/ready", timeout=min(2.0, settings.timeout))
        return "" if r.status_code == 200 else f"answers {r.status_code}"
    except Exception as exc:
        return reason(exc)


def render(query: str, selector: str, rate_window: str) -> str:
    return query.replace("<sel>", selector).replace("<rate>", rate_window)


def fetch(settings: Settings, name: str, window: float, width: int, selector: str = 'job="recognizer"',
          now: float | None = None) -> list[Series]:
    """The series of query `name` over the last `window` seconds, about `width` points each (one per
    chart column: more would only be drawn over). Never raises: failures are Series with an error."""
    q = QUERIES[name]
    step = max(MIN_STEP, window / max(1, width))
    rate_window = f"{max(int(step * 2), 8)}s"  # at least a few scrapes per rate
    end = now or time.time()
    try:
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        # No retries here: the chart polls again in a few seconds, and a dead server must not stall it.
        prom = PrometheusConnect(settings.prometheus_url, disable_ssl=False, retry=Retry(total=0),
                                 timeout=max(1, int(settings.timeout)))
        out: list[Series] = []
        for legend, promql in q.lines:
            result = prom.custom_query_range(
                render(promql, selector, rate_window),
                start_time=datetime.fromtimestamp(end - window, UTC),
                end_time=datetime.fromtimestamp(end, UTC), step=f"{step:g}s")
            for r in result:
                label = legend.format(**r.get("metric", {})) if "{" in legend else legend
                points = tuple((float(t), float(v)) for t, v in r["values"] if v not in ("NaN", "+Inf", "-Inf"))
                if points:
                    out.append(Series(label, points))
        return out or [Series(q.title, error="no data: no samples in this window yet")]
    except KeyError as exc:
        return [Series(q.title, error=f"no data: series without label {exc}")]
    except Exception as exc:
        return [Series(q.title, error=f"no data: {masked(settings.prometheus_url)} {reason(exc)}")]
