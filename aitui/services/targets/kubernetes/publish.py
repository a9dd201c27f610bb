"""How a locally built image reaches a cluster's nodes: the config's cluster_images for the context, else
the kubeconfig context's `aitui` extension (.ci/cluster writes one), else the cluster pulls the reference
itself."""

from __future__ import annotations

from aitui.config import Settings
from aitui.services import kubeconfig
from aitui.services.targets import Progress, TargetError, quiet


class Publisher:
    def __init__(self, settings: Settings, context: str) -> None:
        self.settings, self.context = settings, context
        self.images = settings.cluster_images.get(context) or kubeconfig.extension_of(
            settings.kubeconfig, context).get("images", "")
        self._published: set[str] = set()

    def publish(self, image: str, progress: Progress = quiet) -> None:
        """Make a locally built image runnable by the cluster's nodes: loaded into a node's containerd
        (`containerd://SOCKET`, for clusters on this machine, as `kind load docker-image` does), or pushed
        to a registry (`registry://HOST/PATH`, which deploy then names); else the nodes pull it themselves."""
        from aitui.services import images

        if image in self._published:
            return
        try:
            if self.images.startswith("containerd://"):
                address = self.images.removeprefix("containerd://")
                if images.image_in_containerd(image, address):
                    progress(f"publish: {image} is already on the node")
                else:
                    for line in images.load_into_containerd(self.settings, image, address):
                        progress(f"publish: {line}")
            elif self.images.startswith("registry://"):
                remote = self.image_ref(image)
                repository, tag = remote.rsplit(":", 1)
                images.tag_image(self.settings, image, repository, tag)
                for line in images.push_image(self.settings, repository, tag):
                    progress(f"publish: {line}")
            else:
                progress(f"publish: {self.context} pulls {image} itself (no cluster_images set for it)")
        except images.DockerError as exc:
            raise TargetError(f"publish {image} to {self.context}: {exc}") from exc
        self._published.add(image)

    def image_ref(self, image: str) -> str:
        """The reference the cluster runs a local image by: under the registry when one is set."""
        if self.images.startswith("registry://"):
            return f"{self.images.removeprefix('registry://').rstrip('/')}/{image.rsplit('/', 1)[-1]}"
        return image
