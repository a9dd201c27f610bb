"""A wire-level stand-in of the Kubernetes API server, for tests, benchmarks and demos without a cluster.

Real HTTP/1.1 and real JSON, as ../shared/reference/k8s_wire.md describes them (§ numbers below):
discovery, list (selectors, limit/continue), watch (synthetic ADDED, resume from a resourceVersion,
bookmarks, timeoutSeconds, 410 as an ERROR event after compaction), create/update/patch (strategic, merge,
JSON patch, server-side apply with field managers and conflicts), delete, the Deployment `/scale`
subresource, pod logs (follow, tailLines, timestamps), Status bodies for 400/401/403/404/409/410/415/422,
and a deployment controller (ReplicaSets, pods turning ready, rolling updates, kubectl's status fields).

Faults are injected per verb and resource: `deny` (403, RBAC), `fail` (any code), `hang`; `cut_after`
cuts watches mid-event and `expire_watches()` ends them with 410.

Simplifications, on purpose: one container runtime that is never wrong (pods turn ready after
`ready_after` seconds); lists always read the newest state; apply treats lists as atomic.

What it is still for, now that the tests also run against a real cluster (`.ci/cluster up`,
tests/test_cluster.py and tests/test_cluster_walkthrough.py, which cover list/watch/resume, a real 410,
server-side apply, /scale, restartedAt, RBAC 403, 404, TLS with the cluster's CA, an API-server restart):
faults a real server cannot be made to show on demand — a verb that hangs, a 500 or 502, a watch cut in the
middle of an event, a 401 for a token that reads but may not write — and a deployment controller whose
pods turn ready on cue, for the pilot tests that need many contexts quickly and for machines without root.

Run it alone for a demo:  python tests/apiserver.py --port 8001 --kubeconfig /tmp/kubeconfig
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Obj = dict[str, Any]

# (group, version, plural) -> (Kind, namespaced, short names)
RESOURCES: dict[tuple[str, str, str], tuple[str, bool, list[str]]] = {
    ("", "v1", "pods"): ("Pod", True, ["po"]),
    ("", "v1", "services"): ("Service", True, ["svc"]),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True, ["sa"]),
    ("", "v1", "events"): ("Event", True, ["ev"]),
    ("", "v1", "namespaces"): ("Namespace", False, ["ns"]),
    ("apps", "v1", "deployments"): ("Deployment", True, ["deploy"]),
    ("apps", "v1", "replicasets"): ("ReplicaSet", True, ["rs"]),
    ("autoscaling", "v2", "horizontalpodautoscalers"): ("HorizontalPodAutoscaler", True, ["hpa"]),
    ("policy", "v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True, ["pdb"]),
    ("networking.k8s.io", "v1", "networkpolicies"): ("NetworkPolicy", True, ["netpol"]),
}
PLURAL_GROUP = {plural: group for (group, _v, plural) in RESOURCES}
FIELDS = {  # field selectors each resource supports beyond metadata.name/namespace (§4)
    "pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
               "reason", "reportingComponent", "source", "type"},
    "namespaces": {"status.phase"},
    "replicasets": {"status.replicas"},
}
TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def now_rfc3339(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


class ApiError(Exception):
    """A Status body with its HTTP code (§2)."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.details = code, reason, details or {}

    def status(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": str(self), "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def qualified(plural: str) -> str:
    group = PLURAL_GROUP.get(plural, "")
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(plural)} "{name}" not found',
                    {"name": name, "group": PLURAL_GROUP.get(plural, ""), "kind": plural})


def invalid(kind: str, plural: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    text = ", ".join(f"{field}: {msg}" for _r, field, msg in causes)
    group = PLURAL_GROUP.get(plural, "")
    return ApiError(422, "Invalid", f'{kind}{"." + group if group else ""} "{name}" is invalid: {text}',
                    {"name": name, "group": group, "kind": kind,
                     "causes": [{"reason": r, "field": f, "message": m} for r, f, m in causes]})


# -- selectors (§4) ---------------------------------------------------------------------------------
_REQ = re.compile(r"\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|(in|notin)\s*\(([^)]*)\))?\s*")


def parse_labels(selector: str) -> list[tuple[str, str, set[str]]]:
    """[(key, op, values)] with op in =, !=, in, notin, exists, !exists."""
    out: list[tuple[str, str, set[str]]] = []
    pos = 0
    while pos < len(selector):
        m = _REQ.match(selector, pos)
        if not m or m.end() == pos:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: invalid label selector {selector!r}")
        bang, key, op, value, setop, values = m.groups()
        if bang:
            out.append((key, "!exists", set()))
        elif op:
            out.append((key, "!=" if op == "!=" else "=", {value}))
        elif setop:
            out.append((key, setop, {v.strip() for v in values.split(",") if v.strip()}))
        else:
            out.append((key, "exists", set()))
        pos = m.end()
        if pos < len(selector):
            if selector[pos] != ",":
                raise ApiError(400, "BadRequest", f"unable to parse requirement: invalid label selector {selector!r}")
            pos += 1
    return out


def labels_match(reqs: list[tuple[str, str, set[str]]], labels: dict[str, str]) -> bool:
    for key, op, values in reqs:
        have = labels.get(key)
        ok = {"=": have in values, "in": have in values, "!=": have not in values,
              "notin": have not in values, "exists": key in labels, "!exists": key not in labels}[op]
        if not ok:
            return False
    return True


def parse_fields(plural: str, selector: str) -> list[tuple[str, bool, str]]:
    out = []
    for part in filter(None, (p.strip() for p in selector.split(","))):
        m = re.match(r"^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid field selector: {part!r}")
        field, op, value = m.groups()
        known = {"metadata.name", "metadata.namespace"} | FIELDS.get(plural, set())
        if field not in known:
            allowed = ", ".join(f'"{f}"' for f in sorted(known))
            raise ApiError(400, "BadRequest", f'"{field}" is not a known field selector: only {allowed}')
        out.append((field, op != "!=", value))
    return out


def field_value(obj: Obj, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur).lower() if isinstance(cur, bool) else str(cur)


# -- patches (§1, §2) -----------------------------------------------------------------------------------
def merge_patch(target: Any, patch: Any, strategic: bool = False) -> Any:
    """RFC 7386; `strategic` also merges lists of named objects (containers, ports, env) by name."""
    if isinstance(patch, list) and strategic and isinstance(target, list) \
            and all(isinstance(p, dict) and "name" in p for p in patch) \
            and all(isinstance(t, dict) and "name" in t for t in target):
        by_name = {t["name"]: copy.deepcopy(t) for t in target}
        for p in patch:
            by_name[p["name"]] = merge_patch(by_name.get(p["name"], {}), p, strategic)
        return list(by_name.values())
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue  # strategic directives ($patch, $retainKeys): not simulated
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v, strategic)
    return out


