"""A closed-loop HTTP/1.1 load generator, the one every serving benchmark here uses (nothing to install:
asyncio, and uvloop where the Python has it, as aitui's dev environment does).

`concurrency` keep-alive connections each send the same request and wait for its answer before sending the
next, for `seconds` or until `max_requests` have been sent, whichever comes first. Latency is measured from
the first byte written to the last byte read. A request that is not answered within `timeout` seconds, a
broken connection and a status other than 2xx count as errors (the connection is then opened anew).

    python serving/bench/load.py http://127.0.0.1:8501/v2/health/live -c 32 -d 5
    python serving/bench/load.py http://127.0.0.1:8501/v2/models/recognizer/infer --body req.json -c 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Result:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests (2xx or not)
    ok: int = 0
    errors: int = 0
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """The q-quantile of the latencies, in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        s = sorted(self.latencies)
        return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))] * 1000

    def summary(self) -> dict[str, float | int | str]:
        return {"rps": round(self.rps, 1), "p50_ms": round(self.pct(0.50), 3), "p99_ms": round(self.pct(0.99), 3),
                "ok": self.ok, "errors": self.errors, "seconds": round(self.seconds, 3),
                "first_error": self.first_error}


def request_bytes(url: str, body: bytes | None = None, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> bytes:
    u = urlsplit(url)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\n{extra}\r\n".encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: {content_type}\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class BadResponse(Exception):
    pass


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status. Content-Length and chunked bodies are understood."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise BadResponse(f"bad status line {lines[0][:60]!r}") from None
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif status not in (204, 304):
        raise BadResponse("response without Content-Length or chunked encoding")
    return status


async def _connection(host: str, port: int, request: bytes, deadline: float, budget: list[int], r: Result,
                      timeout: float) -> None:
    reader = writer = None
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                    t0 = time.perf_counter()
                writer.write(request)
                status = await _response(reader)  # type: ignore[arg-type]
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, BadResponse) as exc:
            r.errors += 1
            r.first_error = r.first_error or f"{type(exc).__name__}: {exc}"[:200]
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        r.latencies.append(time.perf_counter() - t0)
        if 200 <= status < 300:
            r.ok += 1
        else:
            r.errors += 1
            r.first_error = r.first_error or f"HTTP {status}"
    if writer is not None:
        writer.close()


async def _run(url: str, request: bytes, concurrency: int, seconds: float, max_requests: int,
               timeout: float) -> Result:
    u = urlsplit(url)
    r = Result()
    budget = [max_requests]
    t0 = time.perf_counter()
    await asyncio.gather(*(_connection(u.hostname or "127.0.0.1", u.port or 80, request, t0 + seconds, budget, r,
                                       timeout) for _ in range(concurrency)))
    r.seconds = time.perf_counter() - t0
    return r


def run(url: str, body: bytes | None = None, concurrency: int = 1, seconds: float = 5.0,
        max_requests: int = 1_000_000, timeout: float = 5.0, headers: dict[str, str] | None = None,
        content_type: str = "application/json") -> Result:
    """One bounded run (at most `seconds` plus one `timeout`, at most `max_requests` requests)."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_run(url, request_bytes(url, body, content_type, headers), concurrency, seconds, max_requests,
                       timeout))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("--body", type=Path, help="POST this file's bytes (JSON) instead of a GET")
    p.add_argument("-c", "--concurrency", type=int, default=1)
    p.add_argument("-d", "--seconds", type=float, default=5.0)
    p.add_argument("-n", "--max-requests", type=int, default=1_000_000)
    p.add_argument("--timeout", type=float, default=5.0)
    a = p.parse_args()
    body = a.body.read_bytes() if a.body else None
    json.dump(run(a.url, body, a.concurrency, a.seconds, a.max_requests, a.timeout).summary(), sys.stdout)
    print()


if __name__ == "__main__":
    main()
