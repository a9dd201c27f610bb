"""The contexts and namespaces aitui knows of, for `:ctx`, `:ns`, the palette and the `:` line's completion:
listed in workers, from the kubeconfig and from the target. `:ctx` reads the context's own namespace
first; the switch itself is the App's (it points every panel at the new target)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.message import Message
from textual.widget import Widget

from aitui import messages as msg
from aitui.config import Settings
from aitui.services.targets.places import LOCAL, has_namespaces

if TYPE_CHECKING:
    from aitui.services.targets import Target


class Contexts(Widget):
    DEFAULT_CSS = "Contexts { display: none; }"

    @dataclass
    class Listed(Message):
        contexts: list[str] | None = None  # (None: not these)
        namespaces: list[str] | None = None

    @dataclass
    class Known(Message):
        """The lists changed: what the `:` line may complete now."""

        words: list[str]

    @dataclass
    class Chosen(Message):
        """Switch to this context and namespace."""

        context: str
        in_namespace: str  # (`namespace` is a Message's own class attribute)

    def __init__(self, settings: Settings, target_of: Callable[[], Target], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings, self._target_of = settings, target_of
        self.contexts: list[str] = [LOCAL]
        self.namespaces: list[str] = []

    @work(thread=True, group="contexts", exclusive=True, exit_on_error=False)
    def load_contexts(self) -> None:
        from aitui.services.kubeconfig import contexts

        try:
            names, _current = contexts(self.settings.kubeconfig)
        except Exception:
            names = []  # the header says why there is no kubeconfig
        self.post_message(self.Listed(contexts=[LOCAL, *names]))

    @work(thread=True, group="namespaces", exclusive=True, exit_on_error=False)
    def load_namespaces(self) -> None:
        from aitui.services.targets import TargetError

        try:
            self.post_message(self.Listed(namespaces=self._target_of().namespaces()))
        except TargetError as exc:
            self.post_message(msg.Say(f"namespaces: {exc}", "warning"))

    def forget(self) -> None:
        """A new context: its namespaces are listed anew."""
        self.namespaces = []

    @on(Listed)
    def _listed(self, m: Contexts.Listed) -> None:
        m.stop()
        self.contexts = m.contexts if m.contexts is not None else self.contexts
        self.namespaces = m.namespaces if m.namespaces is not None else self.namespaces
        self.post_message(self.Known([f"ctx {c}" for c in self.contexts] + [f"ns {n}" for n in self.namespaces]))

    # -- :ctx, :ns -----------------------------------------------------------------------------
    def action_ctx(self, context: str) -> None:
        if not context:
            self.notify("contexts: " + ", ".join(self.contexts))
        elif context not in self.contexts:
            self.notify(f"no context {context!r}; known: {', '.join(self.contexts)}", severity="error")
        else:
            self.switch_to(context)

    def action_ns(self, namespace: str) -> None:
        if not has_namespaces(self.settings.context):
            self.notify(f"{self.settings.context} has no namespaces; :ctx <kubeconfig context> first",
                        severity="warning")
        elif not namespace:
            self.notify("namespaces: " + (", ".join(self.namespaces) or "(listing…)"))
        else:
            self.post_message(self.Chosen(self.settings.context, namespace))

    @work(thread=True, group="contexts", exit_on_error=False)
    def switch_to(self, context: str) -> None:
        """A context switch lands in the context's own namespace (read from the kubeconfig here)."""
        from aitui.services.kubeconfig import namespace_of

        namespace = namespace_of(self.settings.kubeconfig, context) if has_namespaces(context) else "default"
        self.post_message(self.Chosen(context, namespace))
