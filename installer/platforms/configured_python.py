"""Windows and macOS: the Python that OBS loads from the folder set in its Python Settings.

OBS there embeds no Python of its own: it searches the configured folder for the newest Python its
version supports, down to 3.6. The installer searches the same way, so it installs for that one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .. import common, obs_config, obs_python
from ..common import InstallError
from ..obs_python import ObsPython
from ..obs_versions import UNKNOWN_OBS, ObsRelease
from ..pins import OBS_BLUR_MIN_PYTHON
from . import macos, windows


def python_in_obs_folder(folder: Path, system: str,
                         release: ObsRelease = UNKNOWN_OBS) -> Optional[tuple[Path, tuple[int, int]]]:
    """The interpreter ``release`` loads from its configured Python folder, searched as it does (newest first).

    Windows: ``<folder>/python3XY.dll`` (the interpreter is ``<folder>/python.exe``); macOS:
    ``<folder>/Python.framework/Versions/<3.Y or Current>/lib/libpython3.Y.dylib`` (``.../bin/python3.Y``).
    """
    low, high = release.python_range
    for minor in range(high[1], low[1] - 1, -1):
        executable = (windows.python_in_folder(folder, minor) if system == "windows" else
                      macos.python_in_folder(folder, minor, release) if system == "macos" else None)
        if executable is not None:
            return executable, (3, minor)
    return None


def python_settings_instruction(system: str, config_dir: Path, problem: str,
                                release: ObsRelease = UNKNOWN_OBS) -> str:
    """What to click in OBS so that it has a Python obs-blur can use, for the Pythons this OBS loads."""
    high = release.python_range[1]
    where = windows.python_folder_hint(high[1]) if system == "windows" else macos.python_folder_hint(release)
    return (
        f"{problem}\nIn OBS: Tools > Scripts > Python Settings, set the Python Install Path to a 64-bit "
        f"Python {common.dotted(OBS_BLUR_MIN_PYTHON)}-{common.dotted(high)} ({where}). {release.describe()}; "
        f"obs-blur's wheels need {common.dotted(OBS_BLUR_MIN_PYTHON)} or newer, and 3.11 or 3.12 gets the newest "
        f"onnxruntime. Restart OBS, then run this again (OBS keeps the setting in {config_dir / 'global.ini'}, or "
        "user.ini from OBS 31), or pass --obs-python PATH."
    )


def find_obs_python(system: str, config_dir: Path, release: ObsRelease = UNKNOWN_OBS) -> ObsPython:
    """The Python that OBS ``release`` loads from its Python Settings (``[Python] Path64bit``), Windows or macOS."""
    setting = obs_config.ini_value(config_dir, "Python", "Path64bit")
    if setting is None:
        raise InstallError(python_settings_instruction(
            system, config_dir, f"OBS has no Python configured (no [Python] Path64bit in {config_dir}).", release))
    folder, ini = Path(setting[0]), setting[1]
    found = python_in_obs_folder(folder, system, release)
    if found is None:
        raise InstallError(python_settings_instruction(
            system, config_dir, f"OBS's Python Install Path {folder} (from {ini}) holds no Python OBS can load.",
            release))
    executable, version = found
    if version < OBS_BLUR_MIN_PYTHON:
        raise InstallError(python_settings_instruction(
            system, config_dir, f"OBS loads Python {common.dotted(version)} from {folder}: too old for obs-blur.",
            release))
    found_version, platform = obs_python.probe_interpreter(executable)
    if found_version != version:
        raise InstallError(f"{executable} is Python {common.dotted(found_version)}, but OBS loads "
                           f"{common.dotted(version)} from {folder}.")
    return ObsPython(executable, version, f"OBS's Python Settings ({ini}: [Python] Path64bit={folder}); "
                     f"{release.describe()}", platform)
