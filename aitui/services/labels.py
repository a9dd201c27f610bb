"""The labels that mark the recognizer's workloads. manifests/base sets them on Kubernetes objects and
the local target sets them on containers; aitui finds workloads by them. tests/test_manifests.py checks
that the manifests and these constants agree."""

from __future__ import annotations

NAME = "recognizer"
SELECTOR_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
PART_OF = {"app.kubernetes.io/part-of": "aitui"}
SERVING_PORT = 8501
PORT_NAME = "http"
# a replica taken out of traffic (a wrong answer in the smoke test): the pod loses the selector's instance
# label (out of its Service and its ReplicaSet, which starts a replacement) and gets this one, naming the
# workload it served, so aitui still lists it there and `delete` removes it
QUARANTINE_LABEL = "aitui.dev/quarantined-from"
# a canary beside a workload (services/canary.py) is the workload `<workload>-canary`; on Kubernetes its
# Deployment, selector and pods also carry `track: canary`
CANARY_SUFFIX = "-canary"
TRACK_LABEL = "track"


def selector() -> str:
    """The label selector, as the Kubernetes API and `kubectl -l` take it."""
    return ",".join(f"{k}={v}" for k, v in SELECTOR_LABELS.items())


def canary_of(workload: str) -> str:
    return workload + CANARY_SUFFIX


def is_canary(workload: str) -> bool:
    return workload.endswith(CANARY_SUFFIX)
