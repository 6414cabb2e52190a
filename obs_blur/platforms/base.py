"""``Platform``: every fact about an operating system that the running script needs, in one value.

Standard library only: ``obs_blur.paths`` reads it inside ``install.py`` and in OBS before the
private dependencies are on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

#: ``(environment, home folder) -> folder``: a per-user folder the OS's conventions place.
UserFolder = Callable[[Mapping[str, str], Path], Path]
#: Like ``UserFolder``, or None where the OS has no separate folder of that kind.
OptionalUserFolder = Callable[[Mapping[str, str], Path], Optional[Path]]


@dataclass(frozen=True)
class Platform:
    """One OS as the runtime sees it; ``obs_blur.platforms.<os>`` defines one each.

    Python paths are relative to a folder and may name ``{major}`` and ``{minor}``, the version the
    worker's interpreter must share with OBS's (compiled dependencies fit one version only).
    """

    name: str
    """"linux", "windows" or "macos": how the installer and the tests name the OS."""
    user_data_base: UserFolder
    """The per-user data folder (obs-blur's folder goes inside it)."""
    user_cache_base: OptionalUserFolder
    """The per-user cache folder, or None to keep caches in obs-blur's data folder."""
    libobs_names: tuple[str, ...]
    """Names the loader opens libobs by; inside OBS it returns the copy already mapped."""
    venv_python: tuple[str, ...]
    """A virtual environment's interpreter, relative to the environment."""
    installed_python: tuple[str, ...]
    """An installation's interpreter, relative to ``sys.base_exec_prefix``, best first."""
    stderr_is_read: bool
    """Whether someone sees OBS's stderr; where nobody does the worker logs to a file."""
    posix: bool
    """File modes say who may write a folder, and the process handle exposes loaded libraries."""

    def pythons(self, folder: Path, templates: tuple[str, ...], version: tuple[int, int]) -> list[Path]:
        """``templates`` (``venv_python`` or ``installed_python``) under ``folder`` for Python ``version``."""
        major, minor = version
        return [folder / template.format(major=major, minor=minor) for template in templates]
