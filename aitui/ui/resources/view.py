"""What a resource view is (k9s's one small file per kind): the kind's columns and rows, how to list it
through the target, what `enter` opens, and which verbs apply to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aitui.services.targets import Target
    from aitui.ui.store import WorkloadStore

Row = dict[str, str]  # column key -> text


@dataclass(frozen=True)
class ResourceView:
    kind: str  # the registry's name: the `:` command, the table's id
    title: str  # the panel's title; "{parent}" is the row it was entered from
    columns: tuple[tuple[str, str], ...]  # (key, header)
    fetch: Callable[[Target, str | None], list[Any]]  # the objects, under a parent row (or all of them)
    key: Callable[[Any], str]  # an object's row key (unique in the view)
    row: Callable[[Any, float], Row]  # an object's cells, at time `now`
    aliases: tuple[str, ...] = ()  # more `:` words for it (k9s's short names)
    help: str = ""  # what the `:` command lists
    enter: str = ""  # the kind `enter` opens under the selected row ("" for none)
    enter_verb: str = ""  # or the App action `enter` runs on the selected row (e.g. "logs")
    verbs: frozenset[str] = frozenset()  # the actions of the key table that apply here
    workload: Callable[[str, str | None], str | None] = lambda key, parent: parent  # the workload a row belongs to
    empty: str = "none"  # the subtitle of an empty list: what to do next
    summary: Callable[[list[Any]], str] = lambda objs: str(len(objs))  # the subtitle otherwise
    # what the UI knows of the objects and the target does not (a smoke test's verdict), added on the UI thread
    annotate: Callable[[list[Any], WorkloadStore], list[Any]] = lambda objs, _store: objs
    refetch: bool = False  # its figures are rates: listed again every few seconds while it is on top
