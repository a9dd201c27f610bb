"""A Deployment's revisions are its ReplicaSets (read when asked: no cache); rollback is
`kubectl rollout undo`."""

from __future__ import annotations

import copy
from typing import Any

from aitui.models import Revision
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.kubernetes.client import Client, stamp
from aitui.services.targets.kubernetes.workloads import Workloads

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def owner_of(rs: dict[str, Any]) -> str:
    """The Deployment that owns a ReplicaSet ("" for none)."""
    return next((o.get("name", "") for o in rs["metadata"].get("ownerReferences") or []
                 if o.get("kind") == "Deployment"), "")


def revision_of(rs: dict[str, Any], current: bool) -> Revision:
    meta, spec, status = rs["metadata"], rs.get("spec") or {}, rs.get("status") or {}
    annotations = meta.get("annotations") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    return Revision(name=meta["name"], workload=owner_of(rs), revision=int(annotations.get(REVISION, 0) or 0),
                    image=containers[0].get("image", ""), created=stamp(meta.get("creationTimestamp")),
                    replicas=int(status.get("replicas", 0)), current=current,
                    change_cause=annotations.get(CHANGE_CAUSE, ""))


def template_of(rs: dict[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template as its Deployment had it: without the pod-template-hash label the
    controller added (what `kubectl rollout undo` puts back)."""
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    template.setdefault("metadata", {}).setdefault("labels", {}).pop("pod-template-hash", None)
    return template


class Revisions:
    def __init__(self, client: Client, workloads: Workloads) -> None:
        self.client, self.workloads = client, workloads

    def replicasets(self, workload: str | None) -> list[dict[str, Any]]:
        c = self.client
        items = c.request("GET", c.path("/apis/apps/v1", "replicasets"), "list", f"replicasets in {c.namespace}")
        owned = [rs for rs in items["items"] if owner_of(rs) and workload in (None, owner_of(rs))]
        return sorted(owned, key=lambda rs: (owner_of(rs), int((rs["metadata"].get("annotations") or {})
                                                               .get(REVISION, 0) or 0)))

    def listed(self, workload: str | None = None) -> list[Revision]:
        """The Deployments' ReplicaSets, oldest revision first; the newest of each is the current one."""
        found = self.replicasets(workload)
        newest = {}
        for rs in found:  # sorted: the last of each owner wins
            newest[owner_of(rs)] = rs["metadata"]["name"]
        return [revision_of(rs, rs["metadata"]["name"] in newest.values()) for rs in found]

    def rollback(self, workload: str, progress: Progress = quiet) -> Revision:
        """`kubectl rollout undo`: the Deployment's pod template set to the previous ReplicaSet's; the
        Deployment's rolling update (maxUnavailable 0, readiness, drain) does the rest, waited for."""
        found = self.replicasets(workload)
        if len(found) < 2:
            only = f" (only revision {revision_of(found[0], True).revision})" if found else ""
            raise TargetError(f"rollback {workload}: no previous revision to go back to{only}")
        now, before = revision_of(found[-1], True), revision_of(found[-2], False)
        self.workloads.patch(workload, [{"op": "replace", "path": "/spec/template", "value": template_of(found[-2])}],
                             "rollback")
        progress(f"rollback {workload}: revision {now.revision} -> the template of revision {before.revision} "
                 f"({before.image})")
        self.workloads.wait_rollout(workload, progress, "rollback")
        return before
