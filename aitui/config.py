"""Settings: flags > environment > TOML file in the user config dir > defaults.

No secret ever lives here: credentials stay in the kubeconfig and the Docker config,
which the engines' own clients read.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aitui"


def serving_dir(settings: Settings) -> Path:
    """The recognizer's build context: the settings', else the serving/ beside the package."""
    if settings.serving_dir:
        return Path(settings.serving_dir)
    return Path(__file__).resolve().parents[1] / "serving"


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where aitui keeps files other programs read (the local Prometheus's target list)."""
    base = (os.environ if env is None else env).get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "aitui"


LOCAL = "local"  # the context that is the local Docker engine; every other one names a kubeconfig context


def is_local(context: str) -> bool:
    """Whether a context is the local Docker engine (the one place that knows its name)."""
    return context == LOCAL


@dataclass
class Settings:
    context: str = LOCAL  # "local" (the Docker engine) or a kubeconfig context
    namespace: str = "default"
    kubeconfig: str | None = None  # None: the client's own rule ($KUBECONFIG, then ~/.kube/config)
    docker_host: str | None = None  # None: the docker SDK's own rule ($DOCKER_HOST, then the socket)
    prometheus_url: str = "http://127.0.0.1:9090"
    base_image: str = "python:3.11-slim"  # the recognizer's BASE_IMAGE build argument
    serving_dir: str | None = None  # the recognizer's build context; None: the one next to the package
    manifests_dir: str | None = None  # what a cluster deploy applies (<dir>/base); None: next to the package
    readonly: bool = False
    readonly_contexts: list[str] = field(default_factory=list)
    timeout: float = 3.0  # seconds for any single call to an engine
    # traffic (t) resends a refused connection to another replica this many times; 0 (the default)
    # counts it as failed, as a client without retries would see it
    traffic_retries: int = 0
    # context -> where its nodes take images aitui builds: "containerd:///path/to.sock" (a cluster on this
    # machine) or "registry://host:5000/team" (pushed there); a context's kubeconfig extension may say it too
    cluster_images: dict[str, str] = field(default_factory=dict)
    # binding id -> key(s), e.g. {"build": "f5", "log.toggle_wrap": "W"}: Textual's keymap (ids in README, `?`)
    keys: dict[str, str] = field(default_factory=dict)
    # the start theme (Textual's names: ctrl+p, "theme"); one picked in the app is kept in the state dir
    # and wins over the config file's at the next start (a flag or AITUI_THEME still wins over both)
    theme: str = ""
    # the model project aitui builds and serves (a folder, or its model file: serving/recognizer/card.py);
    # None: the recognizer serving/ trains
    model: str | None = None
    # other model projects `:model` offers in the app beside that one and the recognizer (folders or model files)
    models: list[str] = field(default_factory=list)

    def is_readonly(self, context: str | None = None) -> bool:
        return self.readonly or (context or self.context) in self.readonly_contexts


ENV = {  # environment variable -> setting
    "AITUI_CONTEXT": "context",
    "AITUI_NAMESPACE": "namespace",
    "KUBECONFIG": "kubeconfig",
    "DOCKER_HOST": "docker_host",
    "PROMETHEUS_URL": "prometheus_url",
    "AITUI_PROMETHEUS_URL": "prometheus_url",
    "AITUI_BASE_IMAGE": "base_image",
    "AITUI_SERVING_DIR": "serving_dir",
    "AITUI_MANIFESTS_DIR": "manifests_dir",
    "AITUI_READONLY": "readonly",
    "AITUI_TIMEOUT": "timeout",
    "AITUI_TRAFFIC_RETRIES": "traffic_retries",
    "AITUI_THEME": "theme",
    "AITUI_MODEL": "model",
}
THEME_FILE = "theme"  # in the state dir: the theme last picked in the app


def saved_theme(env: Mapping[str, str] | None = None) -> str:
    try:
        return (state_dir(env) / THEME_FILE).read_text().strip()
    except OSError:
        return ""


def save_theme(name: str) -> None:
    """Remember the theme picked in the app for the next start (best effort: a read-only home is fine)."""
    try:
        state_dir().mkdir(parents=True, exist_ok=True)
        (state_dir() / THEME_FILE).write_text(name + "\n")
    except OSError:
        pass


class ConfigError(Exception):
    pass


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "bool" and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if kind == "int":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
        if number < 0:
            raise ConfigError(f"{name} must be 0 or more, not {value!r}")
        return number
    if kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, not {value!r}") from None
    if kind == "dict[str, str]" and name == "keys":
        if not isinstance(value, dict):
            raise ConfigError('keys must be a table of binding id = "key" or ["key", "other key"]')
        for k, v in value.items():
            if not (isinstance(v, str) and v.strip()) and not (
                    isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)):
                raise ConfigError(f'keys.{k} must be a key ("f5") or a list of keys (["f5", "ctrl+b"]), not {v!r}')
        return {str(k): v if isinstance(v, str) else ",".join(v) for k, v in value.items()}
    if kind == "dict[str, str]":
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a table of context = \"containerd://…\" or \"registry://…\"")
        return {str(k): str(v) for k, v in value.items()}
    if kind == "list[str]":
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list of strings")
        return [str(v) for v in value]
    return value


def load(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
         file: Path | None = None, namespace_of: Callable[[str | None, str], str] | None = None) -> Settings:
    """The settings; `namespace_of(kubeconfig, context)` names a context's own namespace (the caller passes
    services.kubeconfig's: config stays below the services), used where no namespace was chosen."""
    env = os.environ if env is None else env
    path = file or Path(env.get("AITUI_CONFIG") or config_dir() / "config.toml")
    settings = Settings()
    known = {f.name for f in fields(Settings)}
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{path}: unknown settings {sorted(unknown)}; known: {sorted(known)}")
        for k, v in data.items():
            setattr(settings, k, _coerce(k, v))
        if isinstance(data.get("model"), str):  # a path in the file is relative to the file
            settings.model = str(path.parent / Path(data["model"]).expanduser())
        settings.models = [str(path.parent / Path(m).expanduser()) for m in settings.models]
    for var, name in ENV.items():
        if env.get(var):
            setattr(settings, name, _coerce(name, env[var]))
    for k, v in (flags or {}).items():
        if v is not None:
            setattr(settings, k, _coerce(k, v))
    chosen = (data if path.is_file() else {}).keys() | {n for var, n in ENV.items() if env.get(var)} | \
        {k for k, v in (flags or {}).items() if v is not None}
    overridden = {n for var, n in ENV.items() if env.get(var)} | {k for k, v in (flags or {}).items() if v is not None}
    if "theme" not in overridden:
        settings.theme = saved_theme(env) or settings.theme  # the one picked in the app last time
    if not is_local(settings.context) and "namespace" not in chosen and namespace_of is not None:
        settings.namespace = namespace_of(settings.kubeconfig, settings.context)  # as kubectl does
    return settings
