"""The server's Prometheus metrics. These names are the contract with aitui's queries
(aitui/services/metrics.py); tests/test_metrics_service.py checks the two agree.

With several worker processes (RECOGNIZER_WORKERS, recognizer/workers.py) the supervisor sets
PROMETHEUS_MULTIPROC_DIR before any worker starts: prometheus_client then keeps every value in a file per
process there, and whichever worker answers /metrics adds them up (counters and histograms summed, the
in-flight and queue gauges summed over the live workers), with the process_* figures of the whole process
tree. The names and labels a scraper sees are the same with one worker or many.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# 0.5 ms .. 10 s: resolves a sub-millisecond cache-warm request and a stalled one alike.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0,
                   2.5, 5.0, 10.0)

REQUESTS = Counter("recognizer_requests", "Inference requests by protocol and HTTP status code",
                   ["protocol", "code"])
LATENCY = Histogram("recognizer_request_duration_seconds", "Inference request latency, receipt to response",
                    ["protocol"], buckets=LATENCY_BUCKETS)
INFERENCE = Histogram("recognizer_inference_duration_seconds", "Time the model takes for one batch",
                      buckets=LATENCY_BUCKETS)
BATCH = Histogram("recognizer_batch_size", "Images per model invocation",
                  buckets=(1, 2, 4, 8, 16, 32, 64, 128))
IMAGES = Counter("recognizer_images", "Images classified")
IN_FLIGHT = Gauge("recognizer_requests_in_flight", "Inference requests being handled", multiprocess_mode="livesum")
QUEUED = Gauge("recognizer_queue_images", "Images waiting for the model", multiprocess_mode="livesum")
# With one process the in-flight and queue gauges read the server's own counters when scraped (follow()), so
# nothing is updated per request; with several, values live in files that a function cannot feed, and the
# server updates the two gauges as things happen (PUSH_GAUGES).
PUSH_GAUGES = MULTIPROCESS
# An info metric as a gauge of 1 (what an Info is on the wire): Info has no multiprocess mode.
MODEL = Gauge("recognizer_model_info", "The model being served", ["name", "version", "runtime", "accuracy"],
              multiprocess_mode="max")

# The names a scraper sees (Counter adds _total, Info adds _info); aitui queries these.
EXPORTED = {
    "requests": "recognizer_requests_total",
    "latency": "recognizer_request_duration_seconds",
    "inference": "recognizer_inference_duration_seconds",
    "batch": "recognizer_batch_size",
    "images": "recognizer_images_total",
    "in_flight": "recognizer_requests_in_flight",
    "queued": "recognizer_queue_images",
    "model": "recognizer_model_info",
}


def follow(in_flight: Callable[[], float], queued: Callable[[], float]) -> None:
    """The in-flight and queue gauges' values, read when scraped (one process only: see PUSH_GAUGES)."""
    if not PUSH_GAUGES:
        IN_FLIGHT.set_function(in_flight)
        QUEUED.set_function(queued)


def model_info(**labels: str) -> None:
    MODEL.labels(**labels).set(1)


class ProcessTree:
    """process_* of a process and all its descendants, added up: the supervisor's workers and each server's
    decode process (recognizer/decoder.py). CPU seconds, memory and open files are then the pod's, whether
    it runs one process or several; the start time is the root's."""

    def __init__(self, root: int, supervised: bool) -> None:
        self.root = root
        self.supervised = supervised  # root is the workers' supervisor: say how many workers it has

    def tree(self) -> tuple[list[int], int]:
        """(root and every descendant, how many children the root has)."""
        parents: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        parents[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        pids, i = [self.root], 0
        while i < len(pids):
            pids += [p for p, parent in parents.items() if parent == pids[i]]
            i += 1
        return pids, sum(1 for parent in parents.values() if parent == self.root)

    def collect(self) -> Iterable[Metric]:
        total: dict[str, Metric] = {}
        pids, children = self.tree()
        for pid in pids:
            for m in ProcessCollector(pid=lambda p=pid: p, registry=None).collect():
                if m.name not in total:
                    total[m.name] = m
                elif m.name not in ("process_start_time_seconds", "process_max_fds"):
                    total[m.name].samples[0] = total[m.name].samples[0]._replace(
                        value=total[m.name].samples[0].value + m.samples[0].value)
        yield from total.values()
        if MULTIPROCESS:
            yield GaugeMetricFamily("recognizer_worker_processes", "Worker processes serving this port",
                                    value=children if self.supervised else 1)


def count_descendants() -> None:
    """One process: its process_* add up its decode process too (the default collector sees only itself)."""
    if not MULTIPROCESS:
        from prometheus_client import PROCESS_COLLECTOR, REGISTRY

        try:
            REGISTRY.unregister(PROCESS_COLLECTOR)
        except KeyError:  # done already
            return
        REGISTRY.register(ProcessTree(os.getpid(), supervised=False))


def exposition() -> bytes:
    """The text for /metrics: this process's registry, or every worker's added up."""
    if not MULTIPROCESS:
        return generate_latest()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    # a worker's parent is the supervisor; a lone process with PROMETHEUS_MULTIPROC_DIR set is its own root
    supervised = "RECOGNIZER_WORKER" in os.environ
    registry.register(ProcessTree(os.getppid() if supervised else os.getpid(), supervised))
    return generate_latest(registry)
