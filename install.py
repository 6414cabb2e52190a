#!/usr/bin/env python3
"""Set up obs-blur for OBS Studio: dependencies for the Python that OBS embeds, verified.

OBS runs scripts in its own embedded interpreter, which ignores virtual environments and usually is
not the ``python3`` on PATH. This installer finds OBS and that interpreter (Linux: the library OBS
links; Windows and macOS: the Python folder set in OBS's Python Settings, searched as that OBS
version searches it), picks the onnxruntime flavour for the machine's GPU and the pinned wheels that
install on its OS version, installs them into a private folder that
``obs_blur/background_blur.py`` puts on ``sys.path``, and proves in OBS's interpreter that the
default model loads, naming the execution provider that will really run.

Usage:
  python3 install.py [--device auto|cpu|cuda|directml|coreml] [--wheelhouse DIR] [--add-to-obs]
  python3 install.py --check                 diagnose only; changes nothing
  python3 install.py --uninstall [--purge]   remove the private folder (and downloads and caches)

The private folder is ``<user data>/obs-blur/pydeps/cp3XY`` (Linux ``$XDG_DATA_HOME``, default
``~/.local/share``; Windows ``%LOCALAPPDATA%``; macOS ``~/Library/Application Support``);
``OBS_BLUR_PYDEPS`` overrides it here and in the OBS script alike.

An install never breaks a working one: the wheels go into a fresh folder beside the private folder,
are verified there, and only then replace it by renames. A record file in the folder says what is
installed, and for which Python, platform and CPU architecture, so a second run with everything in
place changes nothing and one for another architecture (Rosetta) replaces it.

Stdlib only and Python >= 3.9, because it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import glob
import json
import os
import plistlib
import re
import shutil
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from platform import mac_ver
from typing import Any, Optional

REPO_ROOT = Path(__file__).resolve().parent


def _obs_blur_paths() -> Any:
    """``obs_blur.paths`` of this clone (standard library only): one rule for every folder, shared with the
    script. Imported by path so that ``python -I install.py`` and another obs_blur elsewhere change nothing."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from obs_blur import paths
    finally:
        sys.path.remove(str(REPO_ROOT))
    return paths


paths = _obs_blur_paths()
APP_NAME = paths.APP_NAME
current_system = paths.current_system
user_data_base = paths.user_data_base
private_dependency_folder = paths.private_dependency_folder
SCRIPT_PATH = REPO_ROOT / "obs_blur" / "background_blur.py"
RECORD_NAME = "obs-blur-install.json"
RECORD_SCHEMA = 1

# --- pinned wheels ---------------------------------------------------------------------------------
# Every package that lands in the private folder, pinned, so that an install today and one next year
# are the same bytes. Resolved together with pip's resolver (wheels only) for each Python and
# platform a row names. A flavour is one onnxruntime package: the CPU wheel (CoreML is in it on
# macOS), onnxruntime-directml (Windows), or onnxruntime-gpu with NVIDIA's CUDA and cuDNN wheels,
# instead of a system CUDA install. CUDA 13 wheels need an NVIDIA driver >= 580, CUDA 12 ones >= 525.
# Wheels also name the oldest OS they run on: a row's lowest_macos is the oldest macOS all of its
# wheels install on, and every Linux row needs glibc 2.28 (manylinux_2_28). tests/test_pins.py
# resolves each row with pip on the oldest OS it claims.
_COMMON_311 = {
    "numpy": "2.4.6",
    "opencv-python-headless": "5.0.0.93",
    "protobuf": "7.36.2",
    "flatbuffers": "25.12.19",
    "packaging": "26.3",
}
_COMMON_310 = {
    "numpy": "2.2.6",
    "opencv-python-headless": "5.0.0.93",
    "protobuf": "7.36.2",
    "flatbuffers": "25.12.19",
    "packaging": "26.3",
}
_COMMON_39 = {
    "numpy": "2.0.2",
    "opencv-python-headless": "5.0.0.93",
    "protobuf": "6.33.6",
    "flatbuffers": "25.12.19",
    "packaging": "26.3",
}
# onnxruntime before 1.24 also needs these.
_ORT_123_EXTRAS = {"coloredlogs": "15.0.1", "humanfriendly": "10.0", "sympy": "1.14.0", "mpmath": "1.3.0"}
# macOS 11 and 12: the newest onnxruntime with wheels for them is 1.19.2 (1.20 and newer need
# macOS 13), and the newest OpenCV is 4.10.0.84 (4.11 and newer need macOS 13, on Intel 4.10 needs 12).
_MACOS_BEFORE_13 = {
    "onnxruntime": "1.19.2", **_COMMON_39, "opencv-python-headless": "4.10.0.84", **_ORT_123_EXTRAS,
}
_CUDA13_WHEELS = {
    "onnxruntime-gpu[cuda,cudnn]": "1.31.1",
    "nvidia-cuda-runtime": "13.5.37",
    "nvidia-cuda-nvrtc": "13.5.37",
    "nvidia-cublas": "13.10.0.20",
    "nvidia-cudnn-cu13": "9.28.1.4",
    "nvidia-cufft": "12.5.0.14",
    "nvidia-curand": "10.4.5.25",
    "nvidia-nvjitlink": "13.5.37",
}
# NVIDIA's CUDA 12 wheels, less cuBLAS, whose newest Windows wheel is older than the Linux one.
_CUDA12_LIBRARIES = {
    "nvidia-cuda-runtime-cu12": "12.9.79",
    "nvidia-cuda-nvrtc-cu12": "12.9.86",
    "nvidia-cudnn-cu12": "9.28.0.42",
    "nvidia-cufft-cu12": "11.4.1.4",
    "nvidia-curand-cu12": "10.3.10.19",
    "nvidia-nvjitlink-cu12": "12.9.86",
}
_CUBLAS12_LINUX = {"nvidia-cublas-cu12": "12.9.3.13"}
_CUBLAS12_WINDOWS = {"nvidia-cublas-cu12": "12.9.2.10"}
LINUX_X86 = "linux-x86_64"
LINUX_ARM = "linux-aarch64"
WINDOWS = "windows-amd64"
MAC_ARM = "macos-arm64"
MAC_INTEL = "macos-x86_64"
_ALL_BUT_INTEL_MACS = (LINUX_X86, LINUX_ARM, WINDOWS, MAC_ARM)


@dataclass(frozen=True)
class PinRow:
    """The wheels of one flavour for a range of Python versions on some platforms.

    ``lowest_macos`` is the oldest macOS whose wheel tags every package of the row has, on each macOS
    platform the row names: pip refuses a wheel tagged for a newer macOS than the one it runs on.
    """

    flavour: str
    first_python: tuple[int, int]
    last_python: tuple[int, int]
    platforms: tuple[str, ...]
    packages: dict[str, str]
    lowest_macos: tuple[int, int] = (0, 0)

    def fits(self, flavour: str, version: tuple[int, int], platform: str,
             macos: Optional[tuple[int, int]]) -> bool:
        """Whether this row installs for ``version`` on ``platform`` (and macOS ``macos``, where known)."""
        if self.flavour != flavour or platform not in self.platforms:
            return False
        if not self.first_python <= version <= self.last_python:
            return False
        return macos is None or not platform.startswith("macos") or macos >= self.lowest_macos


# First matching row wins. onnxruntime-gpu 1.26.0 is the newest built for CUDA 12.
PINS: tuple[PinRow, ...] = (
    PinRow("cpu", (3, 11), (3, 14), _ALL_BUT_INTEL_MACS, {"onnxruntime": "1.32.0", **_COMMON_311},
           lowest_macos=(14, 0)),
    PinRow("cpu", (3, 11), (3, 13), (MAC_ARM,), {"onnxruntime": "1.23.2", **_COMMON_311, **_ORT_123_EXTRAS},
           lowest_macos=(13, 0)),
    PinRow("cpu", (3, 10), (3, 13), (MAC_INTEL,), {
        "onnxruntime": "1.23.2", **_COMMON_310, "opencv-python-headless": "4.12.0.88", **_ORT_123_EXTRAS,
    }, lowest_macos=(13, 0)),
    PinRow("cpu", (3, 10), (3, 10), _ALL_BUT_INTEL_MACS, {"onnxruntime": "1.23.2", **_COMMON_310, **_ORT_123_EXTRAS},
           lowest_macos=(13, 0)),
    PinRow("cpu", (3, 9), (3, 9), _ALL_BUT_INTEL_MACS, {"onnxruntime": "1.19.2", **_COMMON_39, **_ORT_123_EXTRAS},
           lowest_macos=(13, 0)),
    PinRow("cpu", (3, 9), (3, 12), (MAC_ARM,), _MACOS_BEFORE_13, lowest_macos=(11, 0)),
    PinRow("cpu", (3, 9), (3, 12), (MAC_INTEL,), _MACOS_BEFORE_13, lowest_macos=(12, 0)),
    PinRow("directml", (3, 11), (3, 14), (WINDOWS,), {
        "onnxruntime-directml": "1.24.4", **_COMMON_311, "sympy": "1.14.0", "mpmath": "1.3.0",
    }),
    PinRow("directml", (3, 10), (3, 10), (WINDOWS,), {
        "onnxruntime-directml": "1.23.0", **_COMMON_310, **_ORT_123_EXTRAS,
    }),
    PinRow("directml", (3, 9), (3, 9), (WINDOWS,), {"onnxruntime-directml": "1.19.2", **_COMMON_39, **_ORT_123_EXTRAS}),
    PinRow("cuda13", (3, 11), (3, 14), (LINUX_X86, WINDOWS), {**_CUDA13_WHEELS, **_COMMON_311}),
    PinRow("cuda12", (3, 11), (3, 14), (LINUX_X86,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.26.0", **_CUDA12_LIBRARIES, **_CUBLAS12_LINUX, **_COMMON_311,
    }),
    PinRow("cuda12", (3, 11), (3, 14), (WINDOWS,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.26.0", **_CUDA12_LIBRARIES, **_CUBLAS12_WINDOWS, **_COMMON_311,
    }),
    PinRow("cuda12", (3, 10), (3, 10), (LINUX_X86,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.23.2", **_CUDA12_LIBRARIES, **_CUBLAS12_LINUX, **_COMMON_310,
        **_ORT_123_EXTRAS,
    }),
    PinRow("cuda12", (3, 10), (3, 10), (WINDOWS,), {
        "onnxruntime-gpu[cuda,cudnn]": "1.23.2", **_CUDA12_LIBRARIES, **_CUBLAS12_WINDOWS, **_COMMON_310,
        **_ORT_123_EXTRAS,
    }),
)

