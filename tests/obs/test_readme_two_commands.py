"""The README's "Two commands", as written: the first sets everything up for the OBS under test.

The second command (`bash tools/run_tests.sh`) is what runs this test, so it cannot run itself here;
the test checks instead that CI's `.ci/run` runs exactly it. The first runs for real, beside the OBS
under test (in its chroot for OBS 30.2 and 32.2), into a fresh dependency folder: pip installs the
pinned wheels for the Python that OBS embeds, and the installer verifies them there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_readme_commands import readme_commands

from .conftest import require_obs
from .harness import REPO_ROOT, run_beside_obs

pytestmark = pytest.mark.obs

HEADING = "## Two commands"


def commands() -> list[str]:
    """The two command lines, without their trailing comments."""
    return [line.split("#", 1)[0].strip() for line in readme_commands(HEADING)]


def test_ci_runs_the_second_command() -> None:
    _first, second = commands()
    assert second == "bash tools/run_tests.sh"
    assert "exec bash tools/run_tests.sh" in (REPO_ROOT / ".ci" / "run").read_text()


def test_the_first_command_installs_and_verifies_for_obs(tmp_path: Path) -> None:
    require_obs()
    first, _second = commands()
    assert first == "python3 install.py"
    result = run_beside_obs("bash", "-c", first, OBS_BLUR_PYDEPS=str(tmp_path / "pydeps"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Installed and verified: numpy" in output, output
    assert "Tools > Scripts" in output, output  # the next steps, what to click
