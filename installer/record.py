"""The record file in the private folder: what is installed there, for which Python, platform and architecture.

A run whose wanted record matches the one in place has nothing to do; one for another architecture
(a Terminal under Rosetta) or flavour replaces it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from .gpu import Flavour
from .obs_python import ObsPython
from .verify import Verification

RECORD_NAME = "obs-blur-install.json"
RECORD_SCHEMA = 1


def wanted_record(python: ObsPython, flavour: Flavour, packages: Mapping[str, str]) -> dict[str, Any]:
    """What the folder must hold for this run to have nothing to do."""
    return {
        "schema": RECORD_SCHEMA,
        "flavour": flavour.name,
        "python_tag": python.tag,
        "platform": python.platform,
        "packages": dict(packages),
    }


def read_record(folder: Path) -> Optional[dict[str, Any]]:
    """The folder's record, or None when there is none (an old or foreign folder) or it is unreadable."""
    with contextlib.suppress(OSError, ValueError):
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else None
    return None


def record_matches(record: Optional[Mapping[str, Any]], wanted: Mapping[str, Any]) -> bool:
    """Whether ``record`` holds everything ``wanted`` says; what it adds (time, versions found) does not count."""
    return record is not None and all(record.get(key) == value for key, value in wanted.items())


def write_record(folder: Path, wanted: Mapping[str, Any], python: ObsPython, verification: Verification) -> None:
    """The record of a verified install: what was wanted, plus the interpreter, time and versions it proved."""
    record = {
        **wanted,
        "python": str(python.executable),
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "modules": {name: result.get("version", "?") for name, result in verification.modules.items()},
        "provider": (verification.session or {}).get("describe", ""),
    }
    (folder / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def looks_like_dependency_folder(folder: Path) -> bool:
    """True for a folder this installer made (or an older one's): safe to replace or delete."""
    if not folder.is_dir():
        return False
    if (folder / RECORD_NAME).is_file() or (folder / "onnxruntime").is_dir():
        return True
    return not any(folder.iterdir())
