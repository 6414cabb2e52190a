"""An OBS version: the Pythons it loads, where macOS OBS looks for them, and how to read it from OBS's files.

Which file holds the version differs per OS (obs64.exe, Info.plist: see installer.platforms);
the last version that ran is in any OS's global.ini.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import common, obs_config

# The Python OBS loads on Windows and macOS, per OBS version, as read in obs-studio's sources for
# every tag from 28.0.0 to 32.2.2: obs-scripting-python-import.c sets PY_MINOR_VERSION_MAX and
# searches from it down to 3.6 (its loop stops before 3.5). Each entry: the first OBS version with
# that newest Python. OBS before 28.0 loads the one Python it was built against.
OBS_NEWEST_PYTHON: tuple[tuple[tuple[int, int, int], tuple[int, int]], ...] = (
    ((28, 0, 0), (3, 10)),
    ((29, 1, 0), (3, 11)),
    ((30, 1, 0), (3, 12)),
)
OBS_OLDEST_PYTHON = (3, 6)
OBS_NEWEST_CHECKED = (32, 2)
# macOS OBS before 31.1 opens Python.framework/Versions/Current/lib/libpython3.Y.dylib, from 31.1
# on Versions/3.Y/lib/libpython3.Y.dylib.
OBS_MACOS_VERSIONED_FRAMEWORK = (31, 1, 0)


@dataclass(frozen=True)
class ObsRelease:
    """The OBS version that will load the Python (None when it cannot be told), and where it was read.

    The version decides which Pythons OBS loads and, on macOS, where in Python.framework it looks.
    """

    version: Optional[tuple[int, int, int]]
    source: str

    @property
    def python_range(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Oldest and newest Python this OBS loads; unknown or pre-28 versions get the widest range."""
        newest = [python for first, python in OBS_NEWEST_PYTHON if self.version and self.version >= first]
        return OBS_OLDEST_PYTHON, newest[-1] if newest else OBS_NEWEST_PYTHON[-1][1]

    @property
    def known(self) -> bool:
        """Whether the range comes from this OBS version rather than a guess."""
        return self.version is not None and self.version >= OBS_NEWEST_PYTHON[0][0]

    def framework_folders(self, minor: int) -> tuple[str, ...]:
        """Where under Python.framework/Versions this OBS looks for libpython3.<minor>.dylib."""
        if self.version is None:
            return (f"3.{minor}", "Current")
        return (f"3.{minor}",) if self.version >= OBS_MACOS_VERSIONED_FRAMEWORK else ("Current",)

    def describe(self) -> str:
        """One clause for messages: this OBS, where its version came from, and the Pythons it loads."""
        low, high = self.python_range
        span = f"Python {common.dotted(low)}-{common.dotted(high)}"
        if self.version is None:
            return (f"OBS's version is unknown ({self.source}); OBS 28.0-32.2 load Python 3.6 up to 3.10, 3.11 or "
                    f"3.12 depending on their version, so {span} is assumed")
        name = f"OBS {common.dotted(self.version)} ({self.source})"
        if not self.known:
            return f"{name} predates 28.0 and loads only the Python it was built with; {span} is assumed"
        if self.version[:2] > OBS_NEWEST_CHECKED:
            return (f"{name} loads {span} as far as known (OBS {common.dotted(OBS_NEWEST_CHECKED)} is the newest "
                    "checked)")
        return f"{name} loads {span}"


UNKNOWN_OBS = ObsRelease(None, "not looked up")


def semantic_version(number: int) -> tuple[int, int, int]:
    """OBS's MAKE_SEMANTIC_VERSION undone: (major << 24) | (minor << 16) | patch."""
    return number >> 24, (number >> 16) & 0xFF, number & 0xFFFF


def parse_obs_version(text: str) -> Optional[tuple[int, int, int]]:
    """(30, 0, 2) from "30.0.2" or "31.1.0-rc1"; None when ``text`` starts with no version."""
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    return (int(match[1]), int(match[2]), int(match[3] or 0)) if match else None


def config_last_version(config_dir: Path) -> Optional[tuple[int, int, int]]:
    """The OBS version that last ran with this config: global.ini [General] LastVersion, written on exit."""
    parser = obs_config.read_ini(config_dir / "global.ini")
    value = parser.get("General", "LastVersion", fallback="").strip()
    return semantic_version(int(value)) if value.isdigit() and int(value) > 0 else None
