"""Fixtures for the tests that drive a real headless OBS Studio.

Missing OBS or Xvfb makes these tests fail, never skip: CI treats a skipped OBS suite as a failure,
and a silently skipped suite would hide that the filter was never exercised.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np
import pytest

from .filter_checks import stats_file
from .harness import REPO_ROOT, HeadlessObs, ObsSettings, missing_programs


def pydeps_for_tests() -> Optional[Path]:
    """The private dependency folder OBS should use: ``OBS_BLUR_PYDEPS`` (tools/run_tests.sh sets it),
    else the single ``.cache/obs-pydeps/cp3XY`` folder install.py made, else the script's own default."""
    override = os.environ.get("OBS_BLUR_PYDEPS")
    if override:
        return Path(override)
    found = sorted((REPO_ROOT / ".cache" / "obs-pydeps").glob("cp3*"))
    return found[0] if len(found) == 1 else None


def require_obs() -> None:
    missing = missing_programs()
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not installed: the OBS tests need the real OBS Studio. "
            "Run `bash tools/run_tests.sh` as root once (it installs obs-studio and xvfb), "
            "or apt-get install obs-studio obs-plugins xvfb.",
            pytrace=False,
        )


@contextlib.contextmanager
def running_obs(run_dir: Path, **settings: Any) -> Iterator[HeadlessObs]:
    """A headless OBS that writes the script's stats file into ``run_dir`` (also across restarts); stopped at the end.

    OBS_BLUR_STATS reaches OBS through the environment the harness copies at every launch, so it stays
    set for the whole run.
    """
    require_obs()
    settings.setdefault("pydeps", pydeps_for_tests())
    run = HeadlessObs(run_dir, ObsSettings(**settings))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBS_BLUR_STATS", str(stats_file(run)))
        run.start()
        try:
            yield run
        finally:
            if run.running:
                run.stop()


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessObs]:
    """One headless OBS (1280x720 at 30 fps) for the whole test module, stopped at its end."""
    with running_obs(tmp_path_factory.mktemp("obs-run")) as run:
        yield run


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real photo of a person (scikit-image's astronaut, 512x512) as a PNG file for an image source."""
    from skimage import data

    path = tmp_path_factory.mktemp("media") / "astronaut.png"
    rgb: np.ndarray = data.astronaut()
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