# Module to import when verifying -> why it is there.
IMPORTS = {"numpy": "numpy", "cv2": "opencv-python-headless", "onnxruntime": "onnxruntime"}
DEVICES = ("auto", "cpu", "cuda", "directml", "coreml")
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
# obs-blur's wheels need 3.9 or newer.
OBS_BLUR_MIN_PYTHON = (3, 9)
FLATPAK_APP = "com.obsproject.Studio"
# OBS's executable and process name on macOS (OBS.app/Contents/MacOS/OBS); Linux's is "obs".
MACOS_OBS_PROCESS = "OBS"
V4L2_LOAD = 'sudo modprobe v4l2loopback exclusive_caps=1 card_label="OBS Virtual Camera"'

# Where distributions put OBS's Python scripting module and library (Linux), relative to the root.
LINUX_SCRIPTING_PATTERNS = (
    "usr/lib/*/obs-scripting/_obspython.so",
    "usr/lib/obs-scripting/_obspython.so",
    "usr/lib64/obs-scripting/_obspython.so",
    "usr/local/lib/obs-scripting/_obspython.so",
    "usr/local/lib/*/obs-scripting/_obspython.so",
    "usr/lib/*/libobs-scripting.so*",
    "usr/lib/libobs-scripting.so*",
    "usr/lib64/libobs-scripting.so*",
    "usr/local/lib/libobs-scripting.so*",
    "usr/local/lib/*/libobs-scripting.so*",
)
LIBPYTHON = re.compile(r"libpython(\d+)\.(\d+)")

# Runs inside OBS's interpreter: imports from the private folder, then loads the default model the
# way the filter does, and prints one JSON line.
_VERIFY_SNIPPET = """
import importlib, json, sys
folder, repo, device = sys.argv[1:4]
sys.path.insert(0, folder)
report = {"modules": {}, "session": None, "paths": {}}
for name in sys.argv[4:]:
    try:
        module = importlib.import_module(name)
        report["modules"][name] = {"version": getattr(module, "__version__", "?"), "file": module.__file__ or ""}
    except Exception as error:
        report["modules"][name] = {"error": type(error).__name__ + ": " + str(error)}
sys.path.insert(1, repo)
try:
    from obs_blur import paths
    report["paths"] = {"models": str(paths.shipped_models_dir()), "downloads": str(paths.downloaded_models_dir()),
                       "tensorrt": str(paths.tensorrt_cache_dir())}
except Exception as error:
    report["paths"] = {"error": type(error).__name__ + ": " + str(error)}
if all("error" not in result for result in report["modules"].values()):
    try:
        import onnxruntime
        from obs_blur.inference import create_session
        from obs_blur.manifest import load_manifest
        from obs_blur.model_files import model_path
        manifest = load_manifest()
        model = model_path(manifest.get(None), download=False)
        session = create_session(model, device)
        report["session"] = {"model": manifest.default, "file": str(model), "provider": session.provider_short,
                             "describe": session.describe(), "notes": session.notes,
                             "available": list(onnxruntime.get_available_providers())}
    except Exception as error:
        report["session"] = {"error": type(error).__name__ + ": " + str(error).strip().splitlines()[0][:300]}
print(json.dumps(report))
"""

_PROBE_SNIPPET = (
    "import platform, struct, sys; "
    "print(sys.version_info[0], sys.version_info[1], sys.platform, platform.machine(), struct.calcsize('P') * 8)"
)


class InstallError(Exception):
    """A failure the user can act on; the message says what to do."""


