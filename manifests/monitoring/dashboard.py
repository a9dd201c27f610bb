"""The Grafana dashboard of the recognizer, generated from aitui's own queries (aitui/services/metrics.py)
with grafana-foundation-sdk (the dev extra):

    python manifests/monitoring/dashboard.py           writes recognizer-dashboard.json beside this file
    python manifests/monitoring/dashboard.py --check   exit 1 if the committed file differs

One panel per named query, in PANELS' order; each query's <sel> becomes the dashboard's selector (job,
and the namespace and workload variables) and <rate> Grafana's $__rate_interval. A legend "{replica}"
becomes "{{replica}}": the same label aitui's charts name their lines by. kustomization.yaml ships the
file as the ConfigMap a kube-prometheus-stack Grafana's sidecar loads (label grafana_dashboard: "1").
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef, VariableRefresh, VariableSort

from aitui.services import metrics

OUT = Path(__file__).with_name("recognizer-dashboard.json")
UID = "aitui-recognizer"
SELECTOR = 'job="recognizer",namespace=~"$namespace",workload=~"$workload"'
RATE = "$__rate_interval"
# the order aitui's chart pages show them in, two to a row
PANELS = ("requests", "latency", "replicas", "errors", "cpu", "memory", "batch", "queue", "in_flight")
UNITS = {"req/s": "reqps", "s": "s", "ratio": "percentunit", "bytes": "bytes"}  # Grafana's unit ids
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


def grafana_legend(legend: str) -> str:
    """aitui's "{replica}" (str.format) as Grafana's "{{replica}}"; a fixed legend stays as it is."""
    return re.sub(r"\{(\w+)\}", r"{{\1}}", legend)


def panel_queries(name: str) -> list[tuple[str, str]]:
    """(Grafana legend, PromQL with the dashboard's variables) of one named query."""
    return [(grafana_legend(legend), metrics.render(promql, SELECTOR, RATE))
            for legend, promql in metrics.QUERIES[name].lines]


def panel(name: str) -> timeseries.Panel:
    q = metrics.QUERIES[name]
    p = (timeseries.Panel().title(q.title).datasource(DATASOURCE).height(8).span(12)
         .unit(UNITS.get(q.unit, "short")).fill_opacity(10).line_width(1))
    if q.unit and q.unit not in UNITS:
        p = p.axis_label(q.unit)  # images, requests, cores: Grafana has no unit of that name
    if q.unit == "ratio":
        p = p.min(0)
    for i, (legend, expr) in enumerate(panel_queries(name)):
        p = p.with_target(prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i))
                          .range())
    return p


def variables() -> list[Any]:
    label_query = "label_values(up{{job=\"recognizer\"{more}}}, {label})"
    return [
        gd.DatasourceVariable("datasource").label("Prometheus").type("prometheus"),
        gd.QueryVariable("namespace").label("Namespace").datasource(DATASOURCE)
        .query(label_query.format(more="", label="namespace"))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True).include_all(True).all_value(".*"),
        gd.QueryVariable("workload").label("Workload").datasource(DATASOURCE)
        .query(label_query.format(more=',namespace=~"$namespace"', label="workload"))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True).include_all(True).all_value(".*"),
    ]


def build() -> dict[str, Any]:
    board = (gd.Dashboard("aitui · recognizer").uid(UID).tags(["aitui", "recognizer"])
             .description("The charts aitui shows, from the same PromQL (aitui/services/metrics.py)")
             .refresh("10s").time("now-30m", "now").timezone("browser").tooltip(DashboardCursorSync.CROSSHAIR)
             .editable())
    for v in variables():
        board = board.with_variable(v)
    for name in PANELS:
        board = board.with_panel(panel(name))
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return data


def text() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        same = OUT.is_file() and OUT.read_text() == text()
        if not same:
            print(f"{OUT} differs from what {Path(__file__).name} generates: run it", file=sys.stderr)
        return 0 if same else 1
    OUT.write_text(text())
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
