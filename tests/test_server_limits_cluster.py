"""The costliest request the recognizer's limits allow, on the real cluster (`.ci/cluster up`): manifests/base
deployed as `d` does, in a fresh namespace, the request sent to one pod through a port-forward. Its readiness
probe (every 2 s, a 1 s timeout, one failure takes it out of the Service) and its liveness probe (three
failures restart it) keep passing while it is decoded: the pod stays Ready, its RestartCount stays 0, and the
kubelet reports no failed probe."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
from cluster import ADMIN
from test_server_limits import V2, solid_png, worst_request

from aitui.config import Settings
from aitui.services.labels import NAME
from aitui.services.targets.kubernetes import KubeTarget

pytestmark = pytest.mark.docker


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {buf[:200]!r}"
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = int(next(ln.split(":", 1)[1] for ln in lines if ln.lower().startswith("content-length:")))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside the answer"
        body += chunk
    return int(lines[0].split()[1]), body[:length]


def test_the_worst_allowed_request_leaves_the_pod_ready_and_unrestarted(cluster, namespace, recognizer_image,
                                                                      docker_client) -> None:
    from cluster import on_node
    from conftest import derived_image, wait_until

    # an image of its own: the registry tests pull the recognizer's by digest with a pull secret, and from then on
    # the kubelet (KubeletEnsureSecretPulledImages) pulls that image ID again for a pod without one (seen in CI:
    # a pull of the loaded tag from docker.io)
    # (a tag and label of its own each run: an earlier run's image by that ID or name may have been pulled so)
    run = uuid.uuid4().hex[:8]
    cluster_image = on_node(cluster, derived_image(docker_client, recognizer_image, f"aitui-test/limits:{run}",
                                                   f"LABEL io.aitui.test=limits-{run}"))

    target = KubeTarget(Settings(kubeconfig=str(cluster.kubeconfig), timeout=10), ADMIN, namespace)
    try:
        target.deploy(cluster_image, 2)
        forwards = wait_until(lambda: target.replica_endpoints(NAME), 60, "a port-forward to a ready pod")
        pod, local = sorted(forwards.items())[0]  # type: ignore[union-attr]
        n = 63
        body, headers = worst_request(solid_png(6300, 6300), n)
        host, port = local.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=900)
        started = time.monotonic()
        sock.sendall(f"POST {V2} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n".encode()
                     + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n" + body)
        answer: dict[str, object] = {}

        def receive() -> None:
            answer["response"] = read_response(sock)
            answer["seconds"] = time.monotonic() - started

        receiver = threading.Thread(target=receive)
        receiver.start()
        samples = []
        while receiver.is_alive():
            status = cluster.get("pod", pod, "-n", namespace)["status"]
            ready = next(c["status"] for c in status["conditions"] if c["type"] == "Ready")
            restarts = status["containerStatuses"][0]["restartCount"]
            samples.append((ready, restarts))
            assert ready == "True" and restarts == 0, (time.monotonic() - started, status)
            receiver.join(1.0)
        sock.close()
        code, answered = answer["response"]  # type: ignore[misc]
        events = cluster.get("events", "-n", namespace, "--field-selector", f"involvedObject.name={pod}")["items"]
        unhealthy = [e["message"] for e in events if e.get("reason") == "Unhealthy"]
        print(f"worst request through a port-forward to pod/{pod}: {len(body) / 2**20:.2f} MiB, answered {code} "
              f"after {answer['seconds']:.0f} s; {len(samples)} samples of the pod, all Ready with 0 restarts; "
              f"failed probes: {len(unhealthy)}")
        assert code == 200, answered[:300]
        assert json.loads(answered)["outputs"][0]["shape"] == [n, 10]
        assert len(samples) >= 5 and not unhealthy, unhealthy
        final = cluster.get("pod", pod, "-n", namespace)["status"]["containerStatuses"][0]
        assert final["restartCount"] == 0 and final["ready"], final
    finally:
        target.close()
        docker_client.images.remove(cluster_image)  # (else the newest recognizer image for the tests after it)
