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


SKIP_TLS = "insecure-skip-tls-verify"  # a kubeconfig cluster's field: read, and said; aitui never sets it
_clusters_before: dict[tuple, dict[str, dict]] = {}


def _clusters(kubeconfig: str | None) -> dict[str, dict]:
    """The kubeconfig's clusters by name, merged as kubectl merges files (the first file naming one wins)."""
    import yaml

    existing = [p for p in paths(kubeconfig) if p.is_file()]
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in existing)
    if stamp not in _clusters_before:
        found: dict[str, dict] = {}
        for p in existing:
            doc = yaml.safe_load(p.read_text()) or {}
            for entry in doc.get("clusters") or [] if isinstance(doc, dict) else []:
                if isinstance(entry, dict) and isinstance(entry.get("cluster"), dict):
                    found.setdefault(str(entry.get("name")), entry["cluster"])
        _clusters_before.clear()
        _clusters_before[stamp] = found
    return _clusters_before[stamp]


def tls_unverified(kubeconfig: str | None, context: str) -> str:
    """What to say when the context's cluster has `SKIP_TLS: true`: aitui connects, as kubectl
    does, without checking the API server's certificate, but never silently. "" when it is checked."""
    try:
        ctxs, _ = _read(kubeconfig)
        cluster = next((c.get("context") or {} for c in ctxs if c["name"] == context), {}).get("cluster")
        insecure = _clusters(kubeconfig).get(str(cluster), {}).get(SKIP_TLS) is True
    except Exception:
        return ""  # an unreadable kubeconfig is said by its own check
    if not insecure:
        return ""
    return f"context {context}: TLS not verified (kubeconfig: {SKIP_TLS}); put its CA in certificate-authority-data"


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
