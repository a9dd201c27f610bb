"""Pushing to the real registry (.ci/registry: Distribution on 127.0.0.1:5443, TLS from its own CA, htpasswd)
through the real Docker engine: Docker's own credentials (docker login's config.json, a real credential
helper), the check before a push (wrong credentials, an untrusted CA, nothing listening), per-layer progress,
the digest the registry then serves, a registry stopped mid-push, and `aitui build --push`. Every failure is
one line, and no line ever holds the password."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from registry import fresh_image, remove_image, write_docker_config

from aitui.config import Settings
from aitui.services import registry as reg
from aitui.services.registry import Credentials, Place, RegistryError

pytestmark = pytest.mark.docker


def test_a_registry_place_names_its_host_port_and_path() -> None:
    p = Place.parse("registry://127.0.0.1:5443/team/apps/")
    assert (p.host, p.path) == ("127.0.0.1:5443", "team/apps")
    assert p.repository("aitui/recognizer:0.1.0-abc") == "127.0.0.1:5443/team/apps/recognizer"
    assert Place.parse("registry://ghcr.io").repository("recognizer:1") == "ghcr.io/recognizer"
    assert reg.place_of("containerd:///run/containerd.sock") is None
    for bad in ("registry://", "registry:///path", "registry://host:port/x", "registry://a b/c"):
        with pytest.raises(RegistryError, match="expected registry://HOST"):
            Place.parse(bad)


def test_credentials_come_from_docker_logins_config_and_are_never_shown(registry, docker_config) -> None:
    path = docker_config({registry.host: (registry.user, registry.password)})
    creds = reg.credentials(registry.host)
    assert creds is not None and (creds.username, creds.password, creds.source) == \
        (registry.user, registry.password, str(path))
    assert registry.password not in repr(creds) and registry.password not in str(creds)
    assert reg.credentials("127.0.0.1:1") is None  # the port counts, as for Docker and the kubelet
    docker_config({})
    assert reg.credentials(registry.host) is None


def helper(bin_dir: Path, name: str, answers: dict[str, tuple[str, str]]) -> None:
    """A real credential helper (docker-credential-NAME): `get` reads the server on stdin, answers JSON."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(f"#!{sys.executable}\nimport json, sys\nknown = {json.dumps(answers)}\n"
                      "if sys.argv[1] != 'get':\n    sys.exit(1)\nserver = sys.stdin.read().strip()\n"
                      "if server not in known:\n    print('credentials not found in native keychain')\n"
                      "    sys.exit(1)\nu, p = known[server]\n"
                      "print(json.dumps({'ServerURL': server, 'Username': u, 'Secret': p}))\n")
    script.chmod(0o755)


def test_a_credential_helper_is_honoured_before_the_auths(registry, docker_config, tmp_path, monkeypatch) -> None:
    helper(tmp_path / "bin", "aitui-test", {registry.host: (registry.user, registry.password)})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    # auths holds a stale password; credHelpers names the helper for this host, as Docker resolves it
    docker_config({registry.host: (registry.user, "stale")}, credHelpers={registry.host: "aitui-test"})
    creds = reg.credentials(registry.host)
    assert creds is not None and creds.password == registry.password
    assert creds.source == "docker-credential-aitui-test"
    reg.check(registry.host, creds)  # the registry takes them
    docker_config({}, credsStore="aitui-test")  # a store for every host
    assert reg.credentials(registry.host) == creds
    docker_config({}, credHelpers={registry.host: "not-installed"})
    with pytest.raises(RegistryError, match=r"docker-credential-not-installed \(named in .*config.json\) failed"):
        reg.credentials(registry.host)


def test_wrong_or_missing_credentials_are_one_line_and_never_the_password(registry) -> None:
    wrong = Credentials(registry.user, "not-" + registry.password, "a test's config")
    with pytest.raises(RegistryError) as caught:
        reg.check(registry.host, wrong)
    said = str(caught.value)
    assert said == (f"{registry.host}: 401 unauthorized: it refused the credentials from a test's config "
                    f"(user {registry.user}): docker login {registry.host} with the right ones")
    assert wrong.password not in said
    with pytest.raises(RegistryError, match=rf"401 unauthorized: no credentials .*: docker login {registry.host}$"):
        reg.check(registry.host, None)
    reg.check(registry.host, Credentials(registry.user, registry.password, "x"))


