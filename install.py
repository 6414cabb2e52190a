#!/usr/bin/env python3
"""Set up obs-blur for OBS Studio: dependencies for the Python that OBS embeds, verified.

OBS runs scripts in its own embedded interpreter, which ignores virtual environments and usually is
not the ``python3`` on PATH. This installer finds that interpreter, installs numpy, onnxruntime and
OpenCV for it (wheels only) into a private folder that ``obs_blur/background_blur.py`` puts on
``sys.path``, and checks that they import there. Running it again when everything is in place does
nothing.

Usage:  python3 install.py [--yes] [--obs-python PATH]
The private folder is ``$XDG_DATA_HOME/obs-blur/pydeps/cp3XY`` (default ``~/.local/share/...``);
``OBS_BLUR_PYDEPS`` overrides it here and in the OBS script alike.

Stdlib only and Python >= 3.9, because it runs before anything is installed. Linux is supported
today; Windows and macOS detection, ``--check`` and ``--uninstall`` come later, as new functions
beside the ones below.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parent
APP_NAME = "obs-blur"
SCRIPT_PATH = REPO_ROOT / "obs_blur" / "background_blur.py"

# pip requirement -> module to import when verifying.
DEPENDENCIES = {
    "numpy": "numpy",
    "onnxruntime": "onnxruntime",
    "opencv-python-headless": "cv2",
}

# Where distributions put OBS's Python scripting module and library (Linux).
LINUX_SCRIPTING_PATTERNS = (
    "/usr/lib/*/obs-scripting/_obspython.so",
    "/usr/lib/obs-scripting/_obspython.so",
    "/usr/lib64/obs-scripting/_obspython.so",
    "/usr/local/lib/obs-scripting/_obspython.so",
    "/usr/local/lib/*/obs-scripting/_obspython.so",
    "/usr/lib/*/libobs-scripting.so*",
    "/usr/lib/libobs-scripting.so*",
    "/usr/lib64/libobs-scripting.so*",
    "/usr/local/lib/libobs-scripting.so*",
    "/usr/local/lib/*/libobs-scripting.so*",
)
LIBPYTHON = re.compile(r"libpython(\d+)\.(\d+)")

# Printed by the verification snippet, which runs inside OBS's interpreter.
_VERIFY_SNIPPET = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
report = {}
for name in sys.argv[2:]:
    try:
        module = importlib.import_module(name)
        report[name] = {"version": getattr(module, "__version__", "?"), "file": module.__file__ or ""}
    except Exception as error:
        report[name] = {"error": type(error).__name__ + ": " + str(error)}
print(json.dumps(report))
"""


class InstallError(Exception):
    """A failure the user can act on; the message says what to do."""


@dataclass(frozen=True)
class ObsPython:
    """An interpreter matching the Python that OBS embeds, and how it was found."""

    executable: Path
    version: tuple[int, int]
    found_by: str

    @property
    def tag(self) -> str:
        """The CPython ABI tag, e.g. "cp311": compiled wheels only fit this version."""
        return f"cp{self.version[0]}{self.version[1]}"