# --- small helpers ---------------------------------------------------------------------------------
def _run(command: list[str], timeout: float = 60,
         env: Optional[Mapping[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def _dotted(version: tuple[int, ...]) -> str:
    """"3.11" or "30.0.2": a version as people write it."""
    return ".".join(map(str, version))


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _same_path(first: Path, second: Path) -> bool:
    return os.path.normcase(os.path.realpath(first)) == os.path.normcase(os.path.realpath(second))


def read_ini(path: Path) -> configparser.ConfigParser:
    """OBS's ini files: no interpolation ('%' is data), duplicate keys tolerated, BOM ignored."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    with contextlib.suppress(OSError, configparser.Error):
        parser.read_string(path.read_text(encoding="utf-8-sig", errors="replace"))
    return parser


def unescape_ini_value(value: str) -> str:
    """A value as OBS reads it: libobs writes a backslash as two, and CR and LF as \\r and \\n."""
    return re.sub(r"\\([\\rn])", lambda match: {"\\": "\\", "r": "\r", "n": "\n"}[match[1]], value)


def ini_value(config_dir: Path, section: str, key: str) -> Optional[tuple[str, Path]]:
    """A setting from user.ini (OBS 31 and newer) or global.ini (OBS 30 and older), with its file.

    OBS 31 copies global.ini to user.ini once and from then on writes user.ini only, so a global.ini
    beside a user.ini holds stale values: user.ini wins.
    """
    for name in ("user.ini", "global.ini"):
        path = config_dir / name
        parser = read_ini(path)
        if parser.has_option(section, key):
            value = unescape_ini_value(parser.get(section, key).strip())
            if value:
                return value, path
    return None


# --- where OBS keeps things ------------------------------------------------------------------------
def obs_config_dir(system: str, env: Mapping[str, str], home: Path) -> Path:
    """OBS's config folder (global.ini, user.ini, basic/scenes), as OBS computes it."""
    if system == "windows":
        return Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "obs-studio"
    if system == "macos":
        return home / "Library" / "Application Support" / "obs-studio"
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "obs-studio"


# --- which OBS: its version, and the Python it loads (Windows, macOS) ---------------------------------
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
        span = f"Python {_dotted(low)}-{_dotted(high)}"
        if self.version is None:
            return (f"OBS's version is unknown ({self.source}); OBS 28.0-32.2 load Python 3.6 up to 3.10, 3.11 or "
                    f"3.12 depending on their version, so {span} is assumed")
        name = f"OBS {_dotted(self.version)} ({self.source})"
        if not self.known:
            return f"{name} predates 28.0 and loads only the Python it was built with; {span} is assumed"
        if self.version[:2] > OBS_NEWEST_CHECKED:
            return f"{name} loads {span} as far as known (OBS {_dotted(OBS_NEWEST_CHECKED)} is the newest checked)"
        return f"{name} loads {span}"


def semantic_version(number: int) -> tuple[int, int, int]:
    """OBS's MAKE_SEMANTIC_VERSION undone: (major << 24) | (minor << 16) | patch."""
    return number >> 24, (number >> 16) & 0xFF, number & 0xFFFF


def parse_obs_version(text: str) -> Optional[tuple[int, int, int]]:
    """(30, 0, 2) from "30.0.2" or "31.1.0-rc1"; None when ``text`` starts with no version."""
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    return (int(match[1]), int(match[2]), int(match[3] or 0)) if match else None


_FIXED_FILE_INFO = struct.pack("<I", 0xFEEF04BD)


def windows_exe_version(exe: Path) -> Optional[tuple[int, int, int]]:
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


def macos_app_version(app: Path) -> Optional[tuple[int, int, int]]:
    """CFBundleShortVersionString of an app's Info.plist (OBS puts its version there)."""
    try:
        with (app / "Contents" / "Info.plist").open("rb") as file:
            info = plistlib.load(file)
    except (OSError, ValueError, plistlib.InvalidFileException):
        return None
    version = info.get("CFBundleShortVersionString") if isinstance(info, dict) else None
    return parse_obs_version(version) if isinstance(version, str) else None


def config_last_version(config_dir: Path) -> Optional[tuple[int, int, int]]:
    """The OBS version that last ran with this config: global.ini [General] LastVersion, written on exit."""
    parser = read_ini(config_dir / "global.ini")
    value = parser.get("General", "LastVersion", fallback="").strip()
    return semantic_version(int(value)) if value.isdigit() and int(value) > 0 else None


def obs_release(system: str, program: Optional[Path], config_dir: Path) -> ObsRelease:
    """The version of the OBS installed (it runs next), else of the last OBS that ran with this config."""
    if system == "windows" and program is not None:
        exe = program / "bin" / "64bit" / "obs64.exe"
        version = windows_exe_version(exe)
        if version:
            return ObsRelease(version, f"{exe}")
    if system == "macos" and program is not None:
        version = macos_app_version(program)
        if version:
            return ObsRelease(version, f"{program / 'Contents' / 'Info.plist'}")
    version = config_last_version(config_dir)
    if version:
        return ObsRelease(version, f"last run, {config_dir / 'global.ini'}")
    looked = f"{program}, " if program else ""
    return ObsRelease(None, f"no version in {looked}{config_dir / 'global.ini'}")


UNKNOWN_OBS = ObsRelease(None, "not looked up")


# --- which CPU architecture OBS runs as (macOS) -------------------------------------------------------
# Mach-O headers: a thin 64-bit file starts with MH_MAGIC_64 in the file's (little-endian) byte order,
# a universal file with FAT_MAGIC or FAT_MAGIC_64 in big-endian order, then its slices' CPU types.
_MACH_O_64 = struct.pack("<I", 0xFEEDFACF)
_FAT_MAGICS = {struct.pack(">I", 0xCAFEBABE): 20, struct.pack(">I", 0xCAFEBABF): 32}
_CPU_TYPES = {0x01000007: "x86_64", 0x0100000C: "arm64"}


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


def macos_native_architecture(run: Optional[Callable[[list[str]], subprocess.CompletedProcess]] = None) -> str:
    """"arm64" on Apple Silicon, also when asked from a process under Rosetta; "x86_64" on Intel Macs."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        if (run or _run)(["sysctl", "-n", "hw.optional.arm64"]).stdout.strip() == "1":
            return "arm64"
    return "x86_64"


def macos_obs_architecture(app: Path, native: str) -> Optional[str]:
    """The architecture OBS.app runs as: the Mac's own where its executable has it, else the one it has.

    OBS ships one build for Apple Silicon and one for Intel; the Intel one runs under Rosetta on Apple
    Silicon, and then loads the x86_64 half of a universal Python and needs x86_64 wheels.
    """
    architectures = mach_o_architectures(app / "Contents" / "MacOS" / MACOS_OBS_PROCESS)
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


# --- finding OBS and its Python: Linux --------------------------------------------------------------
@dataclass(frozen=True)
class ObsPython:
    """An interpreter matching the Python that OBS embeds, and how it was found."""

    executable: Path
    version: tuple[int, int]
    found_by: str
    platform: str = ""

    @property
    def tag(self) -> str:
        """The CPython ABI tag, e.g. "cp311": compiled wheels only fit this version."""
        return f"cp{self.version[0]}{self.version[1]}"


def platform_key(sys_platform: str, machine: str) -> str:
    """The wheel platform of an interpreter, e.g. "linux-x86_64", from its sys.platform and machine."""
    machine = machine.lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys_platform.startswith("win"):
        return "windows-amd64" if arch == "x86_64" else f"windows-{arch}"
    if sys_platform == "darwin":
        return "macos-arm64" if arch == "aarch64" else f"macos-{arch}"
    return f"linux-{arch}"


def probe_interpreter(executable: Path) -> tuple[tuple[int, int], str]:
    """(major, minor) and wheel platform of ``executable``, by running it; 32-bit ones are refused."""
    try:
        result = _run([str(executable), "-c", _PROBE_SNIPPET])
    except OSError as error:
        raise InstallError(f"cannot run {executable}: {error}") from error
    if result.returncode != 0:
        raise InstallError(f"{executable} does not run: {result.stderr.strip()}")
    major, minor, sys_platform, machine, bits = result.stdout.split()
    if bits != "64":
        raise InstallError(f"{executable} is a {bits}-bit Python: 64-bit OBS needs a 64-bit Python.")
    return (int(major), int(minor)), platform_key(sys_platform, machine)


def interpreter_version(executable: Path) -> tuple[int, int]:
    """(major, minor) of ``executable``, by running it."""
    return probe_interpreter(executable)[0]


def linux_scripting_libraries(root: Path = Path("/")) -> list[Path]:
    """OBS's Python scripting module and scripting library, wherever the distribution put them."""
    found: list[Path] = []
    for pattern in LINUX_SCRIPTING_PATTERNS:
        found.extend(Path(path) for path in sorted(glob.glob(str(root / pattern))) if Path(path) not in found)
    return found


def linux_obs_program(root: Path = Path("/")) -> Optional[Path]:
    """The ``obs`` program of a distribution package or a /usr/local build."""
    for candidate in ("usr/bin/obs", "usr/local/bin/obs"):
        if (root / candidate).is_file():
            return root / candidate
    return None


def linked_python(library: Path) -> Optional[tuple[tuple[int, int], Optional[Path]]]:
    """The libpython version ``library`` links, and the resolved libpython path when ldd shows one.

    ldd gives the path as well; without ldd the version string is read from the ELF file itself.
    """
    if shutil.which("ldd"):
        result = _run(["ldd", str(library)])
        for line in result.stdout.splitlines():
            match = LIBPYTHON.search(line)
            if match:
                resolved = line.split("=>", 1)[1].split("(")[0].strip() if "=>" in line else ""
                return (int(match[1]), int(match[2])), Path(resolved) if resolved else None
    match = LIBPYTHON.search(library.read_bytes().decode("latin-1"))
    return ((int(match[1]), int(match[2])), None) if match else None


def interpreter_candidates(version: tuple[int, int], libpython: Optional[Path]) -> list[Path]:
    """Interpreters of ``version``, the one sharing libpython's prefix first (same build as OBS's)."""
    name = f"python{version[0]}.{version[1]}"
    candidates = [Path("/usr/bin") / name, Path("/usr/local/bin") / name]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    if libpython is not None and str(libpython).startswith("/usr/local/"):
        candidates.sort(key=lambda path: not str(path).startswith("/usr/local/"))
    return [path for path in dict.fromkeys(candidates) if path.is_file()]


def flatpak_obs(root: Path, home: Path) -> Optional[Path]:
    """The Flatpak OBS (``com.obsproject.Studio``), installed system-wide or for this user."""
    for base in (root / "var/lib/flatpak/app", home / ".local/share/flatpak/app"):
        app = base / FLATPAK_APP
        if (app / "current").exists():
            return app
    return None


def flatpak_python_version() -> Optional[tuple[int, int]]:
    """The Python of the Flatpak's runtime, by asking it (``flatpak run --command=python3``)."""
    if not shutil.which("flatpak"):
        return None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired, ValueError):
        result = _run(["flatpak", "run", "--command=python3", FLATPAK_APP, "-c",
                       "import sys; print(*sys.version_info[:2])"], timeout=60)
        if result.returncode == 0:
            major, minor = result.stdout.split()[:2]
            return int(major), int(minor)
    return None


def flatpak_advice(app: Path, home: Path, version: Optional[tuple[int, int]]) -> str:
    """Why the Flatpak needs a hand, and the exact command that installs for it.

    The Flatpak runs scripts with its runtime's own Python, not the system's, and inside it
    XDG_DATA_HOME is ~/.var/app/com.obsproject.Studio/data, which is where the OBS script then
    looks for the private folder. It has host file access, so the script can stay in this checkout.
    """
    data = home / ".var" / "app" / FLATPAK_APP / "data"
    dotted = f"{version[0]}.{version[1]}" if version else "3.X"
    tag = f"cp{version[0]}{version[1]}" if version else "cp3X"
    ask = f"flatpak run --command=python3 {FLATPAK_APP} --version"
    found = f"Python {dotted}" if version else f"own Python (its version: {ask})"
    return (
        f"OBS is installed as a Flatpak ({app}), which is not set up automatically: the Flatpak runs scripts "
        f"with its runtime's {found}, not this system's Python, and reads the private folder from "
        f"{data / APP_NAME / 'pydeps' / tag} (its own XDG_DATA_HOME). Install for it with a host Python of "
        f"the same version, whose manylinux wheels run in the sandbox too (untested by obs-blur):\n"
        f"  OBS_BLUR_PYDEPS={data / APP_NAME / 'pydeps' / tag} python3 install.py --obs-python "
        f"/usr/bin/python{dotted}\n"
        f"Or install OBS from your distribution (Debian/Ubuntu: sudo apt install obs-studio), which this "
        f"installer supports fully."
    )


def find_linux_obs_python(root: Path = Path("/"), home: Optional[Path] = None) -> ObsPython:
    """OBS's interpreter from the libpython its scripting library links (distribution or /usr/local)."""
    libraries = linux_scripting_libraries(root)
    if not libraries:
        app = flatpak_obs(root, home or Path.home())
        if app is not None:
            raise InstallError(flatpak_advice(app, home or Path.home(), flatpak_python_version()))
        raise InstallError(
            "OBS Studio with Python scripting was not found (no _obspython.so or libobs-scripting.so). "
            "Install OBS (Debian/Ubuntu: sudo apt install obs-studio), or pass --obs-python PATH."
        )
    for library in libraries:
        linked = linked_python(library)
        if linked is None:
            continue
        version, libpython = linked
        for candidate in interpreter_candidates(version, libpython):
            found_version, platform = probe_interpreter(candidate)
            if found_version == version:
                return ObsPython(candidate, version, f"{library} links libpython{version[0]}.{version[1]}", platform)
        raise InstallError(
            f"OBS embeds Python {version[0]}.{version[1]} ({library}) but no python{version[0]}.{version[1]} "
            "interpreter was found: install it, or pass --obs-python PATH."
        )
    raise InstallError(f"none of {', '.join(map(str, libraries))} links libpython: pass --obs-python PATH.")


# --- finding OBS and its Python: Windows and macOS --------------------------------------------------
def windows_registry_obs_folder() -> Optional[str]:
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


def windows_obs_folder(env: Mapping[str, str], registry_folder: Optional[str]) -> Optional[Path]:
    """OBS's install folder: the registry's, else Program Files; it holds bin/64bit/obs64.exe."""
    candidates = [Path(registry_folder)] if registry_folder else []
    for variable in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
        if env.get(variable):
            candidates.append(Path(env[variable]) / "obs-studio")
    for folder in candidates:
        if (folder / "bin" / "64bit" / "obs64.exe").is_file():
            return folder
    return None


def macos_obs_app(root: Path, home: Path) -> Optional[Path]:
    """OBS.app in /Applications or ~/Applications."""
    for app in (root / "Applications" / "OBS.app", home / "Applications" / "OBS.app"):
        if app.is_dir():
            return app
    return None


def python_in_obs_folder(folder: Path, system: str,
                         release: ObsRelease = UNKNOWN_OBS) -> Optional[tuple[Path, tuple[int, int]]]:
    """The interpreter ``release`` loads from its configured Python folder, searched as it does (newest first).

    Windows: ``<folder>/python3XY.dll`` (the interpreter is ``<folder>/python.exe``); macOS:
    ``<folder>/Python.framework/Versions/<3.Y or Current>/lib/libpython3.Y.dylib`` (``.../bin/python3.Y``).
    """
    low, high = release.python_range
    for minor in range(high[1], low[1] - 1, -1):
        if system == "windows" and (folder / f"python3{minor}.dll").is_file():
            return folder / "python.exe", (3, minor)
        for name in release.framework_folders(minor) if system == "macos" else ():
            framework = folder / "Python.framework" / "Versions" / name
            if (framework / "lib" / f"libpython3.{minor}.dylib").is_file():
                return framework / "bin" / f"python3.{minor}", (3, minor)
    return None


def python_settings_instruction(system: str, config_dir: Path, problem: str,
                                release: ObsRelease = UNKNOWN_OBS) -> str:
    """What to click in OBS so that it has a Python obs-blur can use, for the Pythons this OBS loads."""
    high = release.python_range[1]
    if system == "windows":
        where = (f"the folder holding python3{high[1]}.dll, e.g. %LOCALAPPDATA%\\Programs\\Python\\Python3{high[1]} "
                 "(python.org installer)")
    else:
        where = "the folder holding Python.framework: /Library/Frameworks for the python.org installer"
        if release.version is not None and release.version < OBS_MACOS_VERSIONED_FRAMEWORK:
            where += ("; this OBS loads the Python that Python.framework/Versions/Current points to, "
                      "so that must be one it loads")
    return (
        f"{problem}\nIn OBS: Tools > Scripts > Python Settings, set the Python Install Path to a 64-bit "
        f"Python {_dotted(OBS_BLUR_MIN_PYTHON)}-{_dotted(high)} ({where}). {release.describe()}; obs-blur's wheels "
        f"need {_dotted(OBS_BLUR_MIN_PYTHON)} or newer, and 3.11 or 3.12 gets the newest onnxruntime. Restart OBS, "
        f"then run this again (OBS keeps the setting in {config_dir / 'global.ini'}, or user.ini from OBS 31), or "
        "pass --obs-python PATH."
    )


def find_configured_obs_python(system: str, config_dir: Path, release: ObsRelease = UNKNOWN_OBS) -> ObsPython:
    """The Python that OBS ``release`` loads from its Python Settings (``[Python] Path64bit``), Windows or macOS."""
    setting = ini_value(config_dir, "Python", "Path64bit")
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
            system, config_dir, f"OBS loads Python {_dotted(version)} from {folder}: too old for obs-blur.", release))
    found_version, platform = probe_interpreter(executable)
    if found_version != version:
        raise InstallError(f"{executable} is Python {_dotted(found_version)}, but OBS loads {_dotted(version)} "
                           f"from {folder}.")
    return ObsPython(executable, version, f"OBS's Python Settings ({ini}: [Python] Path64bit={folder}); "
                     f"{release.describe()}", platform)


