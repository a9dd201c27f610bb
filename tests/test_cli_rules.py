"""The rules behind the headless commands, on made-up inputs: thresholds come from the alert rules
(change the rule, the gate changes), the knee and the sizing formulas, figures from per-request records,
and a script's lines checked before anything runs."""

from __future__ import annotations

import math
import shutil
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, free_port, wait_until

from aitui.commands import CommandError
from aitui.config import Settings
from aitui.script import parse
from aitui.services import slo
from aitui.services.capacity import Step, find_knee, suggest
from aitui.services.measure import Figures, figures
from aitui.services.traffic import Sent, Traffic


def rules_with(tmp_path: Path, old: str, new: str) -> Settings:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    path = tmp_path / "manifests" / "monitoring" / "prometheusrule.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return Settings(manifests_dir=str(tmp_path / "manifests"))


def test_thresholds_follow_the_alert_rules(tmp_path: Path) -> None:
    p99 = "recognizer:latency_seconds:p99_1m"
    changed = rules_with(tmp_path, f"{p99} > 0.5", f"{p99} > 0.25")
    t = slo.from_alerts(changed)
    assert t.p99_ms == 250 and t.error_ratio == slo.from_alerts(Settings()).error_ratio
    assert "RecognizerHighLatencyP99" in t.source
    assert slo.resolve(changed, error_ratio=0.2) == slo.Thresholds(250, 0.2, f"flags and {t.source}")


def test_no_alert_on_the_p99_is_said_with_the_way_out(tmp_path: Path) -> None:
    gone = rules_with(tmp_path, "alert: RecognizerHighLatencyP99", "record: not_an_alert")
    with pytest.raises(slo.SLOError) as said:
        slo.from_alerts(gone)
    assert "recognizer:latency_seconds:p99_1m" in str(said.value) and "--p99" in str(said.value)
    assert slo.resolve(gone, 100, 0.01).source == "flags"  # both given: the rules are not needed


def test_figures_are_the_records(tmp_path: Path) -> None:
    ok = [Sent(float(i) / 100, (i + 1) / 1000, "a" if i % 2 else "b", "") for i in range(100)]
    bad = [Sent(0.5, 0.0, "", "no ready endpoint"), Sent(0.6, 0.002, "a", "429")]
    f = figures(ok + bad)
    assert (f.requests, f.ok, f.failed, f.errors) == (102, 100, 2, {"no ready endpoint": 1, "429": 1})
    assert (f.p50_ms, f.p95_ms, f.p99_ms, f.max_ms) == (51, 96, 100, 100)  # nearest rank of 1..100 ms
    assert f.seconds == pytest.approx(0.99 + 0.1, abs=1e-3)  # first sent to last answered
    assert f.rate == pytest.approx(100 / f.seconds, rel=1e-3) and f.error_ratio == pytest.approx(2 / 102, abs=1e-4)
    assert f.per_endpoint == {"a": 50, "b": 50}


def step(c: int, rate: float, p99: float = 10, failed: int = 0, cpu: float | None = 0.5) -> Step:
    f = Figures(requests=1000, ok=1000 - failed, failed=failed, errors={}, seconds=5, rate=rate, sent_rate=rate,
                p50_ms=p99 / 2, p95_ms=p99, p99_ms=p99, max_ms=p99, error_ratio=failed / 1000,
                per_endpoint={"a": 500, "b": 500}, cpu_cores={} if cpu is None else {"a": cpu, "b": cpu})
    return Step(c, f)


SLO = slo.Thresholds(500, 0.05, "test")


