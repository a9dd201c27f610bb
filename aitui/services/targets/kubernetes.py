"""A Kubernetes context as a target, through the official client.

- One ApiClient per context (`new_client_from_config`): contexts never share credentials or state.
- Lists come from watch-backed caches (watchcache.py: list, then watch from the list's resourceVersion,
  resume after a stream ends, relist after 410 Expired). The app reads the caches, never the server.
- deploy is server-side apply (fieldManager=aitui) of manifests/base as rendered for the chosen image,
  replicas and namespace; scale patches the Deployment's /scale subresource; restart sets the pod
  template's restartedAt annotation, as `kubectl rollout restart` does.
- An ApiException becomes a TargetError naming the verb and the resource; 403 and 404 are typed.
  Nothing retries on its own; the caches reconnect, which is what a watch is for.
- Traffic and predict reach the pods through port-forwards aitui opens itself (portforward.py); `publish`
  makes a local build runnable by the nodes (containerd load or registry push); scale and deploy respect
  the bounds of the workload's HorizontalPodAutoscaler instead of fighting it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aitui.config import Settings
from aitui.models import Autoscaler, Event, Node, Pod, ReplicaStats, Revision, Service, Shell, Workload
from aitui.services import kubeconfig, labels, manifests
from aitui.services.errors import reason
from aitui.services.targets import Forbidden, NotFound, Progress, TargetError, quiet, refusal_of
from aitui.services.targets.portforward import PodForwards
from aitui.services.targets.watchcache import WatchCache

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
FIELD_MANAGER = "aitui"
WATCH_SECONDS = 240  # a watch ends and resumes from its resourceVersion this often (under the read timeout)
ROLLOUT_TIMEOUT = 600.0  # the Deployment's default progressDeadlineSeconds
ASK_STUCK_EVERY = 3.0  # while a rollout waits, a new pod that runs unready this long is asked why
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")  # a pod's waiting reasons: no image
# the kinds manifests/base holds: apiVersion/kind -> (path prefix, plural)
PATHS = {
    "v1/ServiceAccount": ("/api/v1", "serviceaccounts"),
    "v1/Secret": ("/api/v1", "secrets"),  # the pull secret of a registry (services/registry.py)
    "v1/Service": ("/api/v1", "services"),
    "apps/v1/Deployment": ("/apis/apps/v1", "deployments"),
    "autoscaling/v2/HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "policy/v1/PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "networking.k8s.io/v1/NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
}

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


def rollout_status(dep: dict[str, Any]) -> tuple[str, bool]:
    """kubectl's `rollout status` for a Deployment, in its order and words (reference §8)."""
    spec, status, meta = dep.get("spec") or {}, dep.get("status") or {}, dep["metadata"]
    name = meta["name"]
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            raise TargetError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas", 1)
    updated, replicas = status.get("updatedReplicas", 0), status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < want:
        return f"{updated} out of {want} new replicas have been updated...", False
    if replicas > updated:
        return f"{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def _time(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0


def _cpus(quantity: str) -> int:
    """A CPU quantity ("4", "3500m") in whole cores."""
    return int(quantity[:-1]) // 1000 if quantity.endswith("m") else int(float(quantity or 0))