def find_obs_python(override: Optional[str], system: Optional[str] = None) -> ObsPython:
    """The interpreter to install for: ``--obs-python``, else detected from the OBS installation."""
    if override:
        executable = Path(override)
        version, platform = probe_interpreter(executable)
        return ObsPython(executable, version, "--obs-python", platform)
    system = system or current_system()
    if system == "linux":
        return find_linux_obs_python()
    config_dir = obs_config_dir(system, os.environ, Path.home())
    return find_configured_obs_python(system, config_dir, obs_release(system, obs_program(system), config_dir))


def obs_architecture(system: str) -> Optional[str]:
    """The CPU architecture the installed OBS runs as, on a Mac; None elsewhere or without OBS.app."""
    app = obs_program(system) if system == "macos" else None
    return macos_obs_architecture(app, macos_native_architecture()) if app else None


def host_macos_version(system: str) -> Optional[tuple[int, int]]:
    """This Mac's macOS version, which decides the wheels that install on it; None off macOS."""
    return macos_version(mac_ver()[0]) if system == "macos" else None


def obs_program(system: str) -> Optional[Path]:
    """Where OBS itself is installed, for the report (None when not found)."""
    if system == "windows":
        return windows_obs_folder(os.environ, windows_registry_obs_folder())
    if system == "macos":
        return macos_obs_app(Path("/"), Path.home())
    return linux_obs_program() or flatpak_obs(Path("/"), Path.home())


def describe_obs_program(program: Optional[Path]) -> str:
    """The OBS found and what kind of install it is, for --check."""
    if program is None:
        return "not found"
    text = str(program)
    kind = ("Flatpak: see the note under OBS's Python" if FLATPAK_APP in text else
            "built into /usr/local" if text.startswith("/usr/local/") else
            "distribution package" if text.startswith("/usr/") else "")
    return f"{text} ({kind})" if kind else text


# --- the GPU and the flavour -------------------------------------------------------------------------
@dataclass(frozen=True)
class NvidiaDriver:
    """An NVIDIA driver that is installed and loaded, and the newest CUDA it runs."""

    version: str
    cuda_major: int
    source: str


def cuda_major_for_driver(version: str) -> int:
    """Newest CUDA major a driver runs: 13 needs >= 580, 12 needs >= 525 (NVIDIA's minimums)."""
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    return 13 if major >= 580 else 12 if major >= 525 else 11 if major >= 450 else 0


def parse_nvidia_smi(text: str) -> Optional[NvidiaDriver]:
    """From nvidia-smi's header: "Driver Version: 550.54.15   CUDA Version: 12.4"."""
    driver = re.search(r"Driver Version:\s*([\d.]+)", text)
    if not driver:
        return None
    cuda = re.search(r"CUDA Version:\s*(\d+)", text)
    cuda_major = int(cuda[1]) if cuda else cuda_major_for_driver(driver[1])
    return NvidiaDriver(driver[1], cuda_major, "nvidia-smi")


def parse_proc_nvidia_version(text: str) -> Optional[NvidiaDriver]:
    """From /proc/driver/nvidia/version: "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15 ..."."""
    match = re.search(r"Kernel Module\s+([\d.]+)", text)
    return NvidiaDriver(match[1], cuda_major_for_driver(match[1]), "/proc/driver/nvidia/version") if match else None


def detect_nvidia(system: str, proc_root: Path = Path("/proc")) -> tuple[Optional[NvidiaDriver], str]:
    """A usable NVIDIA driver (nvidia-smi runs, or Linux's /proc file exists), and what was looked at."""
    smi = shutil.which("nvidia-smi")
    if smi:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            result = _run([smi], timeout=30)
            driver = parse_nvidia_smi(result.stdout) if result.returncode == 0 else None
            if driver:
                return driver, f"NVIDIA driver {driver.version} (CUDA {driver.cuda_major}, from nvidia-smi)"
    version_file = proc_root / "driver" / "nvidia" / "version"
    if system == "linux" and version_file.is_file():
        driver = parse_proc_nvidia_version(version_file.read_text(errors="replace"))
        if driver:
            return driver, f"NVIDIA driver {driver.version} (from {version_file})"
    looked = "nvidia-smi " + ("failed" if smi else "not found")
    if system == "linux":
        looked += f", no {version_file}"
    return None, f"no NVIDIA driver ({looked})"


@dataclass(frozen=True)
class Flavour:
    """Which onnxruntime wheels to install, and why."""

    name: str
    reason: str

    @property
    def wheels(self) -> str:
        """The pin rows to use: CoreML ships inside the plain onnxruntime wheel."""
        return "cpu" if self.name == "coreml" else self.name


def choose_flavour(device: str, platform: str, version: tuple[int, int],
                   nvidia: Optional[NvidiaDriver]) -> Flavour:
    """The flavour for ``--device`` on this machine; impossible explicit requests are refused."""
    system = platform.split("-")[0]
    if device == "cpu":
        return Flavour("cpu", "--device cpu")
    if device == "coreml":
        if system != "macos":
            raise InstallError("--device coreml: CoreML exists only on macOS.")
        return Flavour("coreml", "--device coreml (CoreML is in the onnxruntime wheel)")
    if device == "directml":
        if system != "windows":
            raise InstallError("--device directml: DirectML exists only on Windows.")
        return Flavour("directml", "--device directml")
    if device == "cuda":
        return _cuda_flavour(platform, version, nvidia, explicit=True)
    if system == "macos":
        return Flavour("coreml", "macOS: CoreML, in the onnxruntime wheel")
    if nvidia is not None:
        return _cuda_flavour(platform, version, nvidia, explicit=False)
    if system == "windows":
        return Flavour("directml", "Windows without an NVIDIA driver: DirectML runs on any DirectX 12 GPU")
    return Flavour("cpu", "no NVIDIA GPU with a usable driver")


