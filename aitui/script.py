"""`aitui run SCRIPT`: the headless commands, one per line, in order, for CI and for a class.

    # comments and blank lines are skipped; the words are the subcommands' own
    deploy --replicas 2 --smoke
    loadtest --duration 10 --concurrency 4 --report out/loadtest.json
    scale 1

Every line is checked before the first runs (a typo changes nothing). The run stops at the first step
that does not exit 0 and exits with that step's code. Flags given to `aitui run` apply to every step;
a step's own flags win."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aitui import config
from aitui.commands import OK, USAGE, CommandError, Outcome, execute, say
from aitui.parser import GLOBAL, ScriptParser, UsageError, parser
from aitui.services.redact import text as masked

SCRIPTABLE = ("doctor", "build", "deploy", "scale", "predict", "loadtest", "capacity", "smoke")


@dataclass(frozen=True)
class Step:
    number: int  # the line in the script
    text: str
    command: str
    options: dict[str, Any]
    settings: config.Settings


def parse(text: str, flags: dict[str, Any], name: str = "script") -> list[Step]:
    """Every line as a checked step; CommandError(2) names the first bad line."""
    from aitui.services.kubeconfig import namespace_of

    steps = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise CommandError(USAGE, f"{name}:{number}: {exc}") from None
        if not words:
            continue
        if words[0] not in SCRIPTABLE:
            raise CommandError(USAGE, f"{name}:{number}: {words[0]!r} is not a command a script runs "
                                      f"({', '.join(SCRIPTABLE)})")
        try:
            args = vars(parser(ScriptParser).parse_args(words))
        except (UsageError, SystemExit) as exc:
            raise CommandError(USAGE, f"{name}:{number}: {line.strip()}: {exc}") from None
        command = args.pop("command")
        args.pop("json", None)
        options = {k: args.pop(k) for k in list(args) if k not in GLOBAL}
        merged = {k: v for k, v in flags.items() if v is not None} | {k: v for k, v in args.items() if v is not None}
        file = merged.pop("config", None)
        try:
            settings = config.load(flags=merged, file=Path(file) if file else None, namespace_of=namespace_of)
        except config.ConfigError as exc:
            raise CommandError(USAGE, f"{name}:{number}: {exc}") from None
        steps.append(Step(number, line.strip(), command, options, settings))
    if not steps:
        raise CommandError(USAGE, f"{name}: no command in it")
    return steps


def doctor(settings: config.Settings) -> Outcome:
    from aitui.services import doctor as checks

    found = checks.run(settings)
    return Outcome(checks.exit_code(found), {"checks": [c.as_dict() for c in found]}, checks.text(found))


def run(path: str, flags: dict[str, Any], as_json: bool) -> Outcome:
    name = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(USAGE, f"{name}: {getattr(exc, 'strerror', None) or exc}") from None
    steps = parse(text, flags, name)
    done: list[dict[str, Any]] = []
    for i, step in enumerate(steps, 1):
        say(f"[{i}/{len(steps)}] {name}:{step.number}: {step.text}")
        outcome = doctor(step.settings) if step.command == "doctor" else \
            execute(step.command, step.options, step.settings)
        done.append({"line": step.number, "step": step.text, "exit_code": outcome.code, **outcome.data})
        if outcome.text and not as_json:
            print(masked(outcome.text), flush=True)
        if outcome.code != OK:
            why = f"{name}:{step.number}: '{step.text}' exited {outcome.code}; stopped ({len(steps) - i} not run)"
            say(f"aitui run: {why}")
            return Outcome(outcome.code, {"steps": done, "stopped_at": step.number, "not_run": len(steps) - i,
                                          "error": why})
    return Outcome(OK, {"steps": done}, f"script: {len(steps)} step{'s' if len(steps) != 1 else ''} done")
