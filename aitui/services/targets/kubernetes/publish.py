"""How a locally built image reaches a cluster's nodes: the config's cluster_images for the context, else
the kubeconfig context's `aitui` extension (.ci/cluster writes one), else the cluster pulls the reference
itself. An image pushed to a registry (services/registry.py) is run by digest, pulled with a secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aitui.services import kubeconfig
from aitui.services.targets.base import Progress, TargetError, quiet
from aitui.services.targets.kubernetes.client import Client, api_error


class Publisher:
    def __init__(self, client: Client) -> None:
        self.client, self.settings, self.context = client, client.settings, client.context
        self.images = self.settings.cluster_images.get(self.context) or kubeconfig.extension_of(
            self.settings.kubeconfig, self.context).get("images", "")
        self._published: set[str] = set()
        self._digests: dict[str, str] = {}  # local image -> what a registry push made of it (repo@sha256:…)

    def publish(self, image: str, progress: Progress = quiet) -> None:
        """Make a locally built image runnable by the cluster's nodes: loaded into a node's containerd
        (`containerd://SOCKET`, for clusters on this machine, as `kind load docker-image` does), or pushed
        to a registry (`registry://HOST/PATH`, which deploy then names); else the nodes pull it themselves."""
        from aitui.services import images

        if image in self._published:
            return
        if self.settings.is_readonly(self.context):
            raise TargetError(f"publish {image}: read-only ({self.context}): nothing loaded or pushed")
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
                    raise TargetError(f"publish {image} to {self.context}: {exc}") from None
            else:
                progress(f"publish: {self.context} pulls {image} itself (no cluster_images set for it)")
        except images.DockerError as exc:
            raise TargetError(f"publish {image} to {self.context}: {exc}") from exc
        self._published.add(image)

    def image_ref(self, image: str) -> str:
        """The reference the cluster runs a local image by: by digest once pushed to the registry."""
        if image in self._digests:
            return self._digests[image]
        if self.images.startswith("registry://"):
            return f"{self.images.removeprefix('registry://').rstrip('/')}/{image.rsplit('/', 1)[-1]}"
        return image

    def plan(self) -> list[str]:
        """What deploy does to reach a registry's nodes (the deploy plan's lines; none without a registry)."""
        from aitui.services import registry

        place = registry.place_of(self.images)
        return [] if place is None else [
            f"push:      to {'/'.join(p for p in (place.host, place.path) if p)} with Docker's credentials, "
            "deployed by digest",
            f"pull:      the namespace's pull secret for {place.host} (made from them if there is none)"]

    def pull_secret(self, docs: list[dict[str, Any]], image: str, progress: Progress, verb: str,
                    apply: Callable[[dict[str, Any]], None]) -> None:
        """Pods of an image pushed to a registry pull it with a secret: the namespace's own for that registry
        (port included), else aitui's, made (or kept current, by `apply`) from Docker's credentials and said.
        The tag stays on the Deployment as its change-cause, as the image is named by digest."""
        from aitui.services import registry

        c = self.client
        place = registry.place_of(self.images)
        if place is None or image not in self._digests:
            return
        try:
            found: Any = c.core.list_namespaced_secret(c.namespace, field_selector=f"type={registry.SECRET_TYPE}",
                                                       _preload_content=False, _request_timeout=c.timeout)
            secrets = json.loads(found.data)["items"]
        except Exception as exc:
            raise api_error(exc, "list", f"secrets in {c.namespace} (a pull secret for {place.host})") from exc
        name, ours = registry.matching_secret(secrets, place.host), registry.secret_name(place.host)
        if name and name != ours:
            progress(f"{verb}: the pods pull from {place.host} with secret/{name}")
        elif self.settings.is_readonly(self.context):
            raise TargetError(f"{verb}: read-only ({self.context}): no pull secret for {place.host} made")
        else:
            try:
                creds = registry.credentials(place.host)
                if creds is None:
                    raise registry.RegistryError(f"no credentials for {place.host} in Docker's config "
                                                 f"({registry.docker_config_file()}): docker login {place.host}")
                secret = registry.pull_secret(place.host, creds, c.namespace)
            except registry.RegistryError as exc:
                raise TargetError(f"{verb}: pull secret: {exc}") from None
            before = next((s for s in secrets if s["metadata"]["name"] == ours), None)
            if before is None or before.get("data") != secret["data"]:
                apply(secret)
                progress(f"{verb}: {'created' if before is None else 'updated'} secret/{ours} in {c.namespace}: "
                         f"the pods pull from {place.host} with the credentials from {creds.source}")
            name = ours
        registry.pull_with(docs, name, f"aitui {verb} {place.repository(image)}:{image.rsplit(':', 1)[-1]}")
