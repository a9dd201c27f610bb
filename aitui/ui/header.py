"""The top line: where aitui points (context, namespace) and whether each engine answers."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from aitui.models import Health


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: auto; background: $panel; color: $text; padding: 0 1; }
    """

    context: reactive[str] = reactive("local")
    namespace: reactive[str] = reactive("default")
    readonly: reactive[bool] = reactive(False)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.health: dict[str, Health | None] = {"docker": None, "kubernetes": None, "prometheus": None}

    def set_health(self, health: Health) -> None:
        self.health[health.name] = health
        self.refresh(layout=True)  # the line may now wrap to two (or back to one)

    def render(self) -> Text:
        t = Text()  # wraps to a second line on a narrow terminal rather than hiding a state
        t.append(" aitui ", style="bold reverse")
        t.append(f" ctx: {self.context}", style="bold")
        if self.context != "local":
            t.append(f"  ns: {self.namespace}")
        if self.readonly:
            t.append("  READ-ONLY", style="bold yellow")
        for name, label in (("docker", "docker"), ("prometheus", "prometheus"), ("kubernetes", "kube")):
            h = self.health[name]
            t.append(f"  {label}: ")
            if h is None:
                t.append("…", style="dim")
            elif h.ok:
                t.append("● ", style="green")
                t.append(h.detail)
            else:
                t.append("● ", style="red")
                t.append(h.detail, style="red" if name != "kubernetes" else "dim")
        return t
