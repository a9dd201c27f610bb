"""Services: how clients reach the workloads (Kubernetes Services; on the local engine, each workload's
published ports), with their endpoints ready out of all."""

from __future__ import annotations

from aitui.models import Service
from aitui.ui import format as fmt
from aitui.ui.resources.view import ResourceView, Row


def row(s: Service, now: float) -> Row:
    return {"name": s.name, "type": s.type, "endpoints": f"{s.ready}/{s.endpoints}", "address": s.address,
            "ports": s.ports, "age": fmt.age(s.created, now)}


VIEW = ResourceView(
    kind="services", title="Services", aliases=("svc", "service"), help="how clients reach the workloads",
    columns=(("name", "NAME"), ("type", "TYPE"), ("endpoints", "ENDPOINTS"), ("address", "ADDRESS"),
             ("ports", "PORTS"), ("age", "AGE")),
    fetch=lambda target, _parent: target.services(), key=lambda s: s.name, row=row, enter="pods",
    verbs=frozenset({"events"}), workload=lambda key, _parent: key,  # our Services are named after their workload
    empty="none yet: d deploys the recognizer and its Service")
