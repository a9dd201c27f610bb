"""The Docker engine: list, build (streamed events), tag and push (a cluster's registry), and engine events."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aitui.config import Settings
from aitui.models import Image
from aitui.services.errors import reason

if TYPE_CHECKING:
    import docker

REPOSITORY = "aitui/recognizer"
COMPONENT_LABEL = "io.aitui.component"  # set by serving/Dockerfile; marks the recognizer's images
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)")


class DockerError(Exception):
    """An engine call failed; the message says what and why, ready for the screen."""


def client(settings: Settings) -> docker.DockerClient:
    import docker

    kwargs = {"base_url": settings.docker_host} if settings.docker_host else {}
    try:
        if kwargs:
            return docker.DockerClient(timeout=int(settings.timeout) + 1, **kwargs)
        return docker.from_env(timeout=int(settings.timeout) + 1)
    except docker.errors.DockerException as exc:
        raise DockerError(f"docker: {reason(exc)}") from exc


def list_images(settings: Settings) -> list[Image]:
    """Local images, the recognizer's first, newest first within each group."""
    try:
        raw = client(settings).api.images()
    except Exception as exc:
        raise DockerError(f"listing images failed: {reason(exc)}") from exc
    images = [_image(r) for r in raw]
    return sorted(images, key=lambda i: (not i.recognizer, not i.tags, -i.created))  # dangling ones last


def _image(raw: dict) -> Image:
    tags = tuple(t for t in (raw.get("RepoTags") or []) if t != "<none>:<none>")
    labels = raw.get("Labels") or {}
    return Image(
        id=raw["Id"].removeprefix("sha256:")[:12],
        tags=tags,
        size=int(raw.get("Size") or 0),
        created=float(raw.get("Created") or 0),
        recognizer=labels.get(COMPONENT_LABEL) == "recognizer" or any(t.startswith(REPOSITORY + ":") for t in tags),
        runtime=labels.get("io.aitui.runtime", ""),
    )


def serving_dir(settings: Settings) -> Path:
    if settings.serving_dir:
        return Path(settings.serving_dir)
    return Path(__file__).resolve().parents[2] / "serving"


def recognizer_tag(context: Path) -> str:
    """aitui/recognizer:<version>-<hash of what the build sees>: a change that reaches the image
    is a new tag, so a rollout always has something new to roll to; a README edit is not."""
    init = (context / "recognizer" / "__init__.py").read_text()
    m = re.search(r'__version__\s*=\s*"([^"]+)"', init)
    version = m.group(1) if m else "0"
    ignore = ["wheels", "wheels/*"]  # the wheelhouse is how packages arrive, not what is built
    if (context / ".dockerignore").is_file():
        ignore += [line.strip().removeprefix("**/") for line in (context / ".dockerignore").read_text().splitlines()
                   if line.strip() and not line.startswith("#")]
    h = hashlib.sha256()
    for p in sorted(context.rglob("*")):
        rel = p.relative_to(context)
        if p.is_file() and not any(fnmatch.fnmatch(str(rel), pat) or any(fnmatch.fnmatch(part, pat.rstrip("/"))
                                                                         for part in rel.parts) for pat in ignore):
            h.update(str(rel).encode() + b"\0" + p.read_bytes())
    return f"{REPOSITORY}:{version}-{h.hexdigest()[:7]}"


