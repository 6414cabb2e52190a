"""OBS's config folder and its ini files (global.ini, user.ini), read as OBS reads them."""

from __future__ import annotations

import configparser
import contextlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Optional


def obs_config_dir(system: str, env: Mapping[str, str], home: Path) -> Path:
    """OBS's config folder (global.ini, user.ini, basic/scenes), as OBS computes it."""
    if system == "windows":
        return Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "obs-studio"
    if system == "macos":
        return home / "Library" / "Application Support" / "obs-studio"
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "obs-studio"


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
