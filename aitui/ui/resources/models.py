"""Models: for each replica of a workload, the model it serves and its own figures (services/model_view.py),
so a mixed rollout or a slow replica shows at a glance; `enter` follows that replica's log."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from aitui.services.model_view import ReplicaModel
from aitui.ui.resources.view import ResourceView, Row

if TYPE_CHECKING:
    from aitui.services.targets import Target
    from aitui.ui.store import WorkloadStore


class Replicas(list[ReplicaModel]):
    """A fetch's replicas, and where their figures came from (Prometheus, or each replica's /metrics)."""

    def __init__(self, replicas: Iterable[ReplicaModel], source: str) -> None:
        super().__init__(replicas)
        self.source = source


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def checked(self_check: str) -> str:
    """The replica's own check, short: "10/10" of its samples, "unchecked" (a model without samples), or "-"."""
    if self_check.startswith("unchecked"):
        return "unchecked"
    found = re.match(r"(\d+) of (\d+) ", self_check)
    return f"{found[1]}/{found[2]}" if found else "-"


def row(r: ReplicaModel, _now: float) -> Row:
    m, f = r.model, r.figures
    acc = m.get("accuracy", "")
    try:
        acc = f"{float(acc):.1%}"
    except ValueError:
        acc = "-" if acc in ("", "None") else acc  # (None: a model without held-out samples)
    cells = {"name": r.name, "version": m.get("version", "-").rsplit("-", 1)[-1],  # its hash: the tag's tail
             "rate": _num(f.rate, ".1f"), "p99": _num(f.p99_ms, ".1f"),
             "errors": _num(None if f.error_ratio is None else f.error_ratio * 100, ".1f"),
             "smoke": r.smoke_note or "-", "batch": _num(f.batch, ".2f"), "queue": _num(f.queue, ".0f"),
             "runtime": m.get("runtime") or r.platform or "-", "accuracy": acc, "check": checked(r.self_check),
             "model": m.get("name", "-") if m else ("?" if r.error else "-"),
             "ready": "1/1" if r.pod.ready else "0/1",
             "source": {"prometheus": "prom", "/metrics": "direct"}.get(r.source, "-")}
    return {key: cells[key] for key, _ in VIEW.columns}  # in the columns' order: tables take them as they come


def fetch(target: Target, parent: str | None) -> list[ReplicaModel]:
    from aitui.services.model_view import collect

    view = collect(target, parent, target.prometheus_url)
    return Replicas(view.replicas, view.source)


def annotate(replicas: list[ReplicaModel], store: WorkloadStore) -> list[ReplicaModel]:
    """Each replica with what its last smoke test said (the store keeps it: ui/smoke.py writes it)."""
    return Replicas((replace(r, smoke_note=store.smoke.get(r.name, "")) for r in replicas), _source(replicas))


def _source(replicas: list[ReplicaModel]) -> str:
    return replicas.source if isinstance(replicas, Replicas) else ""


def summary(replicas: list[ReplicaModel]) -> str:
    versions = {r.model.get("version") for r in replicas if r.model}
    mixed = f" · MIXED: {len(versions)} versions" if len(versions) > 1 else ""
    flagged = sum(r.smoke_note.startswith("FLAG") for r in replicas)
    flags = f" · {flagged} FLAGGED" if flagged else ""
    return f"{sum(r.pod.ready for r in replicas)}/{len(replicas)} ready{mixed}{flags} · {_source(replicas)}"


VIEW = ResourceView(
    kind="models", title="Models of {parent}", aliases=("mo",),  # (:model switches the model)
    help="each replica's model (version, runtime, accuracy) and its own req/s, p99, errors, batch, queue",
    # what tells replicas apart first (a narrow terminal shows the first few): version, then load and health
    columns=(("name", "REPLICA"), ("version", "VER"), ("rate", "REQ/S"), ("p99", "P99 MS"), ("errors", "ERR%"),
             ("smoke", "SMOKE"), ("batch", "BATCH"), ("queue", "QUEUE"), ("runtime", "RUNTIME"), ("accuracy", "ACC"),
             ("check", "CHECK"), ("model", "MODEL"), ("ready", "READY"), ("source", "FROM")),
    fetch=fetch, key=lambda r: r.name, row=row, enter_verb="logs", annotate=annotate, refetch=True,
    verbs=frozenset({"scale_by", "scale_to", "restart", "logs", "events"}),
    empty="no replicas: + adds one", summary=summary)
