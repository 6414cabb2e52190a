"""This clone of obs-blur: its root, the OBS script the installer adds to OBS, and ``obs_blur.paths``.

``obs_blur.paths`` holds the folder rules the OBS script follows too (the private dependency folder,
downloads, caches); importing this clone's copy keeps one source of truth for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent


def _obs_blur_paths() -> ModuleType:
    """``obs_blur.paths`` of this clone (standard library only): one rule for every folder, shared with the
    script. Imported by path so that ``python -I install.py`` and another obs_blur elsewhere change nothing."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from obs_blur import paths
    finally:
        sys.path.remove(str(REPO_ROOT))
    return paths


paths = _obs_blur_paths()
SCRIPT_PATH = REPO_ROOT / "obs_blur" / "background_blur.py"
