"""Nodes: where the replicas run (a cluster's nodes; the local engine's one machine)."""

from __future__ import annotations

from aitui.models import Node
from aitui.ui import format as fmt
from aitui.ui.resources.view import ResourceView, Row


def row(n: Node, now: float) -> Row:
    return {"name": n.name, "status": n.status, "roles": n.roles, "version": n.version, "cpus": str(n.cpus),
            "memory": fmt.size(n.memory), "age": fmt.age(n.created, now) if n.created else "-"}


def summary(found: list[Node]) -> str:
    return f"{sum(n.status == 'Ready' for n in found)}/{len(found)} ready"


VIEW = ResourceView(
    kind="nodes", title="Nodes", aliases=("no", "node"), help="where the replicas run",
    columns=(("name", "NAME"), ("status", "STATUS"), ("roles", "ROLES"), ("version", "VERSION"), ("cpus", "CPUS"),
             ("memory", "MEMORY"), ("age", "AGE")),
    fetch=lambda target, _parent: target.nodes(), key=lambda n: n.name, row=row,
    workload=lambda _key, _parent: None, empty="no nodes", summary=summary)
