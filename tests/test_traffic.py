"""The load generator counts what a client sees: a refused connection is a failed request unless
retries were asked for, and then every resend is counted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import free_port

from aitui.services.traffic import Traffic


class Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"predictions": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def live() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def run(endpoints: list[str], retries: int | None = None) -> Traffic:
    kwargs = {} if retries is None else {"retries": retries}
    traffic = Traffic(lambda: endpoints, [b"png"], concurrency=2, max_requests=200, **kwargs).start()
    for t in traffic._threads[1:]:
        t.join(30)
    traffic.stop()
    return traffic


def test_by_default_a_refused_connection_is_a_failed_request(live: str) -> None:
    closed = f"127.0.0.1:{free_port()}"  # nothing listens: connections are refused
    traffic = run([live, closed])
    stats = traffic.stats
    assert traffic.retries == 0
    assert stats.sent == 200 and stats.ok + stats.failed == 200
    assert stats.failed > 20 and set(stats.errors) == {"connection refused"}, stats.errors
    assert stats.retried == 0 and stats.per_endpoint[live] == stats.ok


def test_retries_are_an_option_and_every_resend_is_counted(live: str) -> None:
    closed = f"127.0.0.1:{free_port()}"
    stats = run([live, closed], retries=1).stats
    assert (stats.sent, stats.ok, stats.failed) == (200, 200, 0), stats.errors
    assert stats.retried > 20  # the requests that first went to the closed port, resent to the live one
    stats = run([closed], retries=3).stats  # nothing else to resend to: still a failure, said as such
    assert stats.ok == 0 and set(stats.errors) == {"connection refused"} and stats.retried == 0
