"""The "local" target: the recognizer as labelled containers on one Docker engine, split by kind as the
Kubernetes engine is (targets/kubernetes/):

A workload is the set of containers labelled io.aitui.workload=<name>; each publishes the serving port
on 127.0.0.1 (a random host port). Everything is rebuilt from the labels, so nothing is lost when aitui
restarts.

- engine.py: the SDK's client, the labelled containers, the replicas draining or known ready, the SSH
  tunnels to a remote engine's replicas;
- workloads.py (deploy, scale, rollout, restart, delete, quarantine; the Prometheus file_sd list), pods.py
  (replicas, readiness, logs, stats), revisions.py (rollback), canary.py, forwards.py (how endpoints are
  reached), objects.py (events, the node, the "service", inspect data, describe, a shell);
- target.py: LocalTarget, the thin Target over them.
"""

from __future__ import annotations

from aitui.services.targets.base import TargetError
from aitui.services.targets.local.engine import QUARANTINED, STOP_TIMEOUT, WORKLOAD_LABEL
from aitui.services.targets.local.pods import stats_of
from aitui.services.targets.local.revisions import KEEP_REVISIONS, REVISIONS_LABEL, next_history
from aitui.services.targets.local.target import LocalTarget
from aitui.services.targets.local.workloads import READY_TIMEOUT

__all__ = ["KEEP_REVISIONS", "QUARANTINED", "READY_TIMEOUT", "REVISIONS_LABEL", "STOP_TIMEOUT", "WORKLOAD_LABEL",
           "LocalTarget", "TargetError", "next_history", "stats_of"]
