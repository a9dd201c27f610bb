"""The `aitui` program: the flags (parser.py), then the TUI, a headless command (commands.py) or a script
(script.py). Kept free of Textual and the engines' SDKs so `aitui --help` is instant."""

from __future__ import annotations

import sys

from aitui import config
from aitui.parser import GLOBAL, parser


def entry() -> None:
    """The `aitui` program: main(), then an exit that does not wait on library threads. A daemon thread
    (a watch, a port-forward) still writing while Python finalizes can abort the process (SIGABRT, seen
    under load at the end of `aitui scale`), after the answer was given; so the streams are flushed and the
    process ends there."""
    import contextlib
    import logging
    import os

    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    logging.shutdown()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    command, as_json = args.pop("command", None), args.pop("json", False)
    options = {k: args.pop(k) for k in list(args) if k not in GLOBAL}  # the command's own
    flags = dict(args)  # as given: `aitui run` passes them on to its steps
    from pathlib import Path

    from aitui.services.kubeconfig import namespace_of

    file = args.pop("config")
    try:
        settings = config.load(flags=args, file=Path(file) if file else None, namespace_of=namespace_of)
    except config.ConfigError as exc:
        print(f"aitui: {exc}", file=sys.stderr)
        return 2
    quiet_libraries()
    if command == "doctor":
        return doctor(settings, as_json)
    if command is not None:
        from aitui import commands, script

        outcome = commands.guarded(command, lambda: script.run(options["script"], flags, as_json)) \
            if command == "run" else commands.execute(command, options, settings)
        commands.show(command, outcome, as_json)
        return outcome.code
    from aitui.app import AituiApp
    from aitui.demo import Demo

    AituiApp(settings, demo=Demo).run()
    return 0


def doctor(settings: config.Settings, as_json: bool) -> int:
    from aitui.services import doctor as checks

    found = checks.run(settings)
    code = checks.exit_code(found)
    if as_json:
        import json

        print(json.dumps({"checks": [c.as_dict() for c in found], "exit_code": code}, indent=2))
    else:
        print(checks.text(found))
    return code


def quiet_libraries() -> None:
    """Libraries' warnings (urllib3 retries, client reconnects) go to a file: a line written to the
    terminal under a running TUI would smear its screen. aitui shows what matters in its own words."""
    import logging

    from aitui.config import state_dir
    from aitui.services.redact import MaskingFormatter

    try:
        state_dir().mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(state_dir() / "aitui.log")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(MaskingFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    import threading

    # a library's own thread that dies (the kubernetes client's port-forward proxy when its pod is killed)
    # would print its traceback over the screen: to the file too; what it means reaches the screen otherwise
    def to_the_log(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "?"
        logging.getLogger(f"thread.{name}").error("uncaught %s", args.exc_type.__name__, exc_info=args.exc_value)

    threading.excepthook = to_the_log
