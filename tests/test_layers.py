"""The house rules on imports: services never import Textual, the UI never imports the engines'
SDKs, and the CLI stays light so `aitui --help` is instant."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "aitui"
ENGINE_SDKS = {"docker", "kubernetes", "prometheus_api_client", "requests", "urllib3", "aiohttp"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted((PKG / "services").rglob("*.py")), ids=lambda p: p.name)
def test_services_never_import_textual(path: Path) -> None:
    assert not imported_roots(path) & {"textual", "rich", "textual_plotext", "plotext"}


UI_FILES = [*sorted((PKG / "ui").rglob("*.py")), PKG / "app.py"]


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_ui_never_imports_engine_sdks(path: Path) -> None:
    assert not imported_roots(path) & ENGINE_SDKS


def test_cli_and_config_import_no_heavy_module() -> None:
    code = ("import sys, aitui.cli, aitui.config, aitui.models; "
            "print(','.join(sorted(m for m in ('textual','docker','kubernetes','plotext','requests','pandas') "
            "if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_help_answers_without_starting_the_app() -> None:
    r = subprocess.run([sys.executable, "-m", "aitui", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "PROMETHEUS_URL" in r.stdout


ROOT = PKG.parent
CITED = re.compile(r"(?<![\w/.])((?:tests|serving|manifests|aitui|screenshots)/[\w./-]+"
                   r"\.(?:py|sh|md|txt|ya?ml|svg|toml))")


@pytest.mark.parametrize("path", [ROOT / "README.md", *sorted((ROOT / "aitui").rglob("*.py")),
                                  *sorted((ROOT / "serving").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_a_text_cites_exists(path: Path) -> None:
    """A docstring or the README that names a file of the repository names one that is there."""
    if "wheels" in path.parts:
        return
    cited = set(CITED.findall(path.read_text(errors="replace")))
    missing = sorted(c for c in cited if not (ROOT / c).exists() and not (path.parent / c).exists())
    assert not missing, f"{path.relative_to(ROOT)} cites {missing}"
