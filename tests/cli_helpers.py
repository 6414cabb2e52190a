"""Running `python -m obs_blur ...` as a user does, and checking its one-sentence errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, env: Optional[dict] = None, umask: Optional[int] = None, cwd: Optional[Path] = None
) -> subprocess.CompletedProcess:
    """The CLI in a child process (``umask``, when given, is set in the child only)."""
    return subprocess.run(
        [sys.executable, "-m", "obs_blur", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO_ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def assert_clean_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    """Exit status 2, one line starting "obs-blur: error: " that contains ``fragment``, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("obs-blur: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr, result.stderr


def leftovers(folder: Path, stem: str) -> list[Path]:
    """Files an output named ``stem`` could have left in ``folder``: itself or its temporary files."""
    return [p for p in folder.iterdir() if p.name.startswith((f"{stem}.", f".{stem}."))]
