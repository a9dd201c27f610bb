"""The kubeconfig's contexts, read without touching any cluster."""

from __future__ import annotations

import os
from pathlib import Path


def paths(kubeconfig: str | None) -> list[Path]:
    raw = kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p]


_read_before: dict[tuple, tuple[list[dict], dict | None]] = {}


def _read(kubeconfig: str | None) -> tuple[list[dict], dict | None]:
    """Parsed again only when a file changed (the header asks every few seconds; YAML is slow to parse)."""
    existing = [p for p in paths(kubeconfig) if p.is_file()]
    if not existing:
        raise FileNotFoundError(str(paths(kubeconfig)[0]))
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in existing)
    if stamp not in _read_before:
        from kubernetes import config

        _read_before.clear()
        _read_before[stamp] = config.list_kube_config_contexts(config_file=os.pathsep.join(map(str, existing)))
    return _read_before[stamp]


def contexts(kubeconfig: str | None) -> tuple[list[str], str | None]:
    """(context names, current context). FileNotFoundError when no kubeconfig file exists."""
    ctxs, current = _read(kubeconfig)
    return [c["name"] for c in ctxs], (current or {}).get("name")


def namespace_of(kubeconfig: str | None, context: str) -> str:
    """The context's namespace, as kubectl and k9s use it (the Python client ignores it), else default."""
    try:
        ctxs, _ = _read(kubeconfig)
    except Exception:
        return "default"
    found = next((c for c in ctxs if c["name"] == context), {})
    return str((found.get("context") or {}).get("namespace") or "default")


def extension_of(kubeconfig: str | None, context: str, name: str = "aitui") -> dict:
    """The context's named extension (kubeconfig `contexts[].context.extensions`), or {}."""
    try:
        ctxs, _ = _read(kubeconfig)
    except Exception:
        return {}
    found = next((c for c in ctxs if c["name"] == context), {})
    for ext in (found.get("context") or {}).get("extensions") or []:
        if ext.get("name") == name and isinstance(ext.get("extension"), dict):
            return dict(ext["extension"])
    return {}