def json_patch(target: Obj, ops: list[Obj]) -> Obj:
    """RFC 6902: add, remove, replace, test, copy, move."""
    doc = copy.deepcopy(target)

    def walk(path: str) -> tuple[Any, str]:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        cur: Any = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur, parts[-1]

    try:
        for op in ops:
            parent, key = walk(op["path"])
            kind = op["op"]
            if kind == "test":
                have = parent[int(key)] if isinstance(parent, list) else parent.get(key)
                if have != op["value"]:
                    raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our "
                                                   f"request: test failed at {op['path']}")
                continue
            if kind in ("copy", "move"):
                src_parent, src_key = walk(op["from"])
                value = src_parent[int(src_key)] if isinstance(src_parent, list) else src_parent[src_key]
                if kind == "move":
                    del src_parent[int(src_key) if isinstance(src_parent, list) else src_key]
                kind, op = "add", {**op, "value": copy.deepcopy(value)}
            if isinstance(parent, list):
                idx = len(parent) if key == "-" else int(key)
                if kind == "add":
                    parent.insert(idx, op["value"])
                elif kind == "remove":
                    del parent[idx]
                else:
                    parent[idx] = op["value"]
            elif kind == "remove":
                del parent[key]
            elif kind == "replace" and key not in parent:
                raise KeyError(key)
            else:
                parent[key] = op["value"]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                                       f"json patch failed: {exc}") from None
    return doc


