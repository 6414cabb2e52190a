"""macOS: ``~/Library`` folders, the libobs framework, OBS.app's stderr on /dev/null."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from obs_blur.platforms.base import Platform


def _data_base(env: Mapping[str, str], home: Path) -> Path:
    """``~/Library/Application Support``."""
    return home / "Library" / "Application Support"


def _cache_base(env: Mapping[str, str], home: Path) -> Path:
    """``~/Library/Caches``."""
    return home / "Library" / "Caches"


PLATFORM = Platform(
    name="macos",
    user_data_base=_data_base,
    user_cache_base=_cache_base,
    # The framework resolves through OBS.app's rpath.
    libobs_names=(
        "@rpath/libobs.framework/Versions/A/libobs",
        "@rpath/libobs.framework/libobs",
        "libobs.framework/libobs",
    ),
    venv_python=("bin/python{major}.{minor}",),
    installed_python=("bin/python{major}.{minor}", "bin/python{major}"),
    # OBS.app started from the Finder or the Dock has its stderr on /dev/null.
    stderr_is_read=False,
    posix=True,
)