def test_the_knee_is_where_throughput_stops_growing_or_the_slo_breaks() -> None:
    flat = [step(1, 100), step(2, 190), step(4, 300), step(8, 320)]
    knee = find_knee(flat, 0.10, SLO)
    assert (knee.index, knee.found) == (2, True) and "raised throughput by 6.7%, less than 10%" in knee.reason
    slow = [step(1, 100), step(2, 190, p99=600)]
    knee = find_knee(slow, 0.10, SLO)
    assert knee.index == 0 and "p99 600 ms at concurrency 2 is above the SLO's 500 ms" in knee.reason
    failing = [step(1, 100), step(2, 190, failed=100)]
    assert find_knee(failing, 0.10, SLO).index == 0
    assert find_knee([step(1, 100, p99=900)], 0.10, SLO).index is None
    rising = [step(1, 100), step(2, 200)]
    knee = find_knee(rising, 0.10, SLO)
    assert (knee.index, knee.found) == (1, False) and "at least" in knee.reason


def test_the_suggestion_says_its_formula_with_the_measured_numbers() -> None:
    s = suggest(step(4, 300, cpu=0.6), wanted_rate=1000, headroom=0.3, cpu_request=0.25)
    assert s.per_replica_rate == 150 and s.replicas == math.ceil(1000 * 1.3 / 150) == 9
    assert "ceil(1000 x 1.3 / 150.0) = 9" in s.formula
    assert s.hpa_cpu_cores == pytest.approx(0.6 / 1.3, abs=1e-3) and s.hpa_utilization == round(0.6 / 1.3 / 0.25 * 100)
    unknown = suggest(step(4, 300, cpu=None), 1000, 0.3, 0.25)
    assert unknown.hpa_utilization is None and "process_cpu_seconds_total" in unknown.hpa_formula


def test_a_script_is_checked_whole_and_its_own_flags_win() -> None:
    steps = parse("# CI\n\nsmoke -w 'a b'  # quoted\nloadtest --duration 5 --context local -n x\n",
                  {"context": "local", "namespace": "ns", "readonly": None, "config": None})
    assert [(s.number, s.command) for s in steps] == [(3, "smoke"), (4, "loadtest")]
    assert steps[0].options["workload"] == "a b" and steps[0].settings.namespace == "ns"
    assert steps[1].options["duration"] == 5.0 and steps[1].settings.namespace == "x"
    for text, said in (("run other.aitui", "'run' is not a command a script runs"),
                       ("smoke\nscale", "s:2: scale: the following arguments are required: N"),
                       ("smoke 'unclosed", "s:1: No closing quotation"), ("# nothing\n", "no command in it")):
        with pytest.raises(CommandError) as bad:
            parse(text, {}, "s")
        assert bad.value.code == 2 and said in str(bad.value), str(bad.value)


class Answer(BaseHTTPRequestHandler):
    """Every third request is shed with a 429, as the recognizer does when its queue is full."""

    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Answer.count += 1
        status, body = (429, b'{"error": "queue full"}') if Answer.count % 3 == 0 else (200, b'{"predictions": []}')
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_traffic_records_each_request_as_its_counters_do() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live, closed = f"127.0.0.1:{server.server_address[1]}", f"127.0.0.1:{free_port()}"
    try:
        traffic = Traffic(lambda: [live, closed], [b"png"], concurrency=3, max_requests=300, record=True).start()
        wait_until(lambda: not traffic.running, 30, "300 requests")
        stats = traffic.stop()
    finally:
        server.shutdown()
        server.server_close()
    records = stats.records
    assert len(records) == stats.sent == 300
    assert Counter(r.outcome for r in records if r.outcome) == stats.errors
    assert set(stats.errors) == {"429", "connection refused"}
    assert sum(not r.outcome for r in records) == stats.ok == len(stats.latencies)
    # the record's clock starts before the endpoint is chosen (a resend counts in it): a hair longer
    pairs = zip(sorted(r.seconds for r in records if not r.outcome), sorted(stats.latencies), strict=True)
    assert all(0 <= rec - lat < 0.05 for rec, lat in pairs)
    assert all(r.endpoint == live for r in records if not r.outcome)
    f = figures(records)
    assert (f.ok, f.failed, f.per_endpoint) == (stats.ok, stats.failed, {live: stats.ok})
