"""install.py loaded as a module, for the tests of its functions (here and in tests/test_install_detection.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

INSTALLER = Path(__file__).resolve().parents[2] / "install.py"


def load_installer() -> ModuleType:
    """install.py is a script, not a package module: load it by path (once per test session)."""
    name = "obs_blur_installer"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, INSTALLER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
