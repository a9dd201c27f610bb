"""The one guard, from the key table (ui/keys.py): a key that changes the target is refused in read-only,
one that acts on the selected row where the view on top has no such verb, one that needs a workload while
it is not deployed; each says why. A node that binds keys of the table (the App, the workloads feature) is
`Guarded`: its check_action hides the first two from the footer, and their hidden twins (`refused`) still
say why when such a key is pressed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aitui.ui.keys import BY_ACTION

if TYPE_CHECKING:
    from aitui.config import Settings
    from aitui.ui.resources import ResourceView
    from aitui.ui.store import WorkloadStore


class Guard:
    def __init__(self, settings: Settings, store: WorkloadStore, view: Callable[[], ResourceView | None]) -> None:
        self.settings, self.store, self._view = settings, store, view  # view: the one on top (None before it is)

    def hides(self, action: str) -> bool:
        """Whether `action` does not apply now whatever is selected: it is not a verb of the view on top,
        or it changes a target that is read-only."""
        key, view = BY_ACTION.get(action), self._view()
        return key is not None and ((key.scoped and view is not None and action not in view.verbs)
                                    or (key.changes and self.settings.is_readonly()))

    def why(self, action: str, workload: str | None = None) -> str:
        """Why `action` is refused now ("" when it is not)."""
        key, view = BY_ACTION[action], self._view()
        if key.scoped and view is not None and action not in view.verbs:
            return f"{key.help_key or key.display or key.key} does not apply to {view.kind}"
        if key.changes and self.settings.is_readonly():
            return f"read-only: '{self.settings.context}' is not changed by aitui"
        if key.needs_workload and workload not in self.store.workloads:
            return "nothing deployed yet: press d to deploy"
        return ""


class Guarded:
    """For a Textual node (the App, a widget) that binds keys of the table."""

    guard: Guard

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.guard.hides(action)

    def action_refused(self, action: str) -> None:
        self.may(action)

    def may(self, action: str, workload: str | None = None) -> bool:
        why = self.guard.why(action, workload)
        if why:
            cast(Any, self).notify(why, severity="warning")  # (the node's own: Widget.notify)
        return not why
