"""The targets answer their differences themselves (the Target protocol), so nothing above them guesses:
no `getattr` on a target, no comparison with the name "local" outside config.py, and each engine has every
member the protocol names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aitui.config import Settings
from aitui.services.targets import Target

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = sorted({n for n in vars(Target) if not n.startswith("_")} | set(Target.__annotations__))


def sources() -> list[Path]:
    return sorted((ROOT / "aitui").rglob("*.py"))


def test_nothing_guesses_what_a_target_has() -> None:
    guess = re.compile(r"getattr\(\s*(self\.)?_?target\b")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sources()
             for n, line in enumerate(p.read_text().splitlines(), 1) if guess.search(line)]
    assert not found


def test_only_config_knows_the_local_contexts_name() -> None:
    compare = re.compile(r"""[!=]=\s*["']local["']|["']local["']\s*[!=]=""")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sources() if p.name != "config.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if compare.search(line)]
    assert not found


@pytest.mark.docker
def test_the_local_engine_says_what_it_is(settings: Settings, tmp_path: Path) -> None:
    from aitui.services.targets.local import LocalTarget

    t = LocalTarget(settings, targets_dir=tmp_path)
    try:
        assert [m for m in MEMBERS if not hasattr(t, m)] == []
        assert (t.namespaced, t.where, t.prometheus_url, t.synced(0.1)) == (False, "local", settings.prometheus_url,
                                                                            True)
    finally:
        t.close()


def test_a_cluster_says_what_it_is(tmp_path: Path) -> None:
    """Without asking it anything: the answers come from the context, the namespace and the settings."""
    from conftest import free_port

    from aitui.services.targets.kubernetes import KubeTarget

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{free_port()}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: team, context: {{cluster: c, user: u}}}}]
""")
    t = KubeTarget(Settings(kubeconfig=str(kubeconfig), prometheus_url="http://prom.example:9090"), "team", "ns-a")
    try:
        assert [m for m in MEMBERS if not hasattr(t, m)] == []
        assert (t.namespaced, t.where, t.prometheus_url) == (True, "team/ns-a", "http://prom.example:9090")
    finally:
        t.close()
