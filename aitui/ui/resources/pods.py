"""Pods: the replicas of one workload (enter on a workload), or of all (`:pods`), like k9s."""

from __future__ import annotations

from aitui.models import Pod
from aitui.ui import format as fmt
from aitui.ui.resources.view import ResourceView, Row


def row(p: Pod, now: float) -> Row:
    return {"name": p.name, "ready": "1/1" if p.ready else "0/1", "status": p.status,
            "restarts": str(p.restarts), "node": p.node or "-", "age": fmt.age(p.created, now)}


VIEW = ResourceView(
    kind="pods", title="Pods of {parent}", aliases=("po", "pod"), help="the pods (of the workload entered from)",
    columns=(("name", "NAME"), ("ready", "READY"), ("status", "STATUS"), ("restarts", "RESTARTS"),
             ("node", "NODE"), ("age", "AGE")),
    fetch=lambda target, parent: target.pods(parent), key=lambda p: p.name, row=row,
    verbs=frozenset({"scale_by", "scale_to", "restart", "delete", "logs", "events", "shell"}),
    empty="no replicas: + adds one", summary=lambda pods: f"{sum(p.ready for p in pods)}/{len(pods)} ready")
