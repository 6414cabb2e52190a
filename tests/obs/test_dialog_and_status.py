"""In the real OBS Studio: the dialog shows what applies to the chosen mode, the status tells the truth, and
the filter writes its settings only on OBS's UI thread.

obs-websocket cannot read a property's visibility or a thread, so a test-only script loaded beside
ours (tests/obs/obs_scripts/obs_blur_test_probe.py) answers from inside OBS: it builds the filter's
properties as the Filters dialog does, picks each mode as a user would (``obs_property_modified`` on
the mode list, which runs the filter's modified callback), lists the visible properties, and
records the thread of every ``obs_data`` write the filter makes. One headless OBS for the module.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from obs_blur.modes import MODE_NAMES

from .conftest import running_obs
from .filter_checks import MODE_SETTING, filter_stats, wait_for_mask, wait_until
from .harness import FILTER_KIND, SCENE, HeadlessObs
from .test_background_blur import write_still_video

pytestmark = pytest.mark.obs

PROBE = Path(__file__).resolve().parent / "obs_scripts" / "obs_blur_test_probe.py"
PROBE_HOTKEY = "obs_blur_tests.probe"  # as in the probe script
FILTER = "Background"
ADVANCED = ["advanced", "edge_softness", "smoothing", "align_video", "device"]  # the group, then its content
HIDDEN_STATUS = "Hidden: "
PAUSED_STATUS = "Paused: the mask of the paused frame stays in use"
_request_ids = itertools.count(1)


def visible_in(mode: str) -> list[str]:
    """The properties the dialog shows in ``mode``, in dialog order."""
    return ["mode", "model", *MODE_SETTING[mode], *ADVANCED, "virtualcam", "status"]


@pytest.fixture(scope="module")
def probe_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe")


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory, probe_folder: Path) -> Iterator[HeadlessObs]:
    environment = {"OBS_BLUR_TEST_PROBE": str(probe_folder)}
    with running_obs(tmp_path_factory.mktemp("obs-dialog"), extra_scripts=(PROBE,), environment=environment) as run:
        yield run


def ask(obs: HeadlessObs, folder: Path, **request: Any) -> dict[str, Any]:
    """The probe's answer to ``request``, given on OBS's UI thread."""
    request_id = next(_request_ids)
    (folder / "request.json").write_text(json.dumps({"id": request_id, **request}))
    obs.client.trigger_hotkey_by_name(PROBE_HOTKEY)
    answer_file = folder / f"answer-{request_id}.json"
    wait_until(answer_file.exists, f"the probe's answer to {request}", 20.0)
    answer = json.loads(answer_file.read_text())
    assert "error" not in answer, answer
    assert answer["ui_thread"], answer
    return answer


def add_photo(obs: HeadlessObs, source: str, photo: Path, **filter_settings: Any) -> None:
    obs.client.create_input(SCENE, source, "image_source", {"file": str(photo)}, True)
    obs.client.create_source_filter(source, FILTER, FILTER_KIND, filter_settings)


def test_each_mode_shows_only_its_settings(obs: HeadlessObs, probe_folder: Path, astronaut_png: Path) -> None:
    add_photo(obs, "Dialog", astronaut_png)

    modes = MODE_NAMES[1:] + MODE_NAMES[:1]
    answer = ask(obs, probe_folder, what="properties", source="Dialog", filter=FILTER, modes=modes)
    assert answer["opened"] == visible_in("blur")  # the default mode
    for mode in MODE_NAMES:
        assert answer["picked"][mode] == visible_in(mode), mode
        assert answer["refresh"][mode] is True, mode  # the dialog redraws with the new set

    obs.client.set_source_filter_settings("Dialog", FILTER, {"mode": "image"}, True)
    reopened = ask(obs, probe_folder, what="properties", source="Dialog", filter=FILTER, modes=[])
    assert reopened["opened"] == visible_in("image")  # opened on a stored mode: that mode's settings
    assert obs.python_errors() == [], "\n".join(obs.python_errors())


def test_a_hidden_source_says_so(obs: HeadlessObs, astronaut_png: Path) -> None:
    add_photo(obs, "Hidden", astronaut_png, mode="mask")
    wait_for_mask(obs, "Hidden", FILTER, status_has="Mask in use")
    item = obs.client.get_scene_item_id(SCENE, "Hidden").scene_item_id

    obs.client.set_scene_item_enabled(SCENE, item, False)
    called_at = time.time()

    def hidden() -> dict[str, Any]:
        entry = filter_stats(obs, "Hidden", FILTER, written_after=called_at)
        return entry if entry.get("status", "").startswith(HIDDEN_STATUS) else {}

    entry = wait_until(hidden, "the status of the hidden source")
    assert entry["mask_age_frames"] is None, entry  # no mask is in use: nothing is drawn
    obs.client.set_scene_item_enabled(SCENE, item, True)
    wait_for_mask(obs, "Hidden", FILTER, status_has="Mask in use")
    obs.client.remove_input("Hidden")


def test_a_paused_clip_says_so(obs: HeadlessObs, astronaut_png: Path, tmp_path: Path) -> None:
    clip = tmp_path / "long-clip.mp4"
    write_still_video(cv2.imread(str(astronaut_png)), clip, seconds=60.0, fps=5)
    settings = {"local_file": str(clip), "is_local_file": True, "looping": False}
    obs.client.create_input(SCENE, "Clip", "ffmpeg_source", settings, True)
    obs.client.create_source_filter("Clip", FILTER, FILTER_KIND, {"mode": "mask"})
    wait_for_mask(obs, "Clip", FILTER, status_has="Mask in use", timeout_s=40.0)

    obs.client.trigger_media_input_action("Clip", "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PAUSE")
    paused = wait_for_mask(obs, "Clip", FILTER, status_has=PAUSED_STATUS)
    assert paused["status"].startswith(PAUSED_STATUS), paused  # and the mask still reported in use
    obs.client.trigger_media_input_action("Clip", "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PLAY")
    wait_for_mask(obs, "Clip", FILTER, status_has="Mask in use")
    obs.client.remove_input("Clip")


def test_settings_are_written_only_on_the_ui_thread(obs: HeadlessObs, probe_folder: Path, astronaut_png: Path) -> None:
    """Repairs after an update (which libobs runs on the graphics thread) and after a create (here on
    obs-websocket's thread), and the status the dialog shows: each write on the UI thread."""
    add_photo(obs, "Writes", astronaut_png)
    obs.client.set_source_filter_settings("Writes", FILTER, {"blur_strength": "50%", "device": "quantum"}, True)
    obs.client.create_source_filter("Writes", "Second", FILTER_KIND, {"smoothing": 1e300})

    def repaired() -> bool:
        first, second = obs.filter_settings("Writes", FILTER), obs.filter_settings("Writes", "Second")
        return (first.get("blur_strength"), first.get("device"), second.get("smoothing")) == (50, "auto", 100)

    wait_until(repaired, "the repaired settings over obs-websocket")
    ask(obs, probe_folder, what="properties", source="Writes", filter=FILTER, modes=[])  # publishes the status

    writes = ask(obs, probe_folder, what="writes")["writes"]
    user_writes = [write for write in writes if "_default_" not in write["function"]]
    assert {"blur_strength", "device", "smoothing", "status"} <= {write["key"] for write in user_writes}, writes
    assert [write for write in user_writes if not write["ui_thread"]] == []
    assert [write for write in writes if write["graphics_thread"]] == []
    repairs = [line for line in obs.log_text().splitlines() if "repaired invalid settings" in line]
    assert len(repairs) == 2, repairs  # one line per repaired filter
    assert obs.python_errors() == [], "\n".join(obs.python_errors())


# --- lip sync: the aligned video runs late, one click delays an audio source by as much ---------------

LIP_SYNC_ROWS = ["video_delay", "lipsync_audio", "lipsync_apply"]
MICROPHONE = "Microphone"
USER_OFFSET_MS = 120  # the user's own sync offset on the audio: added to, never replaced


def sync_offset_ms(obs: HeadlessObs, source: str) -> int:
    return int(obs.client.get_input_audio_sync_offset(source).input_audio_sync_offset)


def test_lip_sync_button_delays_the_audio_and_no_alignment_takes_it_back(
    obs: HeadlessObs, probe_folder: Path, astronaut_png: Path
) -> None:
    obs.client.create_input(SCENE, MICROPHONE, "ffmpeg_source", {}, True)  # a media source: it has audio
    obs.client.set_input_audio_sync_offset(MICROPHONE, USER_OFFSET_MS)
    add_photo(obs, "Lips", astronaut_png, mode="blur")
    wait_for_mask(obs, "Lips", FILTER, status_has="Mask in use")
    closed = ask(obs, probe_folder, what="properties", source="Lips", filter=FILTER, modes=[])
    assert not set(LIP_SYNC_ROWS) & set(closed["opened"])  # no delay, nothing to sync

    obs.client.set_source_filter_settings("Lips", FILTER, {"align_video": True, "lipsync_audio": MICROPHONE}, True)

    def measured() -> dict[str, Any]:
        entry = filter_stats(obs, "Lips", FILTER)
        return entry if entry.get("video_delay_ms") is not None else {}

    delay_ms = wait_until(measured, "a measured video delay")["video_delay_ms"]
    opened = ask(obs, probe_folder, what="properties", source="Lips", filter=FILTER, modes=[])["opened"]
    align = opened.index("align_video")
    assert opened[align + 1 : align + 4] == LIP_SYNC_ROWS, opened
    assert obs.filter_settings("Lips", FILTER)["video_delay"].endswith(" ms")  # the dialog's readout

    for _click in range(2):  # a second click replaces the first addition, it does not add again
        assert ask(obs, probe_folder, what="click", source="Lips", filter=FILTER, button="lipsync_apply")["rebuild"]
        settings = obs.filter_settings("Lips", FILTER)
        applied = settings["lipsync_applied_ms"]
        assert settings["lipsync_applied_to"] == MICROPHONE
        assert sync_offset_ms(obs, MICROPHONE) == USER_OFFSET_MS + applied
    frame_ms = 1000 / obs.settings.fps
    print(f"\nvideo delay {delay_ms} ms in the stats, {applied} ms applied ({applied / frame_ms:.2f} frames)")
    assert 0 <= applied <= 4 * frame_ms + 1 and abs(applied / frame_ms - round(applied / frame_ms)) < 0.05

    obs.client.set_source_filter_settings("Lips", FILTER, {"align_video": False}, True)
    wait_until(lambda: sync_offset_ms(obs, MICROPHONE) == USER_OFFSET_MS, "the audio's own offset back")
    wait_until(lambda: obs.filter_settings("Lips", FILTER)["lipsync_applied_ms"] == 0, "the addition forgotten")
    writes = [write for write in ask(obs, probe_folder, what="writes")["writes"] if "lipsync" in write["key"]]
    assert writes and all(write["ui_thread"] for write in writes), writes  # the take-back too, after an update
    assert obs.python_errors() == [], "\n".join(obs.python_errors())
    obs.client.remove_input("Lips")
    obs.client.remove_input(MICROPHONE)
