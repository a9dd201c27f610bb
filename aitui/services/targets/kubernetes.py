"""A Kubernetes context as a target, through the official client.

- One ApiClient per context (`new_client_from_config`): contexts never share credentials or state.
- Lists come from watch-backed caches (the client's SharedInformer: list, then watch from the list's
  resourceVersion, resume after a stream ends, relist after 410 Expired). The app reads the caches.
- deploy is server-side apply (fieldManager=aitui) of manifests/base as rendered for the chosen image,
  replicas and namespace; scale patches the Deployment's /scale subresource; restart sets the pod
  template's restartedAt annotation, as `kubectl rollout restart` does.
- An ApiException becomes a TargetError naming the verb and the resource; 403 and 404 are typed.
  Nothing retries on its own; the caches reconnect, which is what a watch is for.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from aitui.config import Settings
from aitui.models import Pod, Workload
from aitui.services import labels, manifests
from aitui.services.errors import reason
from aitui.services.targets import Forbidden, NotFound, Progress, TargetError, quiet

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
FIELD_MANAGER = "aitui"
WATCH_SECONDS = 240  # a watch ends and resumes from its resourceVersion this often (under the read timeout)
ROLLOUT_TIMEOUT = 600.0  # the Deployment's default progressDeadlineSeconds
# the kinds manifests/base holds: apiVersion/kind -> (path prefix, plural)
PATHS = {
    "v1/ServiceAccount": ("/api/v1", "serviceaccounts"),
    "v1/Service": ("/api/v1", "services"),
    "apps/v1/Deployment": ("/apis/apps/v1", "deployments"),
    "autoscaling/v2/HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "policy/v1/PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "networking.k8s.io/v1/NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
}

# The client logs watch failures with tracebacks; on a TUI that would smear the screen. The cache's
# ERROR handler below turns them into one line each instead.
logging.getLogger("kubernetes").addHandler(logging.NullHandler())
logging.getLogger("kubernetes").propagate = False


def api_error(exc: BaseException, verb: str, resource: str) -> TargetError:
    """A clear, typed error: 'scale deployments/recognizer: forbidden (RBAC): …'. Never a credential."""
    status = getattr(exc, "status", None)
    if status is None:
        return TargetError(f"{verb} {resource}: cluster unreachable: {reason(exc)}")
    message = ""
    with contextlib.suppress(ValueError, AttributeError):
        message = str(json.loads(getattr(exc, "body", "") or "{}").get("message", ""))
    message = message or str(getattr(exc, "reason", "")) or f"HTTP {status}"
    if status == 403:
        return Forbidden(f"{verb} {resource}: forbidden (RBAC): {message}")
    if status == 404:
        return NotFound(f"{verb} {resource}: not found: {message}")
    if status == 401:
        return TargetError(f"{verb} {resource}: unauthorized: the cluster refused the kubeconfig's credentials")
    return TargetError(f"{verb} {resource}: {status} {getattr(exc, 'reason', '')}: {message}".replace("  ", " "))


def rollout_status(dep: Any) -> tuple[str, bool]:
    """kubectl's `rollout status` for a Deployment, in its order and words (reference §8)."""
    spec, status, meta = dep.spec, dep.status, dep.metadata
    name = meta.name
    if (meta.generation or 0) > (status.observed_generation or 0):
        return "Waiting for deployment spec update to be observed...", False
    for cond in status.conditions or []:
        if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
            raise TargetError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.replicas if spec.replicas is not None else 1
    updated, replicas, available = status.updated_replicas or 0, status.replicas or 0, status.available_replicas or 0
    if updated < want:
        return f"{updated} out of {want} new replicas have been updated...", False
    if replicas > updated:
        return f"{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def _time(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else 0.0