@dataclass(frozen=True)
class Verification:
    """What importing the dependencies from the private folder gave, module by module."""

    modules: dict[str, dict[str, str]]
    folder: Path

    def problems(self) -> list[str]:
        """Modules that fail to import or come from somewhere other than the private folder."""
        found = []
        for name, result in self.modules.items():
            if "error" in result:
                found.append(f"{name}: {result['error']}")
            elif not _is_inside(Path(result["file"]), self.folder):
                found.append(f"{name}: imported from {result['file']}, not from {self.folder}")
        return found

    def summary(self) -> str:
        return ", ".join(f"{name} {result.get('version', '?')}" for name, result in self.modules.items())


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _run(command: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


# --- finding OBS's Python --------------------------------------------------------------------------
def interpreter_version(executable: Path) -> tuple[int, int]:
    """(major, minor) of ``executable``, by running it."""
    try:
        result = _run([str(executable), "-c", "import sys; print('%d %d' % sys.version_info[:2])"])
    except OSError as error:
        raise InstallError(f"cannot run {executable}: {error}") from error
    if result.returncode != 0:
        raise InstallError(f"{executable} does not run: {result.stderr.strip()}")
    major, minor = result.stdout.split()
    return int(major), int(minor)


def linux_scripting_libraries() -> list[Path]:
    """OBS's Python scripting module and scripting library, wherever the distribution put them."""
    found: list[Path] = []
    for pattern in LINUX_SCRIPTING_PATTERNS:
        found.extend(Path(path) for path in sorted(glob.glob(pattern)) if Path(path) not in found)
    return found


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


def find_linux_obs_python() -> ObsPython:
    libraries = linux_scripting_libraries()
    if not libraries:
        raise InstallError(
            "OBS Studio with Python scripting was not found (no _obspython.so or libobs-scripting.so). "
            "Install OBS (Debian/Ubuntu: apt install obs-studio), or pass --obs-python PATH."
        )
    for library in libraries:
        linked = linked_python(library)
        if linked is None:
            continue
        version, libpython = linked
        for candidate in interpreter_candidates(version, libpython):
            if interpreter_version(candidate) == version:
                return ObsPython(candidate, version, f"{library} links libpython{version[0]}.{version[1]}")
        raise InstallError(
            f"OBS embeds Python {version[0]}.{version[1]} ({library}) but no python{version[0]}.{version[1]} "
            "interpreter was found: install it, or pass --obs-python PATH."
        )
    raise InstallError(f"none of {', '.join(map(str, libraries))} links libpython: pass --obs-python PATH.")


def find_obs_python(override: Optional[str]) -> ObsPython:
    """The interpreter to install for: ``--obs-python``, else detected from the OBS installation."""
    if override:
        executable = Path(override)
        return ObsPython(executable, interpreter_version(executable), "--obs-python")
    if sys.platform.startswith("linux"):
        return find_linux_obs_python()
    raise InstallError(f"finding OBS's Python on {sys.platform} is not supported yet: pass --obs-python PATH.")


# --- the private folder ----------------------------------------------------------------------------
def private_dependency_folder(tag: str) -> Path:
    """Same rule as the OBS script: ``OBS_BLUR_PYDEPS``, else ``<user data>/obs-blur/pydeps/<tag>``."""
    override = os.environ.get("OBS_BLUR_PYDEPS")
    if override:
        return Path(override).expanduser()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME / "pydeps" / tag


# --- verifying and installing ----------------------------------------------------------------------
def verify_dependencies(python: ObsPython, folder: Path) -> Verification:
    """Import every dependency in OBS's interpreter with ``folder`` first on sys.path, as the script does.

    ``-E -s`` keeps PYTHONPATH and the user's site-packages out, which OBS's interpreter does not see.
    """
    command = [str(python.executable), "-E", "-s", "-c", _VERIFY_SNIPPET, str(folder), *DEPENDENCIES.values()]
    result = _run(command, timeout=180)
    if result.returncode != 0:
        raise InstallError(f"verification could not run in {python.executable}:\n{result.stderr.strip()}")
    return Verification(json.loads(result.stdout.strip().splitlines()[-1]), folder)


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
        f"no pip for {python.executable}: install it (Debian/Ubuntu: apt install python3-pip), "
        "or run this installer with a Python that has pip 22.3 or newer."
    )


def install_dependencies(python: ObsPython, folder: Path) -> None:
    """``pip install --target``: wheels only (no compiler needed, no source builds in OBS's prefix)."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        *pip_command(python),
        "install",
        "--target",
        str(folder),
        "--only-binary=:all:",
        "--upgrade",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        *DEPENDENCIES,
    ]
    print("Running: " + " ".join(command), flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise InstallError(f"pip could not install {', '.join(DEPENDENCIES)} into {folder} (see pip's output above).")


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask on a terminal; without one (CI, pipes) there is nobody to ask, so go ahead."""
    if assume_yes or not sys.stdin.isatty():
        return True
    return input(f"{question} [Y/n] ").strip().lower() in ("", "y", "yes")


def print_next_steps(folder: Path) -> None:
    print("\nNext, in OBS Studio:")
    print(f"  1. Tools > Scripts > + and choose {SCRIPT_PATH}")
    print("  2. On your camera source: Filters > + > Background Blur")
    if os.environ.get("OBS_BLUR_PYDEPS"):
        print(f"  (OBS_BLUR_PYDEPS is set: start OBS with OBS_BLUR_PYDEPS={folder} too, or the script misses it.)")


def run(arguments: argparse.Namespace) -> int:
    python = find_obs_python(arguments.obs_python)
    folder = private_dependency_folder(python.tag)
    print(f"OBS's Python: {python.executable} ({python.version[0]}.{python.version[1]}; {python.found_by})")
    print(f"Private dependency folder: {folder}")
    before = verify_dependencies(python, folder)
    if not before.problems():
        print(f"Already installed and importable: {before.summary()}. Nothing to do.")
        print_next_steps(folder)
        return 0
    if not confirm(f"Install {', '.join(DEPENDENCIES)} for {python.executable} into {folder}?", arguments.yes):
        print("Nothing installed.")
        return 1
    install_dependencies(python, folder)
    after = verify_dependencies(python, folder)
    if after.problems():
        raise InstallError("installed, but the check failed:\n  " + "\n  ".join(after.problems()))
    print(f"Installed and verified: {after.summary()}.")
    print_next_steps(folder)
    return 0


def parse_arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before installing")
    parser.add_argument("--obs-python", metavar="PATH", help="the interpreter matching OBS's embedded Python")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    try:
        return run(parse_arguments(argv))
    except InstallError as error:
        print(f"install.py: {error}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as error:
        print(f"install.py: {' '.join(map(str, error.cmd))} did not finish in {error.timeout:.0f} s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
