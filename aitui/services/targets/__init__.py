"""Where the recognizer runs: the local Docker engine or a Kubernetes context, behind one set of verbs.

The app holds one Target at a time (the current context) and calls it only from thread workers.
"""

from __future__ import annotations

from aitui.config import Settings, is_local
from aitui.services.targets.base import (
    Forbidden,
    NoShell,
    NotFound,
    Progress,
    Target,
    TargetError,
    Unsupported,
    lines_of,
    quiet,
    refusal_of,
)

__all__ = ["Forbidden", "NoShell", "NotFound", "Progress", "Target", "TargetError", "Unsupported", "lines_of",
           "open_target", "quiet", "refusal_of"]


def open_target(settings: Settings, context: str, namespace: str) -> Target:
    """The target for a context. Raises TargetError when it cannot be reached or configured."""
    if is_local(context):
        from aitui.services.targets.local import LocalTarget

        return LocalTarget(settings)
    from aitui.services.targets.kubernetes import KubeTarget

    return KubeTarget(settings, context, namespace)