def _bytes(quantity: str) -> int:
    """A memory quantity ("16Gi", "8000000Ki", "2G") in bytes."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "K": 10**3, "M": 10**6, "G": 10**9,
             "T": 10**12}
    for unit in sorted(units, key=len, reverse=True):
        if quantity.endswith(unit):
            return int(float(quantity[: -len(unit)]) * units[unit])
    return int(float(quantity or 0))


def workload_of(dep: dict[str, Any]) -> Workload:
    meta, spec, status = dep["metadata"], dep.get("spec") or {}, dep.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return Workload(name=meta["name"], namespace=meta.get("namespace", ""), desired=spec.get("replicas", 1),
                    ready=status.get("readyReplicas", 0), up_to_date=status.get("updatedReplicas", 0),
                    available=status.get("availableReplicas", 0), image=containers[0].get("image", "") if containers
                    else "", created=_time(meta.get("creationTimestamp")))


def pod_of(obj: dict[str, Any]) -> tuple[Pod, dict[str, str]]:
    """A pod as the Pods table shows it, and its labels (to match a Deployment's selector)."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    shown = status.get("phase") or "Pending"
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            shown = waiting["reason"]  # ContainerCreating, CrashLoopBackOff, ImagePullBackOff
    deleting = bool(meta.get("deletionTimestamp"))
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    owner = next((r.get("name", "") for r in meta.get("ownerReferences") or []), "")
    containers = spec.get("containers") or [{}]
    quarantined = (meta.get("labels") or {}).get(labels.QUARANTINE_LABEL)
    if quarantined and not deleting:
        shown, owner = "Quarantined", quarantined + "-"  # out of its Service: takes no traffic
    pod = Pod(name=meta["name"], workload=owner.rsplit("-", 1)[0], status="Terminating" if deleting else shown,
              ready=ready and not deleting and not quarantined,
              restarts=sum(cs.get("restartCount", 0) for cs in statuses),
              created=_time(meta.get("creationTimestamp")), image=containers[0].get("image", ""),
              node=spec.get("nodeName") or "")
    return pod, meta.get("labels") or {}


REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# registry kind -> (path prefix, plural, Kind): what `y` and describe read for a row of that view
OBJECTS = {
    "workloads": ("/apis/apps/v1", "deployments", "Deployment"),
    "pods": ("/api/v1", "pods", "Pod"),
    "models": ("/api/v1", "pods", "Pod"),  # the models view's rows are replicas
    "services": ("/api/v1", "services", "Service"),
    "hpa": ("/apis/autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"),
    "revisions": ("/apis/apps/v1", "replicasets", "ReplicaSet"),
}


def autoscaler_of(obj: dict[str, Any]) -> Autoscaler:
    """An HPA as its view shows it; targets as `kubectl get hpa` writes them ("cpu: <unknown>/70%")."""
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    current = {m.get("resource", {}).get("name"): m.get("resource", {}).get("current") or {}
               for m in status.get("currentMetrics") or [] if m.get("type") == "Resource"}
    targets = []
    for m in spec.get("metrics") or []:
        if m.get("type") != "Resource":
            targets.append(m.get("type", "?").lower())
            continue
        name, target = m["resource"].get("name", "?"), m["resource"].get("target") or {}
        now = current.get(name) or {}
        if target.get("type") == "Utilization":
            have = f"{now['averageUtilization']}%" if "averageUtilization" in now else "<unknown>"
            targets.append(f"{name}: {have}/{target.get('averageUtilization')}%")
        else:
            targets.append(f"{name}: {now.get('averageValue', '<unknown>')}/{target.get('averageValue', '?')}")
    why = next((str(c.get("reason", "")) for c in status.get("conditions") or []  # describe says the rest
                if c.get("type") in ("ScalingActive", "AbleToScale") and c.get("status") == "False"), "")
    return Autoscaler(name=meta["name"], workload=ref.get("name", "") if ref.get("kind") == "Deployment" else "",
                      low=int(spec.get("minReplicas", 1)), high=int(spec.get("maxReplicas", 1)),
                      current=int(status.get("currentReplicas", 0)), desired=int(status.get("desiredReplicas", 0)),
                      targets=", ".join(targets) or "-", last_scale=_time(status.get("lastScaleTime")),
                      created=_time(meta.get("creationTimestamp")), why=why)


def revision_of(rs: dict[str, Any], current: bool) -> Revision:
    meta, spec, status = rs["metadata"], rs.get("spec") or {}, rs.get("status") or {}
    owner = next((o.get("name", "") for o in meta.get("ownerReferences") or [] if o.get("kind") == "Deployment"), "")
    annotations = meta.get("annotations") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    return Revision(name=meta["name"], workload=owner, revision=int(annotations.get(REVISION, 0) or 0),
                    image=containers[0].get("image", ""), created=_time(meta.get("creationTimestamp")),
                    replicas=int(status.get("replicas", 0)), current=current,
                    change_cause=annotations.get(CHANGE_CAUSE, ""))


def template_of(rs: dict[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template as its Deployment had it: without the pod-template-hash label the
    controller added (what `kubectl rollout undo` puts back)."""
    import copy

    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    template.setdefault("metadata", {}).setdefault("labels", {}).pop("pod-template-hash", None)
    return template


class KubeTarget:
    def __init__(self, settings: Settings, context: str, namespace: str) -> None:
        from kubernetes import client, config

        self.name, self.namespace, self.settings = context, namespace, settings
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
        self.timeout = settings.timeout
        self._deployments: WatchCache[dict[str, Any]] | None = None
        self._pods: WatchCache[tuple[Pod, dict[str, str]]] | None = None
        self._hpas: WatchCache[Autoscaler] | None = None  # (its errors stay out of `errors`: an extra)
        self._changed = threading.Condition()
        self._closed = False
        self._forwards = PodForwards(self._open_forward, labels.SERVING_PORT)
        self._forward_api: Any = None
        self._forward_lock = threading.Lock()
        # where the nodes take images from: the config's cluster_images, else the kubeconfig context's
        # `aitui` extension (.ci/cluster writes one), else the cluster pulls the reference itself
        self.images = settings.cluster_images.get(context) or kubeconfig.extension_of(
            settings.kubeconfig, context).get("images", "")
        self._published: set[str] = set()
        self._digests: dict[str, str] = {}  # local image -> what a registry push made of it (repo@sha256:…)

    # -- the caches --------------------------------------------------------------------------
    def watch(self, changed: Callable[[], None] = lambda: None) -> None:
        """Start the Deployment and Pod caches of the namespace; `changed` runs (on a cache thread)
        after changes and errors."""
        if self._deployments is not None:
            return

        def on_change() -> None:
            with self._changed:
                self._changed.notify_all()
            changed()

        def cache(resource: str, list_fn: Callable[..., Any], convert: Callable[[dict], Any]) -> WatchCache[Any]:
            return WatchCache(resource, list_fn, self.namespace, convert, on_change, self.timeout, WATCH_SECONDS,
                              lambda exc, verb: str(api_error(exc, verb, f"{resource} in {self.namespace}"))).start()

        self._deployments = cache("deployments", self.apps.list_namespaced_deployment, lambda obj: obj)
        self._pods = cache("pods", self.core.list_namespaced_pod, pod_of)
        from kubernetes.client import AutoscalingV2Api

        self._hpas = cache("horizontalpodautoscalers",
                           AutoscalingV2Api(self.api).list_namespaced_horizontal_pod_autoscaler, autoscaler_of)

    def close(self) -> None:
        self._closed = True
        with self._changed:
            self._changed.notify_all()  # a rollout being waited for ends its wait (the app is leaving)
        self._forwards.close()
        for c in (self._deployments, self._pods, self._hpas):
            if c is not None:
                c.stop()

    @property
    def errors(self) -> dict[str, str]:
        """cache -> why it is not current (403, unreachable…); empty when all is well."""
        return {c.resource: c.error for c in (self._deployments, self._pods) if c is not None and c.error}

    def synced(self, timeout: float = 10.0) -> bool:
        """Wait until both caches have listed once: the first screen is complete, not partial."""
        self.watch()
        return self._wait(lambda: bool(self.errors) or all(
            c is not None and c.synced.is_set() for c in (self._deployments, self._pods)), timeout) \
            and not self.errors

    def _deps(self) -> list[dict[str, Any]]:
        self.watch()
        assert self._deployments is not None
        return self._deployments.values()

    # -- reading -----------------------------------------------------------------------------
    def workloads(self) -> list[Workload]:
        deps = self._deps()
        if not deps and self._deployments is not None and self._deployments.error:
            raise TargetError(self._deployments.error)
        bounds = {a.workload: (a.low, a.high) for a in self._hpas.values()} if self._hpas is not None else {}
        # a pod that cannot get its image says so in its workload's row (ErrImagePull, ImagePullBackOff)
        assert self._pods is not None
        problems = {pod.workload: pod.status for pod, _ in self._pods.values() if pod.status in PULL_FAILURES}
        return sorted((replace(workload_of(d), autoscaler=bounds.get(d["metadata"]["name"]),
                               problem=problems.get(d["metadata"]["name"], "")) for d in deps),
                      key=lambda w: w.name)

    def pods(self, workload: str | None = None) -> list[Pod]:
        selector: dict[str, str] = {}
        if workload is not None:
            dep = next((d for d in self._deps() if d["metadata"]["name"] == workload), None)
            if dep is None:
                return []
            selector = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        assert self._pods is not None
        # a first list of thousands of pods takes a while: answer with it, not with an empty list that
        # would read "no replicas" (a cache that cannot list says why through `errors`)
        pod_cache = self._pods
        self._wait(lambda: pod_cache.synced.is_set() or bool(pod_cache.error), self.timeout)
        out = [pod if workload in (None, pod.workload) else replace(pod, workload=workload)
               for pod, pod_labels in self._pods.values()
               if all(pod_labels.get(k) == v for k, v in selector.items())
               or (workload is not None and pod_labels.get(labels.QUARANTINE_LABEL) == workload)]
        return sorted(out, key=lambda p: (p.created, p.name))

    def nodes(self) -> list[Node]:
        """The cluster's nodes (cluster-scoped: a user who may only read a namespace gets the 403)."""
        try:
            response: Any = self.core.list_node(_preload_content=False, _request_timeout=self.timeout)
            items = json.loads(response.data)["items"]
        except Exception as exc:
            raise api_error(exc, "list", "nodes") from exc
        out = []
        for n in items:
            meta, status = n["metadata"], n.get("status") or {}
            ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
            roles = sorted(k.split("/", 1)[1] for k in meta.get("labels") or {}
                           if k.startswith("node-role.kubernetes.io/")) or ["<none>"]
            capacity = status.get("capacity") or {}
            out.append(Node(name=meta["name"], status={"True": "Ready", "False": "NotReady"}.get(
                ready.get("status", ""), "Unknown"), roles=",".join(roles),
                version=(status.get("nodeInfo") or {}).get("kubeletVersion", "?"),
                cpus=_cpus(capacity.get("cpu", "0")), memory=_bytes(capacity.get("memory", "0")),
                created=_time(meta.get("creationTimestamp"))))
        return sorted(out, key=lambda n: n.name)

    def services(self) -> list[Service]:
        """The namespace's Services; their endpoints counted from the pod cache (the pods their selector
        picks, ready or not), so the count moves with the pods view without a watch of its own."""
        try:
            response: Any = self.core.list_namespaced_service(self.namespace, _preload_content=False,
                                                              _request_timeout=self.timeout)
            items = json.loads(response.data)["items"]
        except Exception as exc:
            raise api_error(exc, "list", f"services in {self.namespace}") from exc
        self.watch()
        assert self._pods is not None
        pods = [(pod, pod_labels) for pod, pod_labels in self._pods.values() if pod.status != "Terminating"]
        out = []
        for svc in items:
            spec = svc.get("spec") or {}
            selector = spec.get("selector") or {}
            picked = [pod for pod, pod_labels in pods
                      if selector and all(pod_labels.get(k) == v for k, v in selector.items())]
            ports = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
            out.append(Service(name=svc["metadata"]["name"], type=spec.get("type", "ClusterIP"),
                               address=spec.get("clusterIP") or "-", ports=ports or "-",
                               ready=sum(p.ready for p in picked), endpoints=len(picked),
                               created=_time(svc["metadata"].get("creationTimestamp"))))
        return sorted(out, key=lambda s: s.name)

    def events(self, workload: str = labels.NAME) -> list[Event]:
        """The namespace's events about the workload, its ReplicaSets and its pods, oldest first."""
        try:
            response: Any = self.core.list_namespaced_event(self.namespace, _preload_content=False,
                                                            _request_timeout=self.timeout)
            raw = response.data
        except Exception as exc:
            raise api_error(exc, "list", f"events in {self.namespace}") from exc
        out = []
        for e in json.loads(raw)["items"]:
            obj = e.get("involvedObject") or {}
            name = obj.get("name", "")
            if name != workload and not name.startswith(workload + "-"):
                continue
            stamp = e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp")
            out.append(Event(time=_time(stamp), type=e.get("type", "Normal"), reason=e.get("reason", ""),
                             object=f"{obj.get('kind', '').lower()}/{name}", message=e.get("message", "")))
        return sorted(out, key=lambda ev: ev.time)

    def endpoints(self, workload: str = labels.NAME) -> list[str]:
        """A local port-forward through the API server to each ready pod (no kubectl needed)."""
        ready = [p.name for p in self.pods(workload) if p.ready]
        return self._forwards.sync(ready)

    def reach(self, workload: str = labels.NAME) -> str:
        routes = self._forwards.routes()
        if not routes:
            return f"port-forward through the API server to each ready pod of {workload}: none ready"
        shown = ", ".join(f"{local} -> pod/{pod}:{labels.SERVING_PORT}" for local, pod in routes[:3])
        more = f" (+{len(routes) - 3} more)" if len(routes) > 3 else ""
        return f"port-forward through the API server: {shown}{more}"

    def replica_endpoints(self, workload: str = labels.NAME) -> dict[str, str]:
        """Each ready pod -> the local end of its own port-forward (to ask one pod, not the Service)."""
        mine = set(self.endpoints(workload))
        return {pod: local for local, pod in self._forwards.routes() if local in mine}

    def route(self, endpoint: str) -> str:
        pod = dict(self._forwards.routes()).get(endpoint)
        return f"pod/{pod} (port-forward {endpoint})" if pod else endpoint

    def _open_forward(self, pod: str, port: int) -> Any:
        """The client's portforward swaps its ApiClient's `request` for a websocket call while it runs: on
        a shared client a scale at that moment would go out as a websocket (found under traffic). So
        forwards get a client of their own, and open one at a time."""
        from kubernetes import client
        from kubernetes.stream import portforward

        from aitui.services.targets.portforward import refused

        with self._forward_lock:
            if self._forward_api is None:
                self._forward_api = client.CoreV1Api(client.ApiClient(self.api.configuration))
            try:
                return portforward(self._forward_api.connect_get_namespaced_pod_portforward, pod, self.namespace,
                                   ports=str(port), _request_timeout=self.timeout)
            except Exception as exc:  # a 403 said as every other refusal is: "forbidden (RBAC): …"
                answer = refused(exc)
                if answer is None:
                    raise
                raise api_error(answer, "port-forward", f"pods/{pod}") from exc

    def publish(self, image: str, progress: Progress = quiet) -> None:
        """Make a locally built image runnable by the cluster's nodes: loaded into a node's containerd
        (`containerd://SOCKET`, for clusters on this machine, as `kind load docker-image` does), or pushed
        to a registry (`registry://HOST/PATH`, which deploy then names); else the nodes pull it themselves."""
        from aitui.services import images

        if image in self._published:
            return
        if self.settings.is_readonly(self.name):
            raise TargetError(f"publish {image}: read-only ({self.name}): nothing loaded or pushed")
        try:
            if self.images.startswith("containerd://"):
                address = self.images.removeprefix("containerd://")
                if images.image_in_containerd(image, address):
                    progress(f"publish: {image} is already on the node")
                else:
                    for line in images.load_into_containerd(self.settings, image, address):
                        progress(f"publish: {line}")
            elif self.images.startswith("registry://"):
                from aitui.services import registry

                try:
                    self._digests[image] = registry.push(self.settings, image, registry.Place.parse(self.images),
                                                         progress)
                except registry.RegistryError as exc:
                    raise TargetError(f"publish {image} to {self.name}: {exc}") from None
            else:
                progress(f"publish: {self.name} pulls {image} itself (no cluster_images set for it)")
        except images.DockerError as exc:
            raise TargetError(f"publish {image} to {self.name}: {exc}") from exc
        self._published.add(image)

    def image_ref(self, image: str) -> str:
        """The reference the cluster runs a local image by: by digest once pushed to the registry."""
        if image in self._digests:
            return self._digests[image]
        if self.images.startswith("registry://"):
            return f"{self.images.removeprefix('registry://').rstrip('/')}/{image.rsplit('/', 1)[-1]}"
        return image

    def _pull_secret(self, docs: list[dict[str, Any]], image: str, progress: Progress, verb: str) -> None:
        """Pods of an image pushed to a registry pull it with a secret: the namespace's own for that registry
        (port included), else aitui's, made (or kept current) from Docker's credentials and said. The tag
        stays on the Deployment as its change-cause, as the image is named by digest."""
        from aitui.services import registry

        place = registry.place_of(self.images)
        if place is None or image not in self._digests:
            return
        try:
            found: Any = self.core.list_namespaced_secret(self.namespace, field_selector=f"type={registry.SECRET_TYPE}",
                                                          _preload_content=False, _request_timeout=self.timeout)
            secrets = json.loads(found.data)["items"]
        except Exception as exc:
            raise api_error(exc, "list", f"secrets in {self.namespace} (a pull secret for {place.host})") from exc
        name, ours = registry.matching_secret(secrets, place.host), registry.secret_name(place.host)
        if name and name != ours:
            progress(f"{verb}: the pods pull from {place.host} with secret/{name}")
        elif self.settings.is_readonly(self.name):
            raise TargetError(f"{verb}: read-only ({self.name}): no pull secret for {place.host} made")
        else:
            try:
                creds = registry.credentials(place.host)
                if creds is None:
                    raise registry.RegistryError(f"no credentials for {place.host} in Docker's config "
                                                 f"({registry.docker_config_file()}): docker login {place.host}")
                secret = registry.pull_secret(place.host, creds, self.namespace)
            except registry.RegistryError as exc:
                raise TargetError(f"{verb}: pull secret: {exc}") from None
            before = next((s for s in secrets if s["metadata"]["name"] == ours), None)
            if before is None or before.get("data") != secret["data"]:
                self._apply(secret)
                progress(f"{verb}: {'created' if before is None else 'updated'} secret/{ours} in {self.namespace}: "
                         f"the pods pull from {place.host} with the credentials from {creds.source}")
            name = ours
        registry.pull_with(docs, name, f"aitui {verb} {place.repository(image)}:{image.rsplit(':', 1)[-1]}")

    def unscraped(self) -> str:
        return ""  # the cluster's Prometheus finds the pods (kubernetes_sd)

    def metrics_selector(self, workload: str = labels.NAME) -> str:
        return f'job="recognizer",workload="{workload}",namespace="{self.namespace}"'

    def deploy_plan(self) -> list[str]:
        from aitui.services import registry

        place = registry.place_of(self.images)
        pushed = [] if place is None else [
            f"push:      to {'/'.join(p for p in (place.host, place.path) if p)} with Docker's credentials, "
            "deployed by digest",
            f"pull:      the namespace's pull secret for {place.host} (made from them if there is none)"]
        return [f"namespace: {self.namespace}", *pushed, "applies manifests/base server-side (fieldManager=aitui)"]

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
        self.publish(image, progress)
        local, image = image, self.image_ref(image)
        try:
            docs = manifests.render(self.settings, image, replicas, self.namespace)
            floor = min((d["spec"].get("minReplicas", 1) for d in docs if d["kind"] == "HorizontalPodAutoscaler"),
                        default=0)
            if replicas < floor:  # else the autoscaler would raise it right after the rollout
                progress(f"deploy: {replicas} replica(s) is below the autoscaler's minimum: {floor}")
                replicas = floor
                docs = manifests.render(self.settings, image, replicas, self.namespace)
        except manifests.ManifestError as exc:
            raise TargetError(f"deploy: {exc}") from exc
        self._pull_secret(docs, local, progress, "deploy")
        for doc in docs:
            what = f"{doc['kind'].lower()}/{doc['metadata']['name']}"
            self._apply(doc)
            progress(f"deploy: applied {what} in {self.namespace} (server-side, fieldManager={FIELD_MANAGER})")
        self._wait_rollout(workload, progress, "deploy")

    # -- a canary: a second Deployment behind the same Service (services/canary.py) ----------------
    def canary_endpoints(self, workload: str = labels.NAME) -> tuple[list[str], list[str]]:
        """The workload's endpoints (the Service's pods: its canary's too) split into its own and its canary's."""
        from aitui.services.canary import canary_of

        every = self.endpoints(workload)  # one sync of the forwards for both: no forward closed and reopened
        canary = {p.name for p in self.pods(canary_of(workload))}
        pod_of_ep = dict(self._forwards.routes())
        return ([e for e in every if pod_of_ep.get(e) not in canary], [e for e in every if pod_of_ep.get(e) in canary])

    def deploy_canary(self, image: str, replicas: int, workload: str = labels.NAME,
                      progress: Progress = quiet) -> None:
        """manifests/base's Deployment as `<workload>-canary`, with `track: canary` on it, its selector and
        its pods, and the same labels the Service selects: the Service spreads over both, by replica count."""
        from aitui.services.canary import TRACK_LABEL, canary_of

        if not any(d["metadata"]["name"] == workload for d in self._deps()):
            raise TargetError(f"canary: no deployment {workload!r} in {self.namespace} to put a canary beside")
        self.publish(image, progress)
        try:
            docs = manifests.render(self.settings, self.image_ref(image), replicas, self.namespace)
        except manifests.ManifestError as exc:
            raise TargetError(f"canary: {exc}") from exc
        self._pull_secret(docs, image, progress, "canary")
        dep = next(d for d in docs if d["kind"] == "Deployment")
        name = canary_of(workload)
        dep["metadata"]["name"] = name
        dep["metadata"].setdefault("annotations", {})["aitui.io/image"] = image  # what promote deploys
        for where in (dep["metadata"]["labels"], dep["spec"]["selector"]["matchLabels"],
                      dep["spec"]["template"]["metadata"]["labels"]):
            where[TRACK_LABEL] = "canary"
        self._apply(dep)
        progress(f"canary: applied deployment/{name} in {self.namespace} ({replicas} replica(s) of {image})")
        self._wait_rollout(name, progress, "canary")

    def remove_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        """Abort: scaled to 0 first (each pod leaves the endpoints, then drains in its grace period), the
        Deployment deleted once its pods are gone."""
        from aitui.services.canary import canary_of

        name = canary_of(workload)
        if not any(d["metadata"]["name"] == name for d in self._deps()):
            raise TargetError(f"canary: {workload} has no canary in {self.namespace}")
        try:
            self.apps.patch_namespaced_deployment_scale(
                name, self.namespace, {"spec": {"replicas": 0}}, field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json", _request_timeout=self.timeout)
        except Exception as exc:
            raise api_error(exc, "scale", f"deployments/{name}") from exc
        progress(f"canary: {name} scaled to 0; its pods drain")
        if not self._wait(lambda: not self.pods(name), ROLLOUT_TIMEOUT):
            raise TargetError(f"canary: the pods of {name} did not stop within {ROLLOUT_TIMEOUT:.0f}s")
        try:
            self.apps.delete_namespaced_deployment(name, self.namespace, _request_timeout=self.timeout)
        except Exception as exc:
            raise api_error(exc, "delete", f"deployments/{name}") from exc
        progress(f"canary: deployment/{name} removed")

    def promote_canary(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        """The workload's rolling update to the canary's image (each new pod ready before an old one goes),
        then the canary drained and removed."""
        from aitui.services.canary import canary_of

        name = canary_of(workload)
        dep = next((d for d in self._deps() if d["metadata"]["name"] == name), None)
        main = next((d for d in self._deps() if d["metadata"]["name"] == workload), None)
        if dep is None or main is None:
            raise TargetError(f"canary: {workload} has no canary in {self.namespace} to promote")
        image = ((dep["metadata"].get("annotations") or {}).get("aitui.io/image") or
                 dep["spec"]["template"]["spec"]["containers"][0]["image"])
        self.deploy(image, (main.get("spec") or {}).get("replicas", 1), workload, progress)
        self.remove_canary(workload, progress)

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
        bounds = self.autoscaler(workload, "scale")
        if bounds and not bounds[0] <= replicas <= bounds[1]:
            raise TargetError(f"scale {workload} to {replicas}: hpa/{workload} keeps it between {bounds[0]} and "
                              f"{bounds[1]} replicas; change the autoscaler's bounds to go further")
        try:
            before = self.apps.patch_namespaced_deployment_scale(
                workload, self.namespace, {"spec": {"replicas": replicas}}, field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json", _request_timeout=self.timeout)
        except Exception as exc:
            raise api_error(exc, "scale", f"deployments/{workload}") from exc
        progress(f"scale {workload}: {replicas} replica{'s' if replicas != 1 else ''} requested "
                 f"(was {before.status.replicas if before.status else 0})")
        self._wait(lambda: any(d["metadata"]["name"] == workload and (d.get("spec") or {}).get("replicas") == replicas
                               for d in self._deps()), 10.0)

    def autoscaler(self, workload: str = labels.NAME, verb: str = "") -> tuple[int, int] | None:
        """(min, max) replicas of the HorizontalPodAutoscaler that scales the workload, if one does;
        a failure is worded as the `verb` on the workload that needed to know."""
        try:
            method, url, headers, body, _ = self.api.param_serialize(
                "GET", f"/apis/autoscaling/v2/namespaces/{self.namespace}/horizontalpodautoscalers",
                header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
            response = self.api.call_api(method, url, headers, body, _request_timeout=self.timeout)
            data = response.read()
            if response.status in (403, 404):  # may not read autoscalers: the scale verb will say what it may
                return None
            if not 200 <= response.status < 300:
                from kubernetes.client.exceptions import ApiException

                raise ApiException(http_resp=response)
        except Exception as exc:
            if verb:
                raise api_error(exc, verb, f"deployments/{workload}") from exc
            raise api_error(exc, "list", f"horizontalpodautoscalers in {self.namespace}") from exc
        for hpa in json.loads(data)["items"]:
            spec = hpa.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            if ref.get("kind") == "Deployment" and ref.get("name") == workload:
                return int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        return None

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

    def quarantine(self, pod: str, workload: str = labels.NAME, progress: Progress = quiet) -> str:
        """Take one pod out of traffic and keep it running to be looked at (logs, shell, YAML): it loses the
        selector's instance label, so its Service stops sending to it and its ReplicaSet lets it go and
        starts a replacement (`kubectl label pod … app.kubernetes.io/instance-`); `delete` removes it."""
        if not any(p.name == pod for p in self.pods(workload)):
            raise TargetError(f"quarantine: {pod} is not a replica of {workload} in {self.namespace}")
        instance = next(k for k in labels.SELECTOR_LABELS if k.endswith("/instance"))
        body = {"metadata": {"labels": {instance: None, labels.QUARANTINE_LABEL: workload}}}
        try:
            self.core.patch_namespaced_pod(pod, self.namespace, body, _request_timeout=self.timeout,
                                           _content_type="application/merge-patch+json")
        except Exception as exc:
            raise api_error(exc, "patch", f"pods/{pod}") from exc
        progress(f"quarantine: pod/{pod} out of the Service, kept running (its ReplicaSet starts a replacement; "
                 "delete removes it)")
        return pod

    def delete(self, workload: str = labels.NAME, progress: Progress = quiet) -> None:
        """Delete what deploy applied, and the pods quarantined from it; objects already gone are fine."""
        for pod in [p.name for p in self.pods(workload) if p.status == "Quarantined"]:
            try:
                self.core.delete_namespaced_pod(pod, self.namespace, _request_timeout=self.timeout)
            except Exception as exc:
                if getattr(exc, "status", None) != 404:
                    raise api_error(exc, "delete", f"pods/{pod}") from exc
            progress(f"delete: pods/{pod} (quarantined) in {self.namespace}")
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

    def logs(self, pod: str, tail: int = 100, follow: bool = False, timestamps: bool = False,
             previous: bool = False) -> Iterator[str]:
        try:
            # a followed log may stay quiet for long: only the connect is bounded
            response: Any = self.core.read_namespaced_pod_log(
                pod, self.namespace, follow=follow and not previous, tail_lines=tail, timestamps=timestamps,
                previous=previous, _preload_content=False,
                _request_timeout=(self.timeout, 86400) if follow and not previous else self.timeout)
        except Exception as exc:
            if previous and getattr(exc, "status", None) == 400 and "previous terminated container" in \
                    str(getattr(exc, "body", "")):
                raise NotFound(f"logs {pod}: no previous container: it has not restarted") from exc
            raise api_error(exc, "logs", f"pods/{pod}") from exc
        buf = b""
        for chunk in response.stream(amt=None, decode_content=False):
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
        if buf:
            yield buf.decode(errors="replace")

    def stats(self, workload: str = labels.NAME) -> list[ReplicaStats]:
        """Each pod's CPU and memory from metrics-server (the metrics.k8s.io API, what `kubectl top`
        reads); a cluster without it says so."""
        from kubernetes import client
        from kubernetes.utils import parse_quantity

        pods = {p.name for p in self.pods(workload)}
        try:
            found = client.CustomObjectsApi(self.api).list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", self.namespace, "pods", _request_timeout=self.timeout)
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                raise NotFound(f"no metrics-server on {self.name}: the metrics.k8s.io API is not served "
                               "(install metrics-server for CPU and memory without Prometheus)") from exc
            raise api_error(exc, "list", "pods.metrics.k8s.io") from exc
        out = []
        for item in (found if isinstance(found, dict) else {}).get("items") or []:
            name = (item.get("metadata") or {}).get("name", "")
            if name in pods:
                usage = [c.get("usage") or {} for c in item.get("containers") or []]
                out.append(ReplicaStats(name, float(sum(parse_quantity(u.get("cpu", "0")) for u in usage)),
                                        float(sum(parse_quantity(u.get("memory", "0")) for u in usage)),
                                        "metrics-server"))
        return sorted(out, key=lambda s: s.replica)

    # -- waiting -----------------------------------------------------------------------------
    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait for the caches to show something, woken by their changes (no polling of the server)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                if self._closed:  # nobody is waiting for the answer any more
                    raise TargetError(f"{self.name}: closed while waiting")
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 1.0))
        return True

    def _wait_rollout(self, workload: str, progress: Progress, verb: str) -> None:
        said = ""

        def step() -> bool:
            nonlocal said
            dep = next((d for d in self._deps() if d["metadata"]["name"] == workload), None)
            if dep is None:
                return False
            text, done = rollout_status(dep)
            if text != said:
                said = text
                progress(f"{verb} {workload}: {text}")
            return done

        deadline = time.monotonic() + ROLLOUT_TIMEOUT
        while not self._wait(step, min(ASK_STUCK_EVERY, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                raise TargetError(f"{verb} {workload}: not rolled out after {ROLLOUT_TIMEOUT:.0f}s: {said}")
            for pod in self.pods(workload):  # a new pod that runs but will not say ready: ask it why
                if pod.status in PULL_FAILURES:  # the node's reason is in the kubelet's event
                    why = self._pull_failure(workload, pod.name)
                    if why:
                        raise TargetError(f"{verb} {workload}: pod {pod.name} cannot pull its image: {why}. "
                                          "The pods that serve keep serving; u rolls back")
                if pod.status == "Running" and not pod.ready and time.time() - pod.created > ASK_STUCK_EVERY:
                    why = self._refusal(pod.name)
                    if why:
                        raise TargetError(f"{verb} {workload}: pod {pod.name} ({pod.image}) refused to become "
                                          f"ready: {why}. The pods that serve keep serving; u rolls back")

    def _pull_failure(self, workload: str, pod: str) -> str:
        """The kubelet's words for a pod's failed pull ("" until its event is there); its waiting reason when
        events cannot be read."""
        try:
            found = self.events(workload)
        except TargetError:
            return "ErrImagePull"
        return next((e.message for e in reversed(found) if e.type == "Warning" and e.object == f"pod/{pod}"
                     and e.reason == "Failed" and e.message.startswith("Failed to pull image")), "")

    def _refusal(self, pod: str) -> str:
        """The reason a pod gives on its readiness endpoint for not being ready for good (its self-check
        failed, serving/recognizer/selfcheck.py), through the API server's pod proxy; "" when it gives none
        or cannot be asked (the kubelet's probe event has only the status code)."""
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}:{labels.SERVING_PORT}/proxy/v2/health/ready"
        try:
            m, url, h, b, _ = self.api.param_serialize("GET", path, header_params={"Accept": "application/json"},
                                                       auth_settings=["BearerToken"])
            response = self.api.call_api(m, url, h, b, _request_timeout=self.timeout)
            body = json.loads(response.read()) if response.status == 503 else {}
        except Exception:  # no pods/proxy right, the pod gone, a body that is not ours: nothing to say
            return ""
        return refusal_of(body)

    # -- one object: YAML, describe, a shell; revisions and rollback; the autoscaler -------------------
    def _request(self, method: str, path: str, verb: str, resource: str, body: Any = None,
                 content_type: str = "", query: list[tuple[str, Any]] | None = None) -> Any:
        headers = {"Accept": "application/json", **({"Content-Type": content_type} if content_type else {})}
        try:
            m, url, h, b, _ = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                                       body=body, auth_settings=["BearerToken"])
            response = self.api.call_api(m, url, h, b, _request_timeout=self.timeout)
            data = response.read()
            if not 200 <= response.status < 300:
                from kubernetes.client.exceptions import ApiException

                raise ApiException(http_resp=response)
        except Exception as exc:
            raise api_error(exc, verb, resource) from exc
        return json.loads(data)

    def manifest(self, kind: str, name: str) -> Any:
        if kind not in OBJECTS:
            raise TargetError(f"{kind} rows have no object to show")
        prefix, plural, _ = OBJECTS[kind]
        return self._request("GET", f"{prefix}/namespaces/{self.namespace}/{plural}/{name}", "get",
                             f"{plural}/{name}")

    def describe(self, kind: str, name: str) -> str:
        from aitui.services import describe as text

        obj = self.manifest(kind, name)
        about = f"involvedObject.name={name},involvedObject.kind={OBJECTS[kind][2]}"
        found = self._request("GET", f"/api/v1/namespaces/{self.namespace}/events", "list",
                              f"events of {OBJECTS[kind][1]}/{name}", query=[("fieldSelector", about)])
        events = sorted((Event(time=_time(e.get("lastTimestamp") or e.get("eventTime")
                                          or e["metadata"].get("creationTimestamp")),
                               type=e.get("type", "Normal"), reason=e.get("reason", ""),
                               object=(e.get("source") or {}).get("component", "")
                               or e.get("reportingComponent", ""), message=e.get("message", ""))
                         for e in found["items"]), key=lambda e: e.time)
        return text.describe(obj, events)

    def shell(self, pod: str) -> Shell:
        """`kubectl exec -it` with this target's kubeconfig, context and namespace: what users trust, and
        a real TTY with no terminal code of ours. The pod is read first: a gone pod is said as such."""
        from aitui.services.targets.shells import probe

        where = f"pod/{pod} in {self.name}/{self.namespace}"
        try:
            self.manifest("pods", pod)
        except NotFound as exc:
            raise NotFound(f"shell in {where}: it is gone ({exc})") from exc
        base = ["kubectl", *([f"--kubeconfig={self.settings.kubeconfig}"] if self.settings.kubeconfig else []),
                f"--context={self.name}", f"--namespace={self.namespace}", "exec"]
        shell = probe([*base, pod, "--"], {}, where, max(self.timeout, 20.0))
        return Shell(argv=(*base, "-it", pod, "--", shell), where=where)

    def _replicasets(self, workload: str | None) -> list[dict[str, Any]]:
        items = self._request("GET", f"/apis/apps/v1/namespaces/{self.namespace}/replicasets", "list",
                              f"replicasets in {self.namespace}")["items"]
        def owner(rs: dict[str, Any]) -> str:
            return next((o.get("name", "") for o in rs["metadata"].get("ownerReferences") or []
                         if o.get("kind") == "Deployment"), "")
        owned = [rs for rs in items if owner(rs) and workload in (None, owner(rs))]
        return sorted(owned, key=lambda rs: (owner(rs), int((rs["metadata"].get("annotations") or {})
                                                             .get(REVISION, 0) or 0)))

    def revisions(self, workload: str | None = None) -> list[Revision]:
        """The Deployments' ReplicaSets, oldest revision first; the newest of each is the current one."""
        found = self._replicasets(workload)
        newest = {}
        for rs in found:  # sorted: the last of each owner wins
            newest[revision_of(rs, False).workload] = rs["metadata"]["name"]
        return [revision_of(rs, rs["metadata"]["name"] in newest.values()) for rs in found]

    def rollback(self, workload: str = labels.NAME, progress: Progress = quiet) -> Revision:
        """`kubectl rollout undo`: the Deployment's pod template set to the previous ReplicaSet's; the
        Deployment's rolling update (maxUnavailable 0, readiness, drain) does the rest, waited for."""
        found = self._replicasets(workload)
        if len(found) < 2:
            only = f" (only revision {revision_of(found[0], True).revision})" if found else ""
            raise TargetError(f"rollback {workload}: no previous revision to go back to{only}")
        now, before = revision_of(found[-1], True), revision_of(found[-2], False)
        patch = [{"op": "replace", "path": "/spec/template", "value": template_of(found[-2])}]
        try:
            self.apps.patch_namespaced_deployment(workload, self.namespace, patch, field_manager=FIELD_MANAGER,
                                                  _request_timeout=self.timeout)
        except Exception as exc:
            raise api_error(exc, "rollback", f"deployments/{workload}") from exc
        progress(f"rollback {workload}: revision {now.revision} -> the template of revision {before.revision} "
                 f"({before.image})")
        self._wait_rollout(workload, progress, "rollback")
        return before

    def autoscalers(self) -> list[Autoscaler]:
        self.watch()
        assert self._hpas is not None
        found = self._hpas.values()
        if not found and self._hpas.error:
            raise TargetError(self._hpas.error)
        return sorted(found, key=lambda a: a.name)

    def set_autoscaler(self, workload: str, low: int, high: int, progress: Progress = quiet) -> None:
        """Move the bounds of the HPA that scales `workload` (a merge patch of minReplicas/maxReplicas)."""
        if not 1 <= low <= high:
            raise TargetError(f"autoscaler of {workload}: min must be 1 or more and at most max ({low}..{high})")
        hpa = next((a for a in self.autoscalers() if a.workload == workload), None)
        if hpa is None:
            raise NotFound(f"autoscaler of {workload}: no HorizontalPodAutoscaler scales it in {self.namespace}")
        path = f"/apis/autoscaling/v2/namespaces/{self.namespace}/horizontalpodautoscalers/{hpa.name}"
        self._request("PATCH", path, "patch", f"horizontalpodautoscalers/{hpa.name}",
                      {"spec": {"minReplicas": low, "maxReplicas": high}}, "application/merge-patch+json",
                      [("fieldManager", FIELD_MANAGER)])
        progress(f"hpa/{hpa.name}: now keeps {workload} between {low} and {high} replicas "
                 f"(was {hpa.low}..{hpa.high})")
        assert self._hpas is not None
        self._wait(lambda: any(a.name == hpa.name and (a.low, a.high) == (low, high)
                               for a in self._hpas.values()), 10.0)  # type: ignore[union-attr]