def _cuda_flavour(platform: str, version: tuple[int, int], nvidia: Optional[NvidiaDriver],
                  explicit: bool) -> Flavour:
    """CUDA 13 or 12 wheels to match the driver; the CPU (or an error when asked for) where none fit."""
    def refuse(why: str) -> Flavour:
        if explicit:
            raise InstallError(f"--device cuda: {why}")
        return Flavour("directml" if platform == WINDOWS else "cpu", f"{why}; installing the "
                       f"{'DirectML' if platform == WINDOWS else 'CPU'} onnxruntime instead")

    if platform not in (LINUX_X86, WINDOWS):
        return refuse(f"onnxruntime-gpu wheels exist for Linux x86_64 and Windows only, not {platform}")
    if version < (3, 10):
        return refuse("onnxruntime-gpu with NVIDIA's pip CUDA libraries needs Python 3.10 or newer")
    if nvidia is None:
        return Flavour("cuda13", "--device cuda, but no NVIDIA driver was found: the filter will use the CPU "
                       "until one is installed (CUDA 13 needs driver 580 or newer)")
    if nvidia.cuda_major >= 13 and version >= (3, 11):
        return Flavour("cuda13", f"NVIDIA driver {nvidia.version} runs CUDA 13")
    if nvidia.cuda_major >= 12:
        return Flavour("cuda12", f"NVIDIA driver {nvidia.version} runs CUDA 12")
    return refuse(f"NVIDIA driver {nvidia.version} is too old for CUDA 12 (needs 525 or newer): update it")


def pins_for(flavour: str, version: tuple[int, int], platform: str,
             macos: Optional[tuple[int, int]] = None) -> dict[str, str]:
    """The pinned wheels of ``flavour`` for Python ``version`` on ``platform`` (and ``macos``, when known)."""
    for row in PINS:
        if row.fits(flavour, version, platform, macos):
            return dict(row.packages)
    on_macos = platform.startswith("macos")
    where = platform + (f" (macOS {macos[0]}.{macos[1]})" if macos and on_macos else "")
    rows = [row for row in PINS if row.fits(flavour, row.first_python, platform, macos)]
    span = (f"Python {_dotted(min(row.first_python for row in rows))}-{_dotted(max(row.last_python for row in rows))}"
            if rows else "no Python")
    raise InstallError(
        f"no pinned {flavour} wheels for Python {_dotted(version)} on {where}: obs-blur's {flavour} wheels cover "
        f"{span} there (3.11 or 3.12 recommended); use --device cpu, a supported Python"
        + (", or a newer macOS." if on_macos else ".")
    )


def macos_version(release: str) -> Optional[tuple[int, int]]:
    """(major, minor) of ``platform.mac_ver()[0]`` ("13.6.1"), to pick wheels that install there.

    A Python built with a macOS 10.15 SDK sees every newer macOS as "10.16"; that counts as 11.0,
    the oldest it can be, so the wheels chosen install whatever the real version is.
    """
    numbers = [int(part) for part in re.findall(r"\d+", release)[:2]]
    if not numbers:
        return None
    found = (numbers[0], numbers[1] if len(numbers) > 1 else 0)
    return (11, 0) if found == (10, 16) else found


def requirement_strings(packages: Mapping[str, str]) -> list[str]:
    """``name==version`` for pip, extras kept (``onnxruntime-gpu[cuda,cudnn]==1.31.1``)."""
    return [f"{name}=={version}" for name, version in packages.items()]


def onnxruntime_package(packages: Mapping[str, str]) -> str:
    """"onnxruntime-gpu 1.31.1": the flavour's onnxruntime wheel, for messages."""
    for name, version in packages.items():
        if name.startswith("onnxruntime"):
            return f"{name.split('[')[0]} {version}"
    return "onnxruntime ?"


# --- the record --------------------------------------------------------------------------------------
def wanted_record(python: ObsPython, flavour: Flavour, packages: Mapping[str, str]) -> dict[str, Any]:
    """What the folder must hold for this run to have nothing to do."""
    return {
        "schema": RECORD_SCHEMA,
        "flavour": flavour.name,
        "python_tag": python.tag,
        "platform": python.platform,
        "packages": dict(packages),
    }


def read_record(folder: Path) -> Optional[dict[str, Any]]:
    """The folder's record, or None when there is none (an old or foreign folder) or it is unreadable."""
    with contextlib.suppress(OSError, ValueError):
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else None
    return None


def record_matches(record: Optional[Mapping[str, Any]], wanted: Mapping[str, Any]) -> bool:
    return record is not None and all(record.get(key) == value for key, value in wanted.items())