def leaves(obj: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Field paths of an object down to scalars; lists are atomic (our simplification of apply)."""
    if isinstance(obj, dict) and obj:
        out: dict[tuple[str, ...], Any] = {}
        for k, v in obj.items():
            out.update(leaves(v, (*prefix, k)))
        return out
    return {prefix: obj}


def fields_v1(paths: list[tuple[str, ...]]) -> Obj:
    tree: Obj = {}
    for path in paths:
        cur = tree
        for p in path:
            cur = cur.setdefault(f"f:{p}", {})
    return tree


def get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    return obj


def drop_path(obj: Obj, path: tuple[str, ...]) -> None:
    parent = get_path(obj, path[:-1]) if len(path) > 1 else obj
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


# -- the cluster --------------------------------------------------------------------------------------
@dataclass
class Fault:
    verb: str  # get, list, watch, create, update, patch, delete, or "*"
    resource: str  # "deployments", "deployments/scale", "pods/log", or "*"
    code: int = 403
    hang: float = 0.0  # seconds to wait before answering (or failing)
    times: int = -1  # how many requests it hits; -1: until cleared


@dataclass
class Change:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    plural: str
    obj: Obj
    old: Obj | None


class Cluster:
    """The state behind the server: objects, one resourceVersion counter, the change history."""

    def __init__(self, ready_after: float = 0.2, terminate_after: float = 0.2, history: int = 50_000,
                 bookmark_every: float = 5.0, user: str = "alice") -> None:
        self.cond = threading.Condition()
        self.objects: dict[tuple[str, str, str], Obj] = {}  # (plural, namespace, name) -> object
        self.managers: dict[tuple[str, str, str], dict[tuple[str, ...], tuple[str, str]]] = {}
        self.rv = 1
        self.history: deque[Change] = deque(maxlen=history)
        self.compacted = 0  # changes at or below this resourceVersion are gone
        self.logs: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self.faults: list[Fault] = []
        self.cut_after: int | None = None  # watches close mid-event after this many events
        self.ready_after, self.terminate_after = ready_after, terminate_after
        self.bookmark_every = bookmark_every
        self.user = user
        self.requests: list[tuple[str, str, str]] = []  # (method, path?query, content-type) as received
        self.closing = False
        self.epoch = 0  # expire_watches() bumps it
        for ns in ("default", "kube-system"):
            self.create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                          "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    # -- faults ------------------------------------------------------------------------------
    def deny(self, verb: str, resource: str, times: int = -1) -> None:
        self.faults.append(Fault(verb, resource, 403, times=times))

    def fail(self, verb: str, resource: str, code: int = 500, times: int = -1) -> None:
        self.faults.append(Fault(verb, resource, code, times=times))

    def hang(self, verb: str, resource: str, seconds: float, times: int = -1) -> None:
        self.faults.append(Fault(verb, resource, 0, hang=seconds, times=times))

    def clear_faults(self) -> None:
        self.faults.clear()
        self.cut_after = None

    def fault_for(self, verb: str, resource: str) -> Fault | None:
        with self.cond:
            for f in self.faults:
                if f.verb in (verb, "*") and f.resource in (resource, "*") and f.times != 0:
                    f.times -= 1 if f.times > 0 else 0
                    return f
        return None

    def compact(self) -> None:
        """Forget the change history, as etcd compaction does: older watches get 410 Expired (§5)."""
        with self.cond:
            self.history.clear()
            self.compacted = self.rv

    def expire_watches(self) -> None:
        """Compact and end every open watch with ERROR 410, as after an API server restart."""
        with self.cond:
            self.compact()
            self.epoch += 1
            self.cond.notify_all()

    # -- storage -----------------------------------------------------------------------------
    def _commit(self, kind: str, plural: str, obj: Obj, old: Obj | None) -> Obj:
        """Give `obj` the next resourceVersion, store it and record the change. Holds cond."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = (plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if kind == "DELETED":
            self.objects.pop(key, None)
            self.managers.pop(key, None)
        else:
            self.objects[key] = obj
        self.history.append(Change(self.rv, kind, plural, obj, old))
        if len(self.history) == self.history.maxlen:
            self.compacted = self.history[0].rv - 1
        self.cond.notify_all()
        return obj

    def get(self, plural: str, ns: str, name: str) -> Obj:
        with self.cond:
            obj = self.objects.get((plural, ns, name))
            if obj is None:
                raise not_found(plural, name)
            return copy.deepcopy(obj)

    def items(self, plural: str, ns: str | None = None) -> list[Obj]:
        with self.cond:
            return [o for (p, n, _), o in sorted(self.objects.items()) if p == plural and (ns is None or n == ns)]

    def create(self, plural: str, ns: str, obj: Obj, manager: str = "", operation: str = "Update") -> Obj:
        kind = kind_of(plural)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = meta.get("name", "")
        validate(kind, plural, obj)
        with self.cond:
            if ns and ("namespaces", "", ns) not in self.objects:
                raise not_found("namespaces", ns)
            if (plural, ns, name) in self.objects:
                raise ApiError(409, "AlreadyExists", f'{qualified(plural)} "{name}" already exists',
                               {"name": name, "group": PLURAL_GROUP.get(plural, ""), "kind": plural})
            applied = leaves(_owned_part(obj))  # what the client set, before the server's defaults
            if ns:
                meta["namespace"] = ns
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339(), generation=1, _created=time.time())
            obj["apiVersion"], obj["kind"] = api_version(plural), kind
            defaults(plural, obj)
            if manager:
                self._own((plural, ns, name), obj, applied, manager, operation)
            return copy.deepcopy(self._commit("ADDED", plural, obj, None))

    def update(self, plural: str, obj: Obj, manager: str = "", operation: str = "Update",
               keep_status: bool = True) -> Obj:
        """Store a new version of an existing object; status comes only from the controller (§3)."""
        meta = obj["metadata"]
        key = (plural, meta.get("namespace", ""), meta["name"])
        with self.cond:
            old = self.objects.get(key)
            if old is None:
                raise not_found(plural, meta["name"])
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(plural)} '
                                                f'"{meta["name"]}": the object has been modified; please apply '
                                                f'your changes to the latest version and try again',
                               {"name": meta["name"], "group": PLURAL_GROUP.get(plural, ""), "kind": plural})
            obj = copy.deepcopy(obj)
            validate(kind_of(plural), plural, obj)
            for immutable in ("uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp", "_created",
                              "_deleting_at"):
                if immutable in old["metadata"]:
                    obj["metadata"][immutable] = old["metadata"][immutable]
            obj["apiVersion"], obj["kind"] = old["apiVersion"], old["kind"]
            if keep_status and "status" in old:
                obj["status"] = old["status"]
            if obj.get("spec") != old.get("spec") or \
                    obj["metadata"].get("annotations") != old["metadata"].get("annotations"):
                obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            if _unversioned(obj) == _unversioned(old):
                return copy.deepcopy(old)  # nothing changed: no new resourceVersion
            if manager:
                changed = {p for p, v in leaves(_owned_part(obj)).items() if get_path(_owned_part(old), p) != v}
                self.managers.setdefault(key, {})
                self._own(key, obj, {p: None for p in changed}, manager, operation)
            self._render_managed(key, obj)
            return copy.deepcopy(self._commit("MODIFIED", plural, obj, old))

    def delete(self, plural: str, ns: str, name: str) -> Obj:
        with self.cond:
            old = self.objects.get((plural, ns, name))
            if old is None:
                raise not_found(plural, name)
            if plural == "pods" and self.terminate_after > 0:
                if "deletionTimestamp" not in old["metadata"]:  # graceful: Terminating, then gone
                    obj = copy.deepcopy(old)
                    obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                    obj["metadata"]["deletionGracePeriodSeconds"] = 30
                    obj["metadata"]["_deleting_at"] = time.time()
                    return copy.deepcopy(self._commit("MODIFIED", plural, obj, old))
                return copy.deepcopy(old)
            return copy.deepcopy(self._commit("DELETED", plural, copy.deepcopy(old), old))

    def delete_now(self, plural: str, ns: str, name: str) -> None:
        """The end of a pod's grace period: the object goes."""
        with self.cond:
            old = self.objects.get((plural, ns, name))
            if old is not None:
                self._commit("DELETED", plural, copy.deepcopy(old), old)

    # -- field managers (server-side apply) ---------------------------------------------------
    def _own(self, key: tuple[str, str, str], obj: Obj, paths: dict[tuple[str, ...], Any], manager: str,
             operation: str) -> None:
        owners = self.managers.setdefault(key, {})
        for p in paths:
            owners[p] = (manager, operation)
        self._render_managed(key, obj)

    def _render_managed(self, key: tuple[str, str, str], obj: Obj) -> None:
        by: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        for path, who in self.managers.get(key, {}).items():
            by.setdefault(who, []).append(path)
        obj["metadata"]["managedFields"] = [
            {"manager": m, "operation": op, "apiVersion": obj["apiVersion"], "time": now_rfc3339(),
             "fieldsType": "FieldsV1", "fieldsV1": fields_v1(paths)} for (m, op), paths in sorted(by.items())]

    def apply(self, plural: str, ns: str, name: str, body: Obj, manager: str, force: bool) -> tuple[Obj, bool]:
        """Server-side apply: (object, created). Conflicts name the other manager and the fields."""
        if body.get("metadata", {}).get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        with self.cond:
            key = (plural, ns, name)
            current = self.objects.get(key)
            if current is None:
                return self.create(plural, ns, body, manager, "Apply"), True
            applied = leaves(_owned_part(body))
            owners = self.managers.setdefault(key, {})
            conflicts = [(p, owners[p][0]) for p, v in applied.items()
                         if p in owners and owners[p][0] != manager and get_path(_owned_part(current), p) != v]
            if conflicts and not force:
                causes = [{"reason": "FieldManagerConflict", "field": "." + ".".join(p),
                           "message": f'conflict with "{m}"'} for p, m in conflicts]
                text = "\n".join(f'- conflict with "{m}": .{".".join(p)}' for p, m in conflicts)
                raise ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict"
                                                f"{'s' if len(conflicts) != 1 else ''}:\n{text}",
                               {"causes": causes})
            merged = merge_patch(current, body)
            for path, (m, op) in list(owners.items()):  # fields this manager applied before and now dropped
                if m == manager and op == "Apply" and path not in applied:
                    drop_path(merged, path)
                    del owners[path]
            merged["metadata"]["resourceVersion"] = ""
            self.update(plural, merged)
            self._own(key, self.objects[key], applied, manager, "Apply")
            return copy.deepcopy(self.objects[key]), False

    # -- logs -----------------------------------------------------------------------------------
    def log(self, ns: str, pod: str, line: str) -> None:
        with self.cond:
            self.logs.setdefault((ns, pod), []).append((time.time(), line))
            self.cond.notify_all()


