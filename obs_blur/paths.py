"""Where obs-blur keeps its files, following each operating system's conventions.

Shipped models live in the repository's ``models/`` folder; downloaded models (BodyPix) and caches
(TensorRT engines) live in the user's data and cache folders so that a fresh clone never needs write
access to itself and several clones share one download.

This module is also imported by ``install.py`` (any Python >= 3.9, standard library only) and by the
OBS script before its private dependencies are on ``sys.path``, so it uses the standard library only:
one rule for every folder, wherever it is needed. What differs between operating systems comes from
``obs_blur.platforms`` (standard library only too); ``current_system`` is the one switch.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from obs_blur import platforms
from obs_blur.platforms import Platform

APP_NAME = "obs-blur"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shipped_models_dir() -> Path:
    """Folder with the manifest and the shipped ONNX files (``OBS_BLUR_MODELS`` overrides)."""
    override = os.environ.get("OBS_BLUR_MODELS")
    return Path(override) if override else REPO_ROOT / "models"


def current_system() -> str:
    """"linux", "windows" or "macos": the three OBS platforms (anything else counts as linux)."""
    return platforms.system_name(sys.platform)


def current_platform() -> Platform:
    """The OS facts of ``current_system()``: tests replace that function to run as another OS."""
    return platforms.named(current_system())


def user_data_base(
    system: Optional[str] = None, env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None
) -> Path:
    """The OS's per-user data folder (parameters let install.py's tests ask for another OS).

    %LOCALAPPDATA%, ~/Library/Application Support, or $XDG_DATA_HOME (~/.local/share).
    """
    platform = platforms.named(system) if system else current_platform()
    return platform.user_data_base(os.environ if env is None else env, home or Path.home())


def user_data_dir() -> Path:
    """Per-user data folder (downloaded models): ``<user data>/obs-blur`` (``OBS_BLUR_DATA`` overrides)."""
    override = os.environ.get("OBS_BLUR_DATA")
    return Path(override) if override else user_data_base() / APP_NAME


def python_tag(version: Optional[tuple[int, int]] = None) -> str:
    """``cp311`` for CPython 3.11: compiled wheels only fit the interpreter version they were built for."""
    major, minor = version or sys.version_info[:2]
    return f"cp{major}{minor}"


def private_dependency_folder(
    tag: Optional[str] = None,
    system: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    home: Optional[Path] = None,
) -> Path:
    """Where install.py puts numpy, onnxruntime and OpenCV for OBS's Python, and where the script finds them.

    ``OBS_BLUR_PYDEPS``, else ``<user data>/obs-blur/pydeps/<tag>`` (``tag`` defaults to this
    interpreter's): one folder per Python version.
    """
    env = os.environ if env is None else env
    override = env.get("OBS_BLUR_PYDEPS")
    if override:
        return Path(override).expanduser()
    return user_data_base(system, env, home) / APP_NAME / "pydeps" / (tag or python_tag())


def user_cache_dir() -> Path:
    """Per-user cache folder (TensorRT engines).

    ~/.cache/obs-blur, %LOCALAPPDATA%\\obs-blur\\cache, or ~/Library/Caches/obs-blur.
    """
    override = os.environ.get("OBS_BLUR_CACHE")
    if override:
        return Path(override)
    base = current_platform().user_cache_base(os.environ, Path.home())
    return user_data_dir() / "cache" if base is None else base / APP_NAME


def worker_log_file() -> Path:
    """The mask worker's log where OBS's stderr reaches nobody: ``<user data>/obs-blur/logs/worker.log``."""
    return user_data_dir() / "logs" / "worker.log"


def downloaded_models_dir() -> Path:
    """Where verified and fixed downloaded models are cached."""
    return user_data_dir() / "models"


def tensorrt_cache_dir() -> Path:
    """TensorRT engine and timing cache: building an engine takes minutes, so it is built once."""
    return user_cache_dir() / "tensorrt"


def unsafe_code_folder(folder: Path) -> Optional[str]:
    """Why other local users could plant code in ``folder``, or None when they cannot.

    OBS imports code from the private dependency folder, so a folder that anyone may write to, or that
    another user owns, or whose parent another user could rename things in, would let any local user
    run code inside OBS. A world-writable parent with the sticky bit (``/tmp``) is fine: others cannot
    rename what they do not own. Windows protects the user's folders by ACLs, which ``st_mode`` does
    not describe, so only POSIX platforms are checked.
    """
    if not current_platform().posix:
        return None
    path = folder.resolve()
    for candidate in (path, *path.parents):
        try:
            info = candidate.stat()
        except OSError:
            continue  # not there (yet): nothing can be planted in it by others
        if info.st_uid not in (0, os.getuid()):
            return f"{candidate} belongs to another user (uid {info.st_uid})"
        if info.st_mode & stat.S_IWOTH and (candidate == path or not info.st_mode & stat.S_ISVTX):
            return f"{candidate} is writable by every user (run: chmod o-w {candidate})"
    return None
