"""HorizontalPodAutoscalers: the bounds each keeps its workload in, what it sees and when it last scaled.
The local engine has none: its one row says so (an empty table would look like "none yet")."""

from __future__ import annotations

from typing import Any

from aitui.models import Autoscaler
from aitui.services.targets import Target, Unsupported
from aitui.ui import format as fmt
from aitui.ui.resources.view import ResourceView, Row

NONE = "-"  # the key of the row that says there is no autoscaler here


def fetch(target: Target, _parent: str | None) -> list[Any]:
    try:
        return list(target.autoscalers())
    except Unsupported as exc:
        return [str(exc)]


def row(a: Autoscaler | str, now: float) -> Row:
    if isinstance(a, str):
        return {"name": "(none: local engine)", "min": "-", "max": "-", "replicas": "-",
                "targets": "no autoscaler: + - s set replicas", "scaled": "-", "reference": "-", "age": "-"}
    # in the columns' order: a new row's cells are placed by it
    return {"name": a.name, "min": str(a.low), "max": str(a.high), "replicas": f"{a.current}/{a.desired}",
            "targets": a.targets + (" (!)" if a.why else ""),
            "scaled": fmt.age(a.last_scale, now) if a.last_scale else "never",
            "reference": f"deployment/{a.workload}" if a.workload else "-", "age": fmt.age(a.created, now)}


def summary(found: list[Any]) -> str:
    if found and isinstance(found[0], str):
        return found[0]
    stuck = [a for a in found if a.why]
    return f"{len(found)}" + (f" · {stuck[0].name}: {stuck[0].why}" if stuck else "")


VIEW = ResourceView(
    kind="hpa", title="Autoscalers", aliases=("hpas", "horizontalpodautoscalers", "autoscalers"),
    help="the autoscalers (HPA): bounds, targets, last scale",
    columns=(("name", "NAME"), ("min", "MIN"), ("max", "MAX"), ("replicas", "CUR/WANT"), ("targets", "TARGETS"),
             ("scaled", "SCALED"), ("reference", "REFERENCE"), ("age", "AGE")),  # what matters first: 80 columns
    fetch=fetch, key=lambda a: NONE if isinstance(a, str) else a.name, row=row,
    workload=lambda key, _parent: None if key == NONE else key,  # ours are named after their workload
    empty="none in this namespace: d applies the recognizer's (min 2, max 10)", summary=summary)
