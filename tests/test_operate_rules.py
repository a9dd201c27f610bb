"""The rules behind y, i, x, u and :hpa on made-up inputs: what YAML folds, how describe lays an object out,
how an HPA and a ReplicaSet read, what rollback puts back, and how a failed shell probe is told apart
(gone, no shell, forbidden) from what the CLI printed."""

from __future__ import annotations

import pytest

from aitui.models import Event
from aitui.services.describe import describe, fold, to_yaml
from aitui.services.targets import Forbidden, NoShell, NotFound, TargetError
from aitui.services.targets.kubernetes import autoscaler_of, revision_of, template_of
from aitui.services.targets.shells import probe


def test_yaml_folds_managed_fields_and_says_so() -> None:
    obj = {"kind": "Pod", "metadata": {"name": "p", "managedFields": [{"manager": "kubelet"}, {"manager": "aitui"},
                                                                      {"manager": "aitui"}]}, "spec": {"a": 1}}
    text, note = to_yaml(obj)
    assert "managedFields" not in text and text.startswith("kind: Pod") and "name: p" in text
    assert note == "managedFields folded away (3 entries: aitui, kubelet)"
    assert "managedFields" in obj["metadata"]  # the object itself is left as it was
    assert fold([{"Id": "abc"}]) == ([{"Id": "abc"}], "")  # docker inspect data: nothing to fold


def test_describe_lays_out_status_conditions_and_events() -> None:
    now = 1_800_000_000.0
    meta = {"name": "web", "namespace": "ns", "creationTimestamp": "2027-01-15T07:50:00Z",
            "labels": {"a": "1", "b": "2"}, "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}
    obj = {"kind": "Deployment", "metadata": meta,
           "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}},
           "status": {"replicas": 3, "updatedReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 1,
                      "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                                      "message": "Deployment does not have minimum availability."}]}}
    text = describe(obj, [Event(now - 30, "Warning", "FailedCreate", "replicaset-controller", "quota")], now=now)
    lines = text.splitlines()
    assert lines[0] == "Name:         web" and "Labels:       a=1" in lines and "              b=2" in lines
    assert "Annotations:  <none>" in lines  # last-applied is noise: hidden
    assert "Replicas:     3 desired | 2 updated | 3 total | 2 available | 1 unavailable" in lines
    assert any(line.split() == ["Available", "False", "MinimumReplicasUnavailable", "Deployment", "does", "not",
                                "have", "minimum", "availability."] for line in lines)
    assert lines[-1].split()[:4] == ["Warning", "FailedCreate", "30s", "replicaset-controller"]


def test_an_hpa_reads_as_kubectl_writes_it() -> None:
    hpa = {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 10,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 70}}}]},
           "status": {"currentReplicas": 3, "desiredReplicas": 4, "lastScaleTime": "2026-01-01T00:05:00Z",
                      "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                          "averageUtilization": 93}}}],
                      "conditions": [{"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]}}
    a = autoscaler_of(hpa)
    assert (a.workload, a.low, a.high, a.current, a.desired, a.targets, a.why) == \
        ("web", 2, 10, 3, 4, "cpu: 93%/70%", "")
    stuck = autoscaler_of({**hpa, "status": {"conditions": [{"type": "ScalingActive", "status": "False",
                                                             "reason": "FailedGetResourceMetric"}]}})
    assert stuck.targets == "cpu: <unknown>/70%" and stuck.why == "FailedGetResourceMetric" and stuck.last_scale == 0


def test_rollback_puts_back_the_template_without_the_controllers_hash() -> None:
    rs = {"metadata": {"name": "web-abc", "creationTimestamp": "2026-01-01T00:00:00Z",
                       "ownerReferences": [{"kind": "Deployment", "name": "web"}],
                       "annotations": {"deployment.kubernetes.io/revision": "4", "kubernetes.io/change-cause": "x"}},
          "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}},
                                "spec": {"containers": [{"name": "c", "image": "img:4"}]}}},
          "status": {"replicas": 2}}
    r = revision_of(rs, True)
    assert (r.workload, r.revision, r.image, r.replicas, r.current, r.change_cause) == ("web", 4, "img:4", 2, True, "x")
    assert template_of(rs)["metadata"]["labels"] == {"app": "web"}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "abc"  # a copy was changed


@pytest.mark.parametrize(("said", "code", "error", "words"), [
    ('Error from server (NotFound): pods "p" not found', 1, NotFound, "it is gone"),
    ("Error response from daemon: No such container: c", 1, NotFound, "it is gone"),
    ('OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not '
     "found in $PATH: unknown", 126, NoShell, "its image has no shell"),
    ('Error from server (Forbidden): pods "p" is forbidden: User "u" cannot create resource "pods/exec"', 1,
     Forbidden, "forbidden (RBAC)"),
    ("error: unable to upgrade connection: container not found", 1, TargetError, "unable to upgrade"),
])
def test_a_failed_probe_is_told_apart(said: str, code: int, error: type, words: str) -> None:
    # a stand-in CLI that prints what the real ones print and exits as they do (the probe's args are ignored)
    argv = ["sh", "-c", f"echo '{said}' >&2; exit {code}", "cli"]
    with pytest.raises(error, match="shell in here: .*" + words.replace("(", r"\(").replace(")", r"\)")) as found:
        probe(argv, {}, "here")
    assert type(found.value) is error


def test_a_probe_names_the_best_shell() -> None:
    assert probe(["sh", "-c", 'echo /usr/bin/bash', "cli"], {}, "here") == "bash"
    assert probe(["sh", "-c", "true", "cli"], {}, "here") == "sh"
    with pytest.raises(TargetError, match="no-such-cli is not installed here"):
        probe(["no-such-cli"], {}, "here")


def test_rows_come_in_their_columns_order() -> None:
    """A new row's cells are placed in the row's order (ui/tables.py): a row out of order puts the image
    under PODS. (Found by the cluster test.)"""
    from aitui.models import Autoscaler, Revision
    from aitui.ui.resources import hpa, revisions

    for view, obj in ((hpa.VIEW, Autoscaler("a", "w", 1, 2, 1, 1, "cpu", 0, 0)), (hpa.VIEW, "no autoscaler here"),
                      (revisions.VIEW, Revision("w-1", "w", 1, "img", 0, 1, True))):
        assert list(view.row(obj, 0.0)) == [key for key, _ in view.columns], view.kind
