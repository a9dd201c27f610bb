"""Image size and start-to-ready: `docker run` (read-only root, port published on 127.0.0.1) to the first 200 on
/v2/health/ready, the median of N starts taken in turns over the images given. The floor row is the first
image running Python's own `http.server` instead of the recognizer: what Docker and the interpreter cost
before the recognizer does anything.

    .venv/bin/python serving/bench/startup.py IMAGE [IMAGE ...] [-n 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

import requests


def start_to_ready(image: str, env: dict[str, str], entrypoint: list[str] | None, path: str) -> float:
    args = ["docker", "run", "-d", "--read-only", "-p", "127.0.0.1::8501"]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    if entrypoint:
        args += ["--entrypoint", entrypoint[0]]
    t0 = time.monotonic()
    cid = subprocess.check_output([*args, image, *(entrypoint or [])[1:]], text=True).strip()
    try:
        port = subprocess.check_output(["docker", "port", cid, "8501/tcp"], text=True).split(":")[-1].strip()
        deadline = t0 + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                    return time.monotonic() - t0
            except requests.RequestException:
                pass
            time.sleep(0.005)
        raise RuntimeError(f"{image} was not ready within 60 s")
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+")
    p.add_argument("-n", type=int, default=7)
    a = p.parse_args()
    rows = [(img, img, {}, None, "/v2/health/ready") for img in a.images]
    rows += [(f"{a.images[0]}, RECOGNIZER_WORKERS=2", a.images[0], {"RECOGNIZER_WORKERS": "2"}, None,
              "/v2/health/ready"),
             (f"floor: {a.images[0]} running python -m http.server", a.images[0], {},
              ["python", "-m", "http.server", "8501"], "/")]
    times: dict[str, list[float]] = {r[0]: [] for r in rows}
    for _ in range(a.n):
        for name, image, env, entry, path in rows:
            times[name].append(start_to_ready(image, env, entry, path))
    for name, image, *_ in rows:
        size = int(subprocess.check_output(["docker", "image", "inspect", "-f", "{{.Size}}", image], text=True))
        print(f"{name}: {size / 1e6:.1f} MB, start to ready median {statistics.median(times[name]):.3f} s "
              f"of {[round(t, 2) for t in times[name]]}")


if __name__ == "__main__":
    main()
