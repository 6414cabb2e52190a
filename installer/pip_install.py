"""Installing the pinned wheels for OBS's Python without ever breaking the install in place.

pip installs into a fresh staging folder beside the private folder; the staging folder is verified
in OBS's interpreter, recorded, made private, and only then swapped into place by two renames. A
run killed between those renames is repaired by the next one.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from . import common, pins, record, verify
from .common import InstallError
from .obs_python import ObsPython
from .repo import paths
from .verify import Verification


def _pip_version(command: list[str]) -> Optional[tuple[int, ...]]:
    """(major, minor) of the pip that ``command`` runs; None when there is none."""
    try:
        result = common.run_command([*command, "--version"])
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
        "--no-warn-script-location", "--no-input", *offline, *pins.requirement_strings(packages),
    ]


def run_pip(command: list[str], packages: Mapping[str, str], target: Path) -> None:
    """pip with its output on the terminal, where the user sees what it downloads and why it fails."""
    print("Running: " + " ".join(command), flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise InstallError(f"pip could not install {pins.onnxruntime_package(packages)} and the rest into {target} "
                           "(see pip's output above).")


def leftovers(folder: Path, kind: str) -> list[Path]:
    """The ``staging`` or ``previous`` folders that runs of this installer left beside ``folder``."""
    return sorted(folder.parent.glob(f".{folder.name}.{kind}-*"))


def recover_interrupted_swap(folder: Path) -> Optional[str]:
    """Undo what a run killed between its two renames left behind: the old folder comes back.

    Returns what was done, for the user. Stale temporary folders are removed.
    """
    note = None
    previous = leftovers(folder, "previous")
    if previous and not folder.exists():
        previous[-1].rename(folder)
        note = f"Restored {folder} from an interrupted run."
        previous = previous[:-1]
    for stale in [*previous, *leftovers(folder, "staging")]:
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
    if paths.current_system() == "windows":
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
        verification = verify.verify_dependencies(python, staging)
        if verification.problems():
            raise InstallError("installed, but the check in OBS's Python failed:\n  "
                               + "\n  ".join(verification.problems()))
        record.write_record(staging, wanted, python, verification)
        protect_from_other_users(staging)
        swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Verification(verification.modules, folder, verification.session, verification.paths)


def untouched_message(folder: Path, existed: bool) -> str:
    """What a failed run left: the previous install as it was, or nothing at all."""
    if existed:
        return f"The previous install in {folder} is untouched and still works as before."
    return f"Nothing was installed ({folder} was not created)."
