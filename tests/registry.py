"""The real registry that `.ci/registry up` runs (CNCF Distribution on 127.0.0.1:5443, TLS from a CA of its own,
htpasswd), as fixtures: its address, CA and credentials, its HTTP API read with them (tags, manifests), Docker
configs of a test's own, more instances of the same binary (another port, storage or certificate: a registry
to stop mid-push, one whose CA nobody trusts), and images made to push. In CI a registry that is not up fails
the test; elsewhere it is skipped with the command that brings it up."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import requests
from conftest import ROOT, free_port, missing, wait_until

HINT = "run ./.ci/registry up first (it builds and starts the registry)"
MANIFESTS = ", ".join(("application/vnd.docker.distribution.manifest.v2+json",
                       "application/vnd.oci.image.manifest.v1+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.oci.image.index.v1+json"))


@dataclass
class Registry:
    host: str
    bin: Path
    ca: Path
    cert: Path
    key: Path
    htpasswd: Path
    user: str
    password: str
    node_certs: Path  # the node's containerd certs.d (hosts.toml per host:port)

    def get(self, path: str, method: str = "GET", host: str | None = None) -> requests.Response:
        return requests.request(method, f"https://{host or self.host}/v2/{path}", verify=str(self.ca),
                                auth=(self.user, self.password), headers={"Accept": MANIFESTS}, timeout=10)

    def tags(self, repository: str) -> list[str]:
        r = self.get(f"{repository}/tags/list")
        return [] if r.status_code == 404 else list(r.json().get("tags") or [])

    def digest(self, repository: str, reference: str) -> str:
        r = self.get(f"{repository}/manifests/{reference}", method="HEAD")
        assert r.status_code == 200, r.status_code
        return str(r.headers["Docker-Content-Digest"])


def _missing(what: str) -> NoReturn:
    missing(what, HINT)


@pytest.fixture(scope="session")
def registry() -> Registry:
    done = subprocess.run(["bash", str(ROOT / ".ci" / "registry"), "env"], capture_output=True, text=True,
                          timeout=60, check=False)
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if done.returncode != 0 or "REGISTRY" not in env:
        _missing(f"the registry ({done.stderr.strip()})")
    try:
        password = Path(env["REGISTRY_PASSWORD_FILE"]).read_text().strip()
        r = Registry(env["REGISTRY"], Path(env["REGISTRY_BIN"]), Path(env["REGISTRY_CA"]), Path(env["REGISTRY_CERT"]),
                     Path(env["REGISTRY_KEY"]), Path(env["REGISTRY_HTPASSWD"]), env["REGISTRY_USER"], password,
                     Path(env["REGISTRY_NODE_CERTS"]))
        assert r.get("").status_code == 200
    except (OSError, AssertionError, requests.RequestException) as exc:
        _missing(f"the registry at 127.0.0.1:5443 ({exc})")
    return r


class Instance:
    """Another Distribution of the same binary on its own port and storage: stopped by the test at will."""

    def __init__(self, reg: Registry, workdir: Path, cert: Path | None = None, key: Path | None = None) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "config.yml").write_text(json.dumps({  # YAML is a superset of JSON
            "version": 0.1, "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(workdir / "storage")}},
            "http": {"addr": self.host, "tls": {"certificate": str(cert or reg.cert), "key": str(key or reg.key)}},
            "auth": {"htpasswd": {"realm": "aitui-test", "path": str(reg.htpasswd)}}}))
        self.log = open(workdir / "registry.log", "w")  # noqa: SIM115 - open while it runs
        self.proc = subprocess.Popen([str(reg.bin), "serve", str(workdir / "config.yml")], stdout=self.log,
                                     stderr=subprocess.STDOUT, env={**os.environ, "OTEL_TRACES_EXPORTER": "none"})
        ca = str(reg.ca) if cert is None else False  # a certificate of another CA: only asked if it answers
        wait_until(lambda: requests.get(f"https://{self.host}/", verify=ca, timeout=1).status_code == 200, 30,
                   f"the registry instance on {self.host}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def trust(certs_d: Path, host: str, ca: Path) -> None:
    """What Docker's certs.d holds for a registry aitui trusts: <host:port>/ca.crt."""
    (certs_d / host).mkdir(parents=True, exist_ok=True)
    (certs_d / host / "ca.crt").write_bytes(ca.read_bytes())


@pytest.fixture
def instances(registry: Registry, tmp_path: Path, monkeypatch) -> Iterator[Callable[..., Instance]]:
    """Start more registries; aitui's trust (its certs.d) is the test's own, holding the CA of every one
    started with the registry's certificate (one started with another's is trusted by nobody)."""
    from aitui.services import registry as service

    certs_d = tmp_path / "certs.d"
    trust(certs_d, registry.host, registry.ca)
    monkeypatch.setattr(service, "CERTS_D", certs_d)
    started: list[Instance] = []

    def start(cert: Path | None = None, key: Path | None = None) -> Instance:
        i = Instance(registry, tmp_path / f"registry-{len(started)}", cert, key)
        started.append(i)
        if cert is None:
            trust(certs_d, i.host, registry.ca)
        return i

    yield start
    for i in started:
        i.stop()


def write_docker_config(directory: Path, auths: dict[str, tuple[str, str]], **extra: object) -> Path:
    """A Docker config.json as `docker login` writes it (auths: host -> (user, password))."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = {"auths": {h: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for h, (u, p) in auths.items()},
           **extra}
    (directory / "config.json").write_text(json.dumps(cfg))
    return directory / "config.json"


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch) -> Callable[..., Path]:
    """Point Docker's config ($DOCKER_CONFIG) at one of the test's own."""
    def use(auths: dict[str, tuple[str, str]], **extra: object) -> Path:
        path = write_docker_config(tmp_path / f"docker-{uuid.uuid4().hex[:6]}", auths, **extra)
        monkeypatch.setenv("DOCKER_CONFIG", str(path.parent))
        return path

    return use


def fresh_image(docker_client, megabytes: int = 1, base: str = "scratch") -> str:
    """An image no registry has seen: one layer of random bytes (incompressible: the push takes its time)."""
    tag = f"aitui-test/fresh:{uuid.uuid4().hex[:10]}"
    blob = os.urandom(megabytes << 20)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", f"FROM {base}\nCOPY blob /blob\n".encode()), ("blob", blob)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    docker_client.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, tag=tag, rm=True)
    return tag


def remove_image(docker_client, tag: str) -> None:
    """A fresh image and every tag a push gave it (by its id: the local tag and the registry's)."""
    try:
        image = docker_client.images.get(tag)
    except Exception:
        return
    docker_client.images.remove(image.id, force=True)
