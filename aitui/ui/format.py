"""Human-sized numbers for tables."""

from __future__ import annotations

import time


def size(n: float, short: bool = False) -> str:
    """290MB, 1.7GB; short: 290M, 1.7G (four characters at most, for narrow columns)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            text = f"{n:.0f}{unit}" if unit in ("B", "kB", "MB") or (short and n >= 9.95) else f"{n:.1f}{unit}"
            return text.replace("kB", "k").replace("MB", "M").replace("GB", "G") if short else text
        n /= 1000
    return f"{n:.1f}TB"


def age(since: float, now: float | None = None) -> str:
    """kubectl's style: 42s, 5m, 3h, 12d."""
    s = max(0, int((now or time.time()) - since))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def duration(seconds: float) -> str:
    """A span of time as a person says it: 42s, 3m12s, 1h05m."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
