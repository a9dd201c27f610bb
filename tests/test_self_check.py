"""A replica checks its own answers before it says ready (serving/recognizer/selfcheck.py), on the real
engine: an image whose labels file is not the model's (built here, FROM the recognizer's image) serves but
never says ready, and tells why on its readiness endpoint; the good image says how it passed. A rollout of
the bad image on the local engine stops at its first replica with that reason and changes nothing."""

from __future__ import annotations

import time

import pytest
import requests
from conftest import Replicas, derived_image, wait_until

from aitui.services.predict import predict, samples
from aitui.services.targets.local import WORKLOAD_LABEL, LocalTarget, TargetError

pytestmark = pytest.mark.docker
WORKLOAD = "selfcheck-test"


def readiness(url: str) -> tuple[int, dict]:
    r = requests.get(f"{url}/v2/health/ready", timeout=2)
    return r.status_code, r.json()


def test_a_replica_whose_labels_are_wrong_serves_but_never_says_ready(docker_client, recognizer_image,
                                                                       mislabelled_image) -> None:
    replicas = Replicas(docker_client, recognizer_image)
    try:
        good = replicas.run()
        logs = good.container.logs().decode()
        assert "self-check: 10 of 10 drawn images answered right" in logs, logs[-2000:]

        bad = replicas.run(mislabelled_image, ready=False)

        def answered() -> tuple[int, dict] | None:
            try:
                return readiness(bad.url)
            except requests.RequestException:
                return None

        status, body = wait_until(answered, 60, "the mislabelled replica answering")  # type: ignore[misc]
        assert status == 503 and body["ready"] is False
        assert body["reason"].startswith("self-check failed: 0 of 10 drawn images answered right"), body
        assert "circle -> vbars" in body["reason"]  # which class it called what
        model = requests.get(f"{bad.url}/v2/models/recognizer/ready", timeout=2)
        assert model.status_code == 503 and model.json()["reason"] == body["reason"]
        assert requests.get(f"{bad.url}/v2/health/live", timeout=2).status_code == 200  # alive: not restarted
        # it still answers one who asks it directly (to be looked at), as wrong as its check found
        assert predict(f"127.0.0.1:{bad.port}", samples()["circle"]).labels[0][0] == "vbars"
        assert "ERROR recognizer: not ready: self-check failed" in bad.container.logs().decode()
    finally:
        replicas.close()


def test_the_self_check_says_ready_at_8_of_10_and_not_at_7(docker_client, recognizer_image) -> None:
    """The bar is 8 of the 10 drawn images (README: "says ready only if 8 or more come back right"): images whose
    labels file is the recognizer's with two classes swapped (2 answered wrong) and three rotated (3 wrong)."""
    from aitui.services.images import COMPONENT_LABEL

    labels = docker_client.containers.run(recognizer_image, entrypoint="python", remove=True,
                                          command=["-c", "print(open('/model/labels.txt').read(), end='')"])
    names = labels.decode().split()
    swapped = [names[1], names[0], *names[2:]]  # circle <-> square
    rotated = [names[1], names[2], names[0], *names[3:]]  # circle -> square -> triangle -> circle
    tag = recognizer_image.split(":")[-1]
    images = {right: derived_image(docker_client, recognizer_image, f"aitui-test/selfcheck-{right}of10:{tag}",
                                   f"LABEL {COMPONENT_LABEL}=test\nCOPY labels.txt /model/labels.txt",
                                   {"labels.txt": "\n".join(order) + "\n"})
              for right, order in ((8, swapped), (7, rotated))}
    replicas = Replicas(docker_client, recognizer_image)
    try:
        good = replicas.run()  # the premise: the model answers all 10 right with its own labels
        assert "self-check: 10 of 10 drawn images answered right" in good.container.logs().decode()

        eight = replicas.run(images[8])  # ready: 8 of 10 is enough
        status, body = readiness(eight.url)
        assert status == 200 and body["ready"] is True, body
        assert "self-check: 8 of 10 drawn images answered right" in eight.container.logs().decode()

        seven = replicas.run(images[7], ready=False)

        def answered() -> tuple[int, dict] | None:
            try:
                return readiness(seven.url)
            except requests.RequestException:
                return None

        status, body = wait_until(answered, 60, "the 7-of-10 replica answering")  # type: ignore[misc]
        assert status == 503 and body["ready"] is False, body
        assert body["reason"].startswith("self-check failed: 7 of 10 drawn images answered right (needs 80%; "), body
        assert "circle -> square" in body["reason"], body
    finally:
        replicas.close()
        for image in images.values():
            docker_client.images.remove(image, force=True)


def test_a_rollout_to_an_image_that_fails_its_self_check_changes_nothing(settings, docker_client, prometheus,
                                                                          recognizer_image, mislabelled_image) -> None:
    target = LocalTarget(settings, targets_dir=prometheus.targets)
    try:
        target.deploy(recognizer_image, 1, WORKLOAD)
        before = target.endpoints(WORKLOAD)
        steps: list[str] = []
        started = time.monotonic()
        with pytest.raises(TargetError, match="refused to become ready: self-check failed: 0 of 10") as err:
            target.deploy(mislabelled_image, 1, WORKLOAD, steps.append)
        took = time.monotonic() - started
        assert took < 30, f"the refusal took {took:.1f}s"  # said at once, not after the 60 s ready timeout
        assert mislabelled_image in str(err.value)
        running = docker_client.containers.list(all=True, filters={"label": f"{WORKLOAD_LABEL}={WORKLOAD}"})
        assert [c.attrs["Config"]["Image"] for c in running] == [recognizer_image]  # the new one is gone
        assert target.endpoints(WORKLOAD) == before  # the replica that served still serves
        assert [p.image for p in target.pods(WORKLOAD) if p.ready] == [recognizer_image]
    finally:
        target.delete(WORKLOAD)
        target.close()


def test_only_the_recognizers_own_refusal_counts() -> None:
    """The API server's pod proxy answers 503 with its own Status (which has a `reason` too) while a pod cannot
    be reached: that is no refusal; the recognizer's body is."""
    from aitui.services.targets import refusal_of

    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "ServiceUnavailable",
              "message": "no endpoints available", "code": 503}
    assert refusal_of(status) == ""
    assert refusal_of({"ready": False}) == ""  # draining: no reason, it is not for good
    assert refusal_of({"ready": True, "reason": "x"}) == ""
    assert refusal_of(["self-check failed"]) == ""
    assert refusal_of({"ready": False, "reason": "self-check failed: 0 of 10"}) == "self-check failed: 0 of 10"
