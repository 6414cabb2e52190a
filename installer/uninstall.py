"""--uninstall [--purge]: the private folder (and downloaded models and caches) removed, after asking.

Only folders that are obs-blur's are removed: a folder that does not look like one, or a purge
target outside an obs-blur folder, is refused or kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path

from . import detect, pip_install, record
from .common import InstallError
from .repo import SCRIPT_PATH, paths


def uninstall_targets(arguments: argparse.Namespace) -> list[Path]:
    """The private folder of OBS's Python; every version's folder when OBS (or its Python) is gone."""
    with contextlib.suppress(InstallError):
        return [paths.private_dependency_folder(detect.find_obs_python(arguments.obs_python).tag)]
    override = os.environ.get("OBS_BLUR_PYDEPS")
    if override:
        return [Path(override).expanduser()]
    base = paths.private_dependency_folder("cp3").parent
    return sorted(base.glob("cp3*")) if base.is_dir() else []


def purge_targets() -> list[Path]:
    """Downloaded models and caches (TensorRT engines), from obs_blur.paths.

    Only folders with "obs-blur" in their path: OBS_BLUR_DATA or OBS_BLUR_CACHE may point anywhere,
    and a purge must never delete a folder that holds someone else's files.
    """
    found = []
    for path in (paths.downloaded_models_dir(), paths.user_cache_dir()):
        if paths.APP_NAME not in path.parts:
            print(f"Keeping {path}: it is not an {paths.APP_NAME} folder (OBS_BLUR_DATA/OBS_BLUR_CACHE point "
                  "elsewhere).")
        elif path.exists():
            found.append(path)
    return found


def remove_empty_parents(path: Path) -> None:
    """Remove folders above ``path`` left empty, but only inside an obs-blur folder, never above it."""
    for parent in path.parents:
        if paths.APP_NAME not in parent.parts:
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
    refused = [folder for folder in folders if folder.exists() and not record.looks_like_dependency_folder(folder)]
    if refused:
        raise InstallError(f"{', '.join(map(str, refused))} does not look like an obs-blur dependency folder: "
                           "refusing to delete it.")
    doomed = [folder for folder in folders if folder.exists()]
    for folder in folders:
        doomed.extend([*pip_install.leftovers(folder, "staging"), *pip_install.leftovers(folder, "previous")])
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
