"""The house rules on imports: the layers (the program -> the app -> ui -> messages -> services -> plain
data), no import circle in aitui/ or serving/ and no import up a layer; services never import Textual, the
UI never imports the engines' SDKs, and the CLI stays light so `aitui --help` is instant."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "aitui"
# top to bottom: a module imports from its own layer or one below, never from one above (lazy imports and
# those for the type checker count too); `x.*` is every module under the package x
LAYERS: tuple[tuple[str, ...], ...] = (
    ("aitui.__main__", "aitui.cli", "aitui.script", "aitui.commands", "aitui.parser", "aitui.demo"),  # the program
    ("aitui.app",),  # the composition root
    ("aitui.ui", "aitui.ui.*"),  # the features and panels
    ("aitui.messages",),  # what many features post
    ("aitui.services", "aitui.services.*"),  # no Textual
    ("aitui", "aitui.models", "aitui.config"),  # plain data
)


def modules(root: Path) -> dict[str, Path]:
    """Every module under `root` by its dotted name (a package by its __init__), as `root` is on sys.path."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent if (root / "__init__.py").exists() else root).with_suffix("").parts
        if "wheels" in parts:
            continue
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `name` imports anywhere in its file: at the top, in a function (lazy),
    under TYPE_CHECKING. `from a import b` names a.b when that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            wanted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            wanted = [f"{base}.{a.name}" for a in node.names] + [base]
            wanted = [w for w in wanted if w in known][:1] or [base]
        else:
            continue
        for w in wanted:
            while w and w not in known:  # `import a.b.c` of a module a.b
                w = w.rpartition(".")[0]
            if w and w != name:
                out.add(w)
    return out


def graph(root: Path) -> dict[str, set[str]]:
    found = modules(root)
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The modules that import each other, round and round (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def layer(name: str, layers: tuple[tuple[str, ...], ...]) -> int | None:
    for n, patterns in enumerate(layers):
        if any(name == p or (p.endswith(".*") and name.startswith(p[:-1])) for p in patterns):
            return n
    return None


def upward(edges: dict[str, set[str]], layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Each import of a module from a layer above its own, and each module in no layer."""
    out = [f"{name}: in no layer" for name in sorted(edges) if layer(name, layers) is None]
    for name, targets in sorted(edges.items()):
        here = layer(name, layers)
        out += [f"{name} -> {t}" for t in sorted(targets)
                if here is not None and (there := layer(t, layers)) is not None and there < here]
    return out


def test_aitui_has_its_layers_and_no_upward_import() -> None:
    assert upward(graph(PKG), LAYERS) == []


@pytest.mark.parametrize("root", ["aitui", "serving"])
def test_no_import_circle(root: str) -> None:
    assert circles(graph(PKG.parent / root)) == []


def test_the_checks_find_a_planted_circle_and_an_upward_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "high.py").write_text("x = 1\n")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "low" / "deep.py").write_text("def f():\n    from ..high import x  # lazy, relative: still up\n")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n")
    (pkg / "b.py").write_text("import pkg.c\n")
    (pkg / "c.py").write_text("from . import a\n")
    edges = graph(pkg)
    assert circles(edges) == [["pkg.a", "pkg.b", "pkg.c"]]
    layers = (("pkg.high", "pkg.a", "pkg.b", "pkg.c"), ("pkg", "pkg.low", "pkg.low.*"))
    assert upward(edges, layers) == ["pkg.low.deep -> pkg.high"]
    assert upward(edges, layers[:1]) == ["pkg: in no layer", "pkg.low: in no layer", "pkg.low.deep: in no layer"]
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
