"""A shell in a replica (x, k9s's): the terminal is handed to `kubectl exec` / `docker exec` and taken
back when it ends."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aitui.models import Shell


def shell_lines(shell: Shell) -> str:
    """The command as a person would type it (for the screen and the terminal)."""
    return " ".join(shell.argv)


def run_shell(app: Any, shell: Shell) -> str:
    """Hand the terminal to the shell and take it back: Textual's suspend stops the app's output and input
    and restores its screen afterwards. Returns what to say in Activity."""
    from textual.app import SuspendNotSupported

    try:
        with app.suspend():
            print(f"\naitui: a shell in {shell.where} ({shell_lines(shell)})\n"
                  "aitui: exit (or ctrl+d) comes back to aitui\n", flush=True)
            done = subprocess.run(list(shell.argv), env={**os.environ, **dict(shell.env)}, check=False)
    except SuspendNotSupported:
        return f"shell: this terminal cannot be handed over; run it yourself: {shell_lines(shell)}"
    return f"shell in {shell.where}: ended (exit code {done.returncode})"
