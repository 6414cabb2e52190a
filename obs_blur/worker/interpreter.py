"""Which Python runs the worker, and with what environment: the interpreter OBS embeds, minus OBS's settings."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional

from obs_blur import platforms
from obs_blur.errors import ObsBlurError
from obs_blur.paths import REPO_ROOT, unsafe_code_folder

#: What the worker process imports to compute masks (OBS's own process loads none but numpy).
WORKER_MODULES = ("numpy", "cv2", "onnxruntime")


def missing_worker_module() -> Optional[ModuleNotFoundError]:
    """The first of ``WORKER_MODULES`` the worker could not import, found without importing it.

    The worker sees the same dependency folder as the filter, so the filter can tell the user what to
    install before it starts a worker that would fail; ``find_spec`` locates a module without loading
    its libraries into OBS.
    """
    for name in WORKER_MODULES:
        if importlib.util.find_spec(name) is None:
            return ModuleNotFoundError(f"No module named '{name}'", name=name)
    return None


def interpreter_candidates(
    prefix: str = sys.prefix,
    base_prefix: str = sys.base_prefix,
    base_exec_prefix: str = sys.base_exec_prefix,
    version: tuple[int, int] = (sys.version_info[0], sys.version_info[1]),
    platform: str = sys.platform,
) -> list[Path]:
    """Interpreters that match the running one, best first.

    Inside OBS ``sys.executable`` is not the embedded interpreter (it can be a pyenv shim, or OBS itself),
    so it is never used. The embedded interpreter's installation is ``sys.base_exec_prefix``; the
    platform's ``installed_python`` there has the same major.minor, hence the same ABI for the private
    dependency folder. A virtual environment (the developer's tests) comes first because its
    interpreter is the same one plus the environment's packages.
    """
    facts = platforms.current(platform)
    candidates = []
    if prefix != base_prefix:
        candidates += facts.pythons(Path(prefix), facts.venv_python, version)
    return candidates + facts.pythons(Path(base_exec_prefix), facts.installed_python, version)


def find_embedded_python() -> str:
    """Path of an interpreter matching OBS's embedded Python (``OBS_BLUR_PYTHON`` overrides)."""
    override = os.environ.get("OBS_BLUR_PYTHON")
    if override:
        if not Path(override).is_file():
            raise ObsBlurError(f"OBS_BLUR_PYTHON={override} is not a file: point it at a Python interpreter")
        return override
    candidates = interpreter_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    raise ObsBlurError(
        f"no Python {version} interpreter matching OBS's found (looked for {', '.join(map(str, candidates))}): "
        "set OBS_BLUR_PYTHON to its path"
    )


def worker_environment(base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The child's environment: OBS's Python settings removed, our code and dependencies first.

    OBS may set ``PYTHONHOME``/``PYTHONPATH`` for its embedded interpreter; a standalone interpreter
    given those can fail to start or import the wrong standard library, so both go. A dependency
    folder other users could plant code in is left out (the script refuses it too, and says why).
    """
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONPATH", None)
    paths = [str(REPO_ROOT)]
    dependencies = env.get("OBS_BLUR_PYDEPS")
    if dependencies and unsafe_code_folder(Path(dependencies)) is None:
        paths.append(dependencies)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env
