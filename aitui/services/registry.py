"""A registry between aitui's builds and a cluster's nodes (`registry://HOST[:PORT]/PATH` in cluster_images):
Docker's own credentials for it (config.json, credsStore and credHelpers, through the docker SDK's own
resolver), a check before anything is pushed (TLS trust as Docker's certs.d has it, the credentials), the
push with per-layer progress and its digest, and the imagePullSecret a namespace pulls with.

Nothing secret is ever said, logged or kept here: messages name where credentials came from, never them.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aitui.config import Settings
from aitui.services.errors import reason

CERTS_D = Path("/etc/docker/certs.d")  # Docker's per-registry trust: <host:port>/ca.crt (client.cert/.key)
SECRET_TYPE = "kubernetes.io/dockerconfigjson"
PUSH_TIMEOUT = 120.0  # seconds the engine may stay silent during a push (a large layer's last bytes)
PROGRESS_EVERY = 1.0  # seconds between two totals said during a push
MB = 1e6
THERE = "Layer already exists"  # the engine's words for a layer the registry has (or mounted from another repo)


class RegistryError(Exception):
    """One line: what failed, against which registry, and what fixes it."""


# -- where ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    host: str  # host[:port], as Docker and the kubelet match credentials: the port counts
    path: str = ""  # the repository prefix under it ("team/apps"), "" for none

    @classmethod
    def parse(cls, images: str) -> Place:
        rest = images.removeprefix("registry://").rstrip("/")
        host, _, path = rest.partition("/")
        if not host or not re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", host):
            raise RegistryError(f"cluster_images {images!r}: expected registry://HOST[:PORT][/PATH]")
        return cls(host, path.strip("/"))

    def repository(self, image: str) -> str:
        """Where a local image (aitui/recognizer:tag) goes: HOST/PATH/recognizer."""
        name = image.rsplit("/", 1)[-1].split("@", 1)[0].rsplit(":", 1)[0]
        return "/".join(p for p in (self.host, self.path, name) if p)


def place_of(images: str) -> Place | None:
    return Place.parse(images) if images.startswith("registry://") else None


def host_of(ref: str) -> str:
    """The registry host[:port] an image reference names ("" for Docker Hub's short names)."""
    first = ref.split("/", 1)[0]
    return first if "/" in ref and ("." in first or ":" in first or first == "localhost") else ""


# -- credentials ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    source: str = ""  # where they came from, for the screen: "~/.docker/config.json", "docker-credential-pass"
    token: bool = False  # an identity token (an OAuth refresh token), not a password

    def auth_config(self) -> dict[str, str]:
        """What the engine's push takes (X-Registry-Auth)."""
        return {"identitytoken": self.password} if self.token else {"username": self.username,
                                                                    "password": self.password}


def docker_config_file() -> Path:
    from docker.utils.config import find_config_file

    found = find_config_file()
    return Path(found) if found else Path.home() / ".docker" / "config.json"


def credentials(host: str, config_file: Path | None = None) -> Credentials | None:
    """The credentials Docker would push to `host` with: credHelpers[host], else credsStore, else
    auths[host] (docker login's), as the docker CLI resolves them; None when there are none."""
    from docker import auth, errors

    path = config_file or docker_config_file()
    try:
        cfg = auth.load_config(str(path)) if path.is_file() else auth.AuthConfig({})
    except errors.DockerException as exc:
        raise RegistryError(f"{host}: Docker's config {path} is unreadable: {_no_secret(str(exc))}") from None
    helper = cfg.get_credential_store(host)
    try:
        found = cfg.resolve_authconfig(host)
    except errors.DockerException as exc:  # a credential helper that is missing or fails
        raise RegistryError(f"{host}: docker-credential-{helper} (named in {path}) failed: "
                            f"{_no_secret(str(exc))}") from None
    if not found:
        return None
    source = f"docker-credential-{helper}" if helper and ("Username" in found or "IdentityToken" in found) \
        else str(path)
    if found.get("IdentityToken") or found.get("identitytoken"):
        return Credentials("<token>", found.get("IdentityToken") or found["identitytoken"], source, token=True)
    user = found.get("Username") or found.get("username") or ""
    password = found.get("Password") or found.get("password") or ""
    if not user or not password:
        return None
    return Credentials(user, password, source)


def _no_secret(text: str) -> str:
    """A helper's error, shortened; it says what failed, never a credential (helpers print none)."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 160 else text[:157] + "…"


# -- the check before a push -----------------------------------------------------------------------------
def trust(host: str, certs_d: Path | None = None) -> tuple[str | bool, tuple[str, str] | None]:
    """requests' `verify` and `cert` for `host`, from Docker's certs.d (else the system's CAs)."""
    d = (certs_d or CERTS_D) / host
    ca = d / "ca.crt"
    cert, key = d / "client.cert", d / "client.key"
    return (str(ca) if ca.is_file() else True), ((str(cert), str(key)) if cert.is_file() and key.is_file() else None)


def tls_fix(host: str, certs_d: Path | None = None) -> str:
    return (f"trust its CA: put it in {(certs_d or CERTS_D) / host / 'ca.crt'} here, and on each node in containerd's "
            f"certs.d/{host}/hosts.toml (ca = ...)")


def explain(host: str, exc: BaseException, certs_d: Path | None = None) -> str:
    """A failed request to a registry as one line that names the fix."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        if "mismatch" in text or "doesn't match" in text:
            return f"{host}: TLS: its certificate does not name {host.split(':')[0]} (subjectAltName)"
        if "expired" in text:
            return f"{host}: TLS: its certificate has expired"
        return f"{host}: TLS: certificate signed by an unknown authority; {tls_fix(host, certs_d)}"
    return f"{host}: registry unreachable: {reason(exc)}"


def check(host: str, creds: Credentials | None, timeout: float = 10.0, certs_d: Path | None = None) -> None:
    """Ask the registry's /v2/ as Docker would, before anything is pushed: trusted TLS, an answer, and (on a
    registry that asks for Basic auth) credentials it accepts. A token registry (Harbor, the clouds') is
    asked for credentials by the push itself."""
    import requests

    verify, cert = trust(host, certs_d)
    url = f"https://{host}/v2/"
    try:
        r = requests.get(url, verify=verify, cert=cert, timeout=timeout)
        if r.status_code == 401 and r.headers.get("WWW-Authenticate", "").lower().startswith("basic"):
            if creds is None:
                raise RegistryError(f"{host}: 401 unauthorized: no credentials for it in Docker's config "
                                    f"({docker_config_file()}): docker login {host}")
            if creds.token:
                return  # a token is for a token server: Basic has nothing to check it with
            r = requests.get(url, verify=verify, cert=cert, timeout=timeout, auth=(creds.username, creds.password))
            if r.status_code == 401:
                raise RegistryError(f"{host}: 401 unauthorized: it refused the credentials from {creds.source} "
                                    f"(user {creds.username}): docker login {host} with the right ones")
    except requests.RequestException as exc:
        raise RegistryError(explain(host, exc, certs_d)) from None
    if r.status_code not in (200, 401):  # 401 here: a Bearer challenge, for the push to answer
        raise RegistryError(f"{host}: /v2/ answers HTTP {r.status_code}: not a registry (API v2)?")


def answers(host: str, timeout: float = 2.0) -> bool:
    """Whether anything listens at the registry's address now (a quick TCP connect)."""
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "443")
    try:
        with socket.create_connection((name, int(port or 443)), timeout=timeout):
            return True
    except OSError:
        return False


# -- the push ---------------------------------------------------------------------------------------------
@dataclass
class Layer:
    id: str
    status: str = "Preparing"
    done: int = 0
    total: int = 0


@dataclass
class PushState:
    """The push as the engine reports it, layer by layer."""

    ref: str
    layers: dict[str, Layer] = field(default_factory=dict)
    digest: str = ""

    def update(self, chunk: dict[str, Any]) -> Layer | None:
        """One event of the engine's stream; the layer whose status changed, if one did."""
        lid, status = chunk.get("id", ""), chunk.get("status", "")
        if not lid or not re.fullmatch(r"[0-9a-f]{12}", lid):
            return None
        layer = self.layers.setdefault(lid, Layer(lid))
        detail = chunk.get("progressDetail") or {}
        if detail.get("total"):
            layer.total = int(detail["total"])
        if "current" in detail:  # the engine's count passes the size by the tar headers: kept within it
            layer.done = min(int(detail["current"]), layer.total or int(detail["current"]))
        status = "Pushing" if status.startswith("Pushing") else THERE if status.startswith("Mounted from") \
            else status
        changed = status != layer.status
        layer.status = status
        if status == "Pushed" and layer.total:
            layer.done = layer.total
        return layer if changed else None

    @property
    def pushed(self) -> int:
        return sum(1 for x in self.layers.values() if x.status == "Pushed")

    @property
    def there(self) -> int:
        return sum(1 for x in self.layers.values() if x.status == THERE)

    @property
    def sent(self) -> int:
        return sum(x.done for x in self.layers.values() if x.status != THERE)

    @property
    def size(self) -> int:
        return sum(x.total for x in self.layers.values() if x.status != THERE)

    def line(self) -> str:
        n = len(self.layers)
        return (f"push {self.ref}: {self.sent / MB:.1f} of {self.size / MB:.1f} MB · {self.pushed + self.there} of "
                f"{n} layers done, {self.there} already there")


def _stream(settings: Settings, repository: str, tag: str, auth_config: dict[str, str]) -> tuple[Any, Iterator[dict]]:
    """The engine's push stream and its response (closed to stop the push: the engine cancels it when the
    client goes). The SDK's push() hides the response, so this is its body with the response kept."""
    from docker import auth

    from aitui.services.images import client

    api = client(replace(settings, timeout=PUSH_TIMEOUT)).api
    response = api._post(api._url("/images/{0}/push", repository), params={"tag": tag}, stream=True,
                         headers={"X-Registry-Auth": auth.encode_header(auth_config)})
    api._raise_for_status(response)
    return response, api._stream_helper(response, decode=True)


def push(settings: Settings, image: str, place: Place, progress: Callable[[str], None],
         creds: Credentials | None = None, every: float = PROGRESS_EVERY, check_first: bool = True) -> str:
    """Tag the local `image` under `place` and push it with `creds` (else Docker's own for the host);
    returns the pushed reference by digest (HOST/PATH/name@sha256:…). Progress: a line when a layer is
    pushed or found there already, and the totals every `every` seconds. Raises RegistryError, one line.
    The registry is checked first (check()); `check_first=False` leaves every answer to the engine's push."""
    from aitui.services import images

    host, repository = place.host, place.repository(image)
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    ref = f"{repository}:{tag}"
    t0 = time.monotonic()
    creds = creds or credentials(host)
    if check_first:
        check(host, creds, timeout=max(5.0, settings.timeout))
    try:
        images.tag_image(settings, image, repository, tag)
    except images.DockerError as exc:
        raise RegistryError(str(exc)) from None
    state = PushState(ref)
    said = 0.0
    try:
        response, stream = _stream(settings, repository, tag, creds.auth_config() if creds else {})
    except Exception as exc:
        raise RegistryError(f"push {ref}: docker: {reason(exc)}") from None
    try:
        for chunk in stream:
            if "error" in chunk:
                raise RegistryError(_push_error(host, ref, state, str(chunk.get("error")), creds))
            if (chunk.get("aux") or {}).get("Digest"):
                state.digest = chunk["aux"]["Digest"]
            status = chunk.get("status", "")
            if status.startswith("Retrying in") and not answers(host):
                raise RegistryError(f"push {ref}: the registry at {host} stopped answering mid-push (after "
                                    f"{state.sent / MB:.1f} of {state.size / MB:.1f} MB); nothing was deployed")
            layer = state.update(chunk)
            if layer is not None and layer.status in ("Pushed", THERE):
                size = f" ({layer.total / MB:.1f} MB)" if layer.total else ""
                progress(f"push {layer.id}: {layer.status.lower()}{size}")
            if time.monotonic() - said >= every and state.size:
                said = time.monotonic()
                progress(state.line())
    except RegistryError:
        raise
    except Exception as exc:  # the engine's stream broke (the engine stopped, or timed out)
        raise RegistryError(f"push {ref}: the push stopped: {reason(exc)}; nothing was deployed") from None
    finally:
        response.close()  # a push given up is cancelled in the engine too
    if not state.digest:
        raise RegistryError(f"push {ref}: the engine said no digest; nothing was deployed")
    progress(f"pushed {ref} in {time.monotonic() - t0:.1f} s: {state.sent / MB:.1f} MB sent, {state.there} of "
             f"{len(state.layers)} layers already there; {repository}@{state.digest}")
    return f"{repository}@{state.digest}"


def _push_error(host: str, ref: str, state: PushState, error: str, creds: Credentials | None) -> str:
    low = error.lower()
    if "unauthorized" in low or "authentication required" in low or "no basic auth credentials" in low \
            or "denied" in low:
        whose = f"the credentials from {creds.source}" if creds else "no credentials (none in Docker's config)"
        return f"push {ref}: 401 unauthorized: {host} refused {whose}: docker login {host}"
    if "x509" in low or "certificate" in low:
        return f"push {ref}: TLS: {_no_secret(error)}; {tls_fix(host)}"
    if any(s in low for s in ("connection refused", "eof", "connection reset", "broken pipe", "no such host",
                               "i/o timeout")):
        return (f"push {ref}: the registry at {host} stopped answering mid-push (after {state.sent / MB:.1f} of "
                f"{state.size / MB:.1f} MB): {_no_secret(error)}; nothing was deployed")
    return f"push {ref}: {_no_secret(error)}"


# -- the pull secret ------------------------------------------------------------------------------------
def secret_name(host: str) -> str:
    """aitui's own pull secret for a registry: a DNS-1123 name from its host and port."""
    return "aitui-registry-" + re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")


def _hosts_in(secret: dict[str, Any]) -> set[str]:
    """The registries a dockerconfigjson (or legacy dockercfg) Secret has credentials for."""
    data = secret.get("data") or {}
    raw = data.get(".dockerconfigjson") or data.get(".dockercfg") or ""
    try:
        cfg = json.loads(base64.b64decode(raw))
    except (ValueError, TypeError):
        return set()
    auths = cfg.get("auths", cfg) if isinstance(cfg, dict) else {}
    return {re.sub(r"^https?://", "", k).split("/", 1)[0] for k in auths} if isinstance(auths, dict) else set()


def matching_secret(secrets: list[dict[str, Any]], host: str) -> str:
    """The name of a pull secret in the list that has credentials for `host` (port included, as the
    kubelet matches them); aitui's own first; "" when none has."""
    names = [s["metadata"]["name"] for s in secrets
             if s.get("type") in (SECRET_TYPE, "kubernetes.io/dockercfg") and host in _hosts_in(s)]
    return secret_name(host) if secret_name(host) in names else (names[0] if names else "")


def pull_secret(host: str, creds: Credentials, namespace: str) -> dict[str, Any]:
    """The Secret the pods pull `host`'s images with: Docker's credentials, as `kubectl create secret
    docker-registry` writes them."""
    if creds.token:
        raise RegistryError(f"{host}: Docker's credentials for it are an identity token, which a node cannot "
                            f"pull with: make a pull secret yourself (kubectl create secret docker-registry)")
    pair = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    config = {"auths": {host: {"username": creds.username, "password": creds.password, "auth": pair}}}
    return {"apiVersion": "v1", "kind": "Secret", "type": SECRET_TYPE,
            "metadata": {"name": secret_name(host), "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "aitui", "app.kubernetes.io/part-of": "aitui"},
                         "annotations": {"aitui.io/registry": host}},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}}


def pull_with(docs: list[dict[str, Any]], secret: str, change_cause: str) -> None:
    """The Deployment pulls with `secret` and records what was deployed (the tag) as its change-cause."""
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["metadata"].setdefault("annotations", {})["kubernetes.io/change-cause"] = change_cause
            pod = doc["spec"]["template"]["spec"]
            names = [s for s in pod.get("imagePullSecrets") or [] if s.get("name") != secret]
            pod["imagePullSecrets"] = [*names, {"name": secret}]
