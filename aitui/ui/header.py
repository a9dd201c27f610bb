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
        """One line at any width: the most detail that fits. Narrower, an engine that answers shows only its
        dot and one that does not keeps its reason in a word; :doctor has the details."""
        width = self.size.width or 200
        for level in range(3):
            line = self._line(level)
            if line.cell_len <= width:
                return line
        line.truncate(width, overflow="ellipsis")
        return line

    def _line(self, level: int) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" aitui ", style="bold reverse")
        t.append(f" ctx: {self.context}", style="bold")
        if self.context != "local":
            t.append(f"  ns: {self.namespace}")
        if self.readonly:
            t.append("  READ-ONLY", style="bold yellow")
        for name, label in (("docker", "docker"), ("prometheus", "prometheus"), ("kubernetes", "kube")):
            h = self.health[name]
            style = "" if h is None or h.ok else "red" if name != "kubernetes" else "dim"
            if level == 0:  # docker: ● 20.10.24
                t.append(f"  {label}: ")
                t.append("…" if h is None else "● ", style="dim" if h is None else "green" if h.ok else "red")
                t.append("" if h is None else h.detail, style=style)
                continue
            # ● docker 20.10.24, or only ● docker: the dot leads, so it reads with its own name
            t.append("  ")
            t.append("…" if h is None else "●", style="dim" if h is None else "green" if h.ok else "red")
            t.append(f" {label}")
            detail = "" if h is None else _short(h) if level == 1 or not h.ok else ""
            if detail:
                t.append(f" {detail}", style=style)
        if level:
            t.append("  :doctor", style="dim")  # where the details went
        return t


def _short(h: Health) -> str:
    """A health's detail in a word or two: a version, "ok", "unreachable", "no kubeconfig"."""
    detail = h.detail
    if h.ok:
        if "(" in detail and detail.endswith(")"):
            return detail[detail.rindex("(") + 1:-1]  # prometheus: "127.0.0.1:9090 ok (v2.42.0)" -> v2.42.0
        return detail.rsplit(" ", 1)[-1] if h.name == "prometheus" else detail
    words = detail.split(": ", 1)[0]  # "unreachable: connection refused" -> unreachable
    return words.split(" ", 1)[1] if h.name == "prometheus" and " " in words else words  # (its URL first)
