"""Where a context is, in words the screen uses; the one place that knows "local" is the Docker engine
and every other context a Kubernetes cluster with namespaces."""

from __future__ import annotations

LOCAL = "local"


def has_namespaces(context: str) -> bool:
    return context != LOCAL


def where(context: str, namespace: str) -> str:
    """"local", or "ctx/ns": how titles name the place a list comes from."""
    return f"{context}/{namespace}" if has_namespaces(context) else context