def _unversioned(obj: Obj) -> Obj:
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    return {**obj, "metadata": meta}


def kind_of(plural: str) -> str:
    return next(k for (_g, _v, p), (k, _n, _s) in RESOURCES.items() if p == plural)


def api_version(plural: str) -> str:
    group, version = next((g, v) for (g, v, p) in RESOURCES if p == plural)
    return f"{group}/{version}" if group else version


def _owned_part(obj: Obj) -> Obj:
    """What field managers own: everything but status and server-set metadata."""
    meta = {k: v for k, v in obj.get("metadata", {}).items()
            if k in ("labels", "annotations", "ownerReferences", "finalizers")}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")},
            **({"metadata": meta} if meta else {})}


def validate(kind: str, plural: str, obj: Obj) -> None:
    name = obj.get("metadata", {}).get("name", "")
    causes = []
    if not name:
        causes.append(("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"))
    elif not NAME_RE.match(name) or len(name) > 253:
        causes.append(("FieldValueInvalid", "metadata.name",
                       f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                       "alphanumeric characters, '-' or '.'"))
    if plural == "deployments":
        spec = obj.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels")
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            causes.append(("FieldValueRequired", "spec.selector", "Required value"))
        elif any(template_labels.get(k) != v for k, v in selector.items()):
            causes.append(("FieldValueInvalid", "spec.template.metadata.labels",
                           "Invalid value: `selector` does not match template `labels`"))
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            causes.append(("FieldValueRequired", "spec.template.spec.containers", "Required value"))
        if int(spec.get("replicas", 1)) < 0:
            causes.append(("FieldValueInvalid", "spec.replicas",
                           "Invalid value: must be greater than or equal to 0"))
    if causes:
        raise invalid(kind, plural, name, causes)


def defaults(plural: str, obj: Obj) -> None:
    if plural == "deployments":
        spec = obj["spec"]
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        obj.setdefault("status", {})
    elif plural == "pods":
        obj.setdefault("status", {"phase": "Pending"})


