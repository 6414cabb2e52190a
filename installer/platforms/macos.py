"""OBS on macOS: OBS.app, its version (Info.plist), the CPU architecture it runs as (Apple Silicon, or Intel
under Rosetta), the Python.framework it loads, whether it runs, and the macOS version wheels must fit."""

from __future__ import annotations

import contextlib
import plistlib
import re
import struct
import subprocess
from pathlib import Path
from platform import mac_ver
from typing import Optional

from .. import common, obs_versions
from ..common import CommandRunner
from ..obs_python import ObsPython
from ..obs_versions import OBS_MACOS_VERSIONED_FRAMEWORK, ObsRelease

# OBS's executable and process name on macOS (OBS.app/Contents/MacOS/OBS); Linux's is "obs".
OBS_PROCESS = "OBS"
# Mach-O headers: a thin 64-bit file starts with MH_MAGIC_64 in the file's (little-endian) byte order,
# a universal file with FAT_MAGIC or FAT_MAGIC_64 in big-endian order, then its slices' CPU types.
_MACH_O_64 = struct.pack("<I", 0xFEEDFACF)
_FAT_MAGICS = {struct.pack(">I", 0xCAFEBABE): 20, struct.pack(">I", 0xCAFEBABF): 32}
_CPU_TYPES = {0x01000007: "x86_64", 0x0100000C: "arm64"}


def obs_app(root: Path, home: Path) -> Optional[Path]:
    """OBS.app in /Applications or ~/Applications."""
    for app in (root / "Applications" / "OBS.app", home / "Applications" / "OBS.app"):
        if app.is_dir():
            return app
    return None


def app_version(app: Path) -> Optional[tuple[int, int, int]]:
    """CFBundleShortVersionString of an app's Info.plist (OBS puts its version there)."""
    try:
        with (app / "Contents" / "Info.plist").open("rb") as file:
            info = plistlib.load(file)
    except (OSError, ValueError, plistlib.InvalidFileException):
        return None
    version = info.get("CFBundleShortVersionString") if isinstance(info, dict) else None
    return obs_versions.parse_obs_version(version) if isinstance(version, str) else None


def installed_release(app: Path) -> Optional[ObsRelease]:
    """The version of OBS.app ``app``, from its Info.plist; None when it has none."""
    version = app_version(app)
    return ObsRelease(version, f"{app / 'Contents' / 'Info.plist'}") if version else None


def mach_o_architectures(binary: Path) -> list[str]:
    """The CPU architectures a Mach-O executable holds ("arm64", "x86_64"); [] when it is not one."""
    try:
        with binary.open("rb") as file:
            header = file.read(8 + 32 * 8)
    except OSError:
        return []
    if header[:4] == _MACH_O_64 and len(header) >= 8:
        return [_CPU_TYPES.get(struct.unpack_from("<I", header, 4)[0], "other")]
    entry_size = _FAT_MAGICS.get(header[:4])
    if entry_size is None:
        return []
    count = min(struct.unpack_from(">I", header, 4)[0], (len(header) - 8) // entry_size)
    return [_CPU_TYPES.get(struct.unpack_from(">I", header, 8 + index * entry_size)[0], "other")
            for index in range(count)]


def native_architecture(run: Optional[CommandRunner] = None) -> str:
    """"arm64" on Apple Silicon, also when asked from a process under Rosetta; "x86_64" on Intel Macs."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        if (run or common.run_command)(["sysctl", "-n", "hw.optional.arm64"]).stdout.strip() == "1":
            return "arm64"
    return "x86_64"


def obs_architecture(app: Path, native: str) -> Optional[str]:
    """The architecture OBS.app runs as: the Mac's own where its executable has it, else the one it has.

    OBS ships one build for Apple Silicon and one for Intel; the Intel one runs under Rosetta on Apple
    Silicon, and then loads the x86_64 half of a universal Python and needs x86_64 wheels.
    """
    architectures = mach_o_architectures(app / "Contents" / "MacOS" / OBS_PROCESS)
    if not architectures:
        return None
    return native if native in architectures else architectures[0]


def architecture_problem(python: ObsPython, obs_architecture: Optional[str]) -> Optional[str]:
    """Why wheels installed for ``python`` as it ran here would not load in OBS, with what to do; None if they would.

    A universal Python runs as the architecture of the process that starts it: from a Terminal under
    Rosetta it runs as x86_64, while an Apple Silicon OBS loads it as arm64 (and the Intel OBS the
    other way round). pip picks wheels for the architecture it runs as.
    """
    python_architecture = python.platform.partition("-")[2]
    if obs_architecture is None or python_architecture in ("", obs_architecture):
        return None
    return (f"OBS runs as {obs_architecture} but its Python ({python.executable}) ran here as {python_architecture}, "
            f"so wheels installed now would not load in OBS: run arch -{obs_architecture} python3 install.py"
            + (" (this Terminal runs under Rosetta)." if obs_architecture == "arm64" else
               ", or install the Apple Silicon build of OBS."))


def python_in_folder(folder: Path, minor: int, release: ObsRelease) -> Optional[Path]:
    """The interpreter of ``folder`` when OBS ``release`` finds Python 3.<minor> there.

    OBS loads ``Python.framework/Versions/<3.Y or Current>/lib/libpython3.Y.dylib`` (which of the two
    depends on its version); the interpreter is ``.../bin/python3.Y``.
    """
    for name in release.framework_folders(minor):
        framework = folder / "Python.framework" / "Versions" / name
        if (framework / "lib" / f"libpython3.{minor}.dylib").is_file():
            return framework / "bin" / f"python3.{minor}"
    return None


def python_folder_hint(release: ObsRelease) -> str:
    """Which folder to pick in OBS's Python Settings, and what OBS ``release`` then loads from it."""
    where = "the folder holding Python.framework: /Library/Frameworks for the python.org installer"
    if release.version is not None and release.version < OBS_MACOS_VERSIONED_FRAMEWORK:
        where += ("; this OBS loads the Python that Python.framework/Versions/Current points to, "
                  "so that must be one it loads")
    return where


def running_obs(run: CommandRunner) -> list[str]:
    """The running OBS processes, found by pgrep's exact, case-sensitive name ``OBS`` (never Linux's ``obs``)."""
    result = run(["pgrep", "-x", OBS_PROCESS])
    return [f"pid {pid}" for pid in result.stdout.split()]


def parse_version(release: str) -> Optional[tuple[int, int]]:
    """(major, minor) of ``platform.mac_ver()[0]`` ("13.6.1"), to pick wheels that install there.

    A Python built with a macOS 10.15 SDK sees every newer macOS as "10.16"; that counts as 11.0,
    the oldest it can be, so the wheels chosen install whatever the real version is.
    """
    numbers = [int(part) for part in re.findall(r"\d+", release)[:2]]
    if not numbers:
        return None
    found = (numbers[0], numbers[1] if len(numbers) > 1 else 0)
    return (11, 0) if found == (10, 16) else found


def host_version(system: str) -> Optional[tuple[int, int]]:
    """This Mac's macOS version, which decides the wheels that install on it; None off macOS."""
    return parse_version(mac_ver()[0]) if system == "macos" else None
