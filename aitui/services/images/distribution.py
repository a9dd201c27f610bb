"""Distribution: a local image made runnable elsewhere, tagged and pushed to a registry, or loaded into a
node's containerd on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from aitui.config import Settings
from aitui.services.errors import reason
from aitui.services.images.engine import DockerError, client


def tag_image(settings: Settings, ref: str, repository: str, tag: str) -> None:
    try:
        if not client(settings).api.tag(ref, repository, tag):
            raise DockerError(f"tagging {ref} as {repository}:{tag} failed")
    except DockerError:
        raise
    except Exception as exc:
        raise DockerError(f"tagging {ref} failed: {reason(exc)}") from exc


def push_image(settings: Settings, repository: str, tag: str) -> Iterator[str]:
    """Push to the registry named in `repository`; yields progress lines."""
    try:
        for chunk in client(settings).api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise DockerError(f"push failed: {chunk['error']}")
            status = chunk.get("status", "")
            progress = chunk.get("progress", "")
            if status:
                yield f"{chunk.get('id', '')} {status} {progress}".strip()
    except DockerError:
        raise
    except Exception as exc:
        raise DockerError(f"push failed: {reason(exc)}") from exc


def load_into_containerd(settings: Settings, ref: str, address: str) -> Iterator[str]:
    """Copy an image from the engine into a node's containerd (namespace k8s.io), as `kind load
    docker-image` does: `docker save` streamed into `ctr images import`. For clusters whose nodes run on
    this machine; yields progress lines."""
    import subprocess

    if not Path(address).exists():
        raise DockerError(f"loading {ref}: no containerd socket at {address} (is the cluster up?)")
    try:
        chunks = client(settings).api.get_image(ref, chunk_size=1 << 20)
    except Exception as exc:
        raise DockerError(f"loading {ref}: {reason(exc)}") from exc
    try:
        proc = subprocess.Popen(["ctr", "--address", address, "-n", "k8s.io", "images", "import", "-"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        raise DockerError(f"loading {ref}: ctr (containerd's client) is needed: {reason(exc)}") from exc
    assert proc.stdin is not None and proc.stderr is not None
    sent = 0
    try:
        for chunk in chunks:
            proc.stdin.write(chunk)
            sent += len(chunk)
            if sent % (64 << 20) < len(chunk):
                yield f"load {ref}: {sent >> 20} MB into the node"
        proc.stdin.close()
    except Exception as exc:  # ctr ended early (its own words say why), or the engine did
        proc.kill()
        proc.wait(30)
        said = proc.stderr.read().decode(errors="replace").strip()
        raise DockerError(f"loading {ref}: {said or reason(exc)}") from exc
    said = proc.stderr.read().decode(errors="replace").strip()
    if proc.wait(300) != 0:
        raise DockerError(f"loading {ref}: ctr: {said}")
    yield f"load {ref}: {sent >> 20} MB loaded into the node's containerd"


def image_in_containerd(ref: str, address: str) -> bool:
    """Whether a node's containerd already has the image (by its normalized name)."""
    import subprocess

    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        name = ref  # already names its registry
    else:
        name = f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"
    done = subprocess.run(["ctr", "--address", address, "-n", "k8s.io", "images", "ls", "-q", f"name=={name}"],
                          capture_output=True, text=True, timeout=30, check=False)
    return done.returncode == 0 and name in done.stdout.split()
