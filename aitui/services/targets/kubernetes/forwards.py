"""How traffic and predict reach the pods from this machine: a port-forward through the API server to each
ready pod, opened by aitui itself (portforward.py; no kubectl needed)."""

from __future__ import annotations

import threading
from typing import Any

from aitui.services import labels
from aitui.services.targets.kubernetes.client import Client, api_error
from aitui.services.targets.kubernetes.pods import Pods
from aitui.services.targets.portforward import PodForwards, refused


class Forwards:
    def __init__(self, client: Client, pods: Pods) -> None:
        self.client, self.pods = client, pods
        # each workload's own: a sync for one (another model's traffic, smoke, the models view) never closes
        # the forwards another's requests are using
        self._forwards: dict[str, PodForwards] = {}
        self._listed = threading.Lock()  # guards that dict (not held while a forward opens)
        self._api: Any = None
        self._lock = threading.Lock()

    def _open(self, pod: str, port: int) -> Any:
        """The client's portforward swaps its ApiClient's `request` for a websocket call while it runs: on
        a shared client a scale at that moment would go out as a websocket (found under traffic). So
        forwards get a client of their own, and open one at a time."""
        from kubernetes import client
        from kubernetes.stream import portforward

        with self._lock:
            if self._api is None:
                self._api = client.CoreV1Api(client.ApiClient(self.client.api.configuration))
            try:
                return portforward(self._api.connect_get_namespaced_pod_portforward, pod, self.client.namespace,
                                   ports=str(port), _request_timeout=self.client.timeout)
            except Exception as exc:  # a 403 said as every other refusal is: "forbidden (RBAC): …"
                answer = refused(exc)
                if answer is None:
                    raise
                raise api_error(answer, "port-forward", f"pods/{pod}") from exc

    def endpoints(self, workload: str) -> list[str]:
        """A local port-forward through the API server to each ready pod (no kubectl needed)."""
        with self._listed:
            forwards = self._forwards.setdefault(workload, PodForwards(self._open, labels.SERVING_PORT))
        return forwards.sync([p.name for p in self.pods.listed(workload) if p.ready])

    def routes(self) -> list[tuple[str, str]]:
        """(local endpoint, pod) of each forward open now."""
        with self._listed:
            every = list(self._forwards.values())
        return [route for forwards in every for route in forwards.routes()]

    def reach(self, workload: str) -> str:
        routes = self.routes()
        if not routes:
            return f"port-forward through the API server to each ready pod of {workload}: none ready"
        shown = ", ".join(f"{local} -> pod/{pod}:{labels.SERVING_PORT}" for local, pod in routes[:3])
        more = f" (+{len(routes) - 3} more)" if len(routes) > 3 else ""
        return f"port-forward through the API server: {shown}{more}"

    def replica_endpoints(self, workload: str) -> dict[str, str]:
        """Each ready pod -> the local end of its own port-forward (to ask one pod, not the Service)."""
        mine = set(self.endpoints(workload))
        return {pod: local for local, pod in self.routes() if local in mine}

    def route(self, endpoint: str) -> str:
        pod = dict(self.routes()).get(endpoint)
        return f"pod/{pod} (port-forward {endpoint})" if pod else endpoint

    def close(self) -> None:
        with self._listed:
            every, self._forwards = list(self._forwards.values()), {}
        for forwards in every:
            forwards.close()
