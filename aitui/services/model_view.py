"""The model view: for each replica of a workload, the model it serves (from the replica itself: its OIP
model metadata and its recognizer_model_info) and its own req/s, p99, error ratio, batch size and queue
depth. The figures come from Prometheus (per `replica` label) when it answers; when it does not, from two
reads of each replica's own /metrics a second apart, and the result says which."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aitui.models import Pod
from aitui.services.metrics import BATCH, LATENCY, QUEUE, REQUESTS
from aitui.services.targets import Target

MODEL_INFO = "recognizer_model_info"
WINDOW = "30s"  # Prometheus rate window: a few scrapes, recent enough to tell a slow replica now
DIRECT_SECONDS = 1.0  # between the two /metrics reads when Prometheus is down
ERROR_CODES = re.compile(r"5..|429")


@dataclass(frozen=True)
class Figures:
    rate: float | None = None  # answered + failed requests per second
    p99_ms: float | None = None  # None: no request in the window
    error_ratio: float | None = None
    batch: float | None = None  # mean images per model invocation
    queue: float | None = None  # images waiting for the model now


@dataclass(frozen=True)
class ReplicaModel:
    pod: Pod
    endpoint: str  # how aitui reaches it ("" when not ready: nothing to ask)
    model: dict[str, str] = field(default_factory=dict)  # recognizer_model_info labels: name, version, runtime…
    platform: str = ""  # the OIP metadata's platform (the runtime the server says it runs)
    figures: Figures = Figures()
    source: str = ""  # "prometheus", "/metrics", or "" (not measured)
    error: str = ""  # why the replica could not be asked
    smoke_note: str = ""  # what the last smoke test said of it (set by the UI; part of the row's identity)
    self_check: str = ""  # how its own check on its samples went ("10 of 10 samples…", "unchecked: …")

    @property
    def name(self) -> str:
        return self.pod.name


@dataclass(frozen=True)
class ModelView:
    replicas: list[ReplicaModel]
    source: str  # a line for the screen: where the figures come from


# -- the replica's own metrics ---------------------------------------------------------------------
_LINE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Samples = list[tuple[str, dict[str, str], float]]


def parse(text: str) -> Samples:
    """Prometheus text exposition -> (name, labels, value) per sample."""
    out: Samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m:
            try:
                out.append((m[1], dict(_LABEL.findall(m[2] or "")), float(m[3])))
            except ValueError:
                continue
    return out


def _sum(samples: Samples, name: str, keep: Callable[[dict[str, str]], bool] = lambda _: True) -> float:
    return sum(v for n, labels, v in samples if n == name and keep(labels))


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """histogram_quantile's interpolation over cumulative (le, count) buckets; None with no observation."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_le, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_le  # beyond the last finite bucket: its bound, as Prometheus does
            width = count - lower_count
            return lower_le + (le - lower_le) * ((rank - lower_count) / width if width else 1.0)
        lower_le, lower_count = le, count
    return lower_le


def between(first: Samples, last: Samples, seconds: float) -> Figures:
    """A replica's figures over the time between two reads of its /metrics."""
    total = REQUESTS

    def delta(name: str, keep: Callable[[dict[str, str]], bool] = lambda _: True) -> float:
        return max(0.0, _sum(last, name, keep) - _sum(first, name, keep))

    requests = delta(total)
    failed = delta(total, lambda lb: bool(ERROR_CODES.fullmatch(lb.get("code", ""))))
    bucket = LATENCY + "_bucket"
    les = sorted({float(lb["le"]) for n, lb, _ in last if n == bucket and "le" in lb})
    def at(le: float) -> Callable[[dict[str, str]], bool]:
        return lambda lb: "le" in lb and float(lb["le"]) == le

    buckets = [(le, delta(bucket, at(le))) for le in les]
    p99 = quantile(0.99, buckets)
    batches = delta(BATCH + "_count")
    return Figures(rate=requests / seconds if seconds > 0 else None,
                   p99_ms=None if p99 is None else p99 * 1000,
                   error_ratio=failed / requests if requests else None,
                   batch=delta(BATCH + "_sum") / batches if batches else None,
                   queue=_sum(last, QUEUE))


def model_info(samples: Samples) -> dict[str, str]:
    return next((labels for n, labels, _ in samples if n == MODEL_INFO), {})


def _get(url: str, timeout: float) -> str:
    import requests

    r = requests.get(url, timeout=timeout)
    r.raise_for_status()
    return r.text


def metadata_of(endpoint: str, model: str, timeout: float = 3.0) -> dict[str, Any]:
    """The OIP model metadata of the model the replica serves as `model` (Pod.model)."""
    import json

    found = json.loads(_get(f"http://{endpoint}/v2/models/{model}", timeout))
    return found if isinstance(found, dict) else {}


