"""The labels that mark the recognizer's workloads. manifests/base sets them on Kubernetes objects and
the local target sets them on containers; aitui finds workloads by them. tests/test_manifests.py checks
that the manifests and these constants agree."""

from __future__ import annotations

NAME = "recognizer"
SELECTOR_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
PART_OF = {"app.kubernetes.io/part-of": "aitui"}
SERVING_PORT = 8501
PORT_NAME = "http"


def selector() -> str:
    """The label selector, as the Kubernetes API and `kubectl -l` take it."""
    return ",".join(f"{k}={v}" for k, v in SELECTOR_LABELS.items())
