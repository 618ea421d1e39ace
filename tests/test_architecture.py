"""The shape of the code, checked from the code: the import graph has no cycle and no arrow
up the layers, and each registry of blurkit.choices is the only list of its names."""

from __future__ import annotations

import ast
from pathlib import Path

from blurkit import choices

PACKAGE = Path(__file__).resolve().parent.parent / "blurkit"

# Lower layers never import higher ones. Within a layer imports go either way, but never in
# a circle (checked separately). The command line may start the web page (`blurkit serve`),
# the web page never reaches into the command line.
LAYERS = [
    ("base", ("blurkit", "blurkit.errors", "blurkit.i18n", "blurkit.fsutil", "blurkit.choices",
              "blurkit.config", "blurkit.audit", "blurkit.modelstore", "blurkit.accounts",
              "blurkit.signals", "blurkit.timelimit",
              "blurkit.media", "blurkit.detect", "blurkit.identify", "blurkit.consent")),
    ("engine", ("blurkit.engine",)),
    ("watch", ("blurkit.watch", "blurkit.service")),
    ("usecases", ("blurkit.usecases",)),
    ("web", ("blurkit.web",)),
    ("cli", ("blurkit.cli", "blurkit.__main__")),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (imports for type hints only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                todo.extend(child.orelse)
                continue
            todo.append(child)


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The blurkit modules `name` imports at run time, anywhere in it (late imports in
    functions too; not those under `if TYPE_CHECKING:`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                found.add(full if full in known else source)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def layer(name: str) -> int:
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{name} is in no layer: add it to LAYERS"
    return best[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_no_import_up_the_layers():
    upward = []
    for name, deps in graph().items():
        for dep in deps:
            up = layer(dep) > layer(name)
            web_to_cli = layer(name) == 4 and layer(dep) == 5
            if up or web_to_cli:
                upward.append(f"{name} -> {dep}")
    assert upward == []


# What a web handler may reach: the use cases and the plain values it renders. No SQL, no file
# moves, no pictures or models (those are the use cases' and the engine's).
WEB_MAY_IMPORT = ("blurkit.web", "blurkit.usecases", "blurkit.errors", "blurkit.i18n",
                  "blurkit.config", "blurkit.choices", "blurkit.watch.config",
                  "blurkit.accounts")
WEB_MUST_NOT = {"sqlite3", "shutil", "cv2", "numpy", "PIL", "onnxruntime", "subprocess"}


def foreign_imports(path: Path) -> set[str]:
    """Top-level names of the non-blurkit modules a file imports at run time."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_web_handlers_only_parse_call_a_use_case_and_render():
    mods = modules()
    edges = graph()
    wrong = []
    for name, path in mods.items():
        if layer(name) != 4:
            continue
        wrong += [f"{name} -> {dep}" for dep in edges[name] - {"blurkit"}   # __version__
                  if not any(dep == p or dep.startswith(p + ".") for p in WEB_MAY_IMPORT)]
        wrong += [f"{name} -> {dep}" for dep in foreign_imports(path) & WEB_MUST_NOT]
    assert wrong == []


def test_the_web_check_sees_a_forbidden_import(tmp_path):
    handler = tmp_path / "handler.py"
    handler.write_text("import sqlite3\nfrom shutil import move\n"
                       "if TYPE_CHECKING:\n    import numpy\n")
    assert foreign_imports(handler) & WEB_MUST_NOT == {"sqlite3", "shutil"}


def test_the_checks_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("blurkit.web.review") > layer("blurkit.usecases.review") > \
        layer("blurkit.engine.pipeline") > layer("blurkit.consent.registry")


# ------------------------------------------------------------------------------ registries

def literal_lists(path: Path):
    """(line, the string constants) of every tuple, list, set and dict-keys literal."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        strings = {e.value for e in items if isinstance(e, ast.Constant)
                   and isinstance(e.value, str)}
        if strings:
            yield node.lineno, strings


def test_each_registry_is_the_only_list_of_its_names():
    """No module but blurkit/choices.py writes down two or more purposes, hiding styles,
    masks or detectors in one literal: everything else reads the registry."""
    tables = {"purposes": set(choices.PURPOSES), "styles": set(choices.STYLES),
              "masks": set(choices.MASKS), "detectors": set(choices.DETECTORS) - {"ensemble"}}
    lists = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "choices.py" and path.parent == PACKAGE:
            continue
        for line, strings in literal_lists(path):
            for table, names in tables.items():
                if len(strings & names) >= 2:
                    lists.append(f"{path.relative_to(PACKAGE.parent)}:{line} lists {table}")
    assert lists == []
