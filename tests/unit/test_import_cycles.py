"""No module of verifiers/ imports one that imports it back, counting imports inside functions (a lazy import
hides a cycle, it does not remove it). A package's `__init__` counts as a module: the registries of kinds and
sources live in their own modules so that a package's modules can import its shared types."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "verifiers"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*anchor, source] if source else anchor)
                targets = [source, *(f"{source}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:  # a name imported from a module: that module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def test_verifiers_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the package was read
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_imports_inside_functions_count() -> None:
    """cli.py imports the canary command inside a function (so --help stays fast): that is an edge too."""
    assert "verifiers.compliance.commands" in import_graph()["verifiers.cli"]


def test_compliance_imports_no_store() -> None:
    """The compliance checks judge facts a kind hands them (compliance/restored.py): no store kind is imported."""
    graph = import_graph()
    reached = {target for name, targets in graph.items() if name.startswith("verifiers.compliance")
               for target in targets}
    assert not {t for t in reached if t.startswith("verifiers.stores")}
