"""The package layers import only downward, and no module imports itself back through others.

Imports are read from the source with ``ast``, those inside functions included (a lazy import is still a
dependency). ``LAYERS`` lists discodock's layers from the bottom up; a module may import its own layer and
the ones below it. ``disco_core`` is the domain-free library under all of them and never imports
``discodock``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LAYERS = (
    "discodock.errors",
    "discodock.worker_process",
    "discodock.geometry",
    "discodock.data",
    "discodock.diffusion",
    "discodock.models",
    "discodock.config",
    "discodock.models.bundle",  # the networks of a checkpoint: needs the run config above the models
    "discodock.scoring",
    "discodock.sampling",
    "discodock.eval",
    "discodock.training",
    "discodock.screen",
    "discodock.web",
    "discodock.commands",
    "discodock.cli",
)
TOP = ("discodock", "discodock.__main__")  # the package itself and ``python -m discodock``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in ("discodock", "disco_core")}


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for root in ("discodock", "disco_core") for p in (REPO / root).rglob("*.py")}


def layer_of(module: str) -> int | None:
    """Index in LAYERS of the longest layer name that is ``module`` or a package above it."""
    best = None
    for i, prefix in enumerate(LAYERS):
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(LAYERS[best])):
            best = i
    return best


def test_every_discodock_module_has_a_layer():
    unplaced = [m for m in project_modules() if m.startswith("discodock") and m not in TOP and layer_of(m) is None]
    assert not unplaced, f"modules outside every layer (add them to LAYERS): {unplaced}"


def test_layers_import_only_downward():
    bad = []
    for name, path in project_modules().items():
        for imp in imports_of(path):
            if name.startswith("disco_core"):
                if imp.startswith("discodock"):
                    bad.append(f"{name} -> {imp} (disco_core never imports discodock)")
                continue
            mine, theirs = layer_of(name), layer_of(imp)
            if mine is not None and theirs is not None and theirs > mine:
                bad.append(f"{name} ({LAYERS[mine]}) -> {imp} ({LAYERS[theirs]})")
    assert not bad, "imports that go up a layer:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imp in imports_of(path):
            # ``from pkg import name`` may name a submodule or an attribute: keep what is a module.
            while imp and imp not in modules:
                imp = imp.rpartition(".")[0]
            if imp and imp != name and not name.startswith(imp + "."):  # a package's own __init__ is not a cycle
                targets.add(imp)
        graph[name] = targets
    # Tarjan's strongly connected components: any component with more than one module is a cycle.
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_library_module_over_400_lines():
    long = {m: n for m, p in project_modules().items() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines (split them by idea): {long}"