# -- the deployment controller (§8) ------------------------------------------------------------------
class Controller:
    """Deployments own ReplicaSets own Pods: scale, roll out with maxUnavailable 0, report status."""

    NODES = ("node-a", "node-b", "node-c")

    def __init__(self, cluster: Cluster, tick: float = 0.05) -> None:
        self.c = cluster
        self.tick = tick
        self._next_node = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="standin-controller")

    def _run(self) -> None:
        seen = -1
        while not self.c.closing:
            with self.c.cond:
                if self.c.rv == seen and not self._timed_work():
                    self.c.cond.wait(1.0)
                seen = self.c.rv
            self.reconcile()
            time.sleep(self.tick)

    def _timed_work(self) -> bool:
        """Are pods waiting to turn ready or to finish terminating?"""
        return any(not _pod_ready(p) or "deletionTimestamp" in p["metadata"] for p in self.c.items("pods"))

    def reconcile(self) -> None:
        c = self.c
        now = time.time()
        for pod in c.items("pods"):
            meta = pod["metadata"]
            if "_deleting_at" in meta and now - meta["_deleting_at"] >= c.terminate_after:
                c.delete_now("pods", meta["namespace"], meta["name"])
            elif "deletionTimestamp" not in meta and not _pod_ready(pod) \
                    and now - _created(pod) >= c.ready_after:
                ready = copy.deepcopy(pod)
                ready["status"] = _pod_status(pod, True)
                c.update("pods", ready, keep_status=False)
                c.log(meta["namespace"], meta["name"], "recognizer: ready on :8501")
        uids = {o["metadata"]["uid"] for p in ("deployments", "replicasets") for o in c.items(p)}
        for plural in ("replicasets", "pods"):  # garbage collection of orphans (background propagation)
            for o in c.items(plural):
                owners = o["metadata"].get("ownerReferences") or []
                if owners and not any(r["uid"] in uids for r in owners) and "deletionTimestamp" not in o["metadata"]:
                    c.delete(plural, o["metadata"]["namespace"], o["metadata"]["name"])
        for dep in c.items("deployments"):
            with contextlib.suppress(ApiError):  # raced with a user write: the next pass sees the new state
                self._sync_deployment(dep)

    def _sync_deployment(self, dep: Obj) -> None:
        c = self.c
        ns, name, uid = dep["metadata"]["namespace"], dep["metadata"]["name"], dep["metadata"]["uid"]
        spec = dep["spec"]
        template_hash = hashlib.sha256(json.dumps(spec["template"], sort_keys=True).encode()).hexdigest()[:10]
        owned = [rs for rs in c.items("replicasets", ns)
                 if any(r["uid"] == uid for r in rs["metadata"].get("ownerReferences") or [])]
        new = next((rs for rs in owned if rs["metadata"]["labels"].get(TEMPLATE_HASH) == template_hash), None)
        revision = 1 + max((int(rs["metadata"].get("annotations", {}).get(REVISION, 0)) for rs in owned), default=0)
        if new is None:
            template = copy.deepcopy(spec["template"])
            template.setdefault("metadata", {}).setdefault("labels", {})[TEMPLATE_HASH] = template_hash
            new = c.create("replicasets", ns, {
                "metadata": {"name": f"{name}-{template_hash}", "labels": template["metadata"]["labels"],
                             "annotations": {REVISION: str(revision)},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                  "uid": uid, "controller": True, "blockOwnerDeletion": True}]},
                "spec": {"replicas": 0, "selector": {"matchLabels": {**spec["selector"]["matchLabels"],
                                                                      TEMPLATE_HASH: template_hash}},
                         "template": template}})
            self._event(dep, "ScalingReplicaSet", f"Scaled up replica set {new['metadata']['name']} to 0")
            owned.append(new)
        old = [rs for rs in owned if rs is not new and rs["metadata"]["name"] != new["metadata"]["name"]]
        desired = int(spec.get("replicas", 1))
        pods = {rs["metadata"]["name"]: self._pods_of(rs) for rs in owned}
        new_available = sum(_pod_ready(p) for p in pods[new["metadata"]["name"]])
        # maxUnavailable 0: old replicas go only as new ones become available
        old_allowed = max(0, desired - new_available)
        self._scale_rs(dep, new, desired)
        for rs in sorted(old, key=_created):
            keep = min(int(rs["spec"].get("replicas", 0)), old_allowed)
            old_allowed -= keep
            self._scale_rs(dep, rs, keep)
        for rs in owned:
            self._sync_pods(c.get("replicasets", ns, rs["metadata"]["name"]))
        self._status(dep, new, owned)

    def _pods_of(self, rs: Obj) -> list[Obj]:
        uid = rs["metadata"]["uid"]
        return [p for p in self.c.items("pods", rs["metadata"]["namespace"])
                if any(r["uid"] == uid for r in p["metadata"].get("ownerReferences") or [])
                and "deletionTimestamp" not in p["metadata"]]

    def _scale_rs(self, dep: Obj, rs: Obj, n: int) -> None:
        current = self.c.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        have = int(current["spec"].get("replicas", 0))
        if have != n:
            current["spec"]["replicas"] = n
            current["metadata"]["resourceVersion"] = ""
            self.c.update("replicasets", current)
            self._event(dep, "ScalingReplicaSet",
                        f"Scaled {'up' if n > have else 'down'} replica set {rs['metadata']['name']} to {n}")

    def _sync_pods(self, rs: Obj) -> None:
        ns = rs["metadata"]["namespace"]
        pods = self._pods_of(rs)
        want = int(rs["spec"].get("replicas", 0))
        for _ in range(want - len(pods)):
            node = self.NODES[self._next_node % len(self.NODES)]
            self._next_node += 1
            template = rs["spec"]["template"]
            pod = {"metadata": {"name": f"{rs['metadata']['name']}-{secrets.token_hex(3)[:5]}",
                                "labels": template["metadata"]["labels"],
                                "annotations": template["metadata"].get("annotations", {}),
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                     "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"],
                                                     "controller": True, "blockOwnerDeletion": True}]},
                   "spec": {**template["spec"], "nodeName": node}}
            created = self.c.create("pods", ns, pod)
            created["status"] = _pod_status(created, False)
            self.c.update("pods", created, keep_status=False)
            self.c.log(ns, created["metadata"]["name"], "recognizer: loading model")
        if len(pods) > want:  # not-ready first, then newest first: what the ReplicaSet controller prefers
            for p in sorted(pods, key=lambda p: (_pod_ready(p), _created(p)))[: len(pods) - want]:
                self.c.delete("pods", ns, p["metadata"]["name"])
        live = self._pods_of(rs)
        ready = sum(_pod_ready(p) for p in live)
        status = {"replicas": len(live), "fullyLabeledReplicas": len(live), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
        if rs.get("status") != status:
            rs["status"] = status
            self.c.update("replicasets", rs, keep_status=False)

    def _status(self, dep: Obj, new: Obj, owned: list[Obj]) -> None:
        """kubectl's fields, as the deployment controller's calculateStatus computes them (§8)."""
        c = self.c
        ns = dep["metadata"]["namespace"]
        sets = [c.get("replicasets", ns, rs["metadata"]["name"]) for rs in owned]
        new_now = next(rs for rs in sets if rs["metadata"]["name"] == new["metadata"]["name"])
        total = sum(rs.get("status", {}).get("replicas", 0) for rs in sets)
        available = sum(rs.get("status", {}).get("availableReplicas", 0) for rs in sets)
        ready = sum(rs.get("status", {}).get("readyReplicas", 0) for rs in sets)
        updated = new_now.get("status", {}).get("replicas", 0)
        desired = int(dep["spec"].get("replicas", 1))
        complete = updated == desired and total == desired and available == desired
        status: Obj = {"observedGeneration": dep["metadata"]["generation"], "replicas": total,
                       "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                       "unavailableReplicas": max(sum(int(rs["spec"].get("replicas", 0)) for rs in sets)
                                                  - available, 0)}
        stamp = now_rfc3339()
        previous = {cond["type"]: cond for cond in dep.get("status", {}).get("conditions", [])}
        conds = [("Available", available >= desired,
                  "MinimumReplicasAvailable" if available >= desired else "MinimumReplicasUnavailable",
                  "Deployment has minimum availability." if available >= desired
                  else "Deployment does not have minimum availability."),
                 ("Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                  f'ReplicaSet "{new["metadata"]["name"]}" '
                  f'{"has successfully progressed." if complete else "is progressing."}')]
        status["conditions"] = []
        for kind, ok, why, text in conds:
            before = previous.get(kind, {})
            same = before.get("status") == str(ok) and before.get("reason") == why
            status["conditions"].append({"type": kind, "status": str(ok), "reason": why, "message": text,
                                         "lastUpdateTime": before.get("lastUpdateTime", stamp) if same else stamp,
                                         "lastTransitionTime": before.get("lastTransitionTime", stamp)
                                         if before.get("status") == str(ok) else stamp})
        if dep.get("status") != status:
            current = c.get("deployments", ns, dep["metadata"]["name"])
            if current["metadata"]["generation"] != dep["metadata"]["generation"]:
                return  # the spec moved on while we looked: next pass
            current["status"] = status
            current["metadata"]["annotations"] = {**current["metadata"].get("annotations", {}),
                                                  REVISION: new_now["metadata"]["annotations"][REVISION]}
            current["metadata"]["resourceVersion"] = ""
            with c.cond:  # the revision annotation is the controller's, not a spec change
                old = c.objects[("deployments", ns, dep["metadata"]["name"])]
                current["metadata"]["generation"] = old["metadata"]["generation"]
                current["metadata"]["managedFields"] = old["metadata"].get("managedFields", [])
                c._commit("MODIFIED", "deployments", current, old)

    def _event(self, dep: Obj, why: str, text: str) -> None:
        meta = dep["metadata"]
        self.c.create("events", meta["namespace"], {
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}"},
            "involvedObject": {"kind": "Deployment", "namespace": meta["namespace"], "name": meta["name"],
                               "uid": meta["uid"], "apiVersion": "apps/v1"},
            "reason": why, "message": text, "type": "Normal", "count": 1,
            "source": {"component": "deployment-controller"}, "reportingComponent": "deployment-controller",
            "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339()})


def _created(obj: Obj) -> float:
    return float(obj["metadata"]["_created"])  # creationTimestamp has whole seconds only


def _pod_ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _pod_status(pod: Obj, ready: bool) -> Obj:
    stamp = now_rfc3339()
    containers = pod["spec"].get("containers", [])
    return {"phase": "Running" if ready else "Pending", "hostIP": "192.0.2.10", "podIP": "192.0.2.100",
            "startTime": pod["metadata"]["creationTimestamp"],
            "conditions": [{"type": t, "status": str(ready), "lastTransitionTime": stamp}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": ct["name"], "image": ct.get("image", ""), "imageID": "",
                                   "ready": ready, "restartCount": 0, "started": ready,
                                   "state": {"running": {"startedAt": stamp}} if ready
                                   else {"waiting": {"reason": "ContainerCreating"}}} for ct in containers]}




