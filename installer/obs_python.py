"""OBS's interpreter as the installer runs it: where it is, its version, and the wheel platform it needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import common
from .common import InstallError

_PROBE_SNIPPET = (
    "import platform, struct, sys; "
    "print(sys.version_info[0], sys.version_info[1], sys.platform, platform.machine(), struct.calcsize('P') * 8)"
)


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
        result = common.run_command([str(executable), "-c", _PROBE_SNIPPET])
    except OSError as error:
        raise InstallError(f"cannot run {executable}: {error}") from error
    if result.returncode != 0:
        raise InstallError(f"{executable} does not run: {result.stderr.strip()}")
    major, minor, sys_platform, machine, bits = result.stdout.split()
    if bits != "64":
        raise InstallError(f"{executable} is a {bits}-bit Python: 64-bit OBS needs a 64-bit Python.")
    return (int(major), int(minor)), platform_key(sys_platform, machine)
