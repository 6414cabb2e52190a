"""A second ``script_load`` in the same OBS process before any filter exists only swaps the implementation.

The scene collection lists the script twice: OBS then runs ``script_load`` a second time in the same
interpreter after the filter type is registered (libobs keeps the first registration). OBS's real
"Reload Scripts" with filters running is tested in tests/obs/test_lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import running_obs
from .filter_checks import mean_abs_diff, wait_for_mask
from .harness import FILTER_KIND, HeadlessObs

pytestmark = pytest.mark.obs


@pytest.fixture(scope="module")
def obs_loaded_twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessObs]:
    with running_obs(tmp_path_factory.mktemp("obs-reload"), script_loads=2) as run:
        yield run


def test_second_load_swaps_the_implementation(obs_loaded_twice: HeadlessObs, astronaut_png: Path) -> None:
    obs = obs_loaded_twice
    loads = [line for line in obs.log_text().splitlines() if "[obs-blur] script loaded" in line]
    assert len(loads) == 2, loads
    assert f"filter '{FILTER_KIND}' (Background Blur) registered;" in loads[0]
    assert "already registered; implementation reloaded" in loads[1]

    before = obs.add_image_source("Photo", astronaut_png)
    obs.client.create_source_filter("Photo", "Blur", FILTER_KIND, {"blur_strength": 1000})

    # The reloaded implementation runs the filter: it repairs the settings, then composites with a mask.
    obs.wait_for_log("repaired invalid settings: blur_strength 1000.0 -> 100")
    wait_for_mask(obs, "Photo", "Blur")
    assert mean_abs_diff(obs.screenshot("Photo"), before) > 3.0


def test_shutdown_after_reload_is_clean(obs_loaded_twice: HeadlessObs) -> None:
    stopped = obs_loaded_twice.stop()

    assert stopped.method == "WM_DELETE_WINDOW" and stopped.ended_cleanly, stopped
    assert obs_loaded_twice.log_text().count("[obs-blur] script unloaded") == 2
    assert obs_loaded_twice.python_errors() == []
