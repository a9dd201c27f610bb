"""`aitui doctor`: what a machine that `.ci/up` did not set up (a jump host, a laptop) lacks, each with a
one-line fix. Every check is a small function of the settings that returns a `Check` (the kubeconfig's
contexts one each); none raises. Used by the CLI (text or --json, exit 1 on any fail) and the `:doctor` screen."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

from aitui.config import Settings, is_local
from aitui.services.errors import reason
from aitui.services.redact import text as masked

OK, WARN, FAIL = "ok", "warn", "fail"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Check:
    name: str  # "docker", "prometheus", "prometheus rules", "context aitui-admin"…
    status: str  # ok | warn | fail
    found: str  # what it found, in a few words
    fix: str = ""  # one line that makes it ok ("" when it is)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# -- Docker ---------------------------------------------------------------------------------------
def docker_where(settings: Settings) -> str:
    return settings.docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def docker(settings: Settings) -> Check:
    from aitui.services.images import client

    where = docker_where(settings)
    try:
        version = client(settings).version()
    except Exception as exc:
        why = reason(exc)
        if "permission denied" in why:
            fix = "sudo usermod -aG docker $USER, then log in again (or set DOCKER_HOST to a socket you may use)"
        elif "not found" in why:
            fix = "start the engine (sudo systemctl start docker) or point DOCKER_HOST at its socket"
        else:
            fix = "start the engine or set DOCKER_HOST (or --docker-host) to where it listens"
        return Check("docker", FAIL, f"{where}: {why}", fix)
    return Check("docker", OK, f"engine {str(version.get('Version', '?')).split('+')[0]} "
                               f"(API {version.get('ApiVersion', '?')}) at {where}")


# -- Prometheus -----------------------------------------------------------------------------------
def _prometheus_get(settings: Settings, path: str) -> dict:
    import requests

    r = requests.get(f"{settings.prometheus_url.rstrip('/')}{path}", timeout=settings.timeout)
    r.raise_for_status()
    return dict(r.json()["data"])


PROMETHEUS_FIX = "start Prometheus with manifests/local/prometheus.yml, or set PROMETHEUS_URL (--prometheus-url)"


def prometheus(settings: Settings) -> Check:
    try:
        version = str(_prometheus_get(settings, "/api/v1/status/buildinfo").get("version") or "unknown")
    except Exception as exc:
        return Check("prometheus", FAIL, f"{settings.prometheus_url}: {reason(exc)}", PROMETHEUS_FIX)
    return Check("prometheus", OK, f"{settings.prometheus_url}: version {version}")


def prometheus_rules(settings: Settings) -> Check:
    """The charts read aitui's recording rules (recognizer:*), which the server must load."""
    name = "prometheus rules"
    try:
        groups = _prometheus_get(settings, "/api/v1/rules").get("groups") or []
    except Exception as exc:
        return Check(name, WARN, f"not checked: {reason(exc)}", "see prometheus above")
    names = {str(r.get("name", "")) for g in groups for r in g.get("rules") or []}
    ours = sorted(n for n in names if n.startswith("recognizer:"))
    if not ours:
        return Check(name, FAIL, f"no recognizer:* recording rules ({len(groups)} rule groups loaded)",
                     "add manifests/local/rules/recognizer.yml to rule_files and reload Prometheus")
    return Check(name, OK, f"{len(ours)} recognizer:* recording rules")


def prometheus_discovery(settings: Settings) -> Check:
    """Can it find the replicas: a kubernetes_sd job (a cluster's pods), or file_sd (aitui's local list)."""
    import yaml

    name = "prometheus discovery"
    try:
        config = yaml.safe_load(_prometheus_get(settings, "/api/v1/status/config")["yaml"]) or {}
    except Exception as exc:
        return Check(name, WARN, f"not checked: {reason(exc)}", "see prometheus above")
    jobs = config.get("scrape_configs") or []
    kube = [j.get("job_name", "?") for j in jobs if j.get("kubernetes_sd_configs")]
    files = [j.get("job_name", "?") for j in jobs if j.get("file_sd_configs")]
    if kube:
        return Check(name, OK, f"kubernetes_sd job(s): {', '.join(kube)} (finds a cluster's pods)")
    if files and is_local(settings.context):
        return Check(name, OK, f"file_sd job(s): {', '.join(files)} (local replicas; no kubernetes_sd job)")
    return Check(name, WARN, "no kubernetes_sd job: a cluster's pods are not discovered"
                 + (f" (file_sd: {', '.join(files)})" if files else ""),
                 "point PROMETHEUS_URL at the cluster's Prometheus (manifests/monitoring has its scrape config)")


# -- kubeconfig -----------------------------------------------------------------------------------
def kubeconfig(settings: Settings) -> Check:
    from aitui.services.kubeconfig import contexts, namespace_of, paths

    try:
        names, current = contexts(settings.kubeconfig)
    except FileNotFoundError:
        return Check("kubeconfig", WARN, f"none at {paths(settings.kubeconfig)[0]} (only the local context)",
                     "set KUBECONFIG (or --kubeconfig) to a cluster's kubeconfig to use one")
    except Exception as exc:
        return Check("kubeconfig", FAIL, f"unreadable: {reason(exc)}", "fix or replace the file KUBECONFIG names")
    if not names:
        return Check("kubeconfig", WARN, "no contexts", "add a context (kubectl config set-context …)")
    where = f"current {current}, namespace {namespace_of(settings.kubeconfig, current)}" if current else "no current"
    return Check("kubeconfig", OK, f"{len(names)} context(s): {', '.join(names)}; {where}")


