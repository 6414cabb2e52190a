"""This machine's OBS, whatever the OS: where it is, its version, the Python it loads, the architecture it
runs as, and whether it runs. Each answer comes from the module of the OS at hand (installer.platforms)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Optional

from . import common, obs_config, obs_python, obs_versions
from .common import CommandRunner
from .obs_python import ObsPython
from .obs_versions import ObsRelease
from .platforms import configured_python, flatpak, linux, macos, windows
from .repo import paths


def obs_program(system: str) -> Optional[Path]:
    """Where OBS itself is installed, for the report (None when not found)."""
    if system == "windows":
        return windows.obs_folder(os.environ, windows.registry_obs_folder())
    if system == "macos":
        return macos.obs_app(Path("/"), Path.home())
    return linux.obs_program() or flatpak.obs_app(Path("/"), Path.home())


def describe_obs_program(program: Optional[Path]) -> str:
    """The OBS found and what kind of install it is, for --check."""
    if program is None:
        return "not found"
    text = str(program)
    kind = ("Flatpak: see the note under OBS's Python" if flatpak.APP_ID in text else
            "built into /usr/local" if text.startswith("/usr/local/") else
            "distribution package" if text.startswith("/usr/") else "")
    return f"{text} ({kind})" if kind else text


def obs_release(system: str, program: Optional[Path], config_dir: Path) -> ObsRelease:
    """The version of the OBS installed (it runs next), else of the last OBS that ran with this config."""
    installed = {"windows": windows.installed_release, "macos": macos.installed_release}.get(system)
    release = installed(program) if installed is not None and program is not None else None
    if release is not None:
        return release
    version = obs_versions.config_last_version(config_dir)
    if version:
        return ObsRelease(version, f"last run, {config_dir / 'global.ini'}")
    looked = f"{program}, " if program else ""
    return ObsRelease(None, f"no version in {looked}{config_dir / 'global.ini'}")


def find_obs_python(override: Optional[str], system: Optional[str] = None) -> ObsPython:
    """The interpreter to install for: ``--obs-python``, else detected from the OBS installation."""
    if override:
        executable = Path(override)
        version, platform = obs_python.probe_interpreter(executable)
        return ObsPython(executable, version, "--obs-python", platform)
    system = system or paths.current_system()
    if system == "linux":
        return linux.find_obs_python()
    config_dir = obs_config.obs_config_dir(system, os.environ, Path.home())
    return configured_python.find_obs_python(system, config_dir,
                                             obs_release(system, obs_program(system), config_dir))


def obs_architecture(system: str) -> Optional[str]:
    """The CPU architecture the installed OBS runs as, on a Mac; None elsewhere or without OBS.app."""
    app = obs_program(system) if system == "macos" else None
    return macos.obs_architecture(app, macos.native_architecture()) if app else None


def running_obs(system: str, config_dir: Path, run: Optional[CommandRunner] = None) -> list[str]:
    """Running OBS processes that would overwrite the scene collection when they exit.

    Windows: tasklist's obs64.exe; macOS: pgrep for the process ``OBS`` (exact and case-sensitive,
    so the Linux name ``obs`` would never match it); Linux: /proc, told apart by config folder.
    """
    if system == "linux":
        return [f"pid {pid}" for pid in linux.obs_processes(config_dir)]
    run = run or common.run_command
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return windows.running_obs(run) if system == "windows" else macos.running_obs(run)
    return []
