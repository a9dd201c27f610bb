"""Keys are data: the App's bindings, the `?` screen, the `:` commands and the palette all come from
aitui/ui/keys.py, and every action the table names is one the App has."""

from __future__ import annotations

from aitui.app import AituiApp
from aitui.ui.commands import COMMANDS, parse
from aitui.ui.keys import BY_ACTION, KEYS, help_rows
from aitui.ui.logs import PodLog
from aitui.ui.resources import ALIASES, REGISTRY


def test_every_binding_and_command_comes_from_the_table() -> None:
    bound = [(b.key, b.action) for b in AituiApp.BINDINGS]  # type: ignore[union-attr]
    assert bound == [(k.key, k.action) for k in KEYS if k.key and k.action and not k.where]
    # a panel's own keys bind on its widget, from the same table, with ids of their own to remap by
    assert [(b.key, b.action, b.id) for b in PodLog.BINDINGS] == \
        [(k.key, k.action, f"log.{k.action}") for k in KEYS if k.where == "log"]  # type: ignore[union-attr]
    for k in KEYS:
        if k.where == "log":
            assert callable(getattr(PodLog, f"action_{k.action}", None)), k.action
    assert [c.name for c in COMMANDS] == [k.command for k in KEYS if k.command] + list(REGISTRY)
    assert len(help_rows()) == sum(bool(k.help) for k in KEYS)
    assert len({b.id for b in AituiApp.BINDINGS}) == len(bound)  # type: ignore[union-attr]  # ids to remap by


def test_every_action_exists_and_every_command_parses() -> None:
    for name in BY_ACTION:
        assert callable(getattr(AituiApp, f"action_{name}", None)), name
    for c in COMMANDS:
        arg = {"<replicas>": "3", "<5m|15m|1h>": "5m"}.get(c.args, "x" if c.args else "")
        assert parse(f":{c.name} {arg}") == (c.name, arg)


def test_the_guard_says_which_actions_change_and_which_need_a_workload() -> None:
    changes = {a for a, k in BY_ACTION.items() if k.changes}
    assert changes == {"build", "deploy", "scale_by", "scale_to", "restart", "delete", "traffic", "rollback", "shell",
                       "loadtest", "capacity", "canary"}
    assert {a for a, k in BY_ACTION.items() if k.needs_workload} == \
        {"scale_by", "scale_to", "restart", "delete", "traffic", "predict", "rollback", "models", "loadtest",
         "capacity", "smoke", "canary"}


def test_every_view_verb_is_a_scoped_key_and_every_alias_opens_its_view() -> None:
    scoped = {a for a, k in BY_ACTION.items() if k.scoped}
    for view in REGISTRY.values():
        assert view.verbs <= scoped, view.kind
        assert not view.enter or view.enter in REGISTRY
        assert parse(f":{view.kind}") == (view.kind, "")
    for alias, kind in ALIASES.items():
        assert parse(f":{alias}") == (kind, "")
