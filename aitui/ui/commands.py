"""The `:` command line (k9s style) and the command palette's entries, made from the key table (ui/keys.py):
a table of commands, each naming the action it runs and whose it is (the App's, the workloads feature's)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.actions import parse as parse_action
from textual.command import DiscoveryHit, Hit, Hits, Provider

from aitui.ui.keys import KEYS
from aitui.ui.resources import ALIASES as VIEW_ALIASES
from aitui.ui.resources import REGISTRY


@dataclass(frozen=True)
class Command:
    name: str
    args: str  # "" when it takes none
    help: str
    action: str = ""  # what it runs, with the command's argument after the action's own (Textual's syntax)
    where: str = ""  # whose action: "" the App's, "workloads" the feature's (ui/keys.py's `where`)


# from the key table, and one per resource view of the registry (k9s's `:pods`, `:svc`…)
COMMANDS = tuple(Command(k.command, k.args, k.command_help, k.action, k.where) for k in KEYS if k.command) + \
    tuple(Command(v.kind, "", f"list {v.help}", f"open_view('{v.kind}')") for v in REGISTRY.values())
BY_NAME = {c.name: c for c in COMMANDS}
ALIASES = {"context": "ctx", "namespace": "ns", "q": "quit", "q!": "quit", "?": "help", **VIEW_ALIASES}


class CommandError(ValueError):
    pass


def parse(line: str) -> tuple[str, str]:
    """':scale 5' -> ('scale', '5'). Unknown commands and missing arguments raise CommandError."""
    words = line.strip().lstrip(":").split(maxsplit=1)
    if not words:
        raise CommandError("empty command")
    name = ALIASES.get(words[0].lower(), words[0].lower())
    arg = words[1].strip() if len(words) > 1 else ""
    found = next((c for c in COMMANDS if c.name == name), None)
    if found is None:
        raise CommandError(f"unknown command {words[0]!r}: try " + ", ".join(f":{c.name}" for c in COMMANDS))
    if name == "scale" and not (arg.isdigit() and 0 <= int(arg) <= 1000):
        raise CommandError("usage: :scale <replicas>, a whole number from 0 to 1000")
    if name == "window" and arg not in ("5m", "15m", "1h"):
        raise CommandError("usage: :window 5m | 15m | 1h")
    return name, arg


def run(line: str, owner: Callable[[str], Any], notify: Callable[..., None]) -> None:
    """A `:` line: its command's action, on its owner (`owner("")` the App, else the feature its `where`
    names); an action the owner's check_action refuses says why instead (its guard's `refused`)."""
    try:
        name, arg = parse(line)
    except CommandError as exc:
        notify(str(exc), severity="warning")
        return
    command = BY_NAME[name]
    node = owner(command.where)
    _, action, params = parse_action(command.action)
    params += (arg,) if command.args else ()
    if node.check_action(action, params):
        method = getattr(node, f"action_{action}")
        if inspect.iscoroutinefunction(method):  # (Textual's own, App.action_quit)
            node.call_later(method, *params)
        else:
            method(*params)
    else:
        node.action_refused(action)


class AituiCommands(Provider):
    """ctrl+p: every command, plus one entry per context and namespace aitui knows of."""

    def _entries(self) -> list[tuple[str, str, str]]:
        from aitui.ui.contexts import Contexts

        known = self.app.query(Contexts)
        contexts, namespaces = (known[0].contexts, known[0].namespaces) if known else ([], [])
        entries = [(f":{c.name}", f":{c.name}", c.help) for c in COMMANDS if not c.args]
        entries += [(f"context: {ctx}", f":ctx {ctx}", "switch to this context") for ctx in contexts]
        entries += [(f"namespace: {ns}", f":ns {ns}", "switch to this namespace") for ns in namespaces]
        entries += [(f"scale to {n}", f":scale {n}", "scale the selected workload") for n in (1, 2, 3, 5)]
        entries += [(f"charts: last {w}", f":window {w}", "the charts' time window") for w in ("5m", "15m", "1h")]
        return entries

    async def discover(self) -> Hits:
        for title, line, help_text in self._entries():
            yield DiscoveryHit(title, self._runner(line), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, line, help_text in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(line), help=help_text)

    def _runner(self, line: str) -> Callable[[], object]:
        return lambda: self.app.run_command_line(line)  # type: ignore[attr-defined]
