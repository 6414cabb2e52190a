"""OBS's current scene collection: found as each OBS version finds it, and the script added to it (--add-to-obs).

OBS rewrites the collection when it exits, so the script is added only while OBS is closed; a backup
of the file is made first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from . import common, detect, obs_config
from .common import InstallError
from .repo import SCRIPT_PATH


def scene_collection_file(config_dir: Path) -> Path:
    """The current scene collection's JSON file, found as OBS finds it.

    OBS 30 and older open ``basic/scenes/<SceneCollectionFile>.json``: the setting is the file's stem.
    OBS 31 and newer keep the file's name with ``.json`` there (31.0 writes the stem again once a
    collection loads) and open the collection whose "name" is ``SceneCollection``. So the setting is
    read with or without ``.json``, and the name decides between files when they disagree.
    """
    scenes = config_dir / "basic" / "scenes"
    name_setting = obs_config.ini_value(config_dir, "Basic", "SceneCollection")
    file_setting = obs_config.ini_value(config_dir, "Basic", "SceneCollectionFile")
    if name_setting is None and file_setting is None:
        raise InstallError(f"OBS has no current scene collection in {config_dir} (global.ini/user.ini "
                           "[Basic] SceneCollection): start OBS once, close it, then run this again.")
    name = name_setting[0] if name_setting else None
    files = collection_files_named_by_setting(scenes, file_setting[0]) if file_setting else []
    found = (next((path for path in files if name is None or collection_name(path) == name), None)
             or (collection_file_by_name(scenes, name) if name else None)
             or next(iter(files), None))
    if found is None:
        wanted = f"{file_setting[0].removesuffix('.json')}.json" if file_setting else f'named "{name}"'
        raise InstallError(f"the current scene collection {scenes / wanted} does not exist: start OBS once, "
                           "close it, then run this again.")
    return found


def collection_files_named_by_setting(scenes: Path, setting: str) -> list[Path]:
    """The files ``SceneCollectionFile`` may mean: ``<setting>.json`` (OBS 30 and older), ``<setting>`` (31+)."""
    candidates = [scenes / f"{setting}.json"]
    if setting.endswith(".json"):
        candidates.append(scenes / setting)
    return [path for path in candidates if path.is_file()]


def collection_name(path: Path) -> Optional[str]:
    """The "name" inside a scene collection file (None when it cannot be read)."""
    with contextlib.suppress(OSError, ValueError):
        collection = json.loads(path.read_text(encoding="utf-8-sig"))
        name = collection.get("name") if isinstance(collection, dict) else None
        return name if isinstance(name, str) else None
    return None


def collection_file_by_name(scenes: Path, name: str) -> Optional[Path]:
    """The scene collection file whose "name" is ``name``, as OBS 31 and newer look it up."""
    files = sorted(scenes.glob("*.json")) if scenes.is_dir() else []
    return next((path for path in files if collection_name(path) == name), None)


def script_entry_path(system: str) -> str:
    """The script path as OBS writes it in a collection (forward slashes, also on Windows)."""
    return SCRIPT_PATH.as_posix() if system == "windows" else str(SCRIPT_PATH)


def collection_has_script(collection: Mapping[str, Any]) -> bool:
    """Whether the collection's scripts-tool list already loads this clone's script."""
    for entry in (collection.get("modules") or {}).get("scripts-tool") or []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if path and common.same_path(Path(path), SCRIPT_PATH):
            return True
    return False


def add_script_to_collection(path: Path, system: str) -> tuple[bool, Optional[Path]]:
    """Append our script to ``modules.scripts-tool``; (added, backup). A backup is made before writing."""
    collection = json.loads(path.read_text(encoding="utf-8-sig"))
    if collection_has_script(collection):
        return False, None
    backup = path.with_name(f"{path.name}.obs-blur-backup-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)
    modules = collection.setdefault("modules", {})
    modules.setdefault("scripts-tool", []).append({"path": script_entry_path(system), "settings": {}})
    temporary = path.with_name(f".{path.name}.obs-blur-{os.getpid()}")
    temporary.write_text(json.dumps(collection, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return True, backup


def add_to_obs(system: str, config_dir: Path) -> str:
    """Add the script to the current scene collection while OBS is closed; returns what happened."""
    collection = scene_collection_file(config_dir)
    running = detect.running_obs(system, config_dir)
    if running:
        raise InstallError(f"OBS is running ({', '.join(running)}) with the config in {config_dir}: it rewrites "
                           f"{collection.name} when it exits. Close OBS, then run this again with --add-to-obs.")
    added, backup = add_script_to_collection(collection, system)
    if not added:
        return f"obs-blur is already added to the scene collection {collection} (nothing changed)."
    return f"Added {SCRIPT_PATH} to the scene collection {collection} (backup: {backup})."
