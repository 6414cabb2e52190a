"""The Background Blur filter inside the real OBS Studio: registration, settings, lifecycle, shutdown.

All tests share one headless OBS (module fixture) and run in file order: later tests build on the
sources earlier ones added, the restart test relies on OBS saving the collection, and the last test
performs the clean shutdown and inspects the whole log. The filter runs its real frame path here
(mask worker processes included); tests/obs/test_background_blur.py checks what it draws and
tests/obs/test_lifecycle.py the long-run lifecycle (200 add/remove cycles, "Reload Scripts", ...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from obs_blur.segmentation.manifest import read_model_choices

from .filter_checks import mean_abs_diff, wait_for_mask, wait_until, worker_pids
from .harness import FILTER_KIND, HeadlessObs

pytestmark = pytest.mark.obs

PHOTO = "Astronaut"
SECOND_PHOTO = "Astronaut 2"
FILTER = "Blur"


def test_script_loaded_and_filter_kind_registered(obs: HeadlessObs) -> None:
    line = obs.wait_for_log("[obs-blur] script loaded")
    assert f"filter '{FILTER_KIND}' (Background Blur) registered" in line
    assert "Python 3." in line
    defaults = obs.client.get_source_filter_default_settings(FILTER_KIND).default_filter_settings
    models = read_model_choices()
    assert defaults == {
        "mode": "blur",
        "model": models.default,
        "blur_strength": 50,
        "lens_depth": False,
        "bg_color": 0xFF40B100,
        "bg_image": "",
        "edge_softness": 35,
        "smoothing": 80,
        "align_video": False,
        "device": "auto",
        "status": "starting: the video passes through until the first mask",
    }


def test_filter_changes_the_photo_and_disabling_restores_it(obs: HeadlessObs, astronaut_png: Path) -> None:
    before = obs.add_image_source(PHOTO, astronaut_png)
    assert before.shape == (512, 512, 4)
    assert before[..., :3].std() > 30  # the photo, not a blank frame

    obs.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {})
    assert obs.filter_kinds(PHOTO) == {FILTER: FILTER_KIND}
    wait_for_mask(obs, PHOTO, FILTER)
    assert mean_abs_diff(obs.screenshot(PHOTO), before) > 3.0  # the background is blurred now

    obs.client.set_source_filter_enabled(PHOTO, FILTER, False)
    wait_until(lambda: mean_abs_diff(obs.screenshot(PHOTO), before) < 1.0, "the original photo back", 5.0)
    obs.client.set_source_filter_enabled(PHOTO, FILTER, True)
    wait_until(lambda: mean_abs_diff(obs.screenshot(PHOTO), before) > 3.0, "the filter applied again", 5.0)


#: Libraries only the mask worker needs. Inside OBS their threads and exit handlers would run in OBS's
#: own process (OpenCV's wheel also brings its own FFmpeg and OpenSSL next to OBS's).
WORKER_ONLY_LIBRARIES = ("cv2", "opencv_python", "onnxruntime")


def test_obs_loads_no_worker_only_library(obs: HeadlessObs) -> None:
    """After the filter has drawn masks, OBS's process has mapped neither OpenCV nor onnxruntime."""
    assert obs.pid is not None
    wait_for_mask(obs, PHOTO, FILTER)
    mapped = {line.split()[-1] for line in Path(f"/proc/{obs.pid}/maps").read_text().splitlines() if "/" in line}
    loaded = sorted(path for path in mapped if any(f"/{name}" in path for name in WORKER_ONLY_LIBRARIES))
    assert loaded == [], loaded


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
    wait_for_mask(obs, PHOTO, FILTER)
    wait_for_mask(obs, SECOND_PHOTO, FILTER)
    blurred, painted = obs.screenshot(PHOTO), obs.screenshot(SECOND_PHOTO)
    assert mean_abs_diff(blurred, original) > 3.0
    assert mean_abs_diff(painted, original) > 3.0
    assert mean_abs_diff(blurred, painted) > 3.0  # each instance draws its own mode
    assert len(worker_pids(obs)) == 2  # one mask worker process per instance


def test_filter_saved_in_collection_survives_restart(obs: HeadlessObs) -> None:
    before = obs.screenshot(PHOTO)

    stopped = obs.restart()

    assert stopped.method == "WM_DELETE_WINDOW" and stopped.ended_cleanly, stopped
    obs.wait_for_log("[obs-blur] script loaded")
    assert obs.filter_kinds(PHOTO) == {FILTER: FILTER_KIND}
    assert obs.filter_kinds(SECOND_PHOTO) == {FILTER: FILTER_KIND}
    settings = obs.filter_settings(PHOTO, FILTER)
    assert (settings["mode"], settings["blur_strength"]) == ("blur", 80)
    wait_for_mask(obs, PHOTO, FILTER)
    wait_for_mask(obs, SECOND_PHOTO, FILTER)
    assert mean_abs_diff(obs.screenshot(PHOTO), before) < 1.0  # the same blur as before the restart


def test_clean_shutdown(obs: HeadlessObs) -> None:
    assert len(worker_pids(obs)) == 2  # OBS quits with both workers running
    stopped = obs.stop()

    assert stopped.method == "WM_DELETE_WINDOW" and stopped.ended_cleanly, stopped
    log = obs.log_text()
    assert "[obs-blur] script unloaded" in log
    assert log.count(f"filter '{FILTER}' destroyed") == 2  # both instances, at shutdown
    assert worker_pids(obs) == []  # stopped and reaped, none orphaned
    assert obs.python_errors() == [], "\n".join(obs.python_errors())
    whole_log = obs.log_text(whole=True)  # both runs, before and after the restart
    assert "Traceback" not in whole_log and "Python failure" not in whole_log
