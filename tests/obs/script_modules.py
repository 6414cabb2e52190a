"""The project's scripts (install.py, tools/*.py) loaded as modules, for the tests of their functions.

They are scripts, not package modules, so they are loaded by path; the installer package that
install.py starts comes the way install.py imports it. Used from tests/obs (relative import) and
tests/ (``from obs.script_modules import ...``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALLER = REPO_ROOT / "install.py"


def load_script(name: str, path: Path) -> ModuleType:
    """``path`` imported as module ``name`` (once per test session)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` as module ``name``."""
    return load_script(name, REPO_ROOT / "tools" / f"{name}.py")


def load_installer() -> ModuleType:
    """The package ``installer`` beside install.py, with every module in it imported.

    install.py imports it from its own folder, whatever the current folder and ``sys.path``, so the
    tests get this clone's installer however pytest was started. The modules are then attributes of
    the package: ``installer.detect.find_obs_python``.
    """
    load_script("obs_blur_installer", INSTALLER)
    package = sys.modules["installer"]
    for module in pkgutil.walk_packages(package.__path__, "installer."):
        importlib.import_module(module.name)
    return package
