"""One quick probe per engine, for the header: is it there, and what is it?"""

from __future__ import annotations

from typing import Any

from aitui.config import Settings
from aitui.models import Health
from aitui.services.errors import reason
from aitui.services.redact import text as masked


def docker(settings: Settings) -> Health:
    try:
        from aitui.services.images import client

        version = client(settings).version()
        return Health("docker", True, str(version.get("Version", "?")).split("+")[0])
    except Exception as exc:
        return Health("docker", False, f"unreachable: {reason(exc)}")


def kubernetes(settings: Settings) -> Health:
    from aitui.services.kubeconfig import contexts, tls_unverified

    try:
        names, _current = contexts(settings.kubeconfig)
    except FileNotFoundError:
        return Health("kubernetes", False, "no kubeconfig")
    except Exception as exc:
        return Health("kubernetes", False, f"kubeconfig unreadable: {reason(exc)}")
    if not names:
        return Health("kubernetes", False, "no contexts in kubeconfig")
    warning = "TLS UNVERIFIED" if settings.context in names and tls_unverified(settings.kubeconfig,
                                                                               settings.context) else ""
    return Health("kubernetes", True, f"{len(names)} context{'s' if len(names) != 1 else ''}", warning)


_session: Any = None  # one keep-alive connection for the probe every few seconds


def prometheus(settings: Settings) -> Health:
    global _session
    import requests

    _session = _session or requests.Session()
    url = settings.prometheus_url.rstrip("/")
    shown = masked(url).removeprefix("http://")  # the header is narrow; https stays visible
    try:
        r = _session.get(f"{url}/api/v1/status/buildinfo", timeout=settings.timeout)
        r.raise_for_status()
        version = str(r.json()["data"].get("version") or "").split("+")[0]
        return Health("prometheus", True, f"{shown} ok" + (f" (v{version})" if version else ""))
    except Exception as exc:
        return Health("prometheus", False, f"{shown} unreachable: {reason(exc)}")
