"""Where a request's images are decoded: on the event loop when that is cheap, in a decode process otherwise,
so that no request the limits allow stalls the loop, its health probes or its other clients.

One request within the limits can cost half a minute: 63 solid 6300x6300 PNGs (each under the 40-megapixel
limit) fit in 8 MiB and decode for ~25 s. A thread does not help: libspng (pyspng) keeps the GIL while it
decodes (a 40 MP PNG held the loop for 356 ms), and so do orjson and numpy over an 8 MiB body (0.4 s). A
process does: the loop only sends the body and gets back the small decoded batch. A request goes there when
its body is over INLINE_BYTES or its images, by their headers, make more than INLINE_PIXELS pixels; the
common request (one small image, ~80 µs of decode) stays on the loop, where a hand-off would cost more than
the work. At most `max_jobs` requests wait for the decode processes; more get 429, as a full queue does.

The decode process is `python -m recognizer.decoder FD`: it reads jobs from a socket (a length, then a
pickle of parsing.decoded's arguments) one at a time and writes back the batch or the BadRequest. It holds no
state; if it dies, its jobs fail (500, logged) and another one starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from recognizer import parsing
from recognizer.batcher import Overloaded

log = logging.getLogger("recognizer.decoder")
INLINE_BYTES = 64 * 1024  # orjson and numpy over a body this size: ~3 ms at worst
INLINE_PIXELS = 512 * 512  # decoded pixels: ~5 ms of libspng or Pillow
LENGTH = struct.Struct("<Q")
Done = Callable[[Any, BaseException | None], None]  # (result, None) or (None, exception)


class DecodeFailed(Exception):
    """The decode process died or answered with something other than a result or a BadRequest."""


class _Link(asyncio.Protocol):
    """The loop's end of one decode process's socket: frames out, frames in, answers to their jobs in order."""

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder
        self.transport: asyncio.Transport | None = None
        self.jobs: list[Done] = []  # the process answers in the order it was sent the jobs
        self.buf = bytearray()
        self.proc: subprocess.Popen[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= LENGTH.size:
            (n,) = LENGTH.unpack_from(self.buf)
            if len(self.buf) < LENGTH.size + n:
                return
            frame = bytes(self.buf[LENGTH.size:LENGTH.size + n])
            del self.buf[:LENGTH.size + n]
            done = self.jobs.pop(0)
            self.decoder.waiting -= 1
            try:
                ok, value = pickle.loads(frame)
            except Exception as exc:
                done(None, DecodeFailed(f"unreadable answer from the decode process: {exc}"))
                continue
            done(value, None) if ok else done(None, value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        jobs, self.jobs = self.jobs, []
        self.decoder.waiting -= len(jobs)
        self.decoder.lost(self)
        for done in jobs:
            done(None, DecodeFailed("the decode process died"))

    def send(self, args: tuple[Any, ...], done: Done) -> None:
        assert self.transport is not None
        payload = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        self.jobs.append(done)
        self.transport.write(LENGTH.pack(len(payload)))
        self.transport.write(payload)


class Decoder:
    """`processes` decode processes (0: every request is decoded on the loop, as before this existed)."""

    def __init__(self, size: int, max_pixels: int, processes: int = 1, max_jobs: int = 16) -> None:
        self.size, self.max_pixels = size, max_pixels
        self.processes, self.max_jobs = processes, max_jobs
        self.links: list[_Link] = []
        self.waiting = 0  # jobs sent and not answered
        self.stopped = False
        self._starting = 0
        self._last_start = 0.0

    # where a request is decoded

    def prepare(self, kind: str, body: bytes, header: str | None,
                ready: Callable[[np.ndarray, Any], None], done: Done) -> None:
        """Parse and decode a request. A cheap one is parsed and decoded now and handed to `ready(batch, ctx)`
        before this returns; a costly one goes to a decode process and `done((batch, ctx), error)` is called
        on the loop later. A malformed request raises BadRequest (a cheap one at once), Overloaded when the
        decode processes have `max_jobs` waiting."""
        if self.processes <= 0 or len(body) <= INLINE_BYTES:
            images, ctx = parsing.prepare(kind, body, header, self.size, self.max_pixels)
            if self.processes <= 0 or images.cost <= INLINE_PIXELS:
                ready(images.decode(), ctx)
                return
        self.submit((kind, body, header, self.size, self.max_pixels), done)

    async def prepared(self, kind: str, body: bytes, header: str | None = None) -> tuple[np.ndarray, Any]:
        """prepare() for a coroutine (gRPC)."""
        fut: asyncio.Future[tuple[np.ndarray, Any]] = asyncio.get_running_loop().create_future()

        def done(value: Any, exc: BaseException | None) -> None:
            if not fut.done():
                fut.set_exception(exc) if exc is not None else fut.set_result(value)

        self.prepare(kind, body, header, lambda batch, ctx: done((batch, ctx), None), done)
        return await fut

    def submit(self, args: tuple[Any, ...], done: Done) -> None:
        if self.waiting >= self.max_jobs:
            raise Overloaded(f"server overloaded: {self.waiting} requests waiting to be decoded "
                             f"(limit {self.max_jobs})")
        live = [link for link in self.links if link.transport is not None]
        if not live:
            raise Overloaded("server overloaded: the decode process is starting")
        link = min(live, key=lambda x: len(x.jobs))
        self.waiting += 1
        link.send(args, done)

    # the processes

    async def start(self) -> None:
        for _ in range(self.processes - len(self.links) - self._starting):
            await self._spawn()

    async def _spawn(self) -> None:
        self._starting += 1
        try:
            ours, theirs = socket.socketpair()
            env = dict(os.environ)
            here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the recognizer package's parent
            env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
            proc = subprocess.Popen([sys.executable, "-m", "recognizer.decoder", str(theirs.fileno())],
                                    pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
            theirs.close()
            _, link = await asyncio.get_running_loop().create_unix_connection(lambda: _Link(self), sock=ours)
            link.proc = proc
            self.links.append(link)
            self._last_start = time.monotonic()
        finally:
            self._starting -= 1

    def lost(self, link: _Link) -> None:
        if link in self.links:
            self.links.remove(link)
        if link.proc is not None and link.proc.poll() is None:
            link.proc.kill()
        if link.proc is not None:
            link.proc.wait()
            if not self.stopped:
                log.error("the decode process (pid %d) exited with %s; starting another", link.proc.pid,
                          link.proc.returncode)
        if not self.stopped:  # a process that cannot start does not spin: at most one start a second
            delay = max(0.0, 1.0 - (time.monotonic() - self._last_start))
            asyncio.get_running_loop().call_later(delay, lambda: asyncio.ensure_future(self.start()))

    def stop(self) -> None:
        self.stopped = True
        for link in list(self.links):
            if link.proc is not None:
                link.proc.kill()
            if link.transport is not None:
                link.transport.close()


def serve(fd: int) -> None:
    """The decode process: one job at a time, until the server closes its end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c in a terminal reaches the server, which stops this
    sock = socket.socket(fileno=fd)
    reader = sock.makefile("rb")

    def read(n: int) -> bytes:
        data = reader.read(n)
        if len(data) != n:
            raise EOFError
        return data

    while True:
        try:
            (n,) = LENGTH.unpack(read(LENGTH.size))
            args = pickle.loads(read(n))
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (True, parsing.decoded(*args))
        except Exception as exc:  # BadRequest, or a fault to log in the server
            answer = (False, exc if isinstance(exc, parsing.codec.BadRequest) else DecodeFailed(repr(exc)))
        payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            sock.sendall(LENGTH.pack(len(payload)) + payload)
        except OSError:
            return


if __name__ == "__main__":  # run as the module, not as __main__: what it pickles names recognizer.decoder's classes
    from recognizer.decoder import serve as _serve

    _serve(int(sys.argv[1]))
