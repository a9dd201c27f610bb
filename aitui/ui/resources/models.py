"""Models: for each replica of a workload, the model it serves and its own figures (services/model_view.py),
so a mixed rollout or a slow replica shows at a glance; `enter` follows that replica's log."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from aitui.services.model_view import ReplicaModel
from aitui.ui.resources.view import ResourceView, Row

if TYPE_CHECKING:
    from aitui.services.targets import Target

# replica -> what the last smoke test said of it ("ok 8/8", "FLAG 6/8"): set on the UI thread by the smoke
# panel (ui/smoke.py), read when rows are fetched
SMOKE: dict[str, str] = {}
LAST_SOURCE: list[str] = [""]  # where the last fetch's figures came from (the subtitle)


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def row(r: ReplicaModel, _now: float) -> Row:
    m, f = r.model, r.figures
    acc = m.get("accuracy", "")
    try:
        acc = f"{float(acc):.1%}"
    except ValueError:
        acc = acc or "-"
    cells = {"name": r.name, "version": m.get("version", "-").rsplit("-", 1)[-1],  # its hash: the tag's tail
             "rate": _num(f.rate, ".1f"), "p99": _num(f.p99_ms, ".1f"),
             "errors": _num(None if f.error_ratio is None else f.error_ratio * 100, ".1f"),
             "smoke": r.smoke_note or "-", "batch": _num(f.batch, ".2f"), "queue": _num(f.queue, ".0f"),
             "runtime": m.get("runtime") or r.platform or "-", "accuracy": acc,
             "model": m.get("name", "-") if m else ("?" if r.error else "-"),
             "ready": "1/1" if r.pod.ready else "0/1",
             "source": {"prometheus": "prom", "/metrics": "direct"}.get(r.source, "-")}
    return {key: cells[key] for key, _ in VIEW.columns}  # in the columns' order: tables take them as they come


def fetch(target: Target, parent: str | None) -> list[ReplicaModel]:
    from aitui.services.model_view import collect

    view = collect(target, parent, target.prometheus_url)
    LAST_SOURCE[0] = view.source
    return [replace(r, smoke_note=SMOKE.get(r.name, "")) for r in view.replicas]


def summary(replicas: list[ReplicaModel]) -> str:
    versions = {r.model.get("version") for r in replicas if r.model}
    mixed = f" · MIXED: {len(versions)} versions" if len(versions) > 1 else ""
    flagged = sum(SMOKE.get(r.name, "").startswith("FLAG") for r in replicas)
    flags = f" · {flagged} FLAGGED" if flagged else ""
    return f"{sum(r.pod.ready for r in replicas)}/{len(replicas)} ready{mixed}{flags} · {LAST_SOURCE[0]}"


VIEW = ResourceView(
    kind="models", title="Models of {parent}", aliases=("model", "mo"),
    help="each replica's model (version, runtime, accuracy) and its own req/s, p99, errors, batch, queue",
    # what tells replicas apart first (a narrow terminal shows the first few): version, then load and health
    columns=(("name", "REPLICA"), ("version", "VER"), ("rate", "REQ/S"), ("p99", "P99 MS"), ("errors", "ERR%"),
             ("smoke", "SMOKE"), ("batch", "BATCH"), ("queue", "QUEUE"), ("runtime", "RUNTIME"), ("accuracy", "ACC"),
             ("model", "MODEL"), ("ready", "READY"), ("source", "FROM")),
    fetch=fetch, key=lambda r: r.name, row=row, enter_verb="logs",
    verbs=frozenset({"scale_by", "scale_to", "restart", "logs", "events"}),
    empty="no replicas: + adds one", summary=summary)
