"""The recognizer against the servers a user would otherwise pick: prints figures, asserts nothing.
From the repo root, with the dev venv:

    .venv/bin/python serving/bench/peers.py [--seconds 5]

One run on this machine: all servers are up at once, idle but for the one being measured (their idle CPU is
printed), and each row's seconds are taken in turns, rotating through the servers, so that whatever else
the machine does meanwhile falls on all of them alike. Every server serves the same model file (the .tflite of the
recognizer image that serving/ builds now, copied out of it) with the same LiteRT runtime class and the same
image decoding (recognizer.runtime, recognizer.codec, copied out of the same image), and gets the same
request: Open Inference Protocol v2 `POST /v2/models/recognizer/infer`, one 64x64 PNG as a BYTES input of
shape [1, 1], base64 in JSON (the form all of them accept: MLServer's REST has no binary tensor extension,
and Triton wants the batch dimension of a batching model). The load comes from serving/bench/load.py
(Python, asyncio + uvloop) in this process, pinned to core 0; each server, with every process it starts, is
pinned to core 1 (taskset; the container with --cpuset-cpus). Every figure takes the same network path,
127.0.0.1 on the host's loopback: the servers are host processes, and the recognizer's container runs with
--network host (no docker-proxy in the path: compare like with like).

Servers:
  - the recognizer (its HTTP/1.1 layer on httptools + uvloop, dynamic batching), as a host process from a venv
    of serving/wheels, and as its container; with --baseline REV, also the recognizer's code at git revision REV
    (e.g. the aiohttp server before it) as a host process from the same venv, so that before and after are
    measured side by side in one run;
  - KServe's Python ModelServer (kserve 0.21.0) with a custom kserve.Model (serving/bench/kserve_model.py);
  - MLServer (1.7.1) with a custom runtime (serving/bench/mlserver_runtime.py): as configured by default
    (parallel_workers 1: inference in a worker process), with inference in the server's process
    (parallel_workers 0, faster on one core), and that with its adaptive batching (32 images, 1 ms: the
    recognizer's settings);
  - Triton Inference Server 2.x as PyPI ships it, inside NVIDIA's PyTriton wheel (nvidia-pytriton 0.7.0),
    with the model as a Python function behind Triton's Python backend and dynamic batcher (32 images,
    1 ms) (serving/bench/pytriton_model.py). Triton's own `tritonserver` package has no wheel for this
    Python on PyPI and its TFLite/ONNX/TF backends come only in NVIDIA's containers, so Triton running the
    model in a C++ backend is not here.

Peers run as their users would with one change each, which the recognizer has too: no log line per request
(KServe: --enable_latency_logging false and uvicorn's access log off; MLServer: debug false; Triton logs
none by default).

Printed for each server and concurrency (1, 8, 32): req/s, p50/p99 ms, errors, the server's CPU time per
request (its whole process tree, from /proc), req/s as a fraction of the compute limit ("of limit": 1 /
(decode + inference of one image on one core, measured in-process by serving/bench/limit.py on the servers'
core)), and that decode + inference time as a share of the CPU time the server spent per request
("work/CPU": how much of what the server burns is the work itself; unlike req/s, it barely moves when other
processes share the core).
Also the load generator's ceiling (GET /v2/health/live on the recognizer), so a reader can see the load
generator is not what limits a row. Peer venvs live under ~/.cache/aitui/bench/ (made once, ~1 min each).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import load  # noqa: E402

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aitui" / "bench"
# as serving/requirements-litert.txt: the same runtime, image decoding and base64 (recognizer.codec uses pyspng
# for PNGs and pybase64)
SAME = ["ai-edge-litert==2.3.0", "pillow==13.0.0", "numpy==2.4.6", "pybase64==1.5.1", "pyspng==0.1.4"]
VENVS = {
    # aiohttp: for --baseline revisions that served with it, and where.py's aiohttp floor
    "recognizer": ["--find-links", str(ROOT / "serving" / "wheels"),
                   "-r", str(ROOT / "serving" / "requirements-litert.txt"), "aiohttp==3.14.5"],
    "kserve": ["kserve==0.21.0", *SAME],
    # MLServer 1.7.1's inference workers (parallel_workers, on by default) die at start with uvloop 0.22 and
    # later ("There is no current event loop"): the last uvloop they work with.
    "mlserver": ["mlserver==1.7.1", "uvloop==0.21.0", *SAME],
    # PyTriton pins numpy<2 (so numpy 1.26 here); its Python backend stub links the system's libpython3.11,
    # so its venv is made from /usr/bin/python3.11 (Debian's), not from the Python running this.
    "pytriton": ["nvidia-pytriton==0.7.0", "ai-edge-litert==2.3.0", "pillow==13.0.0", "pybase64==1.5.1",
                 "pyspng==0.1.4"],
}
BASE_PYTHON = {"pytriton": "/usr/bin/python3.11"}
LOAD_CORE, SERVER_CORE = 0, 1
CONCURRENCY = (1, 8, 32)
INFER = "/v2/models/recognizer/infer"
PATH_HOST = "127.0.0.1, host process"
PATH_CONTAINER = "127.0.0.1, container --network host"
PATH_2CORES = "127.0.0.1, host process, cores 0+1"


def venv(name: str) -> Path:
    """~/.cache/aitui/bench/NAME, made once for these pip arguments."""
    home, args = CACHE / name, VENVS[name]
    stamp = home / ".bench-complete"
    # the requirement files' contents too: a new pin makes a new venv
    want = json.dumps([args, [Path(b).read_text() for a, b in itertools.pairwise(args) if a == "-r"]])
    if stamp.exists() and stamp.read_text() == want:
        return home / "bin" / "python"
    print(f"making {home} (pip install {' '.join(args)}) …", file=sys.stderr, flush=True)
    subprocess.run([BASE_PYTHON.get(name, sys.executable), "-m", "venv", "--clear", str(home)], check=True,
                   timeout=120)
    r = subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "-q", *args], capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0:
        sys.exit(f"pip install into {home} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    stamp.write_text(want)
    return home / "bin" / "python"


def from_image(image: str, dest: Path) -> None:
    """The model and the recognizer package (with its generated gRPC module) out of the image."""
    cid = subprocess.check_output(["docker", "create", image], text=True).strip()
    try:
        for src in ("/model", "/app/recognizer"):
            subprocess.run(["docker", "cp", f"{cid}:{src}", str(dest)], check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "rm", cid], capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants, now."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(d.name)] = int(fields[1])
        times[int(d.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo += [c for c, pp in parents.items() if pp == p]
    return total


@dataclass
class Server:
    name: str
    path: str
    start: Callable[[], tuple[int, Callable[[], None]]]  # -> (pid, stop)
    url: str
    rows: list[dict] = field(default_factory=list)
    request: dict = field(default_factory=dict)  # load.run keywords (body, headers) when not the common request


def wait_ready(url: str, pid_alive: Callable[[], bool], log: Path | None) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if all(requests.get(url + p, timeout=1).status_code == 200
                   for p in ("/v2/health/ready", "/v2/models/recognizer/ready")):
                return
        except requests.RequestException:
            pass
        if not pid_alive():
            break
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} never became ready\n{tail}")


def popen(cmd: list[str], env: dict[str, str], log: Path, cwd: Path,
          cores: str = str(SERVER_CORE)) -> tuple[int, Callable[[], None], Callable[[], bool]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(["taskset", "-c", cores, *cmd], env={**os.environ, **env}, cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()

    return proc.pid, stop, lambda: proc.poll() is None


def top_label(url: str, body: bytes) -> str:
    r = requests.post(url + "/v2/models/recognizer/infer", data=body, timeout=10,
                      headers={"Content-Type": "application/json"})
    r.raise_for_status()
    return next(o for o in r.json()["outputs"] if o["name"] == "labels")["data"][0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=5.0, help="duration of each load run (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each server's runs")
    p.add_argument("--rounds", type=int, default=5, help="split each row's seconds into this many turns")
    p.add_argument("--only", nargs="*", help="run only the servers whose names contain one of these words")
    p.add_argument("--baseline", metavar="REV", help="also the recognizer's code at this git revision "
                   "(serving/recognizer of that commit, with the image's generated gRPC module), side by side")
    a = p.parse_args()
    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        sys.exit("needs 2 cores: one for the servers, one for the load generator")
    os.sched_setaffinity(0, {LOAD_CORE})

    sys.path.insert(0, str(ROOT / "serving"))
    from benchmark import ensure_image  # the image serving/ builds now (aitui's Build, tag by content)
    from recognizer import dataset

    image = ensure_image("litert")
    py = {name: venv(name) for name in VENVS}
    work = Path(tempfile.mkdtemp(prefix="aitui-peers-"))
    try:
        from_image(image, work)
        app, model = work / "app", work / "model"
        app.mkdir()
        shutil.move(str(work / "recognizer"), app / "recognizer")
        png = dataset.sample_png("star", seed=11, size=64)
        body = json.dumps({"inputs": [{"name": "image", "shape": [1, 1], "datatype": "BYTES",
                                       "data": [base64.b64encode(png).decode()]}]}).encode()
        pythonpath = {"PYTHONPATH": f"{HERE}:{app}"}

        lim = json.loads(subprocess.run(
            ["taskset", "-c", str(SERVER_CORE), str(py["recognizer"]), str(HERE / "limit.py"), str(model)],
            env={**os.environ, **pythonpath}, capture_output=True, text=True, check=True, timeout=300).stdout)
        where = json.loads(subprocess.run(
            ["taskset", "-c", str(SERVER_CORE), str(py["recognizer"]), str(HERE / "where.py"), str(model),
             sys.executable], env={**os.environ, **pythonpath}, capture_output=True, text=True, check=True,
            timeout=300).stdout)
        work_us = lim["decode_us"] + lim["infer_batch1_us"]
        limit_rps = 1e6 / work_us

        servers = make_servers(image, py, work, model, pythonpath, binary_request(png))
        if a.baseline:
            servers.insert(1, baseline_server(a.baseline, py["recognizer"], work, model, app))
        if a.only:
            servers = [s for s in servers if any(w.lower() in s.name.lower() for w in a.only)]
        header(image, lim, limit_rps, a.seconds, a.rounds, where)
        stops: list[Callable[[], None]] = []
        try:
            pids, labels = {}, {}
            for s in servers:  # all up at once, idle but for the one measured; their idle CPU is printed
                pid, stop = s.start()
                stops.append(stop)
                pids[s.name], labels[s.name] = pid, top_label(s.url, body)
                load.run(s.url + INFER, body, 8, a.warmup)
            time.sleep(1)
            idle0 = {s.name: cpu_seconds(pids[s.name]) for s in servers}
            time.sleep(5)
            idle = {s.name: (cpu_seconds(pids[s.name]) - idle0[s.name]) / 5 for s in servers}
            for c in CONCURRENCY:
                # Rounds: each server gets seconds/rounds in turn, `rounds` times, so that whatever else the
                # machine does in the meantime falls on all of them alike.
                total = {s.name: load.Result() for s in servers}
                cpu = dict.fromkeys(total, 0.0)
                for _ in range(a.rounds):
                    for s in servers:
                        cpu0 = cpu_seconds(pids[s.name])
                        r = load.run(s.url + INFER, **{"body": body, **s.request}, concurrency=c,
                                     seconds=a.seconds / a.rounds)
                        cpu[s.name] += cpu_seconds(pids[s.name]) - cpu0
                        t = total[s.name]
                        t.seconds += r.seconds
                        t.ok += r.ok
                        t.errors += r.errors
                        t.latencies += r.latencies
                        t.first_error = t.first_error or r.first_error
                for s in servers:
                    r = total[s.name]
                    cpu_us = cpu[s.name] / r.ok * 1e6 if r.ok else float("nan")
                    row = {"server": s.name, "path": s.path, "c": c, **r.summary(), "top": labels[s.name],
                           "cpu_us": cpu_us, "of_limit": r.rps / limit_rps, "work_share": work_us / cpu_us,
                           "idle": idle[s.name]}
                    s.rows.append(row)
                    print_row(row)
            ours = next((s for s in servers if s.path == PATH_HOST and s.name.startswith("recognizer")), servers[0])
            ceiling = load.run(ours.url + "/v2/health/live", None, 32, a.seconds)
            print(f"\nload generator ceiling (GET /v2/health/live on {ours.name}, c=32): {ceiling.rps:,.0f} req/s, "
                  f"p99 {ceiling.pct(0.99):.2f} ms, {ceiling.errors} errors")
            print("idle CPU of each server while the others were measured: "
                  + ", ".join(f"{name} {v:.1%}" for name, v in idle.items()))
        finally:
            for stop in stops:
                stop()
        summary(servers)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def binary_request(png: bytes) -> dict:
    """The same image with the binary tensor data extension: the PNG's bytes after a JSON header, no base64
    (what tritonclient.http sends by default). Only the recognizer row that says so gets it."""
    head = json.dumps({"inputs": [{"name": "image", "shape": [1, 1], "datatype": "BYTES",
                                   "parameters": {"binary_data_size": 4 + len(png)}}]}).encode()
    return {"body": head + len(png).to_bytes(4, "little") + png, "content_type": "application/octet-stream",
            "headers": {"Inference-Header-Content-Length": str(len(head))}}


def baseline_server(rev: str, python: Path, work: Path, model: Path, app: Path) -> Server:
    """The recognizer as it was at `rev` (serving/recognizer from git), as a host process like the first row."""
    import io
    import tarfile

    short = subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", rev], text=True).strip()
    old = work / f"baseline-{short}"
    tar = subprocess.check_output(["git", "-C", str(ROOT), "archive", rev, "serving/recognizer"])
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(old, filter="data")
    pkg = old / "serving" / "recognizer"
    shutil.copy(app / "recognizer" / "grpc_predict_v2_pb2.py", pkg)
    port = free_port()
    log = work / f"baseline-{port}.log"
    env = {"PYTHONPATH": f"{HERE}:{pkg.parent}", "RECOGNIZER_MODEL_DIR": str(model), "RECOGNIZER_HOST": "127.0.0.1",
           "RECOGNIZER_PORT": str(port), "RECOGNIZER_GRPC_PORT": str(free_port())}

    return host_server(f"recognizer at {short}", [str(python), "-m", "recognizer"], env, port, work, log)


def host_server(name: str, cmd: list[str], env: dict[str, str], port: int, cwd: Path, log: Path,
                cores: str = str(SERVER_CORE), path: str = PATH_HOST) -> Server:
    """A server run as a host process (pinned to `cores`), ready once it answers on 127.0.0.1:`port`."""
    def start() -> tuple[int, Callable[[], None]]:
        pid, stop, alive = popen(cmd, env, log, cwd, cores)
        try:
            wait_ready(f"http://127.0.0.1:{port}", alive, log)
        except BaseException:
            stop()
            raise
        return pid, stop

    return Server(name, path, start, f"http://127.0.0.1:{port}")


def make_servers(image: str, py: dict[str, Path], work: Path, model: Path,
                 pythonpath: dict[str, str], binary: dict) -> list[Server]:
    out: list[Server] = []

    def host(name: str, cmd: list[str], env: dict[str, str], port: int, cwd: Path,
             cores: str = str(SERVER_CORE), path: str = PATH_HOST) -> Server:  # its log in the work folder
        log = work / f"{name.split()[0].lower()}-{port}.log"
        return host_server(name, cmd, {**pythonpath, **env}, port, cwd, log, cores, path)

    port = free_port()
    out.append(host("recognizer", [str(py["recognizer"]), "-m", "recognizer"], {
        "RECOGNIZER_MODEL_DIR": str(model), "RECOGNIZER_HOST": "127.0.0.1", "RECOGNIZER_PORT": str(port),
        "RECOGNIZER_GRPC_PORT": str(free_port())}, port, work))
    port = free_port()
    out.append(host("recognizer, binary request", [str(py["recognizer"]), "-m", "recognizer"], {
        "RECOGNIZER_MODEL_DIR": str(model), "RECOGNIZER_HOST": "127.0.0.1", "RECOGNIZER_PORT": str(port),
        "RECOGNIZER_GRPC_PORT": str(free_port())}, port, work))
    out[-1].request = binary
    port = free_port()
    out.append(host("recognizer, inference thread", [str(py["recognizer"]), "-m", "recognizer"], {
        "RECOGNIZER_MODEL_DIR": str(model), "RECOGNIZER_HOST": "127.0.0.1", "RECOGNIZER_PORT": str(port),
        "RECOGNIZER_GRPC_PORT": str(free_port()), "RECOGNIZER_INFERENCE_THREAD": "1"}, port, work))
    port = free_port()
    out.append(host("recognizer, float model", [str(py["recognizer"]), "-m", "recognizer"], {
        "RECOGNIZER_MODEL_DIR": str(model), "RECOGNIZER_HOST": "127.0.0.1", "RECOGNIZER_PORT": str(port),
        "RECOGNIZER_GRPC_PORT": str(free_port()), "RECOGNIZER_MODEL_FILE": "model_float.tflite"}, port, work))
    # RECOGNIZER_WORKERS=2 on both cores: not comparable with the one-core rows (and it shares core 0 with
    # the load generator); it shows what a second process adds on this machine.
    port = free_port()
    out.append(host("recognizer, 2 workers", [str(py["recognizer"]), "-m", "recognizer"], {
        "RECOGNIZER_MODEL_DIR": str(model), "RECOGNIZER_HOST": "127.0.0.1", "RECOGNIZER_PORT": str(port),
        "RECOGNIZER_GRPC_PORT": str(free_port()), "RECOGNIZER_WORKERS": "2"}, port, work,
        f"{LOAD_CORE},{SERVER_CORE}", PATH_2CORES))

    cport = free_port()

    def start_container() -> tuple[int, Callable[[], None]]:
        cid = subprocess.check_output([
            "docker", "run", "-d", "--read-only", "--network", "host", "--cpuset-cpus", str(SERVER_CORE),
            "-e", "RECOGNIZER_HOST=127.0.0.1", "-e", f"RECOGNIZER_PORT={cport}",
            "-e", f"RECOGNIZER_GRPC_PORT={free_port()}", image], text=True).strip()

        def stop() -> None:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)

        def alive() -> bool:
            return subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", cid], capture_output=True,
                                  text=True).stdout.strip() == "true"
        try:
            wait_ready(f"http://127.0.0.1:{cport}", alive, None)
        except BaseException:
            stop()
            raise
        pid = int(subprocess.check_output(["docker", "inspect", "-f", "{{.State.Pid}}", cid], text=True))
        return pid, stop

    out.append(Server("recognizer (its image)", PATH_CONTAINER, start_container, f"http://127.0.0.1:{cport}"))

    port = free_port()
    out.append(host("KServe ModelServer", [
        str(py["kserve"]), str(HERE / "kserve_model.py"), "--model_dir", str(model), "--http_port", str(port),
        "--grpc_port", str(free_port()), "--enable_latency_logging", "false"], {}, port, work))

    batching = {"max_batch_size": 32, "max_batch_time": 0.001}  # as the recognizer's: 32 images, 1 ms
    for label, server_settings, model_settings in (
            ("MLServer", {}, {}),  # its defaults: inference in one worker process (parallel_workers 1)
            ("MLServer in-process", {"parallel_workers": 0}, {}),
            ("MLServer in-process, batching", {"parallel_workers": 0}, batching)):
        port = free_port()
        d = work / f"mlserver-{port}"
        d.mkdir()
        (d / "settings.json").write_text(json.dumps({
            "debug": False, "host": "127.0.0.1", "http_port": port, "grpc_port": free_port(),
            "metrics_port": free_port(), **server_settings}))
        (d / "model-settings.json").write_text(json.dumps({
            "name": "recognizer", "implementation": "mlserver_runtime.Recognizer",
            "parameters": {"uri": str(model), "version": "1"}, **model_settings}))
        mlserver = str(py["mlserver"].parent / "mlserver")
        out.append(host(label, [mlserver, "start", str(d)], {}, port, d))

    port = free_port()
    out.append(host("Triton (PyTriton), batching", [
        str(py["pytriton"]), str(HERE / "pytriton_model.py"), str(model), str(port), str(free_port()),
        str(free_port())], {}, port, work))
    return out


def header(image: str, lim: dict, limit_rps: float, seconds: float, rounds: int, where: dict) -> None:
    load1, load5, _ = os.getloadavg()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({cpu}), load average {load1:.2f} "
          f"{load5:.2f} at the start")
    print(f"# model: the .tflite of {image} ({lim['model_bytes'] / 1024:.0f} KiB); servers on core {SERVER_CORE}, "
          f"load (serving/bench/load.py) on core {LOAD_CORE}; {seconds:g} s per row, in {rounds} turns taken in "
          "rotation with the other servers")
    print("# request: POST /v2/models/recognizer/infer, one 64x64 PNG as BYTES, shape [1, 1], base64 in JSON")
    print(f"# work per image on one core (limit.py, in-process): decode {lim['decode_us']:.0f} µs + inference "
          f"{lim['infer_batch1_us']:.0f} µs (batch 1; {lim['infer_batch32_us_per_image']:.0f} µs an image at "
          f"batch 32) = {lim['decode_us'] + lim['infer_batch1_us']:.0f} µs: limit {limit_rps:,.0f} req/s a core; "
          f"base64 of the PNG {lim['base64_us']:.1f} µs")
    if "float_infer_batch1_us" in lim:
        print(f"# the model that ships is {lim['model']}; the float model: inference "
              f"{lim['float_infer_batch1_us']:.0f} µs (batch 1; {lim['float_infer_batch32_us_per_image']:.0f} µs an "
              "image at batch 32), limit "
              f"{1e6 / (lim['decode_us'] + lim['float_infer_batch1_us']):,.0f} req/s a core")
    print("# where a request's time goes, µs on the servers' core (where.py): " +
          ", ".join(f"{k.removesuffix('_us')} {v:.0f}" for k, v in where.items()))
    print()
    print(f"{'server':30} {'path':36} {'conc':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'CPU µs/req':>10} {'of limit':>8} {'work/CPU':>8}")


def print_row(r: dict) -> None:
    print(f"{r['server']:30} {r['path']:36} {r['c']:>4} {r['rps']:>7.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
          f"{r['errors']:>6} {r['cpu_us']:>10.0f} {r['of_limit']:>8.0%} {r['work_share']:>8.0%}"
          + (f"  (answered {r['top']!r})" if r["c"] == 1 else ""), flush=True)
    if r["first_error"]:
        print(f"    first error: {r['first_error']}", flush=True)


def summary(servers: list[Server]) -> None:
    at = {s.name: {r["c"]: r for r in s.rows} for s in servers}
    ours = at.get("recognizer", {}).get(32)
    if not ours:
        return
    print("\nat concurrency 32, the recognizer (host process) against each (req/s ratio; p99 ratio):")
    for s in servers:
        other = at[s.name].get(32)
        if s.name != "recognizer" and other and other["rps"]:
            print(f"  {s.name:30} {ours['rps'] / other['rps']:.2f}x the req/s; p99 {ours['p99_ms']:.1f} ms against "
                  f"{other['p99_ms']:.1f} ms ({ours['p99_ms'] / other['p99_ms']:.2f})")
    load1, load5, _ = os.getloadavg()
    print(f"load average at the end: {load1:.2f} {load5:.2f}")


if __name__ == "__main__":
    main()
