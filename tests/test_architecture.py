"""The layout the code promises newcomers: pipelines/ works without Streamlit, dashboard/ is only the
Streamlit side, and no module imports another that (directly or not) imports it back — imports inside
functions included, since they are cycles that merely wait for the first call."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_DIR

PACKAGES = ("pipelines", "dashboard")
MAX_LOOSE_MODULES = 5  # in pipelines/, beside __init__.py and __main__.py


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((REPO_DIR / package).rglob("*.py"))}


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it: `from a import b` is a.b when a.b is a module, else a."""
    modules = project_modules()
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
            names.update(submodules)
            if len(submodules) < len(node.names):  # some names are the package's own attributes
                names.add(node.module)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: {m for m in imported_names(path) if m in modules and m != name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_among_the_projects_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_pipelines_never_import_streamlit_nor_the_dashboard():
    offenders = {name: sorted(m for m in imported_names(path) if m.split(".")[0] in ("streamlit", "dashboard"))
                 for name, path in project_modules().items() if name.startswith("pipelines")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_dashboard_holds_only_streamlit_side_code():
    """A dashboard/ module that needs no Streamlit belongs to pipelines/, where the CLI can use it."""
    without = [name for name, path in project_modules().items()
               if name.startswith("dashboard.") and not any(m.split(".")[0] == "streamlit" for m in imported_names(path))]
    assert without == []


def test_pipelines_is_organised_in_packages():
    loose = sorted(p.name for p in (REPO_DIR / "pipelines").glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, loose
    for package in (p for p in (REPO_DIR / "pipelines").iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.exists() and ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), \
            f"{package.name}/ needs an __init__.py saying what it holds"
