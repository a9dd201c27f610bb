"""Render manifests/base as `kubectl kustomize` does for what aitui sets: image, replicas, namespace.

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


def render(settings: Settings, image: str, replicas: int, namespace: str) -> list[dict[str, Any]]:
    import yaml

    base = base_dir(settings)
    try:
        kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
        docs = [d for res in kustomization["resources"] for d in yaml.safe_load_all((base / res).read_text()) if d]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ManifestError(f"manifests in {base} unreadable: {exc}") from exc
    for doc in docs:
        if doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = replicas
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["name"] == labels.NAME:
                    container["image"] = image
    return docs
