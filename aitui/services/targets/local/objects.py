"""What the local engine shows when asked: its events, its machine as the one node, the published ports
as a workload's "service", and `docker inspect` data for `y` and describe."""

from __future__ import annotations

import time
from typing import Any

from aitui.models import Event, Node, Service
from aitui.services import labels
from aitui.services.errors import reason
from aitui.services.targets.base import NotFound, TargetError, Unsupported
from aitui.services.targets.local.engine import WORKLOAD_LABEL, Engine, created
from aitui.services.targets.local.pods import Replicas
from aitui.services.targets.local.revisions import history_of
from aitui.services.targets.local.workloads import GONE, by_workload

NO_AUTOSCALER = "the local Docker engine has no autoscaler: a workload runs the replicas + / - / s ask for"
ONE_REPLICA = ("pods", "models")  # the kinds whose rows are one replica (the models view's are too)


class Objects:
    def __init__(self, engine: Engine, replicas: Replicas) -> None:
        self.engine, self.replicas = engine, replicas

    def events(self, workload: str, since: float = 3600) -> list[Event]:
        """The engine's events for the workload's containers over the last hour, oldest first."""
        now = time.time()
        try:
            found = self.engine.docker.events(since=int(now - since), until=int(now) + 1, decode=True,
                                              filters={"type": "container", "label": f"{WORKLOAD_LABEL}={workload}"})
            raw = list(found)
        except Exception as exc:
            raise TargetError(f"events {workload}: {reason(exc)}") from exc
        out = []
        for e in raw:
            action = str(e.get("Action", ""))
            if action.startswith("exec_"):
                continue  # the engine's own health checks: noise
            attrs = (e.get("Actor") or {}).get("Attributes") or {}
            # a replica that fails: out of memory, unhealthy, or exiting other than after our SIGTERM (143)
            bad = action == "oom" or "unhealthy" in action or \
                (action == "die" and attrs.get("exitCode", "0") not in ("0", "143"))
            detail = f"exit code {attrs['exitCode']}" if "exitCode" in attrs else attrs.get("image", "")
            out.append(Event(time=e.get("timeNano", 0) / 1e9 or float(e.get("time", 0)),
                             type="Warning" if bad else "Normal",
                             reason=action, object=attrs.get("name", ""), message=detail))
        return out

    def nodes(self) -> list[Node]:
        """The local engine's machine: one node (another host's, for an engine over SSH)."""
        try:
            info = self.engine.docker.info()
        except Exception as exc:
            raise TargetError(f"local: the engine's info: {reason(exc)}") from exc
        return [Node(name=str(info.get("Name", "local")), status="Ready", roles="engine",
                     version=f"docker {info.get('ServerVersion', '?')}", cpus=int(info.get("NCPU") or 0),
                     memory=int(info.get("MemTotal") or 0), created=0.0)]

    def services(self) -> list[Service]:
        """The local "service" of a workload is the set of its replicas' published ports on 127.0.0.1."""
        out = []
        live = [p for p in self.replicas.listed() if p.status not in GONE]
        for name, pods in by_workload(live).items():
            published = sorted(int(p.endpoint.rsplit(":", 1)[1]) for p in pods if p.endpoint)
            ports = f"{labels.SERVING_PORT}->" + ",".join(map(str, published)) if published else "-"
            out.append(Service(name=name, type="published", address="127.0.0.1", ports=ports,
                               ready=sum(p.ready for p in pods if p.endpoint), endpoints=len(published),
                               created=min(p.created for p in pods)))
        return out

    def manifest(self, kind: str, name: str) -> Any:
        """`docker inspect` data: of the replica; of every replica of a workload (or its "service"); of a
        revision's image."""
        if kind in ONE_REPLICA:
            return self.engine.container(name).attrs
        if kind in ("workloads", "services"):
            found = [c.attrs for c in sorted(self.engine.containers(name), key=created)]
            if not found:
                raise NotFound(f"workload {name}: not found: no container is labelled {WORKLOAD_LABEL}={name}")
            return found
        if kind == "revisions":
            workload, _, number = name.rpartition("-")
            entry = next((h for h in history_of(self.engine, workload) if str(h[0]) == number), None)
            if entry is None:
                raise NotFound(f"revision {name}: not found")
            try:
                return self.engine.docker.images.get(entry[1]).attrs
            except Exception as exc:
                raise NotFound(f"revision {name}: its image {entry[1]} is gone: {reason(exc)}") from exc
        raise Unsupported(NO_AUTOSCALER if kind == "hpa" else f"{kind} rows have no object to show")

    def describe(self, kind: str, name: str) -> str:
        from aitui.services.describe import describe_container

        if kind == "revisions":
            attrs = self.manifest(kind, name)
            return "\n".join([f"Revision:     {name}", f"Image:        {', '.join(attrs.get('RepoTags') or [])}",
                              f"Id:           {str(attrs.get('Id', ''))[7:19]}",
                              f"Created:      {attrs.get('Created')}",
                              f"Labels:       {(attrs.get('Config') or {}).get('Labels') or {}}"])
        found = self.manifest(kind, name)
        containers = [found] if kind in ONE_REPLICA else found  # one replica, or a workload's
        out = []
        for attrs in containers:
            workload = ((attrs.get("Config") or {}).get("Labels") or {}).get(WORKLOAD_LABEL, "")
            cname = str(attrs.get("Name", "")).lstrip("/")
            events = [e for e in self.events(workload) if e.object == cname] if workload else []
            out.append(describe_container(attrs, events))
        head = [] if kind in ONE_REPLICA else [f"Workload {name}: {len(containers)} container(s) on the local engine",
                                               ""]
        return "\n".join(head) + "\n\n".join(out)