def source_revision(context: Path) -> str:
    """The git commit the build context is at (org.opencontainers.image.revision), with "-dirty" when
    the context has uncommitted changes; "" when it is not in a git work tree (the Dockerfile then
    says "unknown")."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(context), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            return ""
        dirty = git("status", "--porcelain", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return ""
    return head.stdout.strip() + ("-dirty" if dirty.returncode != 0 or dirty.stdout.strip() else "")


@dataclass(frozen=True)
class BuildEvent:
    kind: str  # "step", "log", "error", "done", "cancelled"
    text: str = ""
    step: int = 0
    steps: int = 0
    image_id: str = ""
    tag: str = ""
    seconds: float = 0.0


class Build:
    """One build of the recognizer. Iterate for events; cancel() from any thread stops it
    (closing the connection makes the engine abandon the build)."""

    def __init__(self, settings: Settings, tag: str | None = None, context: Path | None = None,
                 buildargs: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.context = context or serving_dir(settings)
        self.tag = tag or recognizer_tag(self.context)
        revision = source_revision(self.context)
        self.buildargs = {"BASE_IMAGE": settings.base_image, "VERSION": self.tag.split(":")[-1],
                          **({"REVISION": revision} if revision else {}), **(buildargs or {})}
        self._cancelled = threading.Event()
        self._api: docker.APIClient | None = None
        self._response: Any = None  # the build's streamed HTTP response, once the engine answers

    def cancel(self) -> None:
        """Stop now, even in a quiet step: the stream's socket is shut, which unblocks the read waiting
        on it, and the engine abandons a build whose client is gone (closing the client alone would only
        close its idle connections, and the read would wait for the step's next line)."""
        self._cancelled.set()
        sock = getattr(getattr(getattr(self._response, "raw", None), "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._api is not None:
            self._api.close()

    def events(self) -> Iterator[BuildEvent]:
        import docker

        t0 = time.monotonic()
        if not (self.context / "Dockerfile").is_file():
            yield BuildEvent("error", f"no Dockerfile in {self.context}")
            return
        try:
            kwargs = {"base_url": self.settings.docker_host} if self.settings.docker_host else {}
            api = self._api = docker.APIClient(timeout=3600, **kwargs) if kwargs else \
                docker.from_env(timeout=3600).api
            stream_helper = api._stream_helper

            def keep_response(response: Any, decode: bool = False) -> Any:  # cancel() needs its socket
                self._response = response
                return stream_helper(response, decode=decode)

            api._stream_helper = keep_response
            if self._cancelled.is_set():
                raise RuntimeError("cancelled")
            # The tag is applied by the engine only when every step succeeds: a failed build
            # leaves no half-tagged image behind.
            stream = self._api.build(path=str(self.context), tag=self.tag, buildargs=self.buildargs,
                                     rm=True, forcerm=True, decode=True, labels={COMPONENT_LABEL: "recognizer"})
            image_id = ""
            for chunk in stream:
                if self._cancelled.is_set():
                    break
                if "error" in chunk:
                    detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                    yield BuildEvent("error", detail.strip(), seconds=time.monotonic() - t0)
                    return
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"].removeprefix("sha256:")[:12]
                text = chunk.get("stream", "")
                for line in text.splitlines():
                    m = _STEP.match(line)
                    if m:
                        yield BuildEvent("step", m.group(3), int(m.group(1)), int(m.group(2)))
                    elif line.strip():
                        yield BuildEvent("log", line.rstrip())
        except Exception as exc:
            if self._cancelled.is_set():
                yield BuildEvent("cancelled", "build cancelled", seconds=time.monotonic() - t0)
            else:
                yield BuildEvent("error", f"build failed: {reason(exc)}", seconds=time.monotonic() - t0)
            return
        finally:
            if self._api is not None:
                self._api.close()
        if self._cancelled.is_set():
            yield BuildEvent("cancelled", "build cancelled", seconds=time.monotonic() - t0)
            return
        yield BuildEvent("done", f"built {self.tag}", image_id=image_id, tag=self.tag,
                         seconds=time.monotonic() - t0)


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


def events(settings: Settings, stop: threading.Event) -> Iterator[dict]:
    """Image and container events from the engine, until `stop` is set. Lists refresh on these
    instead of polling (lazydocker's idle-CPU fix)."""
    c = client(settings)
    stream = c.events(decode=True, filters={"type": ["image", "container"]})
    closer = threading.Thread(target=lambda: (stop.wait(), stream.close()), daemon=True)
    closer.start()
    try:
        for ev in stream:
            if stop.is_set():
                return
            yield ev
    finally:
        stop.set()
