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

PREDICT = "/v1/models/recognizer:predict"


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


class Traffic:
    """Send load until stop(), `duration` seconds, or `max_requests`, whichever comes first."""

    def __init__(self, endpoints: Callable[[], list[str]], images: list[bytes], concurrency: int = 4,
                 rate: float | None = None, duration: float = 60.0, max_requests: int = 100_000,
                 refresh: float = 0.25, timeout: float = 10.0, retries: int = 0) -> None:
        if not images:
            raise ValueError("traffic needs at least one sample image")
        self._endpoints_fn = endpoints
        self._bodies = [json.dumps({"instances": [{"b64": base64.b64encode(i).decode()}]}).encode() for i in images]
        self.concurrency = max(1, concurrency)
        self.rate = rate
        self.duration = duration
        self.max_requests = max_requests
        self.refresh = refresh
        self.timeout = timeout
        self.retries = max(0, retries)
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
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 1)
        self.stats.ended = self.stats.ended or time.monotonic()
        return self.stats

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

    def _refresher(self) -> None:
        while not self._stop.wait(self.refresh):
            self._refresh_endpoints()

    def _claim(self) -> bool:
        with self._lock:
            if self._stop.is_set() or self.stats.sent >= self.max_requests or \
                    time.monotonic() - self.stats.started >= self.duration:
                self._stop.set()
                self.stats.ended = self.stats.ended or time.monotonic()
                return False
            self.stats.sent += 1
            return True

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
            for attempt in range(1 + self.retries):
                with self._lock:
                    choices = [e for e in self._endpoints if e not in tried]
                if not choices:
                    break
                ep = rng.choice(choices)
                t0 = time.perf_counter()
                try:
                    r = session.post(f"http://{ep}{PREDICT}", data=body, timeout=self.timeout,
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
            if outcome:
                with self._lock:
                    self.stats.errors[outcome] += 1
                if outcome == "no ready endpoint":
                    self._stop.wait(0.1)
