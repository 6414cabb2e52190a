"""Background Blur for OBS Studio: add this file in Tools > Scripts, then add the filter to a camera.

This is the script that OBS loads; it stays thin on purpose. ``script_load`` makes the package and
its private dependencies importable, then registers the "Background Blur" video filter through
``obs_blur.obs``. OBS's embedded Python ignores virtual environments, so the dependencies that
``install.py`` put in a private folder are added to ``sys.path`` here (``OBS_BLUR_PYDEPS`` overrides
the folder; the mask worker process reads the same variable).

"Reload Scripts" runs ``script_unload`` and then ``script_load`` again in the same interpreter. libobs
cannot unregister a filter type, so the registration (``obs_blur.obs.source_info``) is never
reloaded; the filter implementation is re-imported so edited code takes effect for new filters.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "obs-blur"

# Modules re-imported by "Reload Scripts", dependencies first. Never libobs or source_info: they
# hold the registration libobs keeps pointers into.
_RELOADABLE_MODULES = ("obs_blur.obs.filter_settings", "obs_blur.obs.data", "obs_blur.obs.filter")


def private_dependency_folder() -> Path:
    """Where install.py puts numpy, onnxruntime and OpenCV for this interpreter.

    ``OBS_BLUR_PYDEPS``, else ``<user data>/obs-blur/pydeps/cp3XY``: one folder per Python version
    because compiled wheels only fit the interpreter they were built for.
    """
    override = os.environ.get("OBS_BLUR_PYDEPS")
    if override:
        return Path(override)
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME / "pydeps" / f"cp{sys.version_info[0]}{sys.version_info[1]}"


def _put_first_on_sys_path(folder: Path) -> None:
    entry = str(folder)
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)


def _prepare_imports() -> Path:
    """Make ``obs_blur`` and the private dependencies importable; returns the dependency folder.

    The dependency folder goes first so that its numpy wins over an older system numpy that OBS's
    interpreter also sees. The variable is set for child processes (the mask worker) too.
    """
    dependencies = private_dependency_folder()
    os.environ.setdefault("OBS_BLUR_PYDEPS", str(dependencies))
    _put_first_on_sys_path(REPO_ROOT)
    if dependencies.is_dir():
        _put_first_on_sys_path(dependencies)
    return dependencies


def _fresh_filter_module() -> Any:
    """``obs_blur.obs.filter``, re-imported when already loaded so that "Reload Scripts" picks up edits."""
    for name in _RELOADABLE_MODULES:
        module = sys.modules.get(name)
        if module is None:
            importlib.import_module(name)
        else:
            importlib.reload(module)
    return sys.modules["obs_blur.obs.filter"]


def script_description() -> str:
    return (
        "<b>Background Blur</b> (obs-blur): blurs or replaces the background behind people.<br>"
        "Add it to a camera source: <i>Filters &gt; + &gt; Background Blur</i>."
    )


def script_load(settings: Any) -> None:
    """Called by OBS when the script is added, on every OBS start and on "Reload Scripts"."""
    del settings
    dependencies = _prepare_imports()
    from obs_blur.obs import libobs, source_info

    filter_module = _fresh_filter_module()
    kind, display_name = filter_module.KIND_ID, filter_module.DISPLAY_NAME
    registered = source_info.register_filter(kind, display_name, filter_module.BackgroundBlurFilter)
    action = "registered" if registered else "already registered; implementation reloaded"
    found = "found" if dependencies.is_dir() else "missing: run install.py"
    libobs.log(
        libobs.LOG_INFO,
        f"script loaded: filter '{kind}' ({display_name}) {action}; OBS {libobs.version_string()}, "
        f"Python {sys.version.split()[0]}, dependencies {dependencies} ({found})",
    )


def script_unload() -> None:
    """Called on OBS exit and "Reload Scripts". The filter type stays registered: libobs cannot unregister."""
    source_info = sys.modules.get("obs_blur.obs.source_info")
    libobs = sys.modules.get("obs_blur.obs.libobs")
    if source_info is not None and libobs is not None:
        alive = source_info.live_instance_count()
        libobs.log(libobs.LOG_INFO, f"script unloaded; {alive} filter(s) alive stay registered until OBS exits")
