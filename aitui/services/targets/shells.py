"""A shell in a replica: probe that one can start (a short non-interactive exec through the same CLI the
user's shell then runs through), and tell a gone replica, an image without a shell and a refusal apart."""

from __future__ import annotations

import os
import shutil
import subprocess

from aitui.services.targets.base import Forbidden, NoShell, NotFound, TargetError

# runs in the replica: names the best shell there; a missing `sh` fails the exec itself
PROBE = ("sh", "-c", "command -v bash || true")


def probe(argv: list[str], env: dict[str, str], where: str, timeout: float = 20.0) -> str:
    """`argv` + PROBE, run here; returns the shell to start ("bash" or "sh"). Raises NotFound (the replica
    is gone), NoShell (its image has no sh), Forbidden (RBAC) or TargetError (anything else), each naming
    `where`."""
    if shutil.which(argv[0]) is None:
        raise TargetError(f"shell in {where}: {argv[0]} is not installed here (it runs the shell)")
    try:
        done = subprocess.run([*argv, *PROBE], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"shell in {where}: no answer within {timeout:.0f}s") from exc
    if done.returncode == 0:
        return "bash" if done.stdout.strip() else "sh"
    said = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}")
    low = said.lower()
    if "executable file not found" in low or ("no such file or directory" in low and "exec" in low):
        raise NoShell(f"shell in {where}: its image has no shell (no sh to run; a distroless-like image)")
    if "(notfound)" in low or "no such container" in low or "is not running" in low:
        raise NotFound(f"shell in {where}: it is gone (or not running): {said.splitlines()[-1]}")
    if "(forbidden)" in low:
        raise Forbidden(f"shell in {where}: forbidden (RBAC): {said.splitlines()[-1]}")
    raise TargetError(f"shell in {where}: {said.splitlines()[-1]}")
