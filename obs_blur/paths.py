"""Where obs-blur keeps its files, following each operating system's conventions.

Shipped models live in the repository's ``models/`` folder; downloaded models (BodyPix) and caches
(TensorRT engines) live in the user's data and cache folders so that a fresh clone never needs write
access to itself and several clones share one download.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "obs-blur"
REPO_ROOT = Path(__file__).resolve().parent.parent


def shipped_models_dir() -> Path:
    """Folder with the manifest and the shipped ONNX files (``OBS_BLUR_MODELS`` overrides)."""
    override = os.environ.get("OBS_BLUR_MODELS")
    return Path(override) if override else REPO_ROOT / "models"


def user_data_dir() -> Path:
    """Per-user data folder (downloaded models).

    ~/.local/share/obs-blur, %LOCALAPPDATA%\\obs-blur, or ~/Library/Application Support/obs-blur.
    """
    override = os.environ.get("OBS_BLUR_DATA")
    if override:
        return Path(override)
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME


def user_cache_dir() -> Path:
    """Per-user cache folder (TensorRT engines).

    ~/.cache/obs-blur, %LOCALAPPDATA%\\obs-blur\\cache, or ~/Library/Caches/obs-blur.
    """
    override = os.environ.get("OBS_BLUR_CACHE")
    if override:
        return Path(override)
    if sys.platform.startswith("win"):
        return user_data_dir() / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP_NAME


def downloaded_models_dir() -> Path:
    """Where verified and fixed downloaded models are cached."""
    return user_data_dir() / "models"


def tensorrt_cache_dir() -> Path:
    """TensorRT engine and timing cache: building an engine takes minutes, so it is built once."""
    return user_cache_dir() / "tensorrt"
