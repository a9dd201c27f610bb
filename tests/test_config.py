from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aitui import config


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text('prometheus_url = "http://file:9090"\nnamespace = "from-file"\nbase_image = "file/base"\n')
    env = {"PROMETHEUS_URL": "http://env:9090", "AITUI_NAMESPACE": "from-env"}
    s = config.load(flags={"namespace": "from-flag", "context": None}, env=env, file=f)
    assert s.namespace == "from-flag"
    assert s.prometheus_url == "http://env:9090"
    assert s.base_image == "file/base"
    assert s.context == "local"  # default; a None flag does not override
    assert s.traffic_retries == 0  # traffic reports what a client sees unless asked to retry
    assert config.load(env={"AITUI_TRAFFIC_RETRIES": "2"}, file=f).traffic_retries == 2


def test_readonly_per_context(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('readonly_contexts = ["prod"]\n')
    s = config.load(env={}, file=f)
    assert s.is_readonly("prod") and not s.is_readonly("local")
    assert config.load(env={"AITUI_READONLY": "true"}, file=f).is_readonly("local")


@pytest.mark.parametrize("text, words", [("nope = 1\n", "unknown settings"), ("timeout = [\n", "config.toml"),
                                         ('timeout = "soon"\n', "must be a number"),
                                         ("traffic_retries = -1\n", "must be 0 or more")])
def test_a_bad_config_file_is_a_clear_message(tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "config.toml"
    f.write_text(text)
    with pytest.raises(config.ConfigError, match=words):
        config.load(env={}, file=f)
    r = subprocess.run([sys.executable, "-m", "aitui", "--config", str(f)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_a_kubeconfig_context_brings_its_own_namespace(tmp_path) -> None:
    """`aitui --context team` lands in the namespace the context names, as kubectl does; -n still wins."""
    import yaml

    from aitui.services.kubeconfig import namespace_of

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "team",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "team", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}}]}))
    none = tmp_path / "none.toml"
    team = config.load(flags={"context": "team", "kubeconfig": str(kubeconfig)}, env={}, file=none,
                       namespace_of=namespace_of)
    assert team.namespace == "team-a"
    assert config.load(flags={"context": "team", "kubeconfig": str(kubeconfig), "namespace": "b"}, env={},
                file=none, namespace_of=namespace_of).namespace == "b"
    assert config.load(flags={"kubeconfig": str(kubeconfig)}, env={}, file=none,
                       namespace_of=namespace_of).namespace == "default"  # local


def test_a_library_thread_that_dies_writes_to_the_log_not_over_the_screen(tmp_path) -> None:
    """The kubernetes client's port-forward thread raises when its pod is killed; under the TUI a traceback
    on stderr would smear the screen. aitui sends it to its log file."""
    code = ("import threading; from aitui import cli; cli.quiet_libraries(); "
            "t = threading.Thread(target=lambda: 1 / 0, name='Kubernetes port forward proxy: 8501'); "
            "t.start(); t.join()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"XDG_STATE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    log = (tmp_path / "aitui" / "aitui.log").read_text()
    assert "thread.Kubernetes port forward proxy: 8501 ERROR uncaught ZeroDivisionError" in log, log