def write_record(folder: Path, wanted: Mapping[str, Any], python: ObsPython, verification: Verification) -> None:
    record = {
        **wanted,
        "python": str(python.executable),
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "modules": {name: result.get("version", "?") for name, result in verification.modules.items()},
        "provider": (verification.session or {}).get("describe", ""),
    }
    (folder / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def looks_like_dependency_folder(folder: Path) -> bool:
    """True for a folder this installer made (or an older one's): safe to replace or delete."""
    if not folder.is_dir():
        return False
    if (folder / RECORD_NAME).is_file() or (folder / "onnxruntime").is_dir():
        return True
    return not any(folder.iterdir())


# --- verifying in OBS's interpreter ------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    """What importing the dependencies from the private folder and loading the default model gave."""

    modules: dict[str, dict[str, str]]
    folder: Path
    session: Optional[dict[str, Any]] = None
    paths: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Everything that stops the filter: failed or foreign imports, two onnxruntimes, no session."""
        found = []
        for name, result in self.modules.items():
            if "error" in result:
                found.append(f"{name}: {result['error']}")
            elif not _is_inside(Path(result["file"]), self.folder):
                found.append(f"{name}: imported from {result['file']}, not from {self.folder}")
        flavours = onnxruntime_distributions(self.folder)
        if len(flavours) > 1:
            found.append(f"{self.folder} holds {len(flavours)} onnxruntime flavours ({', '.join(flavours)}): "
                         "they overwrite each other's files; reinstall with --reinstall")
        if any("incompatible architecture" in result.get("error", "") for result in self.modules.values()):
            found.append(f"the wheels in {self.folder} are for another CPU architecture (Apple Silicon arm64 or "
                         "Intel x86_64) than OBS's Python runs as: run python3 install.py to replace them")
        if self.session and "error" in self.session:
            found.append(f"the default model does not load: {self.session['error']}")
        return found

    def summary(self) -> str:
        return ", ".join(f"{name} {result.get('version', '?')}" for name, result in self.modules.items())

    def provider_lines(self, flavour: Optional[str]) -> list[str]:
        """The provider that will really run and, when the GPU one will not, why (from describe())."""
        if not self.session or "error" in self.session:
            return []
        lines = [f"The default model ({self.session['model']}) runs on: {self.session['describe']}"]
        gpu_flavour = flavour not in (None, "cpu")
        if gpu_flavour and self.session["provider"] == "CPU":
            why = "; ".join(self.session.get("notes") or []) or "onnxruntime chose the CPU"
            lines.append(f"The GPU will NOT be used ({flavour} flavour installed): {why}. "
                         "The filter works on the CPU meanwhile; `python3 install.py --check` shows this again.")
        return lines


def onnxruntime_distributions(folder: Path) -> list[str]:
    """The onnxruntime wheels installed in ``folder`` (there must be exactly one)."""
    return sorted(path.name.split("-")[0] for path in folder.glob("onnxruntime*.dist-info"))


def verify_dependencies(python: ObsPython, folder: Path, device: str = "auto") -> Verification:
    """Import every dependency in OBS's interpreter with ``folder`` first on sys.path, then load the model.

    ``-E -s`` keeps PYTHONPATH and the user's site-packages out, ``-B`` writes no bytecode, and
    ORT_DISABLE_TELEMETRY stops onnxruntime's PyPI builds from writing a device id and event queue
    under ~/.cache/Microsoft (and sending them): ``--check`` changes nothing. The model loads through
    obs_blur.inference, the code the filter itself runs.
    """
    command = [str(python.executable), "-E", "-s", "-B", "-c", _VERIFY_SNIPPET, str(folder), str(REPO_ROOT), device,
               *IMPORTS]
    result = _run(command, timeout=300, env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise InstallError(f"verification could not run in {python.executable}:\n{result.stderr.strip()[-2000:]}")
    report = json.loads(lines[-1])
    return Verification(report["modules"], folder, report.get("session"), report.get("paths") or {})


# --- installing --------------------------------------------------------------------------------------
def _pip_version(command: list[str]) -> Optional[tuple[int, ...]]:
    try:
        result = _run([*command, "--version"])
    except OSError:
        return None
    match = re.match(r"pip (\d+)\.(\d+)", result.stdout) if result.returncode == 0 else None
    return (int(match[1]), int(match[2])) if match else None


def pip_command(python: ObsPython) -> list[str]:
    """A pip that installs for OBS's interpreter.

    Its own pip if it has one; otherwise this interpreter's pip (>= 22.3) with ``--python``, which runs
    pip's code in OBS's interpreter without pip being installed there.
    """
    own = [str(python.executable), "-m", "pip"]
    if _pip_version(own):
        return own
    ours = [sys.executable, "-m", "pip"]
    version = _pip_version(ours)
    if version and version >= (22, 3):
        return [*ours, "--python", str(python.executable)]
    raise InstallError(
        f"no pip for {python.executable}: install it (Debian/Ubuntu: sudo apt install python3-pip), "
        "or run this installer with a Python that has pip 22.3 or newer."
    )


def pip_install_command(pip: list[str], target: Path, packages: Mapping[str, str],
                        wheelhouse: Optional[Path]) -> list[str]:
    """``pip install --target``: wheels only (no compiler, no source builds), offline from a wheelhouse."""
    offline = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    return [
        *pip, "install", "--target", str(target), "--only-binary=:all:", "--disable-pip-version-check",
        "--no-warn-script-location", "--no-input", *offline, *requirement_strings(packages),
    ]


def run_pip(command: list[str], packages: Mapping[str, str], target: Path) -> None:
    print("Running: " + " ".join(command), flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise InstallError(f"pip could not install {onnxruntime_package(packages)} and the rest into {target} "
                           "(see pip's output above).")


def _leftovers(folder: Path, kind: str) -> list[Path]:
    return sorted(folder.parent.glob(f".{folder.name}.{kind}-*"))


def recover_interrupted_swap(folder: Path) -> Optional[str]:
    """Undo what a run killed between its two renames left behind: the old folder comes back.

    Returns what was done, for the user. Stale temporary folders are removed.
    """
    note = None
    previous = _leftovers(folder, "previous")
    if previous and not folder.exists():
        previous[-1].rename(folder)
        note = f"Restored {folder} from an interrupted run."
        previous = previous[:-1]
    for stale in [*previous, *_leftovers(folder, "staging")]:
        shutil.rmtree(stale, ignore_errors=True)
    return note


def swap_into_place(staging: Path, folder: Path) -> None:
    """Make ``staging`` the private folder by renames; the previous folder goes only once that worked."""
    previous = folder.with_name(f".{folder.name}.previous-{os.getpid()}")
    had_previous = folder.exists()
    try:
        if had_previous:
            folder.rename(previous)
        try:
            staging.rename(folder)
        except BaseException:
            if had_previous:
                previous.rename(folder)
            raise
    except OSError as error:
        raise InstallError(
            f"could not move the new install into {folder} ({error}). If OBS is running with obs-blur loaded, "
            "close it first (Windows cannot replace files OBS has loaded), then run this again."
        ) from error
    if had_previous:
        shutil.rmtree(previous, ignore_errors=True)


def make_folders_for_code(folder: Path) -> None:
    """``mkdir -p`` whose new folders only their owner may write to, whatever the umask says.

    ``Path.mkdir(parents=True)`` gives new parents the umask's permissions, and under umask 000 those
    would be world-writable: the script would then refuse the folder (and rightly so).
    """
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o755)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs to keep as it is
        path.chmod(0o755)


def protect_from_other_users(folder: Path) -> None:
    """Take away group and other write permission in ``folder``: OBS imports code from it.

    pip creates files by the umask, which may leave them group-writable; the script refuses a folder
    that other users could plant code in (``obs_blur.paths.unsafe_code_folder``), so it must not be
    one. Windows folders under the user's profile are private by their ACLs already.
    """
    if current_system() == "windows":
        return
    for root, folders, files in os.walk(folder):
        for path in (root, *(os.path.join(root, name) for name in (*folders, *files))):
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o022:
                os.chmod(path, stat.S_IMODE(mode) & ~0o022)


def install_verified(python: ObsPython, folder: Path, packages: Mapping[str, str], wanted: Mapping[str, Any],
                     wheelhouse: Optional[Path]) -> Verification:
    """Install into a fresh folder beside ``folder``, verify it there, then swap it into place.

    Any failure before the swap (pip, verification, Ctrl+C) removes the fresh folder and leaves the
    previous install exactly as it was.
    """
    make_folders_for_code(folder.parent)
    staging = folder.with_name(f".{folder.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        run_pip(pip_install_command(pip_command(python), staging, packages, wheelhouse), packages, staging)
        print(f"Verifying in OBS's Python ({python.executable}) ...", flush=True)
        verification = verify_dependencies(python, staging)
        if verification.problems():
            raise InstallError("installed, but the check in OBS's Python failed:\n  "
                               + "\n  ".join(verification.problems()))
        write_record(staging, wanted, python, verification)
        protect_from_other_users(staging)
        swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Verification(verification.modules, folder, verification.session, verification.paths)


def untouched_message(folder: Path, existed: bool) -> str:
    if existed:
        return f"The previous install in {folder} is untouched and still works as before."
    return f"Nothing was installed ({folder} was not created)."


# --- adding the script to OBS ------------------------------------------------------------------------
def scene_collection_file(config_dir: Path) -> Path:
    """The current scene collection's JSON file, found as OBS finds it.

    OBS 30 and older open ``basic/scenes/<SceneCollectionFile>.json``: the setting is the file's stem.
    OBS 31 and newer keep the file's name with ``.json`` there (31.0 writes the stem again once a
    collection loads) and open the collection whose "name" is ``SceneCollection``. So the setting is
    read with or without ``.json``, and the name decides between files when they disagree.
    """
    scenes = config_dir / "basic" / "scenes"
    name_setting = ini_value(config_dir, "Basic", "SceneCollection")
    file_setting = ini_value(config_dir, "Basic", "SceneCollectionFile")
    if name_setting is None and file_setting is None:
        raise InstallError(f"OBS has no current scene collection in {config_dir} (global.ini/user.ini "
                           "[Basic] SceneCollection): start OBS once, close it, then run this again.")
    name = name_setting[0] if name_setting else None
    files = collection_files_named_by_setting(scenes, file_setting[0]) if file_setting else []
    found = (next((path for path in files if name is None or collection_name(path) == name), None)
             or (collection_file_by_name(scenes, name) if name else None)
             or next(iter(files), None))
    if found is None:
        wanted = f"{file_setting[0].removesuffix('.json')}.json" if file_setting else f'named "{name}"'
        raise InstallError(f"the current scene collection {scenes / wanted} does not exist: start OBS once, "
                           "close it, then run this again.")
    return found


def collection_files_named_by_setting(scenes: Path, setting: str) -> list[Path]:
    """The files ``SceneCollectionFile`` may mean: ``<setting>.json`` (OBS 30 and older), ``<setting>`` (31+)."""
    candidates = [scenes / f"{setting}.json"]
    if setting.endswith(".json"):
        candidates.append(scenes / setting)
    return [path for path in candidates if path.is_file()]


def collection_name(path: Path) -> Optional[str]:
    """The "name" inside a scene collection file (None when it cannot be read)."""
    with contextlib.suppress(OSError, ValueError):
        collection = json.loads(path.read_text(encoding="utf-8-sig"))
        name = collection.get("name") if isinstance(collection, dict) else None
        return name if isinstance(name, str) else None
    return None


def collection_file_by_name(scenes: Path, name: str) -> Optional[Path]:
    """The scene collection file whose "name" is ``name``, as OBS 31 and newer look it up."""
    files = sorted(scenes.glob("*.json")) if scenes.is_dir() else []
    return next((path for path in files if collection_name(path) == name), None)


def process_config_dir(environ: bytes, cmdline: bytes) -> Optional[Path]:
    """The config folder a Linux OBS process uses, from its environment; None when it cannot be told."""
    arguments = cmdline.split(b"\0")
    if b"--portable" in arguments or b"-p" in arguments:
        return Path("/nonexistent-portable-obs-config")
    env = dict(item.split(b"=", 1) for item in environ.split(b"\0") if b"=" in item)
    base = env.get(b"XDG_CONFIG_HOME") or (env[b"HOME"] + b"/.config" if env.get(b"HOME") else None)
    return Path(os.fsdecode(base)) / "obs-studio" if base else None


def linux_obs_processes(config_dir: Path, proc_root: Path = Path("/proc")) -> list[int]:
    """Processes named ``obs`` that use ``config_dir`` (or whose environment cannot be read)."""
    found = []
    for entry in proc_root.iterdir() if proc_root.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "obs":
                continue
        except OSError:
            continue
        try:
            config = process_config_dir((entry / "environ").read_bytes(), (entry / "cmdline").read_bytes())
        except OSError:
            config = None
        if config is None or _same_path(config, config_dir):
            found.append(int(entry.name))
    return found


def running_obs(system: str, config_dir: Path,
                run: Optional[Callable[[list[str]], subprocess.CompletedProcess]] = None) -> list[str]:
    """Running OBS processes that would overwrite the scene collection when they exit.

    Windows: tasklist's obs64.exe; macOS: pgrep for the process ``OBS`` (exact and case-sensitive,
    so the Linux name ``obs`` would never match it); Linux: /proc, told apart by config folder.
    """
    if system == "linux":
        return [f"pid {pid}" for pid in linux_obs_processes(config_dir)]
    run = run or _run
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        if system == "windows":
            output = run(["tasklist", "/FI", "IMAGENAME eq obs64.exe", "/FO", "CSV", "/NH"]).stdout
            return [line.split(",")[1].strip('"') for line in output.splitlines() if "obs64.exe" in line.lower()]
        result = run(["pgrep", "-x", MACOS_OBS_PROCESS])
        return [f"pid {pid}" for pid in result.stdout.split()]
    return []


def script_entry_path(system: str) -> str:
    """The script path as OBS writes it in a collection (forward slashes, also on Windows)."""
    return SCRIPT_PATH.as_posix() if system == "windows" else str(SCRIPT_PATH)


def collection_has_script(collection: Mapping[str, Any]) -> bool:
    for entry in (collection.get("modules") or {}).get("scripts-tool") or []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if path and _same_path(Path(path), SCRIPT_PATH):
            return True
    return False


def add_script_to_collection(path: Path, system: str) -> tuple[bool, Optional[Path]]:
    """Append our script to ``modules.scripts-tool``; (added, backup). A backup is made before writing."""
    collection = json.loads(path.read_text(encoding="utf-8-sig"))
    if collection_has_script(collection):
        return False, None
    backup = path.with_name(f"{path.name}.obs-blur-backup-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)
    modules = collection.setdefault("modules", {})
    modules.setdefault("scripts-tool", []).append({"path": script_entry_path(system), "settings": {}})
    temporary = path.with_name(f".{path.name}.obs-blur-{os.getpid()}")
    temporary.write_text(json.dumps(collection, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return True, backup


def add_to_obs(system: str, config_dir: Path) -> str:
    """Add the script to the current scene collection while OBS is closed; returns what happened."""
    collection = scene_collection_file(config_dir)
    running = running_obs(system, config_dir)
    if running:
        raise InstallError(f"OBS is running ({', '.join(running)}) with the config in {config_dir}: it rewrites "
                           f"{collection.name} when it exits. Close OBS, then run this again with --add-to-obs.")
    added, backup = add_script_to_collection(collection, system)
    if not added:
        return f"obs-blur is already added to the scene collection {collection} (nothing changed)."
    return f"Added {SCRIPT_PATH} to the scene collection {collection} (backup: {backup})."


# --- the virtual camera (Linux) ----------------------------------------------------------------------
def v4l2loopback_status(sys_root: Path = Path("/sys")) -> tuple[str, bool]:
    """(what to tell, whether it is fine) for Linux's virtual camera module."""
    if (sys_root / "module" / "v4l2loopback").is_dir():
        return "v4l2loopback is loaded: the virtual camera works", True
    modinfo = shutil.which("modinfo") or next(
        (path for path in ("/sbin/modinfo", "/usr/sbin/modinfo") if Path(path).is_file()), None)
    if modinfo:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            if _run([modinfo, "v4l2loopback"]).returncode == 0:
                return ("v4l2loopback is installed but not loaded: OBS loads it when you click Start Virtual "
                        f"Camera (it asks for your password), or run: {V4L2_LOAD}"), True
    return ("v4l2loopback is not installed, so Start Virtual Camera will fail: "
            f"sudo apt install v4l2loopback-dkms, then {V4L2_LOAD}"), False


