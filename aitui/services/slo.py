"""The service level a load test is held to, by default the one the alerts watch: the thresholds are
read from the alert rules in manifests/monitoring/prometheusrule.yaml, so a changed alert changes the
gate and no number is copied here."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aitui.config import Settings

P99_RECORD = "recognizer:latency_seconds:p99_1m"
ERRORS_RECORD = "recognizer:errors:ratio_rate1m"
_ABOVE = re.compile(r"^\s*([\w:]+)\s*>\s*([0-9.eE+-]+)\s*$")


class SLOError(Exception):
    pass


@dataclass(frozen=True)
class Thresholds:
    p99_ms: float  # the 99th percentile of answered requests must not be above this
    error_ratio: float  # failed / sent must not be above this
    source: str  # where they come from: the rules file and alerts, or "flags"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rules_file(settings: Settings) -> Path:
    root = Path(settings.manifests_dir) if settings.manifests_dir else Path(__file__).resolve().parents[2] / "manifests"
    return root / "monitoring" / "prometheusrule.yaml"


def from_alerts(settings: Settings) -> Thresholds:
    """The thresholds of the alerts on the p99 and error-ratio recording rules (`record > N`)."""
    import yaml

    path = rules_file(settings)
    try:
        doc = yaml.safe_load(path.read_text())
        rules = [r for g in doc["spec"]["groups"] for r in g.get("rules") or []]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise SLOError(f"alert rules unreadable ({path}): {exc}; give --p99 and --max-error-ratio") from None
    found: dict[str, tuple[float, str]] = {}
    for rule in rules:
        m = _ABOVE.match(str(rule.get("expr", ""))) if "alert" in rule else None
        if m:
            found[m.group(1)] = (float(m.group(2)), str(rule["alert"]))
    missing = [r for r in (P99_RECORD, ERRORS_RECORD) if r not in found]
    if missing:
        raise SLOError(f"no alert of the form '<record> > N' on {', '.join(missing)} in {path}; "
                       "give --p99 and --max-error-ratio")
    (p99, p99_alert), (ratio, ratio_alert) = found[P99_RECORD], found[ERRORS_RECORD]
    return Thresholds(round(p99 * 1000, 3), ratio, f"{path.name}: {p99_alert}, {ratio_alert}")


def resolve(settings: Settings, p99_ms: float | None = None, error_ratio: float | None = None) -> Thresholds:
    """The flags' thresholds where given, the alerts' for the rest."""
    if p99_ms is not None and error_ratio is not None:
        return Thresholds(p99_ms, error_ratio, "flags")
    alerts = from_alerts(settings)
    return Thresholds(alerts.p99_ms if p99_ms is None else p99_ms,
                      alerts.error_ratio if error_ratio is None else error_ratio,
                      alerts.source if p99_ms is None and error_ratio is None else f"flags and {alerts.source}")
