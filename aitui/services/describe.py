"""An object as YAML (managedFields folded away) and as a kubectl-describe-like summary. Plain functions
over the object's JSON (a Kubernetes object, or a container's `docker inspect`), so the UI and tests can use
them without an engine."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aitui.models import Event

HIDDEN_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def fold(obj: Any) -> tuple[Any, str]:
    """The object without metadata.managedFields (hundreds of lines nobody reads), and a line saying what
    was folded away ("" when nothing was)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return obj, ""
    managed = obj["metadata"].get("managedFields")
    if not managed:
        return obj, ""
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    managers = sorted({str(m.get("manager", "?")) for m in managed})
    note = f"managedFields folded away ({len(managed)} entries: {', '.join(managers)})"
    return {**obj, "metadata": meta}, note


def to_yaml(obj: Any) -> tuple[str, str]:
    """(YAML text, the folded note); what looks secret masked (env values, a Secret's data: redact.py)."""
    import yaml

    from aitui.services.redact import data as masked

    folded, note = fold(obj)
    return yaml.safe_dump(masked(folded), sort_keys=False, default_flow_style=False, allow_unicode=True,
                          width=120), note


def _stamp(value: str | float | None) -> float:
    if not value:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:  # RFC 3339 in UTC (Kubernetes) or Docker's nanosecond stamps: the seconds are enough
        return datetime.fromisoformat(value[:19] + "+00:00").timestamp()
    except ValueError:
        return 0.0


def ago(seconds: float) -> str:
    s = int(max(0, seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def _when(value: str | float | None, now: float) -> str:
    t = _stamp(value)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t))} UTC ({ago(now - t)} ago)" if t else "-"


def _pairs(title: str, mapping: dict[str, Any] | None) -> list[str]:
    items = [(k, v) for k, v in (mapping or {}).items() if k not in HIDDEN_ANNOTATIONS]
    if not items:
        return [f"{title + ':':<14}<none>"]
    lines = [f"{title + ':':<14}{items[0][0]}={items[0][1]}"]
    lines += [f"{'':<14}{k}={v}" for k, v in items[1:]]
    return lines


def _table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _events(events: list[Event], now: float) -> list[str]:
    if not events:
        return ["Events:       <none>"]
    rows = [("Type", "Reason", "Age", "From", "Message")]
    rows += [(e.type, e.reason, ago(now - e.time), e.object, e.message) for e in events[-20:]]
    return ["Events:", *_table(rows)]


def _containers(spec: dict[str, Any], statuses: list[dict[str, Any]]) -> list[str]:
    by_name = {s.get("name"): s for s in statuses}
    lines = ["Containers:"]
    for c in spec.get("containers") or []:
        lines.append(f"  {c.get('name')}:")
        lines.append(f"    Image:      {c.get('image', '')}")
        ports = ", ".join(f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or [])
        lines.append(f"    Ports:      {ports or '<none>'}")
        res = c.get("resources") or {}
        for what in ("requests", "limits"):
            if res.get(what):
                lines.append(f"    {what.capitalize() + ':':<12}" + ", ".join(f"{k}={v}" for k, v in res[what].items()))
        s = by_name.get(c.get("name"))
        if s:
            state = next(iter(s.get("state") or {"unknown": {}}))
            detail = (s.get("state") or {}).get(state) or {}
            lines.append(f"    State:      {state.capitalize()}"
                         + (f" ({detail['reason']})" if detail.get("reason") else ""))
            lines.append(f"    Ready:      {s.get('ready', False)}")
            lines.append(f"    Restarts:   {s.get('restartCount', 0)}")
    return lines


