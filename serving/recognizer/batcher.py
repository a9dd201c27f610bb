"""Dynamic batching with a bounded delay and a bounded queue.

Requests put their images on a queue with a *sink*: an object the batcher hands the batch's answer to
(`deliver(probabilities)` or `fail(exception)`), and which says whether the client is still there
(`gone`). The HTTP server's sinks write the response at once (no future or task per request); gRPC's
wraps an asyncio future (`submit`).

A flush runs once the event loop has nothing else ready (`call_soon`: every request whose bytes arrived
in the same turn of the loop is already queued), or after `max_delay` when the previous batch was shared
(under concurrent load, so that a lone client never pays the delay). It takes up to `max_batch` images and
runs the model inline on the event loop (`inline`, the default: one process is one core, and a thread
there only adds hand-offs and GIL switches; serving/README.md measures it) or on an inference thread of
its own, then answers every request of the batch in one pass. While the model runs, new requests gather,
so batches grow with load on their own.
When the queue is full, new requests are refused at once (the server answers 429) rather than letting
latency grow without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from recognizer import metrics
from recognizer.runtime import Runtime


class Overloaded(Exception):
    pass


class Sink(Protocol):
    gone: bool  # the client went away: skip its images

    def deliver(self, probs: np.ndarray) -> None: ...

    def fail(self, exc: BaseException) -> None: ...


class _FutureSink:
    __slots__ = ("fut",)

    def __init__(self, fut: asyncio.Future[np.ndarray]) -> None:
        self.fut = fut

    @property
    def gone(self) -> bool:
        return self.fut.done()

    def deliver(self, probs: np.ndarray) -> None:
        if not self.fut.done():
            self.fut.set_result(probs)

    def fail(self, exc: BaseException) -> None:
        if not self.fut.done():
            self.fut.set_exception(exc)


class Batcher:
    def __init__(self, runtime: Runtime, max_batch: int = 32, max_delay: float = 0.001,
                 max_queue: int = 256, inline: bool = False) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.max_queue = max_queue
        self._queue: deque[tuple[np.ndarray, Any]] = deque()
        self._queued = 0
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False  # a flush is due (call_soon or call_later)
        self._busy = False  # the inference thread is running a batch
        self._stopped = False
        self._last_requests = 0
        self.inline = inline

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.inline:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="inference")

    async def stop(self) -> None:
        self._stopped = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    @property
    def queued(self) -> int:
        """Images waiting for the model."""
        return self._queued

    def admit(self) -> None:
        """Shed before any work: a full queue answers 429 before the body is parsed and decoded."""
        if self._queued >= self.max_queue:
            raise Overloaded(f"server overloaded: {self._queued} images queued (limit {self.max_queue})")

    def enqueue(self, images: np.ndarray, sink: Any) -> None:
        """Queue `images`; the batch's answer for them goes to `sink`. Raises Overloaded when full."""
        n = len(images)
        if n > self.max_queue or self._queued + n > self.max_queue:
            raise Overloaded(f"server overloaded: {self._queued} images queued (limit {self.max_queue})")
        self._queue.append((images, sink))
        self._queued += n
        if metrics.PUSH_GAUGES:
            metrics.QUEUED.set(self._queued)
        if not self._scheduled and not self._busy:
            self._schedule()

    async def submit(self, images: np.ndarray) -> np.ndarray:
        fut: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self.enqueue(images, _FutureSink(fut))
        return await fut

    def _schedule(self) -> None:
        assert self._loop is not None, "Batcher.start() first"
        self._scheduled = True
        # Wait for company only under concurrent load (the last batch was shared): a lone client never pays
        # the delay.
        if self._last_requests > 1 and self._queued < self.max_batch and self.max_delay > 0:
            self._loop.call_later(self.max_delay, self._flush)
        else:
            self._loop.call_soon(self._flush)

    def _take(self) -> list[tuple[np.ndarray, Any]]:
        taken: list[tuple[np.ndarray, Any]] = []
        count = 0
        while self._queue and (not taken or count + len(self._queue[0][0]) <= self.max_batch):
            item = self._queue.popleft()
            taken.append(item)
            count += len(item[0])
        self._queued -= count
        if metrics.PUSH_GAUGES:
            metrics.QUEUED.set(self._queued)
        return taken

    def _flush(self) -> None:
        self._scheduled = False
        if self._stopped:
            return
        live = [item for item in self._take() if not item[1].gone]  # a client may have gone
        self._last_requests = len(live)
        if not live:
            if self._queue:
                self._schedule()
            return
        batch = np.concatenate([x for x, _ in live]) if len(live) > 1 else live[0][0]
        t0 = time.perf_counter()
        if self.inline:
            try:
                probs = self.runtime.predict(batch)
            except Exception as exc:  # a model failure fails this batch, not the server
                self._fail(live, exc)
            else:
                self._deliver(live, batch, probs, t0)
            if self._queue and not self._scheduled:
                self._schedule()
            return
        self._busy = True
        assert self._loop is not None and self._pool is not None
        fut = self._loop.run_in_executor(self._pool, self.runtime.predict, batch)
        fut.add_done_callback(lambda f: self._threaded_done(f, live, batch, t0))

    def _threaded_done(self, f: asyncio.Future[np.ndarray], live: list[tuple[np.ndarray, Any]],
                       batch: np.ndarray, t0: float) -> None:
        self._busy = False
        if f.cancelled():
            self._fail(live, asyncio.CancelledError())
        elif f.exception() is not None:
            self._fail(live, f.exception())  # type: ignore[arg-type]
        else:
            self._deliver(live, batch, f.result(), t0)
        if self._queue and not self._scheduled:
            self._schedule()

    @staticmethod
    def _fail(live: list[tuple[np.ndarray, Any]], exc: BaseException) -> None:
        for _, sink in live:
            if not sink.gone:
                sink.fail(exc)

    @staticmethod
    def _deliver(live: list[tuple[np.ndarray, Any]], batch: np.ndarray, probs: np.ndarray, t0: float) -> None:
        metrics.INFERENCE.observe(time.perf_counter() - t0)
        metrics.BATCH.observe(len(batch))
        metrics.IMAGES.inc(len(batch))
        i = 0
        for x, sink in live:
            n = len(x)
            if not sink.gone:
                sink.deliver(probs[i:i + n])
            i += n
