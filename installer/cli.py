"""Set up obs-blur for OBS Studio: dependencies for the Python that OBS embeds, verified.

The command line: which run the arguments ask for (install, --check or --uninstall), and the one
place where an InstallError, a command that timed out or Ctrl+C becomes a message and an exit status.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Optional

from . import check, installation, uninstall
from .common import InstallError
from .gpu import FLAVOUR_DEVICES


def parse_arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    """The arguments; contradictory ones stop here with argparse's usage message."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="diagnose only: change nothing")
    mode.add_argument("--uninstall", action="store_true", help="remove the private dependency folder")
    parser.add_argument("--purge", action="store_true", help="with --uninstall: downloaded models and caches too")
    parser.add_argument("--device", choices=FLAVOUR_DEVICES, default="auto",
                        help="which onnxruntime flavour to install (default: auto, from the GPU found)")
    parser.add_argument("--wheelhouse", type=Path, metavar="DIR",
                        help="install offline from the wheels in DIR (pip --no-index --find-links DIR)")
    parser.add_argument("--add-to-obs", action="store_true",
                        help="add the script to OBS's current scene collection (OBS must be closed)")
    parser.add_argument("--reinstall", action="store_true", help="install again even when everything is in place")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before removing anything")
    parser.add_argument("--obs-python", metavar="PATH", help="the interpreter matching OBS's embedded Python")
    arguments = parser.parse_args(argv)
    if arguments.purge and not arguments.uninstall:
        parser.error("--purge only goes with --uninstall")
    if arguments.wheelhouse and not arguments.wheelhouse.is_dir():
        parser.error(f"--wheelhouse {arguments.wheelhouse} is not a folder")
    return arguments


def main(argv: Optional[list[str]] = None) -> int:
    """The run the arguments ask for; its exit status, with failures told on stderr as ``install.py: ...``."""
    arguments = parse_arguments(argv)
    try:
        if arguments.uninstall:
            return uninstall.uninstall(arguments)
        if arguments.check:
            return check.check(arguments)
        return installation.install(arguments)
    except InstallError as error:
        print(f"install.py: {error}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as error:
        print(f"install.py: {' '.join(map(str, error.cmd))} did not finish in {error.timeout:.0f} s", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninstall.py: interrupted.", file=sys.stderr)
        return 130