def _status(kind: str, obj: dict[str, Any]) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Deployment":
        strategy = spec.get("strategy") or {}
        ru = strategy.get("rollingUpdate") or {}
        return [f"Replicas:     {spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | "
                f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
                f"{status.get('unavailableReplicas', 0)} unavailable",
                f"Strategy:     {strategy.get('type', 'RollingUpdate')}"
                + (f" (max surge {ru.get('maxSurge')}, max unavailable {ru.get('maxUnavailable')})" if ru else ""),
                *_containers((spec.get("template") or {}).get("spec") or {}, [])]
    if kind == "ReplicaSet":
        ann = (obj.get("metadata") or {}).get("annotations") or {}
        return [f"Revision:     {ann.get('deployment.kubernetes.io/revision', '-')}",
                f"Replicas:     {status.get('replicas', 0)} current / {spec.get('replicas', 0)} desired, "
                f"{status.get('readyReplicas', 0)} ready",
                *_containers((spec.get("template") or {}).get("spec") or {}, [])]
    if kind == "Pod":
        return [f"Node:         {spec.get('nodeName', '<none>')}",
                f"Status:       {status.get('phase', '-')}",
                f"IP:           {status.get('podIP', '<none>')}",
                *_containers(spec, status.get("containerStatuses") or [])]
    if kind == "Service":
        ports = ", ".join(f"{p.get('name', '')} {p.get('port')}->{p.get('targetPort')}/{p.get('protocol', 'TCP')}"
                          for p in spec.get("ports") or [])
        return [f"Type:         {spec.get('type', 'ClusterIP')}", f"IP:           {spec.get('clusterIP', '-')}",
                f"Ports:        {ports or '<none>'}",
                f"Selector:     {','.join(f'{k}={v}' for k, v in (spec.get('selector') or {}).items()) or '<none>'}"]
    if kind == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef") or {}
        return [f"Reference:    {ref.get('kind', '')}/{ref.get('name', '')}",
                f"Min replicas: {spec.get('minReplicas', 1)}", f"Max replicas: {spec.get('maxReplicas', '-')}",
                f"Replicas:     {status.get('currentReplicas', 0)} current / "
                f"{status.get('desiredReplicas', 0)} desired",
                f"Last scale:   {status.get('lastScaleTime') or 'never'}"]
    return []


def describe(obj: dict[str, Any], events: list[Event], now: float | None = None) -> str:
    """A Kubernetes object as `kubectl describe` lays it out: who it is, its status, conditions, events."""
    now = now or time.time()
    meta = obj.get("metadata") or {}
    kind = obj.get("kind", "")
    owners = ", ".join(f"{o.get('kind')}/{o.get('name')}" for o in meta.get("ownerReferences") or [])
    lines = [f"Name:         {meta.get('name', '')}", f"Namespace:    {meta.get('namespace', '')}",
             f"Kind:         {kind}", f"Created:      {_when(meta.get('creationTimestamp'), now)}",
             *_pairs("Labels", meta.get("labels")), *_pairs("Annotations", meta.get("annotations"))]
    if owners:
        lines.append(f"Controlled by: {owners}")
    if meta.get("deletionTimestamp"):
        lines.append(f"Deleting:     since {_when(meta['deletionTimestamp'], now)}")
    lines += _status(kind, obj)
    conditions = (obj.get("status") or {}).get("conditions") or []
    if conditions:
        rows = [("Type", "Status", "Reason", "Message")]
        rows += [(c.get("type", ""), c.get("status", ""), c.get("reason", "") or "-", c.get("message", "") or "")
                 for c in conditions]
        lines += ["Conditions:", *_table(rows)]
    lines += _events(events, now)
    return "\n".join(lines)


def describe_container(attrs: dict[str, Any], events: list[Event], now: float | None = None) -> str:
    """A local replica (a container's `docker inspect`) laid out as describe lays out a pod."""
    now = now or time.time()
    state, config = attrs.get("State") or {}, attrs.get("Config") or {}
    health = state.get("Health") or {}
    ports = ((attrs.get("NetworkSettings") or {}).get("Ports") or {})
    published = ", ".join(f"{p} -> {b[0].get('HostIp', '')}:{b[0].get('HostPort', '')}" for p, b in ports.items() if b)
    lines = [f"Name:         {str(attrs.get('Name', '')).lstrip('/')}",
             f"Id:           {str(attrs.get('Id', ''))[:12]}",
             "Kind:         container (local Docker engine)", f"Created:      {_when(attrs.get('Created'), now)}",
             f"Image:        {config.get('Image', '')}", *_pairs("Labels", config.get("Labels")),
             f"Status:       {state.get('Status', '-')}"
             + (f" since {_when(state.get('StartedAt'), now)}" if state.get("Running") else ""),
             f"Health:       {health.get('Status', '<no healthcheck>')}",
             f"Restarts:     {attrs.get('RestartCount', 0)}", f"Ports:        {published or '<none>'}",
             f"User:         {config.get('User') or 'root'}",
             f"Read-only:    {(attrs.get('HostConfig') or {}).get('ReadonlyRootfs', False)}"]
    log = health.get("Log") or []
    if log:
        last = log[-1]
        lines.append(f"Last probe:   exit {last.get('ExitCode')} at {_when(last.get('End'), now)}")
    if state.get("Error"):
        lines.append(f"Error:        {state['Error']}")
    lines += _events(events, now)
    return "\n".join(lines)