# -- Prometheus ------------------------------------------------------------------------------------
def prometheus_queries(selector: str) -> dict[str, str]:
    sel, w = selector, WINDOW
    return {
        "rate": f"sum by (replica) (rate({REQUESTS}{{{sel}}}[{w}]))",
        "error_ratio": f'sum by (replica) (rate({REQUESTS}{{{sel},code=~"5..|429"}}[{w}])) / '
                       f"sum by (replica) (rate({REQUESTS}{{{sel}}}[{w}]))",
        "p99": f"histogram_quantile(0.99, sum by (replica, le) (rate({LATENCY}_bucket{{{sel}}}[{w}])))",
        "batch": f"sum by (replica) (rate({BATCH}_sum{{{sel}}}[{w}])) / "
                 f"sum by (replica) (rate({BATCH}_count{{{sel}}}[{w}]))",
        "queue": f"sum by (replica) ({QUEUE}{{{sel}}})",
    }


def from_prometheus(url: str, selector: str, timeout: float = 3.0) -> dict[str, Figures]:
    """replica -> its figures, one instant query per figure. Raises on a Prometheus that does not answer."""
    import requests

    found: dict[str, dict[str, float | None]] = {}
    for key, promql in prometheus_queries(selector).items():
        r = requests.get(f"{url.rstrip('/')}/api/v1/query", params={"query": promql}, timeout=timeout)
        r.raise_for_status()
        for item in r.json()["data"]["result"]:
            replica = item["metric"].get("replica")
            if replica:
                value = float(item["value"][1])
                found.setdefault(replica, {})[key] = None if math.isnan(value) or math.isinf(value) else value
    out = {}
    for replica, v in found.items():
        p99 = v.get("p99")
        rate = v.get("rate")
        out[replica] = Figures(rate=rate, p99_ms=None if p99 is None else p99 * 1000,
                               # no series of failed requests while some were answered: none failed
                               error_ratio=v.get("error_ratio", 0.0) if rate else None, batch=v.get("batch"),
                               queue=v.get("queue"))
    return out


# -- the view --------------------------------------------------------------------------------------
# (pod, endpoint) -> what it serves (info, platform, self-check): fixed for its life
_meta: dict[tuple[str, str], tuple[dict[str, str], str, str]] = {}
_meta_lock = threading.Lock()


def _read(endpoint: str, timeout: float) -> Samples:
    return parse(_get(f"http://{endpoint}/metrics", timeout))


def collect(target: Target, workload: str | None, prometheus_url: str | None, timeout: float = 3.0) -> ModelView:
    """The replicas of `workload` (all, when None) with their models and figures."""
    from aitui.services.errors import reason

    pods = target.pods(workload)
    reach: dict[str, str] = {}
    for name in sorted({p.workload for p in pods}):
        reach.update(target.replica_endpoints(name))
    asked = [p for p in pods if p.name in reach]

    first: dict[str, Samples] = {}
    errors: dict[str, str] = {}

    def read(p: Pod) -> tuple[str, Samples | None, str]:
        try:
            return p.name, _read(reach[p.name], timeout), ""
        except Exception as exc:
            return p.name, None, reason(exc)

    def meta(p: Pod, samples: Samples | None) -> tuple[dict[str, str], str, str]:
        key = (p.name, reach[p.name])
        with _meta_lock:
            known = _meta.get(key)
        if known is not None:
            return known
        try:
            meta = metadata_of(reach[p.name], p.model, timeout)
            platform = str(meta.get("platform", ""))
            check = str((meta.get("parameters") or {}).get("self_check", ""))
        except Exception:
            platform = check = ""
        info = model_info(samples or [])
        if info or platform:
            with _meta_lock:
                _meta[key] = (info, platform, check)
        return info, platform, check

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(asked)))) as pool:
        for name, samples, why in pool.map(read, asked):
            if samples is None:
                errors[name] = why
            else:
                first[name] = samples
        metas = dict(zip([p.name for p in asked],
                         pool.map(lambda p: meta(p, first.get(p.name)), asked), strict=True))

    figures: dict[str, Figures] = {}
    source_of: dict[str, str] = {}
    prom_why = "not configured"
    if prometheus_url:
        try:
            selector = target.metrics_selector(workload) if workload else 'job="recognizer"'
            figures = from_prometheus(prometheus_url, selector, timeout)
            source_of = dict.fromkeys(figures, "prometheus")
            prom_why = ""
        except Exception as exc:
            prom_why = reason(exc)
    if prom_why and first:  # Prometheus down: the replicas' own counters, a second apart
        t0 = time.monotonic()
        time.sleep(DIRECT_SECONDS)
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(first)))) as pool:
            later = dict(zip(first, pool.map(lambda n: read(next(p for p in asked if p.name == n)), first),
                             strict=True))
        seconds = time.monotonic() - t0
        for name, (_, samples, why) in later.items():
            if samples is None:
                errors[name] = why
            else:
                figures[name] = between(first[name], samples, seconds)
                source_of[name] = "/metrics"
    out = []
    for p in pods:
        info, platform, check = metas.get(p.name, ({}, "", ""))
        out.append(ReplicaModel(p, reach.get(p.name, ""), info, platform, figures.get(p.name, Figures()),
                                source_of.get(p.name, ""), errors.get(p.name, ""), self_check=check))
    if not prom_why:
        source = f"from Prometheus ({WINDOW} rates)"
    else:
        source = f"from each replica's /metrics over {DIRECT_SECONDS:g} s (Prometheus: {prom_why})"
    return ModelView(out, source)
