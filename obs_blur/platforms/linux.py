"""Linux (and any other Unix): XDG folders, ``libobs.so``, OBS's stderr in a terminal or the journal."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from obs_blur.platforms.base import Platform


def _data_base(env: Mapping[str, str], home: Path) -> Path:
    """``$XDG_DATA_HOME``, else ``~/.local/share``."""
    return Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")


def _cache_base(env: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    return Path(env.get("XDG_CACHE_HOME") or home / ".cache")


PLATFORM = Platform(
    name="linux",
    user_data_base=_data_base,
    user_cache_base=_cache_base,
    libobs_names=("libobs.so.0", "libobs.so"),
    venv_python=("bin/python{major}.{minor}",),
    installed_python=("bin/python{major}.{minor}", "bin/python{major}"),
    # OBS prints its own log lines to its stderr (a terminal, or the desktop session's journal).
    stderr_is_read=True,
    posix=True,
)
