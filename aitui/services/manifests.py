"""Render manifests/base as `kubectl kustomize` does for what aitui sets: image, replicas, namespace, and the
workload's name (a model's workload is named after it: every name and label that says "recognizer" says it).

The base's kustomization only lists resources and an image tag, so reading it here keeps kubectl
out of aitui's runtime; tests/test_kube_target.py checks the result against `kubectl kustomize`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitui.config import Settings
from aitui.services import labels

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class ManifestError(Exception):
    pass


def base_dir(settings: Settings) -> Path:
    if settings.manifests_dir:
        return Path(settings.manifests_dir) / "base"
    return Path(__file__).resolve().parents[2] / "manifests" / "base"


def renamed(node: Any, name: str) -> Any:
    """`node` with every string that is the base's workload name (object names, the instance label and the
    selectors', the HPA's target, the service account, the container) set to `name`. The app's name label stays:
    every workload runs the same server (Prometheus' scrape jobs and the ServiceMonitor keep it); images and text
    that mention it stay too."""
    if isinstance(node, dict):
        return {k: v if k == labels.APP_LABEL else renamed(v, name) for k, v in node.items()}
    if isinstance(node, list):
        return [renamed(v, name) for v in node]
    return name if node == labels.NAME else node


def render(settings: Settings, image: str, replicas: int, namespace: str, workload: str = labels.NAME,
           model: str = labels.NAME) -> list[dict[str, Any]]:
    """The base's objects for `workload`, whose pods run `image`, which serves `model` (labels.MODEL_LABEL)."""
    import yaml

    base = base_dir(settings)
    try:
        kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
        docs = [d for res in kustomization["resources"] for d in yaml.safe_load_all((base / res).read_text()) if d]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ManifestError(f"manifests in {base} unreadable: {exc}") from exc
    if workload != labels.NAME:
        docs = [renamed(d, workload) for d in docs]
    for doc in docs:
        if doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = replicas
            for where in (doc["metadata"], doc["spec"]["template"]["metadata"]):
                where.setdefault("labels", {})[labels.MODEL_LABEL] = model
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["name"] == workload:
                    container["image"] = image
    return docs