def test_an_untrusted_ca_names_the_fix(registry, instances, test_ca, tmp_path) -> None:
    _, cert, key = test_ca
    other = instances(cert, key)  # Distribution with a certificate of a CA Docker's certs.d does not hold
    creds = Credentials(registry.user, registry.password, "x")
    with pytest.raises(RegistryError) as caught:
        reg.check(other.host, creds, certs_d=tmp_path / "certs.d")
    assert str(caught.value) == (
        f"{other.host}: TLS: certificate signed by an unknown authority; trust its CA: put it in "
        f"{tmp_path / 'certs.d' / other.host / 'ca.crt'} here, and on each node in containerd's "
        f"certs.d/{other.host}/hosts.toml (ca = ...)")
    (tmp_path / "certs.d" / other.host).mkdir(parents=True)  # the fix it names, done: then it passes
    (tmp_path / "certs.d" / other.host / "ca.crt").write_bytes(test_ca[0].read_bytes())
    reg.check(other.host, creds, certs_d=tmp_path / "certs.d")


def test_a_registry_that_is_not_there_is_one_line() -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match=rf"^{host}: registry unreachable: connection refused$"):
        reg.check(host, None)


def test_push_says_each_layer_and_returns_the_digest_the_registry_serves(registry, docker_client,
                                                                          docker_config) -> None:
    docker_config({registry.host: (registry.user, registry.password)})
    image = fresh_image(docker_client, 8, base="aitui/base:bookworm")
    place = Place.parse(f"registry://{registry.host}/aitui-test")
    try:
        said: list[str] = []
        ref = reg.push(Settings(), image, place, said.append, every=0.0)
        repository, digest = ref.split("@")
        tag = image.rsplit(":", 1)[1]
        assert repository == f"{registry.host}/aitui-test/fresh"
        assert registry.digest("aitui-test/fresh", tag) == digest  # what the tag resolves to now
        assert registry.get(f"aitui-test/fresh/manifests/{digest}", "HEAD").status_code == 200  # pull by digest
        layers = [s for s in said if re.fullmatch(r"push [0-9a-f]{12}: (pushed \([\d.]+ MB\)|layer already exists)", s)]
        assert len(layers) == 2, said  # the base's layer and the new one, each said once
        assert any(s.startswith("push ") and " pushed (8.4 MB)" in s for s in layers), layers  # the new 8 MiB
        totals = [s for s in said if re.fullmatch(rf"push {re.escape(repository)}:{tag}: [\d.]+ of [\d.]+ MB · "
                                                 r"\d of 2 layers done, \d already there", s)]
        assert totals, said
        assert said[-1].startswith(f"pushed {repository}:{tag} in ") and said[-1].endswith(ref)
        again: list[str] = []
        assert reg.push(Settings(), image, place, again.append) == ref  # the same content: the same digest
        assert sum("layer already exists" in s for s in again) == 2, again
        assert re.search(r": 0\.0 MB sent, 2 of 2 layers already there; ", again[-1]), again[-1]
        assert not any(registry.password in s for s in said + again)
    finally:
        remove_image(docker_client, image)


def test_the_engines_own_refusal_is_one_line_and_pushes_nothing(registry, docker_client) -> None:
    image = fresh_image(docker_client)
    tag = image.rsplit(":", 1)[1]
    wrong = Credentials(registry.user, "not-" + registry.password, "a test's config")
    try:
        with pytest.raises(RegistryError) as caught:  # past the check: what the engine's stream says
            reg.push(Settings(), image, Place.parse(f"registry://{registry.host}/aitui-test"), lambda _: None,
                     wrong, check_first=False)
        assert str(caught.value) == (f"push {registry.host}/aitui-test/fresh:{tag}: 401 unauthorized: "
                                     f"{registry.host} refused the credentials from a test's config: "
                                     f"docker login {registry.host}")
        assert tag not in registry.tags("aitui-test/fresh")
    finally:
        remove_image(docker_client, image)


