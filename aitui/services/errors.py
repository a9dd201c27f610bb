"""Turn the engines' exceptions into a short reason a person can act on."""

from __future__ import annotations

import re

from aitui.services.redact import text as masked

_NOISE = re.compile(r"<[^>]*object at 0x[0-9a-f]+>|\(Caused by [^)]*\)|HTTPConnectionPool\([^)]*\):\s*")


def reason(exc: BaseException) -> str:
    """The most specific cause in the chain, e.g. "connection refused", "timed out",
    "permission denied: /var/run/docker.sock"; a credential in it (a URL's user:token@, ?token=) masked."""
    return masked(_reason(exc))


def _reason(exc: BaseException) -> str:
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for e in chain:  # an SSH engine (DOCKER_HOST=ssh://): paramiko's exceptions, by name (no import here)
        kind = type(e).__name__
        if kind in ("AuthenticationException", "BadAuthenticationType", "PasswordRequiredException"):
            return ("the SSH server refused the key (authentication failed): add your public key to its "
                    "authorized_keys, or name the key it knows in ~/.ssh/config (IdentityFile)")
        if kind == "SSHException" and "not found in known_hosts" in str(e):
            host = str(e).split(" not found")[0].removeprefix("Server ").strip("'")
            return f"SSH host key unknown: {host} is not in ~/.ssh/known_hosts (ssh to it once, check and accept it)"
        if kind == "NoValidConnectionsError":
            return "SSH connection refused"
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, PermissionError):
            return f"permission denied{': ' + str(e.filename) if e.filename else ''}"
        if isinstance(e, FileNotFoundError):
            return f"not found{': ' + str(e.filename) if e.filename else ''}"
        if isinstance(e, TimeoutError) or "timed out" in str(e).lower():
            return "timed out"
    text = str(exc)
    tls = re.search(r"certificate verify failed: ([^(')\"]+)", text)
    if tls:  # never worked around: the fix is the cluster's CA in the kubeconfig (certificate-authority)
        return f"TLS certificate verify failed: {tls.group(1).strip()}"
    for probe, short in (("Connection refused", "connection refused"), ("No such file", "socket not found"),
                         ("Name or service not known", "unknown host"), ("Permission denied", "permission denied"),
                         ("Connection aborted", "connection lost before an answer"),
                         ("Connection broken", "connection lost mid-answer")):  # urllib3: a stream cut short
        if probe in text:
            return short
    text = _NOISE.sub("", text).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "…"
