"""The Docker SDK client, made one way for every caller (the images service, the local target, a build):
by the SDK's own rules, `docker.from_env`, so that DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are honoured as
the docker CLI honours them; a docker_host setting (--docker-host, the config file) stands for DOCKER_HOST.
A client made from `base_url` alone would speak plain HTTP to a TLS engine (tcp://host:2376)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aitui.config import Settings

if TYPE_CHECKING:
    import docker


def environment(settings: Settings) -> dict[str, str]:
    """The environment the SDK reads: the process's, with the docker_host setting as DOCKER_HOST."""
    env = dict(os.environ)
    if settings.docker_host:
        env["DOCKER_HOST"] = settings.docker_host
    return env


def docker_client(settings: Settings, timeout: float) -> docker.DockerClient:
    """A client of the engine the settings name (raises the SDK's DockerException when it cannot be made:
    a malformed DOCKER_HOST, DOCKER_TLS_VERIFY without the certificates in DOCKER_CERT_PATH)."""
    import docker
    from docker.constants import MINIMUM_DOCKER_API_VERSION
    from docker.utils import kwargs_from_env

    kwargs = kwargs_from_env(environment=environment(settings))
    tls = kwargs.get("tls")
    if not (tls and tls.verify and tls.ca_cert):
        return docker.DockerClient(timeout=int(timeout), **kwargs)
    # the engine's own CA (DOCKER_CERT_PATH/ca.pem): requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE win
    # over a session's CA on every request, and the engine's certificate would be checked against another
    # CA. So the session ignores those variables, from its first request on: the API version asked after.
    made = docker.DockerClient(timeout=int(timeout), version=MINIMUM_DOCKER_API_VERSION, **kwargs)
    made.api.trust_env = False
    made.api._version = made.api._retrieve_server_version()
    return made
