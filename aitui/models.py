"""Plain data shared by the services and the UI. No behaviour that needs an engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    """What one engine looks like from here: reachable or not, and in a few words why."""

    name: str  # "docker", "kubernetes", "prometheus"
    ok: bool
    detail: str  # a version, a URL, a count of contexts; or the reason it is unreachable


@dataclass(frozen=True)
class Image:
    id: str  # short id, "sha256:" stripped
    tags: tuple[str, ...]
    size: int  # bytes
    created: float  # unix time
    recognizer: bool  # built by aitui from serving/

    @property
    def name(self) -> str:
        return self.tags[0] if self.tags else f"<none>@{self.id[:12]}"
