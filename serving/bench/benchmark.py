"""Serving benchmark: prints figures, asserts nothing. Run from the repo root with the dev venv:

    .venv/bin/python serving/bench/benchmark.py [--seconds 5]

Side by side in one run, one server at a time on this machine, load from serving/bench/load.py (Python,
asyncio + uvloop, in this process) over 127.0.0.1 through Docker's published ports (docker-proxy; nothing is
pinned to a core: serving/bench/peers.py compares servers pinned, on the host's loopback):
  - the naive baseline (recognizer.naive: synchronous, Keras model.predict per request)
  - the recognizer: LiteRT with batching, LiteRT without batching, TensorFlow with batching
  - the ceiling of this path: the recognizer's cheapest endpoint, /v2/health/live (bound by the load
    generator and docker-proxy more than by the server: not a floor of the server's cost)
and the image sizes and container start-to-ready times.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "serving"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load as loadgen  # noqa: E402
from recognizer import dataset  # noqa: E402

from aitui.config import load  # noqa: E402
from aitui.services.images import Build  # noqa: E402


def ensure_image(runtime: str) -> str:
    settings = load()
    build = Build(settings, buildargs={"RUNTIME": runtime})
    if runtime != "litert":
        build.tag += f"-{runtime}"
    if subprocess.run(["docker", "image", "inspect", build.tag], capture_output=True).returncode != 0:
        print(f"building {build.tag} …", file=sys.stderr)
        for ev in build.events():
            if ev.kind == "error":
                sys.exit(f"build failed: {ev.text}")
    return build.tag


def start(image: str, env: dict[str, str] | None = None, entrypoint: list[str] | None = None) -> tuple[str, str, float]:
    """docker run -> (container id, base URL, seconds from `docker run` to the first ready 200)."""
    args = ["docker", "run", "-d", "--read-only", "--tmpfs", "/tmp", "-p", "127.0.0.1::8501"]
    for k, v in (env or {}).items():
        args += ["-e", f"{k}={v}"]
    if entrypoint:
        args += ["--entrypoint", entrypoint[0]]
    t0 = time.monotonic()
    cid = subprocess.check_output([*args, image, *(entrypoint or [])[1:]], text=True).strip()
    port = subprocess.check_output(["docker", "port", cid, "8501/tcp"], text=True).split(":")[-1].strip()
    url = f"http://127.0.0.1:{port}"
    ready_path = "/v2/health/ready" if not entrypoint else "/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(url + ready_path, timeout=1).status_code == 200:
                return cid, url, time.monotonic() - t0
        except requests.RequestException:
            pass
        time.sleep(0.01)
    subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    sys.exit(f"{image} never became ready")


def stop(cid: str) -> None:
    subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def measure(url: str, connections: int, seconds: int, body: str | None) -> dict[str, float]:
    r = loadgen.run(url, body.encode() if body else None, connections, seconds)
    return {"rps": r.rps, "p50": r.pct(0.50), "p99": r.pct(0.99), "errors": r.errors}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=5, help="duration of each load run")
    a = p.parse_args()
    litert, tf = ensure_image("litert"), ensure_image("tensorflow")
    png = dataset.sample_png("star", seed=11, size=64)
    body = json.dumps({"instances": [{"b64": base64.b64encode(png).decode()}]})
    predict = "/v1/models/recognizer:predict"

    servers = [
        ("naive (Keras predict/request)", tf, {}, ["python", "-m", "recognizer.naive"]),
        ("recognizer LiteRT, batching", litert, {}, None),
        ("recognizer LiteRT, no batching", litert, {"RECOGNIZER_MAX_BATCH": "1"}, None),
        ("recognizer TensorFlow, batching", tf, {}, None),
    ]
    print(f"# serving/bench/load.py, {a.seconds}s per run, POST {predict} with one 64x64 PNG, via docker-proxy on "
          "127.0.0.1\n")
    print(f"{'server':34} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    results: dict[tuple[str, int], dict[str, float]] = {}
    for name, image, env, entry in servers:
        cid, url, _ = start(image, env, entry)
        try:
            measure(url + predict, 8, 1, body)  # warm-up
            for c in (1, 8, 32):
                r = results[(name, c)] = measure(url + predict, c, a.seconds, body)
                print(f"{name:34} {c:>4} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>6.0f}",
                      flush=True)
            if name == "recognizer LiteRT, batching":
                floor = measure(url + "/v2/health/live", 32, a.seconds, None)
                print(f"{'  ceiling: GET /v2/health/live':34} {32:>4} {floor['rps']:>9.0f} "
                      f"{floor['p50']:>8.2f} {floor['p99']:>8.2f} {floor['errors']:>6.0f}", flush=True)
        finally:
            stop(cid)

    naive, best = results[(servers[0][0], 32)], results[(servers[1][0], 32)]
    print(f"\nrecognizer / naive throughput at concurrency 32: {best['rps'] / naive['rps']:.1f}x "
          f"(p99 {best['p99']:.1f} ms vs {naive['p99']:.1f} ms)")

    sizes = {}
    for tag in (litert, tf):
        sizes[tag] = int(subprocess.check_output(["docker", "image", "inspect", "-f", "{{.Size}}", tag], text=True))
        print(f"image {tag}: {sizes[tag] / 1e6:.0f} MB")
    print(f"LiteRT image / TensorFlow image: {sizes[litert] / sizes[tf]:.2f}")
    for tag, label in ((litert, "LiteRT"), (tf, "TensorFlow")):
        times = []
        for _ in range(3):
            cid, _, t = start(tag)
            stop(cid)
            times.append(t)
        print(f"start to ready ({label}): median {statistics.median(times):.2f}s of {[round(t, 2) for t in times]}")


if __name__ == "__main__":
    main()
