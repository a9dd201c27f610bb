"""Command line. Kept free of Textual and the engines' SDKs so `aitui --help` is instant."""

from __future__ import annotations

import argparse
import sys

from aitui import __version__, config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aitui",
        description="Build, deploy, scale, watch and try a TensorFlow image recognizer from a terminal.",
        epilog="Settings: flags > environment (KUBECONFIG, DOCKER_HOST, PROMETHEUS_URL, AITUI_*) > "
               "~/.config/aitui/config.toml > defaults.",
    )
    p.add_argument("--context", help='"local" (the Docker engine, the default) or a kubeconfig context')
    p.add_argument("-n", "--namespace", help="Kubernetes namespace (default: default)")
    p.add_argument("--kubeconfig", help="kubeconfig file(s), like $KUBECONFIG")
    p.add_argument("--docker-host", help="Docker engine URL, like $DOCKER_HOST")
    p.add_argument("--prometheus-url", help="Prometheus URL (default http://127.0.0.1:9090)")
    p.add_argument("--base-image", help="BASE_IMAGE build argument for the recognizer (default python:3.11-slim)")
    p.add_argument("--readonly", action="store_true", default=None, help="refuse every action that changes something")
    p.add_argument("--config", help="TOML settings file (default ~/.config/aitui/config.toml)")
    p.add_argument("--version", action="version", version=f"aitui {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{doctor}")
    doctor = sub.add_parser("doctor", help="check Docker, Prometheus, the kubeconfig and offline builds; "
                                           "exit 1 if any check fails")
    doctor.add_argument("--json", action="store_true", help="one JSON object: the checks and the exit code")
    return p


def main(argv: list[str] | None = None) -> int:
    args = vars(parser().parse_args(argv))
    command, as_json = args.pop("command", None), args.pop("json", False)
    from pathlib import Path

    file = args.pop("config")
    try:
        settings = config.load(flags=args, file=Path(file) if file else None)
    except config.ConfigError as exc:
        print(f"aitui: {exc}", file=sys.stderr)
        return 2
    quiet_libraries()
    if command == "doctor":
        return doctor(settings, as_json)
    from aitui.app import AituiApp

    AituiApp(settings).run()
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

    try:
        state_dir().mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(state_dir() / "aitui.log")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    import threading

    # a library's own thread that dies (the kubernetes client's port-forward proxy when its pod is killed)
    # would print its traceback over the screen: to the file too; what it means reaches the screen otherwise
    def to_the_log(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "?"
        logging.getLogger(f"thread.{name}").error("uncaught %s", args.exc_type.__name__, exc_info=args.exc_value)

    threading.excepthook = to_the_log