def context(settings: Settings, name: str) -> Check:
    """Does the context's API server answer /version within the timeout (any user may read it)? Is its
    certificate checked (a kubeconfig that skips verifying it is followed, as kubectl does, but said)?"""
    from aitui.services.kubeconfig import SKIP_TLS, namespace_of, paths, tls_unverified

    label = f"context {name}"
    unverified = f"; TLS not verified ({SKIP_TLS}: true)" if tls_unverified(settings.kubeconfig, name) else ""
    tls_fix = f"put the cluster's CA in certificate-authority-data and drop {SKIP_TLS}"
    try:
        from kubernetes import client, config

        files = os.pathsep.join(str(p) for p in paths(settings.kubeconfig) if p.is_file())
        api = config.new_client_from_config(config_file=files, context=name)
        try:
            version = client.VersionApi(api).get_code(_request_timeout=settings.timeout)
        finally:
            api.close()
    except Exception as exc:
        status = FAIL if name == settings.context else WARN  # only the context in use must answer
        return Check(label, status, f"unreachable: {reason(exc)}{unverified}",
                     "start that cluster, or check its server: and credentials in the kubeconfig"
                     + (f"; {tls_fix}" if unverified else ""))
    found = f"Kubernetes {version.git_version}, namespace {namespace_of(settings.kubeconfig, name)}{unverified}"
    return Check(label, WARN, found, tls_fix) if unverified else Check(label, OK, found)


def contexts(settings: Settings) -> list[Check]:
    from aitui.services.kubeconfig import contexts as names_of

    try:
        names, _ = names_of(settings.kubeconfig)
    except Exception:
        return []  # the kubeconfig check says why
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        return list(pool.map(lambda n: context(settings, n), names))


# -- offline builds -------------------------------------------------------------------------------
def base_image(settings: Settings) -> Check:
    from aitui.services.images import client

    name = "base image"
    try:
        engine = client(settings)
        engine.images.get(settings.base_image)
    except Exception as exc:
        if type(exc).__name__ == "ImageNotFound":
            return Check(name, WARN, f"{settings.base_image} is not in the engine: a build pulls it (online only)",
                         f"docker pull {settings.base_image} while online, or set --base-image to one you have")
        return Check(name, WARN, f"not checked: {reason(exc)}", "see docker above")
    return Check(name, OK, f"{settings.base_image} is in the engine")


_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wheelhouse(settings: Settings) -> Check:
    """serving/wheels: when it holds wheels a build installs from it only (pip --no-index), so every pinned
    requirement must be there; when empty, builds download from the package index."""
    from aitui.config import serving_dir

    name = "wheelhouse"
    serving = serving_dir(settings)
    wheels = {(_norm(w.name.split("-")[0]), w.name.split("-")[1]) for w in (serving / "wheels").glob("*.whl")}
    wanted: set[tuple[str, str]] = set()
    for req in sorted(serving.glob("requirements-*.txt")):
        for line in req.read_text().splitlines():
            m = _REQ.match(line.strip())
            if m:
                wanted.add((_norm(m.group(1)), m.group(2)))
    where = serving / "wheels"
    if not wheels:
        return Check(name, WARN, f"{where} has no wheels: builds download packages (need the network)",
                     f"pip download -d {where} -r each {serving}/requirements-*.txt while online")
    missing = sorted(f"{n}=={v}" for n, v in wanted - wheels)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        return Check(name, FAIL, f"{where} lacks {shown} (builds install from it only)",
                     f"pip download -d {where} {' '.join(missing[:4])}{' …' if len(missing) > 4 else ''}")
    return Check(name, OK, f"{len(wheels)} wheels cover the {len(wanted)} pinned requirements")


CHECKS: tuple[Callable[[Settings], Check | list[Check]], ...] = (
    docker, prometheus, prometheus_rules, prometheus_discovery, kubeconfig, contexts, base_image, wheelhouse)


def run(settings: Settings) -> list[Check]:
    """Every check, at once (each waits at most the timeout), in CHECKS' order; what they found masked
    (a Prometheus URL's user:token@, a DOCKER_HOST's)."""
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        done = list(pool.map(lambda check: check(settings), CHECKS))
    return [replace(c, found=masked(c.found), fix=masked(c.fix))
            for result in done for c in (result if isinstance(result, list) else [result])]


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == FAIL for c in checks) else 0


def text(checks: list[Check]) -> str:
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{c.status.upper():<4}  {c.name:<{width}}  {c.found}")
        if c.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    fails, warns = sum(c.status == FAIL for c in checks), sum(c.status == WARN for c in checks)
    lines.append(f"{len(checks)} checks: {fails} failed, {warns} warnings")
    return "\n".join(lines)

