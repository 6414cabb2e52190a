"""What differs between operating systems at run time: one module per OS, each defining ``PLATFORM``.

    ``base``     ``Platform``: user folders, libobs's names, the embedded Python's executable,
                 whether OBS's stderr is read, whether POSIX file modes apply
    ``linux``    Linux and any other Unix
    ``windows``  Windows
    ``macos``    macOS

Standard library only (``obs_blur.paths`` runs inside ``install.py``). The installer's own OS facts
(where OBS is, its version, its Python) live in ``installer/platforms/``. Adding an OS: one module
here, one entry in ``_BY_NAME`` and in ``system_name``.
"""

from __future__ import annotations

import sys

from obs_blur.platforms import linux, macos, windows
from obs_blur.platforms.base import Platform

_BY_NAME = {module.PLATFORM.name: module.PLATFORM for module in (linux, windows, macos)}


def system_name(sys_platform: str = sys.platform) -> str:
    """"linux", "windows" or "macos" for a ``sys.platform`` value (anything else counts as linux)."""
    if sys_platform.startswith("win"):
        return "windows"
    return "macos" if sys_platform == "darwin" else "linux"


def named(name: str) -> Platform:
    """The platform called ``name`` ("linux", "windows" or "macos")."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown platform {name!r} (known: {', '.join(sorted(_BY_NAME))})") from None


def current(sys_platform: str = sys.platform) -> Platform:
    """The platform this interpreter runs on, or the one a ``sys.platform`` value names."""
    return named(system_name(sys_platform))


__all__ = ["Platform", "current", "named", "system_name"]
