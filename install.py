#!/usr/bin/env python3
"""obs-blur's installer: ``python3 install.py --help`` says what it does and how to run it.

The installer is the package ``installer/`` beside this file (its ``__init__`` maps the modules);
this file starts it. It puts its own folder first on ``sys.path`` for the import, so that it runs
from any current folder and under ``python3 -I``, which leaves the script's folder off ``sys.path``.
Standard library only and Python >= 3.9, because it runs before anything is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType


def _installer_cli() -> ModuleType:
    """``installer.cli`` of this clone, whatever the current folder and ``sys.path`` are."""
    root = str(Path(__file__).resolve().parent)
    sys.path.insert(0, root)
    try:
        from installer import cli
    finally:
        sys.path.remove(root)
    return cli


cli = _installer_cli()

if __name__ == "__main__":
    sys.exit(cli.main())
