"""The Background Blur filter inside the real OBS Studio: registration, settings, lifecycle, shutdown.

All tests share one headless OBS (module fixture) and run in file order: later tests build on the
sources earlier ones added, the restart test relies on OBS saving the collection, and the last test
performs the clean shutdown and inspects the whole log.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from obs_blur.obs.filter_settings import read_model_choices

from .harness import FILTER_KIND, HeadlessObs

pytestmark = pytest.mark.obs

PHOTO = "Astronaut"
SECOND_PHOTO = "Astronaut 2"
FILTER = "Blur"


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 5.0) -> Any:
    """Poll ``condition`` until it returns something truthy (libobs applies filter updates on the next tick)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, f"timed out waiting for {what}"
            return value
        time.sleep(0.05)


def test_script_loaded_and_filter_kind_registered(obs: HeadlessObs) -> None:
    line = obs.wait_for_log("[obs-blur] script loaded")
    assert f"filter '{FILTER_KIND}' (Background Blur) registered" in line
    assert "Python 3." in line
    defaults = obs.client.get_source_filter_default_settings(FILTER_KIND).default_filter_settings
    models = read_model_choices()
    assert defaults == {"mode": "blur", "model": models.default, "blur_strength": 50}


def test_filter_on_real_photo_passes_video_through(obs: HeadlessObs, astronaut_png: Path) -> None:
    before = obs.add_image_source(PHOTO, astronaut_png)
    assert before.shape == (512, 512, 4)
    assert before[..., :3].std() > 30  # the photo, not a blank frame

    obs.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {})

    assert obs.filter_kinds(PHOTO) == {FILTER: FILTER_KIND}
    after = obs.screenshot(PHOTO)
    assert mean_abs_diff(after, before) < 1.0


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"mode": "sepia", "blur_strength": 500}, {"mode": "blur", "blur_strength": 100}),
        ({"mode": 7, "blur_strength": -3}, {"mode": "blur", "blur_strength": 0}),
        ({"mode": "transparent", "blur_strength": "strong"}, {"mode": "transparent", "blur_strength": 50}),
        ({"mode": "mask", "blur_strength": 42.6}, {"mode": "mask", "blur_strength": 43}),
    ],
)
def test_out_of_range_settings_are_clamped(obs: HeadlessObs, stored: dict, expected: dict) -> None:
    obs.client.set_source_filter_settings(PHOTO, FILTER, stored, True)

    def applied() -> dict:
        settings = obs.filter_settings(PHOTO, FILTER)
        return settings if all(settings.get(key) == value for key, value in expected.items()) else {}

    wait_until(applied, f"{stored} repaired to {expected}")
    assert obs.running
    assert obs.screenshot(PHOTO)[..., 3].any()


def test_unknown_model_falls_back_to_the_default(obs: HeadlessObs) -> None:
    models = read_model_choices()
    assert models.names, f"models/manifest.json lists no models ({models.problem})"
    obs.client.set_source_filter_settings(PHOTO, FILTER, {"model": "no-such-model"}, True)

    wait_until(lambda: obs.filter_settings(PHOTO, FILTER).get("model") == models.default, "model repaired")
    assert "repaired invalid settings: model 'no-such-model' -> " in obs.log_text()


def test_two_instances_on_two_sources(obs: HeadlessObs, astronaut_png: Path) -> None:
    original = obs.add_image_source(SECOND_PHOTO, astronaut_png)
    obs.client.set_source_filter_settings(PHOTO, FILTER, {"mode": "blur", "blur_strength": 80}, True)
    obs.client.create_source_filter(SECOND_PHOTO, FILTER, FILTER_KIND, {"mode": "color", "blur_strength": 20})

    assert obs.filter_kinds(PHOTO) == {FILTER: FILTER_KIND}
    assert obs.filter_kinds(SECOND_PHOTO) == {FILTER: FILTER_KIND}
    wait_until(lambda: obs.filter_settings(PHOTO, FILTER)["blur_strength"] == 80, "first filter's settings")
    second = obs.filter_settings(SECOND_PHOTO, FILTER)
    assert (second["mode"], second["blur_strength"]) == ("color", 20)
    assert mean_abs_diff(obs.screenshot(PHOTO), original) < 1.0
    assert mean_abs_diff(obs.screenshot(SECOND_PHOTO), original) < 1.0


def test_fifty_add_remove_cycles(obs: HeadlessObs) -> None:
    reference = obs.screenshot(SECOND_PHOTO)
    for cycle in range(50):
        obs.client.create_source_filter(SECOND_PHOTO, "Cycle", FILTER_KIND, {"blur_strength": cycle})
        if cycle % 10 == 0:  # render through the extra filter now and then, not only create it
            assert mean_abs_diff(obs.screenshot(SECOND_PHOTO), reference) < 1.0
        obs.client.remove_source_filter(SECOND_PHOTO, "Cycle")

    assert obs.filter_kinds(SECOND_PHOTO) == {FILTER: FILTER_KIND}
    wait_until(lambda: obs.log_text().count("filter 'Cycle' destroyed") == 50, "50 destroy callbacks")
    assert obs.log_text().count("filter 'Cycle' created") == 50
    assert mean_abs_diff(obs.screenshot(SECOND_PHOTO), reference) < 1.0


def test_filter_saved_in_collection_survives_restart(obs: HeadlessObs) -> None:
    before = obs.screenshot(PHOTO)

    stopped = obs.restart()

    assert stopped.method == "WM_DELETE_WINDOW" and stopped.clean_log, stopped
    obs.wait_for_log("[obs-blur] script loaded")
    assert obs.filter_kinds(PHOTO) == {FILTER: FILTER_KIND}
    assert obs.filter_kinds(SECOND_PHOTO) == {FILTER: FILTER_KIND}
    settings = obs.filter_settings(PHOTO, FILTER)
    assert (settings["mode"], settings["blur_strength"]) == ("blur", 80)
    wait_until(lambda: obs.screenshot(PHOTO)[..., 3].any(), "the photo after restart")
    assert mean_abs_diff(obs.screenshot(PHOTO), before) < 1.0


def test_clean_shutdown(obs: HeadlessObs) -> None:
    stopped = obs.stop()

    assert stopped.method == "WM_DELETE_WINDOW", stopped
    assert stopped.returncode == 0, stopped
    assert stopped.clean_log, obs.log_tail()
    log = obs.log_text()
    assert "[obs-blur] script unloaded" in log
    assert log.count(f"filter '{FILTER}' destroyed") == 2  # both instances, at shutdown
    assert obs.python_errors() == [], "\n".join(obs.python_errors())
    whole_log = obs.log_text(whole=True)  # both runs, before and after the restart
    assert "Traceback" not in whole_log and "Python failure" not in whole_log
