"""Windows: ``%LOCALAPPDATA%``, ``obs.dll``, a GUI OBS without a console."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from obs_blur.platforms.base import Platform


def _data_base(env: Mapping[str, str], home: Path) -> Path:
    """``%LOCALAPPDATA%``, else ``~/AppData/Local``."""
    return Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")


def _cache_base(env: Mapping[str, str], home: Path) -> Optional[Path]:
    """None: %LOCALAPPDATA% holds caches too, so they go in obs-blur's data folder."""
    return None


PLATFORM = Platform(
    name="windows",
    user_data_base=_data_base,
    user_cache_base=_cache_base,
    libobs_names=("obs.dll",),  # found by module name: OBS has already loaded it
    venv_python=("Scripts/python.exe",),
    installed_python=("python.exe",),
    stderr_is_read=False,  # obs64.exe is a GUI program without a console
    # ACLs, which st_mode does not describe, protect the user's folders; there is no process handle.
    posix=False,
)