# -- HTTP ------------------------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # entry points
    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        cluster = self.server.cluster
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        cluster.requests.append((method, self.path, self.headers.get("Content-Type", "")))
        try:
            token = self.server.token
            if token and self.headers.get("Authorization") != f"Bearer {token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self._route(method, url.path)
        except ApiError as exc:
            self._json(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _json(self, code: int, body: Any) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code, HTTPStatus(code).phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200, "OK")
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _route(self, method: str, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        if path in ("/version", "/version/"):
            return self._json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-aitui-standin",
                                    "platform": "linux/amd64"})
        if parts == ["api"]:
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.address}]})
        if parts == ["apis"]:
            return self._json(200, discovery_groups())
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._json(200, discovery_resources(group, version))
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
        if (group, version, plural) not in RESOURCES:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource = f"{plural}/{sub}" if sub else plural
        verb = {"GET": "get" if name else ("watch" if _true(self.query.get("watch")) else "list"),
                "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        self._inject(verb, resource, group, ns, name)
        if verb == "watch":
            return self._watch(plural, ns)
        if sub == "log" and plural == "pods":
            return self._logs(ns, name)
        if sub == "scale" and plural == "deployments":
            return self._scale(method, ns, name)
        if sub:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        handler = {"get": self._get, "list": self._list, "create": self._create, "update": self._update,
                   "patch": self._patch, "delete": self._delete}[verb]
        handler(plural, ns, name)

    def _inject(self, verb: str, resource: str, group: str, ns: str, name: str) -> None:
        fault = self.server.cluster.fault_for(verb, resource)
        if fault is None:
            return
        if fault.hang:
            time.sleep(fault.hang)
        if fault.code == 403:  # the authorizer's exact words (§2)
            who = f'{resource.split("/")[0]}.{group}' if group else resource.split("/")[0]
            subject = f'{who} "{name}"' if name else who
            where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
            raise ApiError(403, "Forbidden", f'{subject} is forbidden: User "{self.server.cluster.user}" cannot '
                                             f'{verb} resource "{resource}" in API group "{group}"{where}',
                           {"name": name, "group": group, "kind": resource.split("/")[0]})
        if fault.code:
            phrase = HTTPStatus(fault.code).phrase
            raise ApiError(fault.code, phrase.replace(" ", ""), f"injected fault: {phrase}")

    # verbs
    def _get(self, plural: str, ns: str, name: str) -> None:
        self._json(200, _public(self.server.cluster.get(plural, ns, name)))

    def _matcher(self, plural: str) -> Any:
        reqs = parse_labels(self.query.get("labelSelector", ""))
        fields = parse_fields(plural, self.query.get("fieldSelector", ""))
        return lambda o: labels_match(reqs, o["metadata"].get("labels") or {}) and \
            all((field_value(o, f) == v) == eq for f, eq, v in fields)

    def _list(self, plural: str, ns: str, _name: str) -> None:
        match = self._matcher(plural)
        cluster = self.server.cluster
        with cluster.cond:
            rv = cluster.rv
            items = [o for o in cluster.items(plural, ns or None) if match(o)]
        start, limit = 0, int(self.query.get("limit") or 0)
        if self.query.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(self.query["continue"]))
                start, rv = int(token["start"]), int(token["rv"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "continue key is not valid") from None
            if rv <= cluster.compacted:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to display a "
                                               "consistent list result. You can start a new list without the "
                                               "continue parameter.")
        meta: Obj = {"resourceVersion": str(rv)}
        if limit and start + limit < len(items):
            token = json.dumps({"rv": rv, "start": start + limit}).encode()
            meta["continue"] = base64.urlsafe_b64encode(token).decode()
            if not self.query.get("labelSelector") and not self.query.get("fieldSelector"):
                meta["remainingItemCount"] = len(items) - start - limit
            items = items[start:start + limit]
        else:
            items = items[start:]
        kind = kind_of(plural)
        self._json(200, {"kind": f"{kind}List", "apiVersion": api_version(plural), "metadata": meta,
                         "items": [_public(o, bare=True) for o in items]})

    def _read_body(self) -> Any:
        ctype = self.headers.get("Content-Type", "")
        if "protobuf" in ctype or "cbor" in ctype:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                        f"accepted media types include: application/json, "
                                                        f"application/yaml (not {ctype.split(';')[0]})")
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            if "yaml" in self.headers.get("Content-Type", ""):
                import yaml

                return yaml.safe_load(self.body)
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format") from None

    def _manager(self) -> str:
        return self.query.get("fieldManager") or self.headers.get("User-Agent", "unknown").split("/")[0]

    def _create(self, plural: str, ns: str, _name: str) -> None:
        body = self._read_body()
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be an object")
        if _dry_run(self.query):
            return self._json(201, body)
        self._json(201, _public(self.server.cluster.create(plural, ns, body, self._manager())))

    def _update(self, plural: str, ns: str, name: str) -> None:
        body = self._read_body()
        if not isinstance(body, dict) or body.get("metadata", {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        body["metadata"]["namespace"] = ns
        if not ns:
            body["metadata"].pop("namespace")
        self._json(200, _public(self.server.cluster.update(plural, body, self._manager())))

    def _patched(self, current: Obj) -> Obj:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        patch = self._read_body()
        if _true(self.query.get("force")) and ctype != "application/apply-patch+yaml":
            raise ApiError(422, "Invalid", "force: Forbidden: may not be specified for non-apply patch")
        if ctype == "application/json-patch+json":
            if not isinstance(patch, list):
                raise ApiError(400, "BadRequest", "json patch must be a list of operations")
            return json_patch(current, patch)
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "patch must be an object")
            return merge_patch(current, patch, strategic=ctype.startswith("application/strategic"))
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                    "accepted media types include: application/json-patch+json, "
                                                    "application/merge-patch+json, application/apply-patch+yaml, "
                                                    "application/strategic-merge-patch+json")

    def _patch(self, plural: str, ns: str, name: str) -> None:
        cluster = self.server.cluster
        if self.headers.get("Content-Type", "").startswith("application/apply-patch"):
            manager = self.query.get("fieldManager")
            if not manager:
                raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                               "Required value: is required for apply patch")
            body = self._read_body()
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "apply patch must be an object")
            obj, created = cluster.apply(plural, ns, name, body, manager, _true(self.query.get("force")))
            return self._json(201 if created else 200, _public(obj))
        current = cluster.get(plural, ns, name)
        patched = self._patched(current)
        patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self._json(200, _public(cluster.update(plural, patched, self._manager())))

    def _delete(self, plural: str, ns: str, name: str) -> None:
        obj = self.server.cluster.delete(plural, ns, name)
        if plural == "pods":
            return self._json(200, _public(obj))  # pods return the object (§2)
        self._json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": {"name": name, "group": PLURAL_GROUP[plural], "kind": plural,
                                     "uid": obj["metadata"]["uid"]}})

    def _scale(self, method: str, ns: str, name: str) -> None:
        """The Deployment's /scale subresource (§6): the Scale's resourceVersion is the Deployment's."""
        cluster = self.server.cluster
        dep = cluster.get("deployments", ns, name)
        scale = scale_of(dep)
        if method == "GET":
            return self._json(200, scale)
        if method == "PUT":
            wanted = self._read_body()
        elif method == "PATCH":
            wanted = self._patched(scale)
            wanted["metadata"]["resourceVersion"] = ""  # a patch carries no precondition of its own
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on deployments/scale")
        try:
            replicas = int(wanted["spec"]["replicas"])
        except (KeyError, TypeError, ValueError):
            raise invalid("Scale", "deployments", name, [("FieldValueRequired", "spec.replicas",
                                                           "Required value")]) from None
        if replicas < 0:
            raise invalid("Scale", "deployments", name, [("FieldValueInvalid", "spec.replicas",
                                                           f"Invalid value: {replicas}: must be greater than or "
                                                           "equal to 0")])
        dep["spec"]["replicas"] = replicas
        dep["metadata"]["resourceVersion"] = (wanted.get("metadata") or {}).get("resourceVersion", "")
        self._json(200, scale_of(cluster.update("deployments", dep, self._manager())))

    def _watch(self, plural: str, ns: str) -> None:
        """§5: synthetic ADDED from "" or "0", changes after N otherwise, ERROR 410 if N is compacted."""
        cluster = self.server.cluster
        match = self._matcher(plural)
        timeout = float(self.query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        bookmarks = _true(self.query.get("allowWatchBookmarks"))
        since = self.query.get("resourceVersion", "")
        self._start_stream("application/json")
        sent = 0

        def send(kind: str, obj: Obj) -> bool:
            nonlocal sent
            line = json.dumps({"type": kind, "object": _public(obj)}, separators=(",", ":")).encode() + b"\n"
            if cluster.cut_after is not None and sent >= cluster.cut_after:
                self.wfile.write(f"{len(line):x}\r\n".encode() + line[: len(line) // 2])
                self.wfile.flush()
                self.close_connection = True
                return False
            self._chunk(line)
            sent += 1
            return True

        with cluster.cond:
            epoch = cluster.epoch
            cursor = cluster.rv
            initial = [o for o in cluster.items(plural, ns or None) if match(o)] if since in ("", "0") else []
            if since not in ("", "0"):
                cursor = int(since) if since.isdigit() else 0
                if cursor < cluster.compacted:
                    current = cluster.rv
                    initial = None  # type: ignore[assignment]
        if initial is None:
            return self._expired(cursor, current)
        for o in initial:
            if not send("ADDED", o):
                return
        last_sent = time.monotonic()
        while not cluster.closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with cluster.cond:
                changes = [ch for ch in cluster.history if ch.rv > cursor]
                if not changes:
                    cluster.cond.wait(min(remaining, cluster.bookmark_every, 1.0))
                    changes = [ch for ch in cluster.history if ch.rv > cursor]
                if cluster.epoch != epoch:
                    current = cluster.rv
                    changes = None  # type: ignore[assignment]
                now_rv = cluster.rv
            if changes is None:
                return self._expired(cursor, current)
            for ch in changes:
                cursor = ch.rv
                if ch.plural != plural or (ns and ch.obj["metadata"].get("namespace") != ns):
                    continue
                was = ch.old is not None and match(ch.old)
                now = ch.type != "DELETED" and match(ch.obj)
                kind = {(False, True): "ADDED", (True, True): "MODIFIED", (True, False): "DELETED"}.get((was, now))
                if ch.type == "DELETED" and was:
                    kind = "DELETED"
                if kind and not send(kind, ch.obj):
                    return
                last_sent = time.monotonic()
            if bookmarks and time.monotonic() - last_sent >= cluster.bookmark_every:
                if not send("BOOKMARK", {"kind": kind_of(plural), "apiVersion": api_version(plural),
                                         "metadata": {"resourceVersion": str(now_rv)}}):
                    return
                cursor = max(cursor, now_rv)
                last_sent = time.monotonic()
        self._end_stream()

    def _expired(self, cursor: int, current: int) -> None:
        line = json.dumps({"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"too old resource version: {cursor} ({current})", "reason": "Expired", "code": 410}})
        self._chunk(line.encode() + b"\n")
        self._end_stream()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _logs(self, ns: str, name: str) -> None:
        """§7: text/plain; 400 for a wrong container; follow streams until the pod is gone."""
        cluster = self.server.cluster
        pod = cluster.get("pods", ns, name)
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        container = self.query.get("container")
        if container and container not in names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        if not container and len(names) > 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, "
                                              f"choose one of: [{' '.join(names)}]")
        stamps = _true(self.query.get("timestamps"))
        tail = int(self.query["tailLines"]) if self.query.get("tailLines") else None

        def fmt(entry: tuple[float, str]) -> bytes:
            t, line = entry
            if stamps:
                frac = f"{t % 1:.9f}"[2:]
                return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t))}.{frac}Z {line}\n".encode()
            return f"{line}\n".encode()

        with cluster.cond:
            lines = list(cluster.logs.get((ns, name), []))
        seen = len(lines)  # what a follow sends after this snapshot: every line logged since, none lost
        if tail is not None:
            lines = lines[-tail:] if tail else []
        if not _true(self.query.get("follow")):
            data = b"".join(map(fmt, lines))
            self.send_response(200, "OK")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._start_stream("text/plain")
        if lines:
            self._chunk(b"".join(map(fmt, lines)))
        while not cluster.closing:
            with cluster.cond:
                cluster.cond.wait(1.0)
                new = cluster.logs.get((ns, name), [])[seen:]
                gone = ("pods", ns, name) not in cluster.objects
            seen += len(new)
            if new:
                self._chunk(b"".join(map(fmt, new)))
            if gone:
                break
        self._end_stream()


def _true(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _dry_run(query: dict[str, str]) -> bool:
    return query.get("dryRun") == "All"


def _public(obj: Obj, bare: bool = False) -> Obj:
    """The object as the API shows it: our bookkeeping keys removed; list items without kind (§4)."""
    out = dict(obj)
    meta = {k: v for k, v in obj["metadata"].items() if not k.startswith("_")}
    out["metadata"] = meta
    if bare:
        out.pop("kind", None)
        out.pop("apiVersion", None)
    return out


def scale_of(dep: Obj) -> Obj:
    meta = dep["metadata"]
    selector = ",".join(f"{k}={v}" for k, v in dep["spec"]["selector"]["matchLabels"].items())
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
            "spec": {"replicas": dep["spec"].get("replicas", 1)},
            "status": {"replicas": dep.get("status", {}).get("replicas", 0), "selector": selector}}


def discovery_groups() -> Obj:
    groups: dict[str, list[str]] = {}
    for group, version, _p in RESOURCES:
        if group and version not in groups.setdefault(group, []):
            groups[group].append(version)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
         "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in groups.items()]}


def discovery_resources(group: str, version: str) -> Obj:
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    out = []
    for (g, v, plural), (kind, namespaced, short) in RESOURCES.items():
        if (g, v) != (group, version):
            continue
        out.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                    "verbs": verbs, "shortNames": short})
        if plural == "deployments":
            out.append({"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
                        "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
            out.append({"name": "deployments/status", "singularName": "", "namespaced": True, "kind": "Deployment",
                        "verbs": ["get", "patch", "update"]})
        if plural == "pods":
            out.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": out}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cluster: Cluster, port: int = 0, token: str = "", tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.cluster = cluster
        self.token = token
        self.address = f"127.0.0.1:{self.server_address[1]}"
        if tls is not None:  # (certificate chain, key): HTTPS as a real API server serves it
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self.socket = context.wrap_socket(self.socket, server_side=True)


class StandIn:
    """The server, its cluster and its controller, running on 127.0.0.1 until close()."""

    def __init__(self, port: int = 0, token: str = "token-of-alice", tls: tuple[Path, Path] | None = None,
                 ca: Path | None = None, **cluster_kwargs: Any) -> None:
        self.cluster = Cluster(**cluster_kwargs)
        self.server = Server(self.cluster, port, token, tls)
        self.url = f"{'https' if tls else 'http'}://{self.server.address}"
        self.ca = ca  # the CA that signed the server's certificate, for the kubeconfig
        self.token = token
        self.controller = Controller(self.cluster)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="standin-http")

    def start(self) -> StandIn:
        self._thread.start()
        self.controller.thread.start()
        return self

    def close(self) -> None:
        self.cluster.closing = True
        with self.cluster.cond:
            self.cluster.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, path: Path, contexts: dict[str, str] | None = None, current: str = "standin") -> Path:
        """A kubeconfig with one context per namespace given (name -> namespace), all on this server."""
        contexts = contexts or {"standin": "default"}
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": [{"name": "standin", "cluster": {"server": self.url, **(
                {"certificate-authority-data": base64.b64encode(self.ca.read_bytes()).decode()} if self.ca else {})}}],
            "users": [{"name": "alice", "user": {"token": self.token}}],
            "contexts": [{"name": n, "context": {"cluster": "standin", "user": "alice", "namespace": ns}}
                         for n, ns in contexts.items()],
        }
        path.write_text(json.dumps(config, indent=1))
        return path

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--kubeconfig", type=Path, default=Path("/tmp/aitui-standin.kubeconfig"))
    ap.add_argument("--token", default="token-of-alice", help="bearer token to require ('' for none)")
    ap.add_argument("--ready-after", type=float, default=1.0, help="seconds until a new pod is ready")
    args = ap.parse_args()
    with StandIn(args.port, token=args.token, ready_after=args.ready_after, terminate_after=1.0) as s:
        s.cluster.create("namespaces", "", {"metadata": {"name": "demo"}})
        s.kubeconfig(args.kubeconfig, {"standin": "default", "standin-demo": "demo"})
        print(f"API server stand-in on {s.url}; KUBECONFIG={args.kubeconfig}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
