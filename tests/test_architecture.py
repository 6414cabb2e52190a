"""Pure core, thin shell: no core module may import OBS, so the core runs and is tested without it.

The mask worker package adds two rules: its modules form no import cycle, and the worker process
(``python -m obs_blur.mask_worker``) loads none of the client's modules, only what both sides share.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_PACKAGE = REPO_ROOT / "obs_blur" / "worker"
CORE_MODULES = sorted(
    [
        f"obs_blur.{path.stem}"
        for path in (REPO_ROOT / "obs_blur").glob("*.py")
        if path.stem not in ("__main__", "background_blur")
    ]
    + ["obs_blur.worker"]
    + [f"obs_blur.worker.{path.stem}" for path in WORKER_PACKAGE.glob("*.py") if path.stem != "__init__"]
)
#: What the client alone uses; the worker process must not load it.
CLIENT_SIDE = tuple(f"obs_blur.worker.{name}" for name in ("client", "process", "channel", "pipes", "interpreter"))

BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "obspython" or name.startswith("obs_blur.obs"):
            raise ImportError(f"core imported OBS module {name}")
sys.meta_path.insert(0, Block())
import importlib
for module in sys.argv[1:]:
    importlib.import_module(module)
"""


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


def test_core_modules_import_without_obs() -> None:
    assert "obs_blur.pipeline" in CORE_MODULES and "obs_blur.worker.client" in CORE_MODULES
    result = run_python("-c", BLOCKER, *CORE_MODULES)
    assert result.returncode == 0, result.stderr


def worker_imports(path: Path) -> set[str]:
    """The ``obs_blur.worker`` modules that the module at ``path`` imports (at any depth of its code)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "obs_blur.worker":
            imported |= {f"obs_blur.worker.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("obs_blur.worker."):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names if alias.name.startswith("obs_blur.worker.")}
    return imported


def test_the_worker_package_has_no_import_cycle() -> None:
    graph = {f"obs_blur.worker.{path.stem}": worker_imports(path) for path in WORKER_PACKAGE.glob("*.py")}
    assert graph["obs_blur.worker.client"], "the scan finds the package's imports"
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_worker_process_loads_nothing_of_the_client() -> None:
    program = "import sys, obs_blur.mask_worker; print(' '.join(sorted(sys.modules)))"
    result = run_python("-c", program)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "obs_blur.worker.server" in loaded
    assert loaded.isdisjoint(CLIENT_SIDE), sorted(loaded.intersection(CLIENT_SIDE))
    assert not [name for name in loaded if name.startswith("obs_blur.obs")]
