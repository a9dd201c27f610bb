"""Where a context is, in words the screen uses: "local" is the Docker engine (config.is_local) and every
other context a Kubernetes cluster with namespaces. A target answers the same of itself (Target.namespaced,
Target.where); these are for a context before its target is open."""

from __future__ import annotations

from aitui.config import LOCAL, is_local

__all__ = ["LOCAL", "has_namespaces", "is_local", "where"]


def has_namespaces(context: str) -> bool:
    return not is_local(context)


def where(context: str, namespace: str) -> str:
    """"local", or "ctx/ns": how titles name the place a list comes from."""
    return f"{context}/{namespace}" if has_namespaces(context) else context
