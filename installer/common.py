"""What every part of the installer needs: the error a user acts on, running a command, versions and paths
compared as people and the OS do."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Optional

# How the installer runs a command: run_command, or a stand-in that tests pass.
CommandRunner = Callable[[list[str]], subprocess.CompletedProcess]


class InstallError(Exception):
    """A failure the user can act on; the message says what to do."""


def run_command(command: list[str], timeout: float = 60,
                env: Optional[Mapping[str, str]] = None) -> subprocess.CompletedProcess:
    """``command``'s exit status and output as text; a failing command is no exception, the caller judges it."""
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def dotted(version: tuple[int, ...]) -> str:
    """"3.11" or "30.0.2": a version as people write it."""
    return ".".join(map(str, version))


def same_path(first: Path, second: Path) -> bool:
    """Whether two paths name one file as the OS sees it: links resolved, case folded where the OS folds it."""
    return os.path.normcase(os.path.realpath(first)) == os.path.normcase(os.path.realpath(second))
