"""The repository's module layering (docs/ARCHITECTURE.md section 10), over module-level and
function-level imports alike: which package may import which (`sps` reaches the testbench only
through the simulation layer tb.env, never a test module), no import cycle anywhere, and the
compiler, the integer reference and the RTL simulation side import without torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.paths import ROOT

PACKAGES = ("compiler", "models", "sps", "tb", "tests")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the repository modules it imports (anywhere in its body)."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for n in names:
                while n and n not in files:        # `import a.b.c` also imports a.b and a
                    n = n.rpartition(".")[0]
                if n and n != mod:
                    deps.add(n)
        graph[mod] = deps
    return graph


# (importer, imported, except): no module of package `importer` imports one of `imported`, unless
# it lies in `except`
FORBIDDEN = (
    ("sps", "tb", "tb.env"),            # the command drives the simulation layer, never a test module
    ("tb.env", "sps", None),            # the simulation layer serves sps; it does not call back
    ("tb.env", "tb", "tb.env"),         # nor does it import the tests (tb.blocks, tb.top, tb.conftest)
    ("compiler", "tb", None),
    ("compiler", "sps", None),
    ("models", "compiler", None),       # models (the reference among them) shares no code with the compiler
    ("models", "tb", None),
    ("models", "sps", None),
    ("sps", "tests", None),             # the product never imports the test suite
    ("tb.env", "tests", None),
    ("compiler", "tests", None),
    ("models", "tests", None),
)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import the FORBIDDEN rules rule out, as `importer imports imported`."""
    return [f"{mod} imports {dep}" for mod, deps in sorted(graph.items()) for dep in sorted(deps)
            if any(_within(mod, importer) and _within(dep, imported) and not (allowed and _within(dep, allowed))
                   for importer, imported, allowed in FORBIDDEN)]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 40
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_layering():
    graph = import_graph()
    assert any(_within(d, "tb.env") for m, deps in graph.items() if _within(m, "sps") for d in deps)
    bad = layering_violations(graph)
    assert not bad, "imports across the layers: " + "; ".join(bad)


@pytest.mark.parametrize("importer, imported", [
    ("sps.commands.demo", "tb.top.test_sps_top"), ("sps.cli", "tb.blocks"), ("sps.coverage", "tb.conftest"),
    ("tb.env.host", "sps.cli"), ("tb.env.runner", "tb.blocks"), ("compiler.network", "tb.env.host"),
    ("compiler.layer", "sps.tables"), ("models.qnet", "compiler.network"), ("models.reference", "tb.env.cases"),
    ("models.pps", "sps.cli"),
])
def test_layering_catches_a_planted_import(importer, imported):
    graph = import_graph()
    graph[importer] = graph[importer] | {imported}
    assert layering_violations(graph) == [f"{importer} imports {imported}"]


@pytest.mark.parametrize("modules", [
    "compiler, models.reference",
    "compiler.compile, compiler.funcmodel, compiler.network, compiler.progfile, compiler.show, "
    "compiler.storage, models.qnet, models.quant",
    "tb.env.runner, tb.env.top, tb.env.cases, tb.env.host, tb.env.program, tb.env.network",
    "tb.top.test_sps_top, tb.blocks.test_sps_requant, tb.blocks.test_sps_index_walker",
])
def test_imports_without_torch(modules):
    """torch set to None in sys.modules: any import of it fails. The tb modules here are the ones
    a simulation process imports (cocotb modules and what they use)."""
    code = f"import sys; sys.modules['torch'] = None; import {modules}"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr.strip().splitlines()[-1]
