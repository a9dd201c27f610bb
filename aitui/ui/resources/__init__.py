"""The registry of resource views: adding a kind is a model, a target method, one file here and one line
below. The browser (ui/browser.py), the `:` commands and `enter` all come from it."""

from __future__ import annotations

from aitui.ui.resources import event_list, hpa, models, nodes, pods, revisions, services, workloads
from aitui.ui.resources.view import ResourceView

REGISTRY: dict[str, ResourceView] = {v.kind: v for v in (
    workloads.VIEW,
    pods.VIEW,
    services.VIEW,
    hpa.VIEW,
    revisions.VIEW,
    models.VIEW,
    event_list.VIEW,
    nodes.VIEW,
)}
ALIASES = {alias: v.kind for v in REGISTRY.values() for alias in v.aliases}

__all__ = ["ALIASES", "REGISTRY", "ResourceView"]
