"""Pure core, thin shell: no core module may import OBS, so the core runs and is tested without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CORE_MODULES = sorted(
    f"obs_blur.{path.stem}"
    for path in (REPO_ROOT / "obs_blur").glob("*.py")
    if path.stem not in ("__main__", "background_blur")
)

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


def test_core_modules_import_without_obs() -> None:
    assert "obs_blur.pipeline" in CORE_MODULES and "obs_blur.worker_client" in CORE_MODULES
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, *CORE_MODULES], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