# --- the steps -------------------------------------------------------------------------------------
def print_next_steps(folder: Path, script_added: bool, system: str) -> None:
    print("\nNext, in OBS Studio:")
    if script_added:
        print(f"  1. Start OBS: {SCRIPT_PATH.name} is already added to the scene collection (Tools > Scripts lists it)")
    else:
        print(f"  1. Tools > Scripts > + and choose {SCRIPT_PATH}")
        print("     (or close OBS and run: python3 install.py --add-to-obs)")
    print("  2. On your camera source: Filters > + > Background Blur")
    print("  3. Start Virtual Camera (Controls dock), then pick \"OBS Virtual Camera\" in your meeting app.")
    if system == "linux":
        status, fine = v4l2loopback_status()
        if not fine:
            print(f"     Linux: {status}")
    if os.environ.get("OBS_BLUR_PYDEPS") and FLATPAK_APP not in str(folder):
        print(f"  (OBS_BLUR_PYDEPS is set: start OBS with OBS_BLUR_PYDEPS={folder} too, or the script misses it.)")


def report_verification(verification: Verification, flavour: Flavour, nvidia: Optional[NvidiaDriver],
                        gpu_note: str) -> None:
    """The provider that runs; for a CUDA flavour on the CPU, the driver finding is the likely cause."""
    lines = verification.provider_lines(flavour.name)
    for line in lines:
        print(line)
    if len(lines) > 1 and flavour.name.startswith("cuda") and nvidia is None:
        print(f"Likely cause: {gpu_note}. Install NVIDIA's driver (580 or newer for CUDA 13), then run --check.")


def describe_python(python: ObsPython, folder: Path) -> None:
    print(f"OBS's Python: {python.executable} ({python.version[0]}.{python.version[1]}; {python.found_by})")
    print(f"Private dependency folder: {folder}")


def install(arguments: argparse.Namespace) -> int:
    """Install (or find already in place) the wheels for OBS's Python, then optionally add the script."""
    system = current_system()
    python = find_obs_python(arguments.obs_python)
    folder = private_dependency_folder(python.tag)
    describe_python(python, folder)
    problem = architecture_problem(python, obs_architecture(system))
    if problem:
        raise InstallError(problem)
    nvidia, gpu_note = detect_nvidia(system)
    flavour = choose_flavour(arguments.device, python.platform, python.version, nvidia)
    packages = pins_for(flavour.wheels, python.version, python.platform, host_macos_version(system))
    print(f"GPU: {gpu_note}")
    print(f"Flavour: {flavour.name} ({flavour.reason}): {onnxruntime_package(packages)}")
    recovered = recover_interrupted_swap(folder)
    if recovered:
        print(recovered)
    if folder.exists() and not looks_like_dependency_folder(folder):
        raise InstallError(f"{folder} exists and is not an obs-blur dependency folder: refusing to replace it. "
                           "Move it away, or point OBS_BLUR_PYDEPS elsewhere.")
    wanted = wanted_record(python, flavour, packages)
    verification = None if arguments.reinstall else already_in_place(python, folder, wanted)
    if verification is None:
        try:
            verification = replace_install(python, folder, packages, wanted, arguments.wheelhouse)
        except KeyboardInterrupt:
            print(f"\nInterrupted. {untouched_message(folder, folder.exists())}", file=sys.stderr)
            return 130
    unsafe = paths.unsafe_code_folder(folder)
    if unsafe:
        raise InstallError(f"installed, but the script will refuse {folder} because {unsafe}")
    report_verification(verification, flavour, nvidia, gpu_note)
    return finish_with_obs(arguments, system, folder)


def already_in_place(python: ObsPython, folder: Path, wanted: Mapping[str, Any]) -> Optional[Verification]:
    """The verified install when the record says it is what this run wants: then there is nothing to do."""
    if not record_matches(read_record(folder), wanted):
        return None
    unsafe = paths.unsafe_code_folder(folder)
    if unsafe and paths.unsafe_code_folder(folder.parent) is None:  # a fresh private folder mends it
        print(f"The install in place could be changed by other users ({unsafe}): installing it again, private.")
        return None
    verification = verify_dependencies(python, folder)
    if verification.problems():
        print("The install in place is recorded as complete but fails its check, so it is replaced:\n  "
              + "\n  ".join(verification.problems()))
        return None
    print(f"Already installed and verified: {verification.summary()}. Nothing to do.")
    return verification


def replace_install(python: ObsPython, folder: Path, packages: Mapping[str, str], wanted: Mapping[str, Any],
                    wheelhouse: Optional[Path]) -> Verification:
    """A new verified install in place of whatever is there; on failure, says that nothing changed."""
    existed = folder.exists()
    previous = read_record(folder)
    if previous:
        built_for = previous.get("platform")
        other = f" for {built_for}, not {python.platform}" if built_for not in (None, python.platform) else ""
        print(f"Replacing the {previous.get('flavour')} install ({onnxruntime_package(previous.get('packages', {}))}"
              f"{other}); it stays in place until the new one is verified.")
    try:
        verification = install_verified(python, folder, packages, wanted, wheelhouse)
    except InstallError as error:
        raise InstallError(f"{error}\n{untouched_message(folder, existed)}") from None
    print(f"Installed and verified: {verification.summary()}.")
    return verification


def finish_with_obs(arguments: argparse.Namespace, system: str, folder: Path) -> int:
    """--add-to-obs (when asked), then the next steps."""
    script_added = False
    status = 0
    if arguments.add_to_obs:
        try:
            print(add_to_obs(system, obs_config_dir(system, os.environ, Path.home())), flush=True)
            script_added = True
        except InstallError as error:
            print(f"install.py: {error}", file=sys.stderr, flush=True)
            status = 1
    print_next_steps(folder, script_added, system)
    return status