class KubeTarget:
    def __init__(self, settings: Settings, context: str, namespace: str) -> None:
        from kubernetes import client, config

        self.name, self.namespace, self.settings = context, namespace, settings
        try:
            self.api = config.new_client_from_config(config_file=settings.kubeconfig, context=context,
                                                     persist_config=False)
        except Exception as exc:  # ConfigException, missing or corrupt files: none carries a credential
            raise TargetError(f"context {context}: kubeconfig: {reason(exc)}") from exc
        self.api.configuration.retries = 0  # a refused connection is an answer, not something to hide
        self.apps = client.AppsV1Api(self.api)
        self.core = client.CoreV1Api(self.api)
        self.timeout = settings.timeout
        self.errors: dict[str, str] = {}  # cache -> why it is not current (403, unreachable…)
        self._informers: dict[str, Any] = {}
        self._changed = threading.Condition()

    # -- the caches --------------------------------------------------------------------------
    def watch(self, changed: Callable[[], None] = lambda: None) -> None:
        """Start the Deployment and Pod caches of the namespace; `changed` runs (on a cache thread)
        after every change and every error."""
        from kubernetes.informer import ADDED, DELETED, ERROR, MODIFIED, SharedInformer

        if self._informers:
            return
        sources = {"deployments": self.apps.list_namespaced_deployment, "pods": self.core.list_namespaced_pod}
        for resource, list_fn in sources.items():
            informer = SharedInformer(functools.partial(list_fn, _request_timeout=(self.timeout, WATCH_SECONDS + 30)),
                                      namespace=self.namespace, resync_period=WATCH_SECONDS)

            def on_change(_obj: Any, resource: str = resource) -> None:
                self.errors.pop(resource, None)
                with self._changed:
                    self._changed.notify_all()
                changed()

            def on_error(exc: Any, resource: str = resource) -> None:
                if isinstance(exc, BaseException):
                    self.errors[resource] = str(api_error(exc, "watch", f"{resource} in {self.namespace}"))
                    changed()

            for kind in (ADDED, MODIFIED, DELETED):
                informer.add_event_handler(kind, on_change)
            informer.add_event_handler(ERROR, on_error)
            informer.start()
            self._informers[resource] = informer

    def close(self) -> None:
        for informer in self._informers.values():
            informer._stop_event.set()  # stop() joins a thread that may sit in a quiet watch; let it end alone
        self._informers.clear()

    def _cached(self, resource: str) -> list[Any]:
        if resource not in self._informers:
            self.watch()
        informer = self._informers[resource]
        return list(informer.cache.list())

    def synced(self, timeout: float = 10.0) -> bool:
        """Wait until both caches have listed once (or failed): the first screen is complete, not partial."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(inf._resource_version is not None for inf in self._informers.values()):
                return True
            if self.errors:
                return False
            time.sleep(0.02)
        return False

    # -- reading -----------------------------------------------------------------------------
    def workloads(self) -> list[Workload]:
        out = []
        for d in self._cached("deployments"):
            containers = d.spec.template.spec.containers or []
            out.append(Workload(name=d.metadata.name, namespace=d.metadata.namespace,
                                desired=d.spec.replicas if d.spec.replicas is not None else 1,
                                ready=d.status.ready_replicas or 0, up_to_date=d.status.updated_replicas or 0,
                                available=d.status.available_replicas or 0,
                                image=containers[0].image if containers else "",
                                created=_time(d.metadata.creation_timestamp)))
        if not out and "deployments" in self.errors:
            raise TargetError(self.errors["deployments"])
        return sorted(out, key=lambda w: w.name)

    def pods(self, workload: str | None = None) -> list[Pod]:
        selector: dict[str, str] = {}
        if workload is not None:
            dep = next((d for d in self._cached("deployments") if d.metadata.name == workload), None)
            if dep is None:
                return []
            selector = dict(dep.spec.selector.match_labels or {})
        out = []
        for p in self._cached("pods"):
            pod_labels = p.metadata.labels or {}
            if any(pod_labels.get(k) != v for k, v in selector.items()):
                continue
            out.append(self._pod(p, workload))
        return sorted(out, key=lambda p: (p.created, p.name))

    @staticmethod
    def _pod(p: Any, workload: str | None) -> Pod:
        statuses = p.status.container_statuses or []
        status = p.status.phase or "Pending"
        for cs in statuses:
            if cs.state and cs.state.waiting and cs.state.waiting.reason:
                status = cs.state.waiting.reason  # ContainerCreating, CrashLoopBackOff, ImagePullBackOff
        if p.metadata.deletion_timestamp:
            status = "Terminating"
        ready = any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        owner = next((r.name for r in p.metadata.owner_references or []), "")
        return Pod(name=p.metadata.name, workload=workload or owner.rsplit("-", 1)[0], status=status,
                   ready=ready and not p.metadata.deletion_timestamp,
                   restarts=sum(cs.restart_count or 0 for cs in statuses), created=_time(p.metadata.creation_timestamp),
                   image=p.spec.containers[0].image if p.spec.containers else "", node=p.spec.node_name or "")

    def endpoints(self, workload: str = labels.NAME) -> list[str]:
        return []  # pods' addresses are inside the cluster: traffic and predict need a port-forward

    def namespaces(self) -> list[str]:
        try:
            found = self.core.list_namespace(_request_timeout=self.timeout).items
            return sorted(str(n.metadata.name) for n in found if n.metadata)
        except Exception as exc:
            raise api_error(exc, "list", "namespaces") from exc

    # -- changing ----------------------------------------------------------------------------
    def deploy(self, image: str, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        """Server-side apply of every object in manifests/base, then wait for the rollout as kubectl does."""
        if workload != labels.NAME:
            raise TargetError(f"deploy: manifests/base defines {labels.NAME!r}, not {workload!r}")
        try:
            docs = manifests.render(self.settings, image, replicas, self.namespace)
        except manifests.ManifestError as exc:
            raise TargetError(f"deploy: {exc}") from exc
        for doc in docs:
            what = f"{doc['kind'].lower()}/{doc['metadata']['name']}"
            self._apply(doc)
            progress(f"deploy: applied {what} in {self.namespace} (server-side, fieldManager={FIELD_MANAGER})")
        self._wait_rollout(workload, progress, "deploy")

    def _apply(self, doc: dict[str, Any]) -> None:
        prefix, plural = PATHS[f"{doc['apiVersion']}/{doc['kind']}"]
        name = doc["metadata"]["name"]
        path = f"{prefix}/namespaces/{self.namespace}/{plural}/{name}"
        try:
            method, url, headers, body, _ = self.api.param_serialize(
                "PATCH", path, query_params=[("fieldManager", FIELD_MANAGER), ("force", True)],
                header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
                body=doc, auth_settings=["BearerToken"])
            response = self.api.call_api(method, url, headers, body, _request_timeout=self.timeout)
            response.read()
            if not 200 <= response.status < 300:
                from kubernetes.client.exceptions import ApiException

                raise ApiException(http_resp=response)
        except Exception as exc:
            raise api_error(exc, "apply", f"{plural}/{name}") from exc

    def scale(self, replicas: int, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        if replicas < 0:
            raise TargetError("scale: replicas must be 0 or more")
        try:
            before = self.apps.patch_namespaced_deployment_scale(
                workload, self.namespace, {"spec": {"replicas": replicas}}, field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json", _request_timeout=self.timeout)
        except Exception as exc:
            raise api_error(exc, "scale", f"deployments/{workload}") from exc
        progress(f"scale {workload}: {replicas} replica{'s' if replicas != 1 else ''} requested "
                 f"(was {before.status.replicas if before.status else 0})")
        self._wait(lambda: any(d.metadata.name == workload and d.spec.replicas == replicas
                               for d in self._cached("deployments")), 10.0)

    def restart(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        try:
            self.apps.patch_namespaced_deployment(workload, self.namespace, patch, field_manager=FIELD_MANAGER,
                                                  _request_timeout=self.timeout)
        except Exception as exc:
            raise api_error(exc, "restart", f"deployments/{workload}") from exc
        progress(f"restart {workload}: restartedAt={stamp}")
        self._wait_rollout(workload, progress, "restart")

    def delete(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        """Delete what deploy applied; objects already gone are fine."""
        for doc in manifests.render(self.settings, "unused", 0, self.namespace):
            prefix, plural = PATHS[f"{doc['apiVersion']}/{doc['kind']}"]
            name = doc["metadata"]["name"]
            try:
                method, url, headers, body, _ = self.api.param_serialize(
                    "DELETE", f"{prefix}/namespaces/{self.namespace}/{plural}/{name}",
                    query_params=[("propagationPolicy", "Background")], header_params={"Accept": "application/json"},
                    auth_settings=["BearerToken"])
                response = self.api.call_api(method, url, headers, body, _request_timeout=self.timeout)
                response.read()
                if response.status == 404:
                    continue
                if not 200 <= response.status < 300:
                    from kubernetes.client.exceptions import ApiException

                    raise ApiException(http_resp=response)
            except Exception as exc:
                raise api_error(exc, "delete", f"{plural}/{name}") from exc
            progress(f"delete: {plural}/{name} in {self.namespace}")

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False) -> Iterator[str]:
        try:
            # a followed log may stay quiet for long: only the connect is bounded
            response: Any = self.core.read_namespaced_pod_log(
                pod, self.namespace, follow=follow, tail_lines=tail, timestamps=timestamps,
                _preload_content=False, _request_timeout=(self.timeout, 86400) if follow else self.timeout)
        except Exception as exc:
            raise api_error(exc, "logs", f"pods/{pod}") from exc
        buf = b""
        for chunk in response.stream(amt=None, decode_content=False):
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
        if buf:
            yield buf.decode(errors="replace")

    # -- waiting -----------------------------------------------------------------------------
    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait for the caches to show something, woken by their changes (no polling of the server)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 1.0))
        return True

    def _wait_rollout(self, workload: str, progress: Progress, verb: str) -> None:
        said = ""

        def step() -> bool:
            nonlocal said
            dep = next((d for d in self._cached("deployments") if d.metadata.name == workload), None)
            if dep is None:
                return False
            text, done = rollout_status(dep)
            if text != said:
                said = text
                progress(f"{verb} {workload}: {text}")
            return done

        if not self._wait(step, ROLLOUT_TIMEOUT):
            raise TargetError(f"{verb} {workload}: not rolled out after {ROLLOUT_TIMEOUT:.0f}s: {said}")
