"""The top line: where aitui points (context, namespace) and whether each engine answers. The bar asks
the engines itself, every few seconds (the next round starts only after the last ended)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from aitui import messages as msg
from aitui.config import Settings
from aitui.models import Health
from aitui.services.targets.places import LOCAL, has_namespaces

EVERY = 5.0  # seconds between rounds of probes


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: auto; background: $panel; color: $text; padding: 0 1; }
    """

    @dataclass
    class HealthChecked(Message):
        health: Health

    class RoundDone(Message):
        """Every engine probed: the next round is scheduled (never two at once)."""

    context: reactive[str] = reactive(LOCAL)
    namespace: reactive[str] = reactive("default")
    readonly: reactive[bool] = reactive(False)
    model: reactive[str] = reactive("recognizer")  # the model b builds and d deploys (:model)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.health: dict[str, Health | None] = {"docker": None, "kubernetes": None, "prometheus": None}

    def probe(self, settings: Settings) -> None:
        """Ask each engine how it is, now and after each round."""
        self._settings = settings
        self._probe()

    @work(thread=True, group="health", exclusive=True, exit_on_error=False)
    def _probe(self) -> None:
        from aitui.services import health

        for probe in (health.docker, health.prometheus, health.kubernetes):
            self.post_message(self.HealthChecked(probe(self._settings)))
        self.post_message(self.RoundDone())

    @on(RoundDone)
    def _round_done(self, m: StatusBar.RoundDone) -> None:
        m.stop()
        if self.is_attached:
            self.set_timer(EVERY, self._probe)

    @on(HealthChecked)
    def _checked(self, m: StatusBar.HealthChecked) -> None:
        m.stop()
        before = self.health.get(m.health.name)
        self.set_health(m.health)
        if m.health.name == "docker" and m.health.ok and before is not None and not before.ok:
            self.post_message(msg.RefreshWanted())  # the engine is back: catch up with what changed meanwhile

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
        if has_namespaces(self.context):
            t.append(f"  ns: {self.namespace}")
        if self.model != "recognizer":  # (the shipped one goes without saying)
            t.append(f"  model: {self.model or '?'}", style="bold")
        if self.readonly:
            t.append("  READ-ONLY", style="bold yellow")
        kube = self.health.get("kubernetes")
        if kube is not None and kube.warning:  # the context's own (its TLS not verified): at any width
            t.append(f"  {kube.warning}", style="bold yellow")
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
