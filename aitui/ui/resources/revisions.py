"""Revisions of a workload (k9s's ReplicaSets / `kubectl rollout history`): what each ran and when; `u`
goes back to the one before the current one."""

from __future__ import annotations

from aitui.models import Revision
from aitui.ui import format as fmt
from aitui.ui.resources.view import ResourceView, Row


def row(r: Revision, now: float) -> Row:
    return {"revision": f"{r.revision}{' (current)' if r.current else ''}",  # in the columns' order
            "image": r.image.rsplit("/", 1)[-1], "pods": str(r.replicas), "age": fmt.age(r.created, now),
            "cause": r.change_cause or "-", "workload": r.workload, "name": r.name}


def summary(found: list[Revision]) -> str:
    current = [r for r in found if r.current]
    return f"{len(found)} revision(s)" + (" · u rolls back to the previous one" if len(found) > len(current) else "")


VIEW = ResourceView(
    kind="revisions", title="Revisions of {parent}", aliases=("rs", "replicasets", "history"),
    help="the revisions (ReplicaSets) a workload can roll back to",
    columns=(("revision", "REVISION"), ("image", "IMAGE"), ("pods", "PODS"), ("age", "AGE"),
             ("cause", "CHANGE-CAUSE"), ("workload", "WORKLOAD"), ("name", "NAME")),
    fetch=lambda target, parent: target.revisions(parent), key=lambda r: r.name, row=row,
    verbs=frozenset({"rollback", "events"}),
    workload=lambda key, parent: parent or key.rsplit("-", 1)[0],  # a ReplicaSet is "<deployment>-<hash>"
    empty="none: d deploys the first revision", summary=summary)
