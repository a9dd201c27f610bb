"""One Kubernetes context's connection, shared by the kinds of targets/kubernetes/: its own ApiClient
(`new_client_from_config` with a Configuration of ours: contexts never share credentials or state), the
watch caches every kind reads, a wait woken by their changes, and the one raw request."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aitui.config import Settings
from aitui.services.errors import reason
from aitui.services.targets.base import Forbidden, NotFound, TargetError
from aitui.services.targets.watchcache import WatchCache

FIELD_MANAGER = "aitui"
WATCH_SECONDS = 240  # a watch ends and resumes from its resourceVersion this often (under the read timeout)


def api_error(exc: BaseException, verb: str, resource: str) -> TargetError:
    """A clear, typed error: 'scale deployments/recognizer: forbidden (RBAC): …'. Never a credential."""
    status = getattr(exc, "status", None)
    if status is None:
        return TargetError(f"{verb} {resource}: cluster unreachable: {reason(exc)}")
    message = ""
    with contextlib.suppress(ValueError, AttributeError):
        message = str(json.loads(getattr(exc, "body", "") or "{}").get("message", ""))
    message = message or str(getattr(exc, "reason", "")) or f"HTTP {status}"
    if status == 403:  # RBAC says who "cannot" do what; admission (a namespace being deleted, PodSecurity) says why
        return Forbidden(f"{verb} {resource}: forbidden{' (RBAC)' if ' cannot ' in message else ''}: {message}")
    if status == 404:
        return NotFound(f"{verb} {resource}: not found: {message}")
    if status == 401:
        return TargetError(f"{verb} {resource}: unauthorized: the cluster refused the kubeconfig's credentials")
    return TargetError(f"{verb} {resource}: {status} {getattr(exc, 'reason', '')}: {message}".replace("  ", " "))


def stamp(text: str | None) -> float:
    """An object's RFC 3339 time as unix seconds (0.0 when it has none)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else 0.0


class Client:
    def __init__(self, settings: Settings, context: str, namespace: str) -> None:
        from kubernetes import client, config

        self.settings, self.context, self.namespace, self.timeout = settings, context, namespace, settings.timeout
        configuration = client.Configuration()
        try:  # as new_client_from_config does, with a Configuration of our own: one per context
            config.load_kube_config(config_file=settings.kubeconfig, context=context,
                                    client_configuration=configuration, persist_config=False)
        except Exception as exc:  # ConfigException, missing or corrupt files: none carries a credential
            raise TargetError(f"context {context}: kubeconfig: {reason(exc)}") from exc
        configuration.retries = 0  # a refused connection is an answer, not something to retry and hide
        self.api = client.ApiClient(configuration)
        self.apps = client.AppsV1Api(self.api)
        self.core = client.CoreV1Api(self.api)
        self.caches: dict[str, WatchCache[Any]] = {}  # resource -> its cache, once watch() started them
        self._kinds: dict[str, tuple[Callable[[], Callable[..., Any]], Callable[[dict], Any]]] = {}
        self._watch_lock = threading.Lock()
        self._changed = threading.Condition()
        self._on_change: Callable[[], None] = lambda: None
        self.closed = False

    # -- the caches --------------------------------------------------------------------------
    def watches(self, resource: str, lister: Callable[[], Callable[..., Any]], convert: Callable[[dict], Any]) -> None:
        """A kind's cache, started with the others by watch(): `lister` gives the client's list function of
        the resource, `convert` makes each object the small record the cache keeps."""
        self._kinds[resource] = (lister, convert)

    def watch(self, changed: Callable[[], None] | None = None) -> None:
        """Start every kind's cache of the namespace, once; `changed` runs (on a cache thread) after
        changes and errors."""
        with self._watch_lock:
            if self.caches:
                return
            if changed is not None:
                self._on_change = changed
            for resource, (lister, convert) in self._kinds.items():
                self.caches[resource] = WatchCache(resource, lister(), self.namespace, convert, self._changes,
                                                   self.timeout, WATCH_SECONDS, self._describer(resource)).start()

    def _describer(self, resource: str) -> Callable[[BaseException, str], str]:
        def describe(exc: BaseException, verb: str) -> str:
            return str(api_error(exc, verb, f"{resource} in {self.namespace}"))

        return describe

    def cached(self, resource: str) -> WatchCache[Any]:
        """The resource's cache, the caches started if they are not yet."""
        self.watch()
        return self.caches[resource]

    def _changes(self) -> None:
        with self._changed:
            self._changed.notify_all()
        self._on_change()

    def close(self) -> None:
        self.closed = True
        with self._changed:
            self._changed.notify_all()  # a rollout being waited for ends its wait (the app is leaving)
        for c in self.caches.values():
            c.stop()

    # -- waiting -----------------------------------------------------------------------------
    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait for the caches to show something, woken by their changes (no polling of the server)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                if self.closed:  # nobody is waiting for the answer any more
                    raise TargetError(f"{self.context}: closed while waiting")
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 1.0))
        return True

    def first_list(self, cache: WatchCache[Any]) -> bool:
        """Wait (up to the timeout) for a cache's first list, or its failure; whether it has listed."""
        return self.wait(lambda: cache.synced.is_set() or bool(cache.error), self.timeout) and cache.synced.is_set()

    # -- requests ----------------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None, content_type: str = "",
             query: list[tuple[str, Any]] | None = None) -> Any:
        """The one raw request to the API server (for what the client's typed methods lack: server-side apply,
        a pod's proxy, any kind by its path): the response, read, whatever its status."""
        headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}
        m, url, h, b, _ = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                                   body=body, auth_settings=["BearerToken"])
        response = self.api.call_api(m, url, h, b, _request_timeout=self.timeout)
        response.read()
        return response

    def request(self, method: str, path: str, verb: str, resource: str, body: Any = None,
                content_type: str = "", query: list[tuple[str, Any]] | None = None, missing: bool = False) -> Any:
        """The JSON of a 2xx answer; None for a 404 where `missing` is fine (a delete of what is gone); else a
        TargetError that names the verb and the resource."""
        try:
            response = self.call(method, path, body, content_type, query)
            if missing and response.status == 404:
                return None
            if not 200 <= response.status < 300:
                from kubernetes.client.exceptions import ApiException

                raise ApiException(http_resp=response)
        except Exception as exc:
            raise api_error(exc, verb, resource) from exc
        try:
            return json.loads(response.data)
        except ValueError as exc:
            raise TargetError(f"{verb} {resource}: the API server's answer is not JSON") from exc

    def path(self, prefix: str, plural: str, name: str = "") -> str:
        """A namespaced object's (or, without a name, its kind's) path in this namespace."""
        return f"{prefix}/namespaces/{self.namespace}/{plural}" + (f"/{name}" if name else "")
