"""OBS on Windows: its install folder, its version (obs64.exe's version resource), the Python it loads from a
folder, and whether it runs."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from ..common import CommandRunner
from ..obs_versions import ObsRelease

_FIXED_FILE_INFO = struct.pack("<I", 0xFEEF04BD)


def registry_obs_folder() -> Optional[str]:
    """``HKLM\\SOFTWARE\\OBS Studio`` (the installer writes its folder there); None off Windows."""
    try:
        import winreg  # type: ignore[import-not-found]
    except ImportError:
        return None
    for view in (getattr(winreg, "KEY_WOW64_64KEY", 0), 0):
        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\OBS Studio", 0, winreg.KEY_READ | view) as key:
                return str(winreg.QueryValueEx(key, "")[0])
        except OSError:
            continue
    return None


def obs_folder(env: Mapping[str, str], registry_folder: Optional[str]) -> Optional[Path]:
    """OBS's install folder: the registry's, else Program Files; it holds bin/64bit/obs64.exe."""
    candidates = [Path(registry_folder)] if registry_folder else []
    for variable in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
        if env.get(variable):
            candidates.append(Path(env[variable]) / "obs-studio")
    for folder in candidates:
        if (folder / "bin" / "64bit" / "obs64.exe").is_file():
            return folder
    return None


def exe_version(exe: Path) -> Optional[tuple[int, int, int]]:
    """The FILEVERSION of a Windows executable's version resource (OBS sets it to its own version).

    The resource holds a VS_FIXEDFILEINFO: signature 0xFEEF04BD, structure version 1.0, then the file
    version as two 32-bit numbers, (major << 16 | minor) and (patch << 16 | build).
    """
    try:
        data = exe.read_bytes()
    except OSError:
        return None
    start = data.find(_FIXED_FILE_INFO)
    while start >= 0:
        struct_version, high, low = struct.unpack_from("<III", data, start + 4)
        if struct_version == 0x00010000:
            return high >> 16, high & 0xFFFF, low >> 16
        start = data.find(_FIXED_FILE_INFO, start + 4)
    return None


def installed_release(folder: Path) -> Optional[ObsRelease]:
    """The version of the OBS installed in ``folder``, from its obs64.exe; None when it has none."""
    exe = folder / "bin" / "64bit" / "obs64.exe"
    version = exe_version(exe)
    return ObsRelease(version, f"{exe}") if version else None


def python_in_folder(folder: Path, minor: int) -> Optional[Path]:
    """The interpreter of ``folder`` when OBS finds Python 3.<minor> there: it loads ``python3<minor>.dll``."""
    return folder / "python.exe" if (folder / f"python3{minor}.dll").is_file() else None


def python_folder_hint(newest_minor: int) -> str:
    """Which folder to pick in OBS's Python Settings, for an OBS that loads up to Python 3.<newest_minor>."""
    return (f"the folder holding python3{newest_minor}.dll, e.g. "
            f"%LOCALAPPDATA%\\Programs\\Python\\Python3{newest_minor} (python.org installer)")


def running_obs(run: CommandRunner) -> list[str]:
    """The process ids of the running OBS (obs64.exe), from tasklist."""
    output = run(["tasklist", "/FI", "IMAGENAME eq obs64.exe", "/FO", "CSV", "/NH"]).stdout
    return [line.split(",")[1].strip('"') for line in output.splitlines() if "obs64.exe" in line.lower()]
