"""A Kubernetes context as a target, through the official client, split by kind as k9s's dao:

- client.py: one ApiClient per context (contexts never share credentials or state), the watch caches
  (watchcache.py: list, then watch from the list's resourceVersion, resume after a stream ends, relist
  after 410 Expired; the app reads the caches, never the server), the wait on them, the one raw request.
  An ApiException becomes a TargetError naming the verb and the resource; 403 and 404 are typed. Nothing
  retries on its own; the caches reconnect, which is what a watch is for.
- workloads.py (Deployments: deploy is server-side apply of manifests/base, scale the /scale subresource
  within the HPA's bounds, restart), pods.py, autoscalers.py, revisions.py (rollback), canary.py,
  forwards.py (port-forwards to the pods, portforward.py), objects.py (read when asked: nodes, Services,
  events, one object's YAML and describe), publish.py (a local build made runnable by the nodes: loaded
  into their containerd, or pushed to a registry, run by digest and pulled with a secret).
- target.py: KubeTarget, the thin Target over them.
"""

from __future__ import annotations

from aitui.services.targets.kubernetes.autoscalers import autoscaler_of
from aitui.services.targets.kubernetes.client import FIELD_MANAGER, WATCH_SECONDS, api_error
from aitui.services.targets.kubernetes.objects import OBJECTS
from aitui.services.targets.kubernetes.pods import PULL_FAILURES, pod_of
from aitui.services.targets.kubernetes.revisions import CHANGE_CAUSE, REVISION, revision_of, template_of
from aitui.services.targets.kubernetes.target import KubeTarget
from aitui.services.targets.kubernetes.workloads import (
    ASK_STUCK_EVERY,
    PATHS,
    RESTARTED_AT,
    ROLLOUT_TIMEOUT,
    rollout_status,
    workload_of,
)

__all__ = ["ASK_STUCK_EVERY", "CHANGE_CAUSE", "FIELD_MANAGER", "OBJECTS", "PATHS", "PULL_FAILURES", "RESTARTED_AT",
           "REVISION", "ROLLOUT_TIMEOUT", "WATCH_SECONDS", "KubeTarget", "api_error", "autoscaler_of", "pod_of",
           "revision_of", "rollout_status", "template_of", "workload_of"]