# --- --check -----------------------------------------------------------------------------------------
@dataclass
class CheckReport:
    """Lines of the diagnosis and what keeps obs-blur from running."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, label: str, text: str, problem: Optional[str] = None) -> None:
        self.lines.append((label, text))
        if problem:
            self.problems.append(problem)

    def print(self) -> None:
        for label, text in self.lines:
            print(f"{label:<18}{text}")
        print(f"{'status':<18}" + ("ready" if not self.problems else "NOT READY: " + "; ".join(self.problems)))


def check(arguments: argparse.Namespace) -> int:
    """Diagnose without changing anything: OBS, its Python, the private folder, provider, paths."""
    system = current_system()
    print("obs-blur check (a diagnosis: nothing is installed, changed or removed)")
    report = CheckReport()
    program = obs_program(system)
    report.add("OBS Studio", describe_obs_program(program), None if program else "OBS not found")
    config_dir = obs_config_dir(system, os.environ, Path.home())
    report.add("OBS config", str(config_dir) + ("" if config_dir.is_dir() else " (not created yet)"))
    if system != "linux":
        report.add("OBS version", obs_release(system, program, config_dir).describe())
    try:
        python = find_obs_python(arguments.obs_python)
    except InstallError as error:
        for number, line in enumerate(str(error).splitlines()):
            report.add("" if number else "OBS's Python", line)
        report.problems.append("no Python for OBS")
        check_paths(report, {})
        report.print()
        return 1
    report.add("OBS's Python", f"{python.executable} ({python.version[0]}.{python.version[1]}; {python.found_by})")
    if system == "macos":
        check_architecture(report, python, obs_architecture(system))
    folder = private_dependency_folder(python.tag)
    verification = check_folder(report, python, folder)
    check_gpu(report, system, python)
    check_paths(report, verification.paths if verification else {})
    check_script(report, config_dir)
    if system == "linux":
        status, _ = v4l2loopback_status()
        report.add("virtual camera", status)
    report.print()
    return 1 if report.problems else 0


def check_architecture(report: CheckReport, python: ObsPython, obs_architecture: Optional[str]) -> None:
    """Whether OBS and its Python, as the installer runs it, are the same architecture (macOS)."""
    report.add("architecture", f"OBS runs as {obs_architecture or 'unknown'}, its Python here as "
               f"{python.platform.partition('-')[2]}", architecture_problem(python, obs_architecture))


def check_folder(report: CheckReport, python: ObsPython, folder: Path) -> Optional[Verification]:
    """The private folder, its record, what imports from it, and the provider that runs."""
    if not folder.is_dir():
        report.add("private folder", f"{folder} (missing)", "dependencies not installed: run python3 install.py")
        return None
    record = read_record(folder)
    recorded = (f"{record.get('flavour')} flavour, {onnxruntime_package(record.get('packages', {}))}, installed "
                f"{record.get('installed_at')}" if record else "no record (installed by an older install.py)")
    report.add("private folder", f"{folder} ({recorded})")
    built_for = record.get("platform") if record else None
    if built_for and built_for != python.platform:
        report.add("", f"installed for {built_for}", f"{folder} holds wheels for {built_for} but OBS's Python runs "
                   f"as {python.platform}: run python3 install.py to replace them")
    unsafe = paths.unsafe_code_folder(folder)
    if unsafe:
        report.add("permissions", unsafe, f"the script refuses a folder others could plant code in: {unsafe}")
    verification = verify_dependencies(python, folder)
    problems = verification.problems()
    report.add("imports", verification.summary() + (": ok" if not problems else ""),
               "; ".join(problems) if problems else None)
    session = verification.session or {}
    if "error" in session:
        report.add("default model", session["error"])
    if "describe" in session:
        report.add("default model", f"{session['model']} ({session['file']}): loads")
        report.add("provider", session["describe"])
        for line in verification.provider_lines(record.get("flavour") if record else None)[1:]:
            report.add("", line)
        report.add("available", ", ".join(session.get("available", [])))
    return verification


def check_gpu(report: CheckReport, system: str, python: ObsPython) -> None:
    nvidia, note = detect_nvidia(system)
    try:
        flavour = choose_flavour("auto", python.platform, python.version, nvidia)
        report.add("GPU", f"{note}; install.py would choose the {flavour.name} flavour")
    except InstallError as error:
        report.add("GPU", f"{note}; {error}")


def check_paths(report: CheckReport, reported: Mapping[str, str]) -> None:
    """Model, download and cache folders: as OBS's Python computed them, else from obs_blur.paths here."""
    paths = dict(reported) if "models" in reported else local_obs_blur_paths()
    models = Path(paths["models"])
    manifest = models / "manifest.json"
    report.add("models", f"{models}" + ("" if manifest.is_file() else " (manifest.json missing)"),
               None if manifest.is_file() else f"{manifest} missing")
    downloads = Path(paths["downloads"])
    count = len(list(downloads.glob("*.onnx"))) if downloads.is_dir() else 0
    report.add("BodyPix downloads", f"{downloads} ({count} model file{'s' if count != 1 else ''})")
    report.add("TensorRT cache", f"{paths['tensorrt']}")


def local_obs_blur_paths() -> dict[str, str]:
    """obs_blur.paths computed in this process (stdlib only), for when OBS's Python cannot run it."""
    return {"models": str(paths.shipped_models_dir()), "downloads": str(paths.downloaded_models_dir()),
            "tensorrt": str(paths.tensorrt_cache_dir())}


def check_script(report: CheckReport, config_dir: Path) -> None:
    try:
        collection = scene_collection_file(config_dir)
        added = collection_has_script(json.loads(collection.read_text(encoding="utf-8-sig")))
    except (InstallError, OSError, ValueError) as error:
        report.add("script in OBS", f"unknown: {str(error).rstrip('.')}; or add {SCRIPT_PATH} in Tools > Scripts")
        return
    report.add("script in OBS", f"{'added to' if added else 'not in'} {collection}"
               + ("" if added else f": add {SCRIPT_PATH} in Tools > Scripts, or use --add-to-obs"))


# --- --uninstall -------------------------------------------------------------------------------------
def uninstall_targets(arguments: argparse.Namespace) -> list[Path]:
    """The private folder of OBS's Python; every version's folder when OBS (or its Python) is gone."""
    with contextlib.suppress(InstallError):
        return [private_dependency_folder(find_obs_python(arguments.obs_python).tag)]
    override = os.environ.get("OBS_BLUR_PYDEPS")
    if override:
        return [Path(override).expanduser()]
    base = private_dependency_folder("cp3").parent
    return sorted(base.glob("cp3*")) if base.is_dir() else []


def purge_targets() -> list[Path]:
    """Downloaded models and caches (TensorRT engines), from obs_blur.paths.

    Only folders with "obs-blur" in their path: OBS_BLUR_DATA or OBS_BLUR_CACHE may point anywhere,
    and a purge must never delete a folder that holds someone else's files.
    """
    found = []
    for path in (paths.downloaded_models_dir(), paths.user_cache_dir()):
        if APP_NAME not in path.parts:
            print(f"Keeping {path}: it is not an {APP_NAME} folder (OBS_BLUR_DATA/OBS_BLUR_CACHE point elsewhere).")
        elif path.exists():
            found.append(path)
    return found


def remove_empty_parents(path: Path) -> None:
    """Remove folders above ``path`` left empty, but only inside an obs-blur folder, never above it."""
    for parent in path.parents:
        if APP_NAME not in parent.parts:
            return
        try:
            parent.rmdir()
        except OSError:
            return


def confirm_destructive(question: str, assume_yes: bool) -> bool:
    """Ask on a terminal; without one there is nobody to ask, so only --yes goes ahead."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question} Not without a terminal to ask on: pass --yes.", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def uninstall(arguments: argparse.Namespace) -> int:
    """Remove the private folder (and with --purge downloads and caches), after asking."""
    folders = uninstall_targets(arguments)
    refused = [folder for folder in folders if folder.exists() and not looks_like_dependency_folder(folder)]
    if refused:
        raise InstallError(f"{', '.join(map(str, refused))} does not look like an obs-blur dependency folder: "
                           "refusing to delete it.")
    doomed = [folder for folder in folders if folder.exists()]
    for folder in folders:
        doomed.extend([*_leftovers(folder, "staging"), *_leftovers(folder, "previous")])
    doomed.extend(purge_targets() if arguments.purge else [])
    if not doomed:
        what = "private folder, downloads and caches are" if arguments.purge else "private folder is"
        print(f"Nothing to remove: obs-blur's {what} not there.")
        return 0
    print("To remove:\n  " + "\n  ".join(map(str, doomed)))
    if not confirm_destructive("Remove these?", arguments.yes):
        print("Nothing removed.")
        return 1
    for path in doomed:
        shutil.rmtree(path)
        remove_empty_parents(path)
    print(f"Removed. Also remove the script in OBS: Tools > Scripts, select {SCRIPT_PATH.name}, then -.")
    if not arguments.purge:
        print("Downloaded models and caches are kept; --uninstall --purge removes them too.")
    return 0


# --- entry point ------------------------------------------------------------------------------------
def parse_arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="diagnose only: change nothing")
    mode.add_argument("--uninstall", action="store_true", help="remove the private dependency folder")
    parser.add_argument("--purge", action="store_true", help="with --uninstall: downloaded models and caches too")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="which onnxruntime flavour to install (default: auto, from the GPU found)")
    parser.add_argument("--wheelhouse", type=Path, metavar="DIR",
                        help="install offline from the wheels in DIR (pip --no-index --find-links DIR)")
    parser.add_argument("--add-to-obs", action="store_true",
                        help="add the script to OBS's current scene collection (OBS must be closed)")
    parser.add_argument("--reinstall", action="store_true", help="install again even when everything is in place")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before removing anything")
    parser.add_argument("--obs-python", metavar="PATH", help="the interpreter matching OBS's embedded Python")
    arguments = parser.parse_args(argv)
    if arguments.purge and not arguments.uninstall:
        parser.error("--purge only goes with --uninstall")
    if arguments.wheelhouse and not arguments.wheelhouse.is_dir():
        parser.error(f"--wheelhouse {arguments.wheelhouse} is not a folder")
    return arguments


def main(argv: Optional[list[str]] = None) -> int:
    arguments = parse_arguments(argv)
    try:
        if arguments.uninstall:
            return uninstall(arguments)
        if arguments.check:
            return check(arguments)
        return install(arguments)
    except InstallError as error:
        print(f"install.py: {error}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as error:
        print(f"install.py: {' '.join(map(str, error.cmd))} did not finish in {error.timeout:.0f} s", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninstall.py: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
