"""Workloads: Deployments, or the local target's labelled containers of one image; READY like kubectl."""

from __future__ import annotations

from aitui.models import Workload
from aitui.ui import format as fmt
from aitui.ui.resources.view import ResourceView, Row


def row(w: Workload, now: float) -> Row:
    ready = f"{w.ready}/{w.desired}" + (f" {w.problem}" if w.problem else "")  # 0/2 ImagePullBackOff
    return {"name": w.name, "ready": ready, "uptodate": str(w.up_to_date),
            "available": str(w.available), "image": image(w.image), "age": fmt.age(w.created, now)}


def image(ref: str) -> str:
    """The image's name and tag; one named by digest (pushed to a registry) as name@sha256: and 12 digits."""
    name = ref.rsplit("/", 1)[-1]
    return name[: name.index("@sha256:") + 20] if "@sha256:" in name else name


def summary(found: list[Workload]) -> str:
    """The count, and the autoscaler that owns a workload's count (+ - s then ask before moving its bounds)."""
    owned = [f"{w.name}: hpa {w.autoscaler[0]}..{w.autoscaler[1]}" for w in found if w.autoscaler]
    return " · ".join([str(len(found)), *owned])


VIEW = ResourceView(
    kind="workloads", title="Workloads", aliases=("dp", "deployments", "wl"), help="the workloads (Deployments)",
    columns=(("name", "NAME"), ("ready", "READY"), ("uptodate", "UP-TO-DATE"), ("available", "AVAILABLE"),
             ("image", "IMAGE"), ("age", "AGE")),
    fetch=lambda target, _parent: target.workloads(), key=lambda w: w.name, row=row, enter="pods",
    verbs=frozenset({"scale_by", "scale_to", "restart", "delete", "logs", "events", "shell", "rollback"}),
    workload=lambda key, _parent: key, empty="none yet: b builds, d deploys", summary=summary)
