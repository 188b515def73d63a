"""The layout holds: the command line reaches data only through the use cases, the use cases see storage
only through its ports, and no import circles.

Both are read from the source with `ast`, nothing is imported: a face that imports storage, or a new
circle between modules, fails here with the file, the line and the modules involved.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("pipeline", "channels", "content_calendar")
CLI = ROOT / "pipeline" / "cli"
SERVICES = ROOT / "pipeline" / "services"
# Module-level import circles that are known and being removed, each as the set of its modules. None now:
# pipeline.clock.scheduler imports pipeline.jobs.tasks only inside run_clock(), which is not at module level.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                out[_module_name(path)] = path
    return out


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Each absolute name a module imports, with the line: `import a.b` gives a.b; `from a import b`
    gives a.b (resolved to a module, or to a, by the caller). Relative imports are made absolute."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")
                parent = parent if is_package else parent[:-1]
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _top_level(tree: ast.Module) -> ast.Module:
    """The module's statements run at import time: functions' bodies are left out (an import inside a
    function runs when it is called); class bodies, `if` and `try` blocks at module level are kept."""

    class Strip(ast.NodeTransformer):
        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            return None

        def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
            return None

    return Strip().visit(tree)  # type: ignore[no-any-return]


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """`a.b.c` to the longest known module it names: a.b.c itself, or a.b when c is a name in a.b."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = _top_level(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for _line, name in _imported_names(tree, module, path.name == "__init__.py"):
            target = _resolve(name, modules)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_command_line_never_touches_storage() -> None:
    offences = []
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(ROOT)
        for line, name in _imported_names(tree, _module_name(path), path.name == "__init__.py"):
            if name == "pipeline.storage" or name.startswith("pipeline.storage."):
                offences.append(f"{where}:{line}: imports {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "repos":
                offences.append(f"{where}:{node.lineno}: reaches the repositories (.repos); call a use case instead")
    assert not offences, "\n".join(offences)


def _storage_imports(path: Path, module: str) -> list[str]:
    """Each import of `pipeline.storage` (or a module in it) by one source file, as line: name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        f"{line}: imports {name}"
        for line, name in _imported_names(tree, module, path.name == "__init__.py")
        if name == "pipeline.storage" or name.startswith("pipeline.storage.")
    ]


def test_the_use_cases_see_storage_only_through_its_ports() -> None:
    """A use case takes the repositories it needs typed as their Protocols (`pipeline.ports`), so mypy
    checks the seam and any implementation (a memory one, a web client) can stand in."""
    offences = [
        f"{path.relative_to(ROOT)}:{offence}"
        for path in sorted(SERVICES.glob("*.py"))
        for offence in _storage_imports(path, _module_name(path))
    ]
    assert not offences, "\n".join(offences) + "\n(type against pipeline.ports instead)"


def test_the_storage_rule_finds_an_import(tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_text("import os\n\nfrom pipeline.storage.outbox_store import OutboxStore\n", encoding="utf-8")
    good.write_text("from pipeline.ports import OutboxRepository\n", encoding="utf-8")
    assert _storage_imports(bad, "pipeline.services.bad") == ["3: imports pipeline.storage.outbox_store.OutboxStore"]
    assert _storage_imports(good, "pipeline.services.good") == []


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_the_use_cases_never_load_the_clock_process() -> None:
    """`comms status` reads the clock's triggers (`pipeline.clock.triggers`), not the clock process
    module, which pulls in the jobs and the process's context."""
    graph = import_graph()
    assert not _reachable(graph, "pipeline.clock.triggers") & {"pipeline.context", *_jobs(graph)}
    for module in (m for m in graph if m.startswith("pipeline.services.")):
        assert not graph[module] & {"pipeline.clock.scheduler", "pipeline.clock.jobs"}, module


def _jobs(graph: dict[str, set[str]]) -> set[str]:
    return {m for m in graph if m == "pipeline.jobs" or m.startswith("pipeline.jobs.")}


def test_no_import_circles() -> None:
    graph = import_graph()
    assert "pipeline.services.outbox" in graph and "pipeline.ports" in graph["pipeline.services.outbox"]
    found = [c for c in cycles(graph) if frozenset(c) not in KNOWN_CYCLES]
    assert not found, "import circles (module-level imports):\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
