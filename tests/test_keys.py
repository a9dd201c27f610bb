"""Keys are data: every binding (the App's, its screen's, each feature's, panel's and dialog's), the `?`
screen, the `:` commands and the palette all come from aitui/ui/keys.py, every key has an id to remap it
by, and every action the table names is one its owner has."""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding

from aitui.app import AituiApp
from aitui.ui.build import BuildPanel
from aitui.ui.canary import CanaryScreen
from aitui.ui.commands import COMMANDS, parse
from aitui.ui.contexts import Contexts
from aitui.ui.dialogs import ConfirmScreen, NumberScreen, PredictionScreen
from aitui.ui.doctor import DoctorScreen
from aitui.ui.help import HelpScreen
from aitui.ui.inspect import Inspect
from aitui.ui.keys import BY_ACTION, KEYS, help_rows
from aitui.ui.logs import PodLog
from aitui.ui.resources import ALIASES, REGISTRY
from aitui.ui.run import RunScreen
from aitui.ui.screen import Dashboard
from aitui.ui.table import Table
from aitui.ui.workloads import Workloads
from aitui.ui.yaml_view import ObjectScreen

OWNERS = {"": AituiApp, "screen": Dashboard, "workloads": Workloads, "inspect": Inspect, "contexts": Contexts,
          "log": PodLog, "build": BuildPanel, "canary": CanaryScreen, "yaml": ObjectScreen, "table": Table,
          "confirm": ConfirmScreen, "number": NumberScreen, "prediction": PredictionScreen, "help": HelpScreen,
          "doctor": DoctorScreen, "run": RunScreen}


def own(cls: type) -> list[Binding]:
    """A class's own bindings, but for the hidden twins that say why a refused key does nothing."""
    return [b for b in cls.BINDINGS if isinstance(b, Binding) and not b.action.startswith("refused(")]


def test_every_binding_and_command_comes_from_the_table() -> None:
    for where, cls in OWNERS.items():
        keys = [k for k in KEYS if k.key and k.action and k.where == where]
        assert [(b.key, b.action, b.id) for b in own(cls) if b.action != "nothing"] == \
            [(k.key, k.action, k.id) for k in keys], where
        for k in keys + [k for k in KEYS if k.command and k.where == where]:
            assert callable(getattr(cls, f"action_{k.verb}", None)), (where, k.action)
    assert [c.name for c in COMMANDS] == [k.command for k in KEYS if k.command] + list(REGISTRY)
    assert len(help_rows()) == sum(bool(k.help) for k in KEYS)
    ids = [k.id for k in KEYS if k.key and k.action]
    assert len(set(ids)) == len(ids)  # ids to remap by, one a key
    # the panels' ids keep their names; the dashboard's are the README's
    assert [k.id for k in KEYS if k.where == "log"] == [f"log.{k.action}" for k in KEYS if k.where == "log"]


def test_no_binding_outside_the_key_table() -> None:
    """Every Binding(...) of the UI is made in ui/keys.py: a key made elsewhere has no id to remap it by
    and no line in `?` (the canary's p and a, the build's v, the YAML view's / n N y i had none)."""
    ui = Path(__file__).resolve().parents[1] / "aitui"
    found = [f"{path.name}:{n}" for path in sorted(ui.rglob("*.py")) if path.name != "keys.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(r"\bBinding\(", line)]
    assert not found, found


def test_every_action_exists_and_every_command_parses() -> None:
    for name, k in BY_ACTION.items():
        assert callable(getattr(OWNERS[k.where], f"action_{name}", None)), name
    for c in COMMANDS:
        arg = {"<replicas>": "3", "<5m|15m|1h>": "5m"}.get(c.args, "x" if c.args else "")
        assert parse(f":{c.name} {arg}") == (c.name, arg)


def test_the_guard_says_which_actions_change_and_which_need_a_workload() -> None:
    changes = {a for a, k in BY_ACTION.items() if k.changes}
    assert changes == {"build", "deploy", "scale_by", "scale_to", "restart", "delete", "traffic", "rollback", "shell",
                       "loadtest", "capacity", "canary"}
    assert {a for a, k in BY_ACTION.items() if k.needs_workload} == \
        {"scale_by", "scale_to", "restart", "delete", "traffic", "predict", "predict_file", "rollback", "models",
         "loadtest", "capacity", "smoke", "canary"}


def test_every_view_verb_is_a_scoped_key_and_every_alias_opens_its_view() -> None:
    scoped = {a for a, k in BY_ACTION.items() if k.scoped}
    for view in REGISTRY.values():
        assert view.verbs <= scoped, view.kind
        assert not view.enter or view.enter in REGISTRY
        assert parse(f":{view.kind}") == (view.kind, "")
    for alias, kind in ALIASES.items():
        assert parse(f":{alias}") == (kind, "")


async def test_the_footer_offers_what_applies_and_a_refused_key_says_why() -> None:
    """check_action hides a verb the view on top does not have (the footer offered + in :nodes) and a change in
    read-only; the key, pressed anyway, still says why it does nothing."""
    from snapshot_app import SnapshotApp, settled

    def offered(app: SnapshotApp) -> set[str]:
        return {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}

    app = SnapshotApp()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settled(pilot)
        assert {"b", "d", "plus", "minus", "s", "r", "l", "t", "p"} <= offered(app)  # the workloads view
        await pilot.press("colon", *"nodes", "enter")
        await pilot.pause()
        assert {"b", "d", "t", "p"} <= offered(app) and not {"plus", "minus", "s", "r", "l"} & offered(app)
        await pilot.press("plus")
        assert "+ / - does not apply to nodes" in [str(n.message) for n in app._notifications]
        await pilot.press("escape")
        await pilot.pause()
        assert "plus" in offered(app)
        app.settings.readonly = True
        app.refresh_bindings()
        await pilot.pause()
        assert not {"b", "d", "plus", "minus", "s", "r", "t"} & offered(app) and {"l", "p"} <= offered(app)
        await pilot.press("d")
        assert "read-only: 'local' is not changed by aitui" in [str(n.message) for n in app._notifications]
