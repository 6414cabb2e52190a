"""A private dependency folder that every user may write to is refused inside the real OBS.

OBS imports numpy, OpenCV and onnxruntime from that folder, so another local user who could write
there could run code inside OBS. The script must not put such a folder on ``sys.path``, the mask
worker must not import from it, and the filter must pass the video through and say why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import pydeps_for_tests, running_obs
from .filter_checks import filter_stats, mean_abs_diff, wait_until, worker_pids
from .harness import FILTER_KIND

pytestmark = pytest.mark.obs

PHOTO = "Person"
FILTER = "Background"


def world_writable_copy(folder: Path, where: Path) -> Path:
    """A folder of links to ``folder``'s entries (the same packages, no copying), writable by everyone."""
    copy = where / "pydeps"
    copy.mkdir()
    for entry in folder.iterdir():
        (copy / entry.name).symlink_to(entry)
    copy.chmod(0o777)
    return copy


def test_world_writable_dependency_folder_is_refused(tmp_path: Path, astronaut_png: Path) -> None:
    installed = pydeps_for_tests()
    assert installed is not None and installed.is_dir(), "run `bash tools/run_tests.sh` once: it installs them"
    os.chmod(tmp_path, 0o755)
    refused = world_writable_copy(installed, tmp_path)

    with running_obs(tmp_path / "run", pydeps=refused) as obs:
        loaded = obs.wait_for_log("[obs-blur] script loaded")
        assert f"dependencies {refused} (refused: {refused} is writable by every user" in loaded, loaded
        before = obs.add_image_source(PHOTO, astronaut_png)
        obs.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {"mode": "blur"})

        def status() -> str:
            return filter_stats(obs, PHOTO, FILTER).get("status", "")

        wait_until(lambda: "is not used because" in status(), "the reason in the status")
        assert status().startswith(f"Video passes through unchanged: the dependency folder {refused}"), status()
        assert "chmod o-w" in status()
        assert mean_abs_diff(obs.screenshot(PHOTO), before) < 1.0
        assert worker_pids(obs) == []
        lines = [line for line in obs.log_text().splitlines() if "is not used because" in line]
        assert len(lines) == 1, lines
        assert obs.python_errors() == []
