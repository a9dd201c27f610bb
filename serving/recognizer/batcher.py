"""Dynamic batching with a bounded delay and a bounded queue.

Requests put their images on a queue; one task takes up to `max_batch` images at a time
and runs the model, inline on the event loop (`inline`, the default: one process is one
core, and a thread there only adds hand-offs and GIL switches; serving/README.md measures
it) or on an inference thread of its own. While the model runs, new requests gather, so
batches grow with load on their own; `max_delay` only bounds how long a lone request may
wait for company.
When the queue is full, `submit` refuses at once (the server answers 429) rather than
letting latency grow without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from recognizer import metrics
from recognizer.runtime import Runtime


class Overloaded(Exception):
    pass


class Batcher:
    def __init__(self, runtime: Runtime, max_batch: int = 32, max_delay: float = 0.001,
                 max_queue: int = 256, inline: bool = False) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.max_queue = max_queue
        self._queue: deque[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="inference")
        self._task: asyncio.Task[None] | None = None
        self._last_requests = 0
        self.inline = inline

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self._pool.shutdown(wait=True)

    def admit(self) -> None:
        """Shed before any work: a full queue answers 429 before the body is parsed and decoded."""
        if self._queued >= self.max_queue:
            raise Overloaded(f"server overloaded: {self._queued} images queued (limit {self.max_queue})")

    async def submit(self, images: np.ndarray) -> np.ndarray:
        n = len(images)
        if n > self.max_queue or self._queued + n > self.max_queue:
            raise Overloaded(f"server overloaded: {self._queued} images queued (limit {self.max_queue})")
        fut: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.append((images, fut))
        self._queued += n
        metrics.QUEUED.set(self._queued)
        self._wake.set()
        return await fut

    def _take(self) -> list[tuple[np.ndarray, asyncio.Future[np.ndarray]]]:
        taken: list[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = []
        count = 0
        while self._queue and (not taken or count + len(self._queue[0][0]) <= self.max_batch):
            item = self._queue.popleft()
            taken.append(item)
            count += len(item[0])
        self._queued -= count
        metrics.QUEUED.set(self._queued)
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            # Wait for company only under concurrent load (the last batch was shared):
            # a lone client never pays the delay.
            if self._last_requests > 1 and self._queued < self.max_batch and self.max_delay > 0:
                await asyncio.sleep(self.max_delay)
            taken = self._take()
            live = [(x, f) for x, f in taken if not f.done()]  # the client may have gone
            self._last_requests = len(live)
            if not live:
                continue
            batch = np.concatenate([x for x, _ in live]) if len(live) > 1 else live[0][0]
            t0 = time.perf_counter()
            try:
                if self.inline:
                    probs = self.runtime.predict(batch)
                else:
                    probs = await loop.run_in_executor(self._pool, self.runtime.predict, batch)
            except Exception as exc:  # a model failure fails this batch, not the server
                for _, f in live:
                    if not f.done():
                        f.set_exception(exc)
                continue
            metrics.INFERENCE.observe(time.perf_counter() - t0)
            metrics.BATCH.observe(len(batch))
            metrics.IMAGES.inc(len(batch))
            i = 0
            for x, f in live:
                if not f.done():
                    f.set_result(probs[i:i + len(x)])
                i += len(x)
