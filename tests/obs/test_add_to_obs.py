"""``install.py --add-to-obs`` and ``--check`` on the configuration the OBS under test wrote itself.

The installer reads OBS's own files (global.ini up to OBS 30, user.ini from OBS 31, with or without
``.json`` in SceneCollectionFile), so it is checked against what each OBS release really leaves
behind: OBS starts without the script and exits, the installer adds the script, and OBS, started
again, loads it. Runs beside the OBS under test (in its chroot for OBS 30.2 and 32.2), with the
Python the user would type, ``python3``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import pydeps_for_tests, running_obs
from .harness import FILTER_KIND, REPO_ROOT, HeadlessObs, run_beside_obs

pytestmark = pytest.mark.obs

INSTALLER = REPO_ROOT / "install.py"


def run_installer(run: HeadlessObs, *arguments: str) -> subprocess.CompletedProcess:
    """install.py as a user runs it, on the config folder this OBS uses and the tests' dependency folder."""
    pydeps = pydeps_for_tests()
    assert pydeps is not None, "no dependency folder for OBS's Python: run tools/run_tests.sh"
    return run_beside_obs(
        "python3",
        str(INSTALLER),
        *arguments,
        timeout_s=300,
        XDG_CONFIG_HOME=str(run.config_dir),
        OBS_BLUR_PYDEPS=str(pydeps),
    )


def test_add_to_obs_on_the_configuration_obs_wrote(tmp_path: Path) -> None:
    with running_obs(tmp_path, script_loads=0) as run:
        assert "[obs-blur] script loaded" not in run.log_text()
        assert run.stop().ended_cleanly

        added = run_installer(run, "--add-to-obs", "--yes", "--device", "cpu")
        assert added.returncode == 0, added.stdout + added.stderr
        check = run_installer(run, "--check")
        line = next((row for row in check.stdout.splitlines() if "script in OBS" in row), "")
        assert "added to" in line and line.rstrip().endswith(".json"), check.stdout + check.stderr

        run.restart()
        loaded = run.wait_for_log("[obs-blur] script loaded", timeout_s=30.0)
        assert f"filter '{FILTER_KIND}' (Background Blur) registered" in loaded
        assert run.stop().ended_cleanly
        assert run.python_errors() == [], run.python_errors()
