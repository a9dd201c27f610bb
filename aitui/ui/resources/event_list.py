"""Events as a list (`:ev`): what happened to the workload, newest first, one row each (the Events tab
follows the same events as a log)."""

from __future__ import annotations

import time

from aitui.models import Event
from aitui.services import labels
from aitui.services.targets import Target
from aitui.ui.resources.view import ResourceView, Row


def fetch(target: Target, parent: str | None) -> list[tuple[str, Event]]:
    """Each event with a key of its own: two events of one object in one second are two rows."""
    out: list[tuple[str, Event]] = []
    seen: dict[str, int] = {}
    for e in reversed(target.events(parent or labels.NAME)):
        key = f"{e.time:.3f} {e.object} {e.reason}"
        seen[key] = seen.get(key, 0) + 1
        out.append((key if seen[key] == 1 else f"{key} #{seen[key]}", e))
    return out


def row(keyed: tuple[str, Event], _now: float) -> Row:
    e = keyed[1]
    return {"time": time.strftime("%H:%M:%S", time.localtime(e.time)), "type": e.type, "reason": e.reason,
            "object": e.object, "message": e.message}


VIEW = ResourceView(
    kind="ev", title="Events", aliases=("event-list",), help="the workload's events, newest first",
    columns=(("time", "TIME"), ("type", "TYPE"), ("reason", "REASON"), ("object", "OBJECT"), ("message", "MESSAGE")),
    fetch=fetch, key=lambda keyed: keyed[0], row=row, verbs=frozenset({"events", "logs"}),
    workload=lambda _key, parent: parent or labels.NAME, empty="no events in the last hour",
    summary=lambda found: f"{sum(e.type == 'Warning' for _, e in found)} warnings of {len(found)}")
