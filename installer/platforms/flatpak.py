"""OBS as a Flatpak: found, but not set up automatically; the advice says how to install for it by hand.

The Flatpak runs scripts with its runtime's own Python and its own XDG_DATA_HOME, so neither the
interpreter nor the private folder the installer would pick are the ones OBS uses there.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from .. import common
from ..repo import paths

APP_ID = "com.obsproject.Studio"


def obs_app(root: Path, home: Path) -> Optional[Path]:
    """The Flatpak OBS (``com.obsproject.Studio``), installed system-wide or for this user."""
    for base in (root / "var/lib/flatpak/app", home / ".local/share/flatpak/app"):
        app = base / APP_ID
        if (app / "current").exists():
            return app
    return None


def python_version() -> Optional[tuple[int, int]]:
    """The Python of the Flatpak's runtime, by asking it (``flatpak run --command=python3``)."""
    if not shutil.which("flatpak"):
        return None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired, ValueError):
        result = common.run_command(["flatpak", "run", "--command=python3", APP_ID, "-c",
                                     "import sys; print(*sys.version_info[:2])"], timeout=60)
        if result.returncode == 0:
            major, minor = result.stdout.split()[:2]
            return int(major), int(minor)
    return None


def advice(app: Path, home: Path, version: Optional[tuple[int, int]]) -> str:
    """Why the Flatpak needs a hand, and the exact command that installs for it.

    The Flatpak runs scripts with its runtime's own Python, not the system's, and inside it
    XDG_DATA_HOME is ~/.var/app/com.obsproject.Studio/data, which is where the OBS script then
    looks for the private folder. It has host file access, so the script can stay in this checkout.
    """
    data = home / ".var" / "app" / APP_ID / "data"
    dotted = f"{version[0]}.{version[1]}" if version else "3.X"
    tag = f"cp{version[0]}{version[1]}" if version else "cp3X"
    ask = f"flatpak run --command=python3 {APP_ID} --version"
    found = f"Python {dotted}" if version else f"own Python (its version: {ask})"
    return (
        f"OBS is installed as a Flatpak ({app}), which is not set up automatically: the Flatpak runs scripts "
        f"with its runtime's {found}, not this system's Python, and reads the private folder from "
        f"{data / paths.APP_NAME / 'pydeps' / tag} (its own XDG_DATA_HOME). Install for it with a host Python of "
        f"the same version, whose manylinux wheels run in the sandbox too (untested by obs-blur):\n"
        f"  OBS_BLUR_PYDEPS={data / paths.APP_NAME / 'pydeps' / tag} python3 install.py --obs-python "
        f"/usr/bin/python{dotted}\n"
        f"Or install OBS from your distribution (Debian/Ubuntu: sudo apt install obs-studio), which this "
        f"installer supports fully."
    )
