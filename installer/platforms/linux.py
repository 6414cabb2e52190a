"""OBS from a Linux distribution or a /usr/local build: its scripting library, the libpython that links and
the interpreter matching it, the OBS processes running, and the virtual camera's kernel module."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from .. import common, obs_python
from ..common import InstallError
from ..obs_python import ObsPython
from . import flatpak

# Where distributions put OBS's Python scripting module and library, relative to the root.
SCRIPTING_PATTERNS = (
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
V4L2_LOAD = 'sudo modprobe v4l2loopback exclusive_caps=1 card_label="OBS Virtual Camera"'


def scripting_libraries(root: Path = Path("/")) -> list[Path]:
    """OBS's Python scripting module and scripting library, wherever the distribution put them."""
    found: list[Path] = []
    for pattern in SCRIPTING_PATTERNS:
        found.extend(Path(path) for path in sorted(glob.glob(str(root / pattern))) if Path(path) not in found)
    return found


def obs_program(root: Path = Path("/")) -> Optional[Path]:
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
        result = common.run_command(["ldd", str(library)])
        for line in result.stdout.splitlines():
            match = LIBPYTHON.search(line)
            if match:
                resolved = line.split("=>", 1)[1].split("(")[0].strip() if "=>" in line else ""
                return (int(match[1]), int(match[2])), Path(resolved) if resolved else None
    match = LIBPYTHON.search(library.read_bytes().decode("latin-1"))
    return ((int(match[1]), int(match[2])), None) if match else None


def pythons_for_libpython(version: tuple[int, int], libpython: Optional[Path]) -> list[Path]:
    """Interpreters of ``version``, the one sharing libpython's prefix first (same build as OBS's)."""
    name = f"python{version[0]}.{version[1]}"
    candidates = [Path("/usr/bin") / name, Path("/usr/local/bin") / name]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    if libpython is not None and str(libpython).startswith("/usr/local/"):
        candidates.sort(key=lambda path: not str(path).startswith("/usr/local/"))
    return [path for path in dict.fromkeys(candidates) if path.is_file()]


def find_obs_python(root: Path = Path("/"), home: Optional[Path] = None) -> ObsPython:
    """OBS's interpreter from the libpython its scripting library links (distribution or /usr/local)."""
    libraries = scripting_libraries(root)
    if not libraries:
        app = flatpak.obs_app(root, home or Path.home())
        if app is not None:
            raise InstallError(flatpak.advice(app, home or Path.home(), flatpak.python_version()))
        raise InstallError(
            "OBS Studio with Python scripting was not found (no _obspython.so or libobs-scripting.so). "
            "Install OBS (Debian/Ubuntu: sudo apt install obs-studio), or pass --obs-python PATH."
        )
    for library in libraries:
        linked = linked_python(library)
        if linked is None:
            continue
        version, libpython = linked
        for candidate in pythons_for_libpython(version, libpython):
            found_version, platform = obs_python.probe_interpreter(candidate)
            if found_version == version:
                return ObsPython(candidate, version, f"{library} links libpython{version[0]}.{version[1]}", platform)
        raise InstallError(
            f"OBS embeds Python {version[0]}.{version[1]} ({library}) but no python{version[0]}.{version[1]} "
            "interpreter was found: install it, or pass --obs-python PATH."
        )
    raise InstallError(f"none of {', '.join(map(str, libraries))} links libpython: pass --obs-python PATH.")


def process_config_dir(environ: bytes, cmdline: bytes) -> Optional[Path]:
    """The config folder a Linux OBS process uses, from its environment; None when it cannot be told."""
    arguments = cmdline.split(b"\0")
    if b"--portable" in arguments or b"-p" in arguments:
        return Path("/nonexistent-portable-obs-config")
    env = dict(item.split(b"=", 1) for item in environ.split(b"\0") if b"=" in item)
    base = env.get(b"XDG_CONFIG_HOME") or (env[b"HOME"] + b"/.config" if env.get(b"HOME") else None)
    return Path(os.fsdecode(base)) / "obs-studio" if base else None


def obs_processes(config_dir: Path, proc_root: Path = Path("/proc")) -> list[int]:
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
        if config is None or common.same_path(config, config_dir):
            found.append(int(entry.name))
    return found


def v4l2loopback_status(sys_root: Path = Path("/sys")) -> tuple[str, bool]:
    """(what to tell, whether it is fine) for Linux's virtual camera module."""
    if (sys_root / "module" / "v4l2loopback").is_dir():
        return "v4l2loopback is loaded: the virtual camera works", True
    modinfo = shutil.which("modinfo") or next(
        (path for path in ("/sbin/modinfo", "/usr/sbin/modinfo") if Path(path).is_file()), None)
    if modinfo:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            if common.run_command([modinfo, "v4l2loopback"]).returncode == 0:
                return ("v4l2loopback is installed but not loaded: OBS loads it when you click Start Virtual "
                        f"Camera (it asks for your password), or run: {V4L2_LOAD}"), True
    return ("v4l2loopback is not installed, so Start Virtual Camera will fail: "
            f"sudo apt install v4l2loopback-dkms, then {V4L2_LOAD}"), False
