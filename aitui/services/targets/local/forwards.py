"""How traffic and predict reach the replicas: their ports published on 127.0.0.1 (the local "Service"), or,
for an engine on another machine, the local ends of SSH tunnels to that machine's 127.0.0.1 (tunnel.py)."""

from __future__ import annotations

from aitui.services import labels
from aitui.services.targets.local.engine import Engine
from aitui.services.targets.local.pods import Replicas


def port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


class Forwards:
    def __init__(self, engine: Engine, replicas: Replicas) -> None:
        self.engine, self.replicas = engine, replicas

    def endpoints(self, workload: str) -> list[str]:
        """host:port of each replica that may take traffic now (the local Service): its canary's too, as a
        Service selects both Deployments, so traffic is weighted by replica counts."""
        names = {workload} if labels.is_canary(workload) else {workload, labels.canary_of(workload)}
        with self.engine.lock:
            every = self.replicas.listed()
            found = [p.endpoint for p in every if p.workload in names and p.ready and p.endpoint]
        return self.reachable(found, {port(p.endpoint) for p in every if p.endpoint})

    def replica_endpoints(self, workload: str) -> dict[str, str]:
        """Each ready replica's name -> its published endpoint (to ask one replica, not the set)."""
        ready = {p.name: p.endpoint for p in self.replicas.listed(workload) if p.ready and p.endpoint}
        return dict(zip(ready, self.reachable(list(ready.values())), strict=True)) if ready else {}

    def reachable(self, endpoints: list[str], published: set[int] | None = None) -> list[str]:
        """Endpoints this machine can open: as they are for a local engine, the local ends of SSH tunnels for
        a remote one, none where there is no tunnel (never this machine's 127.0.0.1 for another's port)."""
        e = self.engine
        if not e.remote:
            return endpoints
        tunnels = e.tunnel()
        if tunnels is None:
            return []
        if published is not None:  # every port the engine's replicas publish now: the other tunnels close
            tunnels.keep(published)
        return [f"127.0.0.1:{tunnels.local(port(p))}" for p in endpoints]

    def reach(self, workload: str) -> str:
        e = self.engine
        if e.remote and e.tunnel() is None:
            return (f"the replicas of {workload} run on the engine at {e.remote}: their ports are on that "
                    f"machine's 127.0.0.1, not this one's, and {e.no_tunnel}: traffic and predict cannot "
                    "reach them (run aitui on that machine, or forward a port: ssh -L)")
        if e.remote:
            self.endpoints(workload)  # the tunnels of the replicas ready now, to name them
            routes = sorted((e.tunnels.routes() if e.tunnels else {}).items())
            return (f"each ready replica of {workload} through an SSH tunnel to {e.remote} (its ports are on "
                    "that machine's 127.0.0.1): " + ", ".join(f"127.0.0.1:{local} -> :{to}" for local, to in routes))
        return f"each ready replica of {workload} is published on 127.0.0.1"

    def route(self, endpoint: str) -> str:
        remote = (self.engine.tunnels.routes() if self.engine.tunnels else {}).get(port(endpoint))
        return f"{self.engine.remote} :{remote} (SSH tunnel {endpoint})" if remote else endpoint
