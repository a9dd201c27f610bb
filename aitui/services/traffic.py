"""A bounded load generator for the recognizer: demos, charts, and the HPA to react to.

Workers send predict requests to the endpoints the target lists right now (like a Service), so
replicas that join or leave during a scale or a rollout get or lose traffic as they should.

What is counted is what a client sees: by default nothing is resent, so a refused connection is a
failed request. `retries=N` resends a refused connection (one that never reached a server, so it is
safe to send again) to another endpoint up to N times, as a proxy would; each resend is counted in
`stats.retried`, which the app shows next to the failures.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aitui.services import labels

PREDICT = "/v1/models/{model}:predict"


@dataclass(frozen=True)
class Sent:
    """One request as the client saw it (kept only with `Traffic(record=True)`): a load test's figures
    are computed from these, not from the server's histograms."""

    start: float  # time.perf_counter() when it was sent
    seconds: float  # until the answer or the failure, resends included; 0.0 when no endpoint was ready
    endpoint: str  # "" when no endpoint was ready
    outcome: str  # "" when answered 200, else the status code or the exception, as in TrafficStats.errors


@dataclass
class TrafficStats:
    sent: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by status code or exception
    retried: int = 0  # refused connections resent to another endpoint (only with retries > 0)
    per_endpoint: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, of successful requests
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    records: list[Sent] = field(default_factory=list)  # every request, with Traffic(record=True)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        s = sorted(self.latencies)
        return s[min(len(s) - 1, int(q * len(s)))]

    def rate(self) -> float:
        return self.sent / max(1e-9, (self.ended or time.monotonic()) - self.started)


def span(seconds: float, short: bool = False) -> str:
    """600 -> "10 minutes" ("10 min" short); 45 -> "45 s"."""
    if seconds >= 60 and seconds % 60 == 0:
        n = int(seconds // 60)
        return f"{n} min" if short else f"{n} minute{'s' if n != 1 else ''}"
    return f"{seconds:.0f} s"


class Traffic:
    """Send load until stop(), `duration` seconds, `max_requests`, or `idle_limit` seconds without a ready
    endpoint, whichever comes first; `reason` says which ("stopped", "duration", "cap", "idle")."""

    def __init__(self, endpoints: Callable[[], list[str]], images: list[bytes], concurrency: int = 4,
                 rate: float | None = None, duration: float = 60.0, max_requests: int = 100_000,
                 refresh: float = 0.25, timeout: float = 10.0, retries: int = 0, idle_limit: float = 30.0,
                 record: bool = False, model: str = labels.NAME) -> None:
        if not images:
            raise ValueError("traffic needs at least one sample image")
        self._endpoints_fn = endpoints
        self._path = PREDICT.format(model=model)  # the name the replicas serve the model under
        self._bodies = [json.dumps({"instances": [{"b64": base64.b64encode(i).decode()}]}).encode() for i in images]
        self.concurrency = max(1, concurrency)
        self.rate = rate
        self.duration = duration
        self.max_requests = max_requests
        self.refresh = refresh
        self.timeout = timeout
        self.retries = max(0, retries)
        self.idle_limit = idle_limit
        self.record = record  # keep a Sent per request in stats.records (bounded by max_requests)
        self.reason = ""  # why it ended: "stopped" (stop()), "duration", "cap" or "idle"; "" while it runs
        self._empty_since: float | None = None  # since when no endpoint is ready
        self.stats = TrafficStats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._endpoints: list[str] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> Traffic:
        self._refresh_endpoints()
        self._threads = [threading.Thread(target=self._refresher, daemon=True, name="traffic-endpoints")]
        self._threads += [threading.Thread(target=self._worker, args=(i,), daemon=True, name=f"traffic-{i}")
                          for i in range(self.concurrency)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> TrafficStats:
        with self._lock:
            self.reason = self.reason or "stopped"
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 1)
        self.stats.ended = self.stats.ended or time.monotonic()
        return self.stats

    def limits(self) -> str:
        """What it stops at, as said when it starts: "for up to 10 minutes or 100,000 requests"."""
        return f"for up to {span(self.duration)} or {self.max_requests:,} requests"

    def why_ended(self) -> str:
        """Why it ended, in the user's words: "stopped after 10 min (its limit)"…"""
        return {"duration": f"stopped after {span(self.duration, short=True)} (its limit)",
                "cap": f"stopped after {self.max_requests:,} requests (its cap)",
                "idle": f"stopped: no ready replica for {span(self.idle_limit)}",
                }.get(self.reason, "stopped")

    def totals(self) -> str:
        s = self.stats
        return (f"{s.sent} requests, {s.ok} ok, {s.failed} failed, {s.retried} retried, "
                f"p50 {s.percentile(0.5) * 1000:.1f} ms, p99 {s.percentile(0.99) * 1000:.1f} ms")

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads[1:])

    def _refresh_endpoints(self) -> None:
        try:
            eps = self._endpoints_fn()
        except Exception:
            return  # keep the last list: a slow engine must not stop the load
        with self._lock:
            self._endpoints = eps
            if eps:
                self._empty_since = None
            elif self._empty_since is None:
                self._empty_since = time.monotonic()

    def _refresher(self) -> None:
        while not self._stop.wait(self.refresh):
            self._refresh_endpoints()

    def _claim(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._stop.is_set():
                why = "stopped"
            elif self.stats.sent >= self.max_requests:
                why = "cap"
            elif now - self.stats.started >= self.duration:
                why = "duration"
            elif self._empty_since is not None and now - self._empty_since >= self.idle_limit:
                why = "idle"
            else:
                self.stats.sent += 1
                return True
            self.reason = self.reason or why
            self._stop.set()
            self.stats.ended = self.stats.ended or now
            return False

    def _worker(self, i: int) -> None:
        import requests

        session = requests.Session()
        rng = random.Random(i)
        interval = self.concurrency / self.rate if self.rate else 0.0
        next_at = time.monotonic()
        while self._claim():
            if interval:
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            body = rng.choice(self._bodies)
            tried: set[str] = set()
            outcome = "no ready endpoint"
            sent_at, ep = time.perf_counter(), ""  # a resend counts in its request's time
            for attempt in range(1 + self.retries):
                with self._lock:
                    choices = [e for e in self._endpoints if e not in tried]
                if not choices:
                    break
                ep = rng.choice(choices)
                t0 = time.perf_counter()
                try:
                    r = session.post(f"http://{ep}{self._path}", data=body, timeout=self.timeout,
                                     headers={"Content-Type": "application/json"})
                except requests.ConnectionError as exc:
                    refused = "refused" in str(exc).lower()
                    outcome = "connection refused" if refused else type(exc).__name__
                    if refused and attempt < self.retries:  # never reached a server: safe to send elsewhere
                        tried.add(ep)
                        with self._lock:
                            elsewhere = any(e not in tried for e in self._endpoints)
                            self.stats.retried += elsewhere
                        if elsewhere:
                            continue
                    break
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                    break
                with self._lock:
                    self.stats.per_endpoint[ep] += 1
                    if r.status_code == 200:
                        self.stats.ok += 1
                        self.stats.latencies.append(time.perf_counter() - t0)
                        outcome = ""
                    else:
                        outcome = str(r.status_code)
                break
            if self.record:
                done = time.perf_counter()
                with self._lock:
                    self.stats.records.append(Sent(sent_at, done - sent_at if ep else 0.0, ep, outcome))
            if outcome:
                with self._lock:
                    self.stats.errors[outcome] += 1
                if outcome == "no ready endpoint":
                    self._stop.wait(0.1)
