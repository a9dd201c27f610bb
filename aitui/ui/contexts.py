"""The contexts, namespaces and models aitui knows of, for `:ctx`, `:ns`, `:model`, the palette and the `:` line's
completion: listed in workers, from the kubeconfig, the target and the settings. `:ctx` reads the context's own
namespace first; the switch itself is the App's (it points every panel at the new target). `:model` points the
settings at another model project: b builds it, d deploys its newest image, and its samples check it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
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

    @dataclass
    class ModelChosen(Message):
        """The settings name another model now (the header shows it)."""

        name: str

    @dataclass
    class ModelsRead(Message):
        models: dict[str, str | None]  # name -> its project's path (None: the shipped recognizer)
        chosen: str = ""  # switch to this one ("" none)
        error: str = ""

    def __init__(self, settings: Settings, target_of: Callable[[], Target], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings, self._target_of = settings, target_of
        self.contexts: list[str] = [LOCAL]
        self.namespaces: list[str] = []
        self.models: dict[str, str | None] = {}  # name -> project path (None: the shipped recognizer)

    @work(thread=True, group="contexts", exclusive=True, exit_on_error=False)
    def load_contexts(self) -> None:
        from aitui.services.kubeconfig import contexts

        try:
            names, _current = contexts(self.settings.kubeconfig)
        except Exception:
            names = []  # the header says why there is no kubeconfig
        self.post_message(self.Listed(contexts=[LOCAL, *names]))

    def on_mount(self) -> None:
        self.call_after_refresh(self.read_models)  # (after the first frame, as the engines)

    @work(thread=True, group="models", exit_on_error=False)
    def read_models(self, wanted: str = "") -> None:
        """The models the settings know of, each read from its project (one that cannot be read is left out), and
        `wanted` (a path) beside them; switch to it when it reads."""
        from aitui.services import model_project

        serving = model_project.serving_dir(self.settings)
        found: dict[str, str | None] = {model_project.SHIPPED: None}
        for path in dict.fromkeys(p for p in (self.settings.model, *self.settings.models) if p):
            with suppress(model_project.ModelError):  # (:model PATH says why, when asked for that one)
                found[model_project.read(path, serving).name] = path
        chosen = error = ""
        if wanted:
            try:
                chosen = model_project.read(wanted, serving).name
                found[chosen] = wanted
            except model_project.ModelError as exc:
                error = f"model {wanted}: {exc}"
        self.post_message(self.ModelsRead(found, chosen, error))

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
        self._known()

    def _known(self) -> None:
        self.post_message(self.Known([f"ctx {c}" for c in self.contexts] + [f"ns {n}" for n in self.namespaces]
                                     + [f"model {name}" for name in self.models]))

    @on(ModelsRead)
    def _models_read(self, m: Contexts.ModelsRead) -> None:
        m.stop()
        self.models = {**self.models, **m.models}
        self._known()
        if m.error:
            self.notify(m.error, severity="error")
        elif m.chosen:
            self.use_model(m.chosen)
            return
        self.post_message(self.ModelChosen(self.model))  # (at the start: the one the settings name)

    # -- :model ----------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        """The name of the model the settings name now."""
        current = self.settings.model
        return next((name for name, path in self.models.items() if path == current), "") if current else \
            "recognizer"

    def action_model(self, wanted: str) -> None:
        if not wanted:
            names = [f"{n} ({p})" if p else f"{n} (shipped)" for n, p in self.models.items()]
            self.notify(f"model: {self.model or self.settings.model}; known: {', '.join(names) or '(reading…)'}"
                        "; :model PATH names another project")
        elif wanted in self.models:
            self.use_model(wanted)
        else:  # a project's folder or model file: read (off the UI thread) before it is used
            from pathlib import Path

            self.read_models(str(Path(wanted).expanduser().resolve()))

    def use_model(self, name: str) -> None:
        path = self.models[name]
        if path == self.settings.model:
            self.notify(f"model: {name} already")
            return
        self.settings.model = path
        self.post_message(msg.Say(f"model: {name}" + (f" ({path})" if path else " (the shipped recognizer)")
                                  + ": b builds it, d deploys its newest image, its samples check it", notify=True))
        self.post_message(self.ModelChosen(name))

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
