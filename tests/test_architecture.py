"""Pure core, thin shell, read from the source itself: the import graph of ``obs_blur``.

The graph is built statically from every ``import`` in every module, those inside functions included
(a lazy import is still a dependency; only the moment it loads differs). Rules:

* no core module (everything outside ``obs_blur.obs`` and the script file) imports OBS, at any depth;
* no import cycle anywhere in the package;
* the filter, its settings and the obs_data wrapper load without numpy, OpenCV and onnxruntime at
  module level, so a filter whose dependencies are missing can still register and say so;
* nothing the OBS layer imports, at any depth and lazily or not, loads OpenCV or onnxruntime: they
  belong in the worker process, not in OBS's;
* the worker process (``python -m obs_blur.mask_worker``) loads none of the client's modules.

The core is also imported for real with OBS blocked, which catches what a static scan cannot
(an import by a computed name).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "obs_blur"
OBS_LAYER = "obs_blur.obs"
SCRIPT = "obs_blur.background_blur"
OBS_MODULES = ("obspython", "_obspython")
HEAVY_DEPENDENCIES = ("numpy", "cv2", "onnxruntime")
#: Must register and explain a missing dependency, so they may not need one at load time.
LIGHT_OBS_MODULES = (
    "obs_blur.obs.filter",
    "obs_blur.obs.filter_settings",
    "obs_blur.obs.data",
    "obs_blur.obs.dialog",
    "obs_blur.obs.status",
    "obs_blur.obs.settings_writer",
)
#: Libraries only the worker process may load: inside OBS their threads and exit handlers would run in OBS.
WORKER_ONLY_DEPENDENCIES = ("cv2", "onnxruntime")
#: What the client alone uses; the worker process must not load it.
CLIENT_SIDE = tuple(f"obs_blur.worker.{name}" for name in ("client", "process", "channel", "pipes", "interpreter"))


@dataclass(frozen=True)
class Edge:
    """One import statement: who imports what, and whether it runs when the module loads."""

    importer: str
    imported: str
    at_load: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved against ``importer``)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _load_time_nodes(tree: ast.Module) -> set[int]:
    """Ids of import nodes that run when the module loads: not inside a function (``if``/``try`` count)."""
    inside_functions = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.walk(node)
    }
    return {id(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))} - inside_functions


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Edge]:
    """Every module ``name`` imports; ``from package import module`` counts as importing the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    at_load = _load_time_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Edge(name, alias.name, id(node) in at_load)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node, name, path.name == "__init__.py")
            yield Edge(name, source, id(node) in at_load)
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    yield Edge(name, f"{source}.{alias.name}", id(node) in at_load)


def import_graph() -> list[Edge]:
    modules = package_modules()
    known = set(modules)
    return [edge for name, path in modules.items() for edge in imports_of(name, path, known)]


def is_core(module: str) -> bool:
    return not (module in (OBS_LAYER, SCRIPT) or module.startswith(OBS_LAYER + "."))


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_scan_sees_imports_inside_functions() -> None:
    lazy = [edge for edge in import_graph() if not edge.at_load]
    assert any(edge.importer == "obs_blur.obs.filter" for edge in lazy), "filter.py imports its engine lazily"


def test_no_core_module_imports_obs_at_any_depth() -> None:
    offending = [
        f"{edge.importer} imports {edge.imported}"
        for edge in import_graph()
        if is_core(edge.importer) and (not is_core(edge.imported) or top(edge.imported) in OBS_MODULES)
    ]
    assert offending == []


def test_the_package_has_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for edge in import_graph():
        if edge.imported.startswith("obs_blur.") and edge.imported != edge.importer:
            graph.setdefault(edge.importer, set()).add(edge.imported)
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            if imported.startswith(module + "."):
                continue  # a package naming its own submodule is not a cycle
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_filter_settings_and_data_load_without_numpy_and_opencv() -> None:
    """What these modules load when imported (their own module-level imports, followed) needs no heavy package."""
    loaded = reachable(list(LIGHT_OBS_MODULES), [edge for edge in import_graph() if edge.at_load])
    heavy = sorted(module for module in loaded if top(module) in HEAVY_DEPENDENCIES)
    assert heavy == [], f"{LIGHT_OBS_MODULES} load {heavy} at import time"


def reachable(start: list[str], edges: list[Edge]) -> set[str]:
    """Every module ``start`` imports through ``edges``, followed to any depth (``start`` included)."""
    loaded, pending = set(), list(start)
    while pending:
        module = pending.pop()
        if module in loaded:
            continue
        loaded.add(module)
        pending.extend(edge.imported for edge in edges if edge.importer == module)
    return loaded


def test_the_obs_layer_never_loads_opencv_or_onnxruntime() -> None:
    """The OBS layer's whole import graph, lazy imports included; the real OBS test maps the process too."""
    graph = import_graph()
    layer = sorted({edge.importer for edge in graph if not is_core(edge.importer)})
    worker_only = sorted(module for module in reachable(layer, graph) if top(module) in WORKER_ONLY_DEPENDENCIES)
    assert worker_only == []


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in ("obspython", "_obspython") or name.startswith("obs_blur.obs"):
            raise ImportError(f"core imported OBS module {name}")
sys.meta_path.insert(0, Block())
import importlib
for module in sys.argv[1:]:
    importlib.import_module(module)
"""


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


def test_core_modules_import_without_obs() -> None:
    core = [name for name in package_modules() if is_core(name) and name != "obs_blur.__main__"]
    assert "obs_blur.worker.client" in core
    result = run_python("-c", BLOCKER, *core)
    assert result.returncode == 0, result.stderr


def test_the_worker_process_loads_nothing_of_the_client() -> None:
    program = "import sys, obs_blur.mask_worker; print(' '.join(sorted(sys.modules)))"
    result = run_python("-c", program)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "obs_blur.worker.server" in loaded
    assert loaded.isdisjoint(CLIENT_SIDE), sorted(loaded.intersection(CLIENT_SIDE))
    assert not [name for name in loaded if name.startswith("obs_blur.obs")]