def test_a_registry_stopped_mid_push_is_one_line_soon(registry, instances, docker_client, docker_config) -> None:
    doomed = instances()
    docker_config({doomed.host: (registry.user, registry.password)})
    image = fresh_image(docker_client, 160)
    stopped_at: list[str] = []

    def progress(line: str) -> None:
        m = re.search(r": ([\d.]+) of [\d.]+ MB", line)
        if m and float(m[1]) > 0 and not stopped_at:
            stopped_at.append(line)
            doomed.stop()  # while the layer's bytes are on their way

    t0 = time.monotonic()
    try:
        with pytest.raises(RegistryError) as caught:
            reg.push(Settings(), image, Place.parse(f"registry://{doomed.host}/aitui-test"), progress, every=0.0)
        assert stopped_at, "the push ended before any byte was sent"
        said = str(caught.value)
        assert re.fullmatch(rf"push {doomed.host}/aitui-test/fresh:\w+: the registry at {doomed.host} stopped "
                            r"answering mid-push \(after [\d.]+ of [\d.]+ MB\)(: .+)?; nothing was deployed",
                            said), said
        assert time.monotonic() - t0 < 60  # not the engine's five retries
    finally:
        remove_image(docker_client, image)


def aitui(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aitui", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env={**os.environ, **(env or {})})


def test_aitui_build_push_shows_the_layers_and_the_digest(registry, recognizer_image, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[cluster_images]\nlab = "registry://{registry.host}/aitui-test"\n')
    env = {"DOCKER_CONFIG": str(write_docker_config(tmp_path / "docker",
                                                    {registry.host: (registry.user, registry.password)}).parent)}
    done = aitui("--config", str(config), "--context", "lab", "build", "--push", "--json", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    tag = recognizer_image.rsplit(":", 1)[1]
    assert out["tag"] == recognizer_image
    assert out["pushed"] == f"{registry.host}/aitui-test/recognizer@{registry.digest('aitui-test/recognizer', tag)}"
    lines = done.stderr.splitlines()
    assert any(re.fullmatch(r"push [0-9a-f]{12}: (pushed \([\d.]+ MB\)|layer already exists)", s) for s in lines)
    assert any(s.startswith(f"pushed {registry.host}/aitui-test/recognizer:{tag} in ") for s in lines), lines[-5:]
    assert registry.password not in done.stdout + done.stderr


def test_aitui_build_push_refuses_before_building(registry, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'readonly_contexts = ["ro"]\n[cluster_images]\nlab = "registry://{registry.host}/aitui-test"\n'
                      'plain = "containerd:///run/containerd.sock"\n')
    wrong = {"DOCKER_CONFIG": str(write_docker_config(tmp_path / "docker",
                                                      {registry.host: (registry.user, "no")}).parent)}
    cases = {
        ("--context", "lab"): f"aitui build: {registry.host}: 401 unauthorized: it refused the credentials from "
                              f"{tmp_path / 'docker' / 'config.json'} (user {registry.user}): docker login "
                              f"{registry.host} with the right ones",
        ("--context", "plain"): 'aitui build: --push: context plain names no registry: set '
                                'cluster_images.plain = "registry://HOST/PATH"',
        ("--context", "local"): "aitui build: --push: the local context runs what its engine has; name a cluster's "
                                "context whose cluster_images is registry://HOST/PATH (--context)",
        ("--context", "ro"): "aitui build: read-only (ro): build refused, nothing sent",
    }
    for flags, line in cases.items():
        done = aitui("--config", str(config), *flags, "build", "--push", env=wrong, timeout=120)
        assert (done.returncode, done.stderr.strip().splitlines()) == (2, [line]), done.stderr
