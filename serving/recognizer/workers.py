"""RECOGNIZER_WORKERS=N (N > 1): N server processes share the HTTP and gRPC ports (SO_REUSEPORT: the kernel
spreads new connections over them), for a machine without an orchestrator; on Kubernetes the unit of scale
is the pod, so the default is one process and no supervisor.

This supervisor loads no model and serves nothing: it makes the directory where the workers keep their
Prometheus values (recognizer/metrics.py), starts the workers, restarts one that dies, and on SIGTERM or
SIGINT passes the signal on and waits for each worker's own drain to end.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

log = logging.getLogger("recognizer.workers")


def metrics_dir() -> str:
    """A fresh directory on a tmpfs: /dev/shm is writable in a container with a read-only root filesystem
    (Docker and Kubernetes mount it), and files there cost no disk writes."""
    for base in ("/dev/shm", None):
        try:
            return tempfile.mkdtemp(prefix="recognizer-metrics-", dir=base)
        except OSError:
            continue
    raise OSError("no writable directory for the workers' metrics (tried /dev/shm and the temp directory)")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    n = int(os.environ["RECOGNIZER_WORKERS"])
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = given or metrics_dir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    from prometheus_client import multiprocess

    stopping = False
    grace = float(os.environ.get("RECOGNIZER_DRAIN_SECONDS", "3")) + 5

    def spawn(i: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "recognizer"], env={**os.environ, "RECOGNIZER_WORKER": str(i)})

    workers = {i: spawn(i) for i in range(n)}
    log.info("%d workers: pids %s", n, [p.pid for p in workers.values()])

    def stop(sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for p in workers.values():
            if p.poll() is None:
                p.send_signal(sig)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    try:
        while not stopping:
            for i, p in list(workers.items()):
                if p.poll() is not None and not stopping:
                    log.warning("worker %d (pid %d) exited with %s; starting another", i, p.pid, p.returncode)
                    multiprocess.mark_process_dead(p.pid)  # its in-flight and queue gauges are gone
                    time.sleep(0.5)  # a worker that cannot start does not spin
                    workers[i] = spawn(i)
            time.sleep(0.1)
        deadline = time.monotonic() + grace
        for p in workers.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            code = code or (p.returncode if p.returncode and p.returncode > 0 else 0)
    finally:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)
    log.info("all workers stopped")
    sys.exit(code)
