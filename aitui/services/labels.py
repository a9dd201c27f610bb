"""The labels that mark the recognizer's workloads. manifests/base sets them on Kubernetes objects and
the local target sets them on containers; aitui finds workloads by them. tests/test_manifests.py checks
that the manifests and these constants agree."""

from __future__ import annotations

NAME = "recognizer"
APP_LABEL, INSTANCE_LABEL = "app.kubernetes.io/name", "app.kubernetes.io/instance"
# the shipped recognizer's; a model's workload has its own instance (its name) and the same app name: the server
SELECTOR_LABELS = {APP_LABEL: NAME, INSTANCE_LABEL: NAME}
PART_OF = {"app.kubernetes.io/part-of": "aitui"}
# the model a workload's replicas serve, by the name its requests go to (/v1/models/<model>): on a Deployment and
# its pods' template, set by deploy from the image's own label (IMAGE_MODEL_LABEL, which aitui's builds set and
# a container inherits); absent: the shipped recognizer (an image built before the label)
MODEL_LABEL = "aitui.dev/model"
IMAGE_MODEL_LABEL = "io.aitui.name"
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


def selector_of(workload: str) -> dict[str, str]:
    return {APP_LABEL: NAME, INSTANCE_LABEL: workload}


def selector() -> str:
    """The label selector, as the Kubernetes API and `kubectl -l` take it."""
    return ",".join(f"{k}={v}" for k, v in SELECTOR_LABELS.items())


def canary_of(workload: str) -> str:
    return workload + CANARY_SUFFIX


def is_canary(workload: str) -> bool:
    return workload.endswith(CANARY_SUFFIX)


def model_of(workload: str) -> str:
    """The model a workload is named after: a model's workload takes its name, and a canary serves its
    workload's model. What it serves is its MODEL_LABEL (Workload.model): a workload may have any name."""
    return workload.removesuffix(CANARY_SUFFIX)
