"""What the Background Blur filter draws in the real OBS Studio (llvmpipe), checked against the command line.

One headless OBS for the module; the tests run in file order on the same sources: a photo of a person
(scikit-image's astronaut) and later a looping video of it. The reference for "person" and
"background" is ``python -m obs_blur mask`` on the same photo: the filter runs the same model on the
same resize, so its mask must match the command line's.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from pictures import person_far_in_wide_frame

from obs_blur.model_choice import FIRST_SWITCH_AFTER_S, SQUARE_MODEL, WIDE_MODEL

from .conftest import running_obs
from .filter_checks import (
    cli_mask,
    filter_stats,
    iou,
    local_deviation,
    mean_abs_diff,
    read_stats,
    regions,
    run_cli,
    wait_for_mask,
    wait_until,
    worker_pids,
)
from .harness import FILTER_KIND, REPO_ROOT, HeadlessObs

pytestmark = pytest.mark.obs

PHOTO = "Person"
VIDEO = "Person video"
FILTER = "Background"
HOTKEY = "obs_blur.toggle_background_blur"
BLUE = 0xFFFF0000  # OBS colours are 0xAABBGGRR


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessObs]:
    with running_obs(tmp_path_factory.mktemp("obs-blur")) as run:
        yield run


@pytest.fixture(scope="module")
def reference_mask(astronaut_png: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return cli_mask(astronaut_png, tmp_path_factory.mktemp("cli-mask"))


@pytest.fixture(scope="module")
def original(obs: HeadlessObs, astronaut_png: Path) -> np.ndarray:
    """The photo as OBS shows it without the filter; the filter is added right after, in mask mode."""
    picture = obs.add_image_source(PHOTO, astronaut_png)
    obs.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {"mode": "mask"})
    return picture


def show(obs: HeadlessObs, source: str, status_has: str, **settings: object) -> np.ndarray:
    """Apply ``settings``, wait until the filter composites with them, and take a screenshot."""
    obs.client.set_source_filter_settings(source, FILTER, settings, True)
    wait_for_mask(obs, source, FILTER, status_has=status_has)
    return obs.screenshot(source)


def screenshot_when_decoded(obs: HeadlessObs, source: str) -> np.ndarray:
    """A screenshot of a media source, retried while it has not decoded a frame (error 702)."""

    def attempt() -> list[np.ndarray]:  # a list: an array has no truth value for wait_until
        image = obs.screenshot_or_none(source)
        return [image] if image is not None and image[..., 3].any() else []

    return wait_until(attempt, f"a decoded frame of {source}", 20.0, 0.2)[0]


def test_mask_mode_matches_the_command_line(obs: HeadlessObs, original: np.ndarray, reference_mask: np.ndarray) -> None:
    shot = show(obs, PHOTO, "(mask mode)", mode="mask")

    assert shot.shape[:2] == reference_mask.shape
    assert iou(shot[..., 0] > 127, reference_mask > 127) >= 0.98


def test_blur_mode_blurs_the_background_and_keeps_the_person(
    obs: HeadlessObs, original: np.ndarray, reference_mask: np.ndarray
) -> None:
    # Strength 100: at 50 (sigma 9 px on this 512 px photo) the flag's and rocket's large shapes keep
    # 0.37 of the detail measure, in the CPU reference as on the GPU.
    shot = show(obs, PHOTO, "(blur mode, strength 100)", mode="blur", blur_strength=100)

    background, person = regions(reference_mask)
    assert local_deviation(shot)[background].mean() <= 0.3 * local_deviation(original)[background].mean()
    assert mean_abs_diff(shot[person], original[person]) <= 3.0


def test_blur_mode_follows_the_cpu_reference(obs: HeadlessObs, astronaut_png: Path, tmp_path: Path) -> None:
    """At strength 50 the GPU works at the reference's 1/4 size: `obs_blur blur` gives nearly the same picture."""
    reference_file = tmp_path / "reference.png"
    run_cli("blur", str(astronaut_png), str(reference_file), "--strength", "50")
    reference = cv2.cvtColor(cv2.imread(str(reference_file)), cv2.COLOR_BGR2RGB)

    shot = show(obs, PHOTO, "(blur mode, strength 50)", mode="blur", blur_strength=50)

    assert mean_abs_diff(shot[..., :3], reference) <= 1.5


def test_lens_mode_follows_the_cpu_reference(obs: HeadlessObs, astronaut_png: Path, tmp_path: Path) -> None:
    """The disc blur with blooming highlights: the shader's 24 taps are the CPU reference's kernel."""
    reference_file = tmp_path / "reference.png"
    run_cli("blur", str(astronaut_png), str(reference_file), "--mode", "lens", "--strength", "50")
    reference = cv2.cvtColor(cv2.imread(str(reference_file)), cv2.COLOR_BGR2RGB)
    gaussian_file = tmp_path / "gaussian.png"
    run_cli("blur", str(astronaut_png), str(gaussian_file), "--strength", "50")
    gaussian = cv2.cvtColor(cv2.imread(str(gaussian_file)), cv2.COLOR_BGR2RGB)

    shot = show(obs, PHOTO, "(lens mode, strength 50)", mode="lens", blur_strength=50)

    from_reference, from_gaussian = mean_abs_diff(shot[..., :3], reference), mean_abs_diff(reference, gaussian)
    print(f"lens: {from_reference:.2f} from the CPU reference; the Gaussian is {from_gaussian:.2f} from it")
    assert from_reference <= 1.5
    assert from_gaussian >= 1.0  # a different blur, not the Gaussian again

    depth_file = tmp_path / "depth.png"
    run_cli("blur", str(astronaut_png), str(depth_file), "--mode", "lens", "--strength", "50", "--lens-depth")
    depth_reference = cv2.cvtColor(cv2.imread(str(depth_file)), cv2.COLOR_BGR2RGB)
    deep = show(obs, PHOTO, "strength 50, more blur farther", mode="lens", blur_strength=50, lens_depth=True)
    from_depth_reference = mean_abs_diff(deep[..., :3], depth_reference)
    from_lens = mean_abs_diff(depth_reference, reference)
    print(f"lens depth: {from_depth_reference:.2f} from its CPU reference; the plain lens is {from_lens:.2f} from it")
    assert from_depth_reference <= 1.5
    assert from_lens >= 0.3  # the disc really shrinks next to the person
    obs.client.set_source_filter_settings(PHOTO, FILTER, {"lens_depth": False}, True)


def test_color_mode_paints_the_background(obs: HeadlessObs, original: np.ndarray, reference_mask: np.ndarray) -> None:
    shot = show(obs, PHOTO, "(color mode)", mode="color", bg_color=BLUE)

    background, person = regions(reference_mask)
    assert np.abs(shot[background][:, :3].astype(int) - (0, 0, 255)).mean() <= 2.0
    assert mean_abs_diff(shot[person], original[person]) <= 3.0


def test_image_mode_puts_the_picture_behind_the_person(
    obs: HeadlessObs, original: np.ndarray, reference_mask: np.ndarray, tmp_path: Path
) -> None:
    picture = tmp_path / "orange.png"
    cv2.imwrite(str(picture), np.full((90, 160, 3), (0, 128, 255), np.uint8))  # BGR: orange

    shot = show(obs, PHOTO, "(image mode)", mode="image", bg_image=str(picture))

    background, person = regions(reference_mask)
    assert np.abs(shot[background][:, :3].astype(int) - (255, 128, 0)).mean() <= 2.0
    assert mean_abs_diff(shot[person], original[person]) <= 3.0


def test_transparent_mode_clears_the_background_alpha(obs: HeadlessObs, reference_mask: np.ndarray) -> None:
    shot = show(obs, PHOTO, "(transparent mode)", mode="transparent")

    background, person = regions(reference_mask)
    assert shot[background][:, 3].mean() <= 2.0
    assert shot[person][:, 3].mean() >= 253.0


def test_align_video_composites_the_frame_of_the_mask(obs: HeadlessObs) -> None:
    obs.client.set_source_filter_settings(PHOTO, FILTER, {"mode": "blur", "align_video": True}, True)
    wait_until(lambda: wait_for_mask(obs, PHOTO, FILTER)["mask_age_frames"] == 0, "mask age 0 with align_video")
    unaligned = show(obs, PHOTO, "(blur mode, strength 50)", align_video=False)
    assert unaligned[..., 3].any()
    assert filter_stats(obs, PHOTO, FILTER)["mask_latency_frames"] >= 1  # the worker's delay is real


def test_status_and_stats_file_say_what_runs(obs: HeadlessObs) -> None:
    entry = wait_for_mask(obs, PHOTO, FILTER)
    stats = read_stats(obs)

    assert isinstance(stats["time"], float)
    assert entry["render_ms"] and all(isinstance(ms, float) and ms > 0 for ms in entry["render_ms"])
    assert entry["model"] == SQUARE_MODEL and entry["model_choice"] == "auto: 512x512 frame is not wide"
    assert entry["mask_crop_share"] == 1.0, "she fills the photo: the whole frame, captured without extra detail"
    assert entry["provider"].startswith("CPU")  # onnxruntime's CPU build here, with the reason in brackets
    assert isinstance(entry["masks_per_s"], float) and isinstance(entry["mask_age_frames"], int)
    assert entry["frames"] > entry["passthrough_frames"] > 0  # passed through until the first mask
    assert entry["status"].startswith(f"Mask in use: {SQUARE_MODEL} (auto: 512x512 frame is not wide) on CPU")
    # Only the dialog (UI thread) copies the status into the settings: the graphics thread writing them
    # while obs-websocket reads them (this very request) corrupted OBS's heap.
    assert "status" not in obs.filter_settings(PHOTO, FILTER)


def test_auto_model_fits_the_frame_at_once_and_the_person_after_the_hold(obs: HeadlessObs, tmp_path: Path) -> None:
    """A portrait frame gets the square model at once; a person standing back in a 16:9 frame gets it
    after the hold, and the mask is then the command line's (whose default is ``auto`` too)."""
    from skimage import data

    camera = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    pictures = {"Portrait": camera[:, 128:384], "Standing back": person_far_in_wide_frame(camera)}
    files = {name: tmp_path / f"{name}.png" for name in pictures}
    for name, picture in pictures.items():
        assert cv2.imwrite(str(files[name]), picture)
    for name in pictures:
        obs.add_image_source(name, files[name])
        obs.client.create_source_filter(name, FILTER, FILTER_KIND, {"mode": "mask"})  # the model left at its default
    added_at = time.monotonic()
    try:
        wait_for_mask(obs, "Portrait", FILTER, model=SQUARE_MODEL, status_has="(auto: 256x512 frame is not wide)")
        first = wait_for_mask(obs, "Standing back", FILTER)
        assert first["model"] == WIDE_MODEL and first["model_choice"] == "auto: wide 1280x720 frame", first
        switched = wait_for_mask(obs, "Standing back", FILTER, model=SQUARE_MODEL, status_has="small person")
        assert time.monotonic() - added_at >= FIRST_SWITCH_AFTER_S, switched["status"]
        print(f"\nstanding back: {switched['status']!r} after {time.monotonic() - added_at:.1f} s")
        cropped = wait_for_mask(obs, "Standing back", FILTER, status_has="crop around the person")
        assert 0.0 < cropped["mask_crop_share"] < 0.5, cropped
        for name in pictures:
            wait_for_mask(obs, name, FILTER, still_picture=True)  # the crop found, the smoothing caught up
            reference = cli_mask(files[name], tmp_path / f"cli-{name}")
            shot = obs.screenshot(name)
            assert iou(shot[..., 0] > 127, reference > 127) >= 0.98, name
    finally:
        for name in pictures:
            obs.client.remove_input(name)


def test_model_switch_while_rendering(obs: HeadlessObs) -> None:
    frames_before = filter_stats(obs, PHOTO, FILTER)["frames"]
    for model in ("mediapipe-general", "mediapipe-landscape"):
        obs.client.set_source_filter_settings(PHOTO, FILTER, {"model": model}, True)
        wait_for_mask(obs, PHOTO, FILTER, model=model, status_has=f"Mask in use: {model} ")

    assert filter_stats(obs, PHOTO, FILTER)["frames"] > frames_before + 10  # frames kept flowing
    assert obs.running and obs.python_errors() == []


def test_a_dead_worker_passes_video_through_once_logged_and_restarts(obs: HeadlessObs, original: np.ndarray) -> None:
    (pid,) = worker_pids(obs)
    os.kill(pid, signal.SIGKILL)

    wait_until(lambda: "passes through" in filter_stats(obs, PHOTO, FILTER).get("status", ""), "pass-through status")
    wait_for_mask(obs, PHOTO, FILTER)  # restarted after its back-off
    assert worker_pids(obs) != [pid]
    crash_lines = [line for line in obs.log_text().splitlines() if "worker crashed" in line]
    assert len(crash_lines) == 1, crash_lines
    assert f"filter '{FILTER}': video passes through unchanged: worker crashed" in crash_lines[0]


def test_blur_on_a_looping_video(obs: HeadlessObs, astronaut_png: Path, reference_mask: np.ndarray) -> None:
    video = astronaut_png.with_name("astronaut.mp4")
    write_still_video(cv2.imread(str(astronaut_png)), video)
    obs.add_media_source(VIDEO, video)
    obs.client.create_source_filter(VIDEO, FILTER, FILTER_KIND, {"mode": "blur", "blur_strength": 100})
    obs.client.set_source_filter_enabled(VIDEO, FILTER, False)
    decoded = screenshot_when_decoded(obs, VIDEO)  # the video without the filter

    obs.client.set_source_filter_enabled(VIDEO, FILTER, True)
    wait_for_mask(obs, VIDEO, FILTER)
    shot = screenshot_when_decoded(obs, VIDEO)

    background, person = regions(reference_mask)
    assert local_deviation(shot)[background].mean() <= 0.3 * local_deviation(decoded)[background].mean()
    assert mean_abs_diff(shot[person], decoded[person]) <= 3.0


def test_two_filtered_sources_at_once(obs: HeadlessObs) -> None:
    wait_for_mask(obs, PHOTO, FILTER)
    wait_for_mask(obs, VIDEO, FILTER)
    assert len(worker_pids(obs)) == 2  # a worker process per filter instance


def test_hotkey_toggles_every_filter(obs: HeadlessObs, original: np.ndarray) -> None:
    def enabled(source: str) -> bool:
        return bool(obs.client.get_source_filter(source, FILTER).filter_enabled)

    obs.client.trigger_hotkey_by_name(HOTKEY)
    wait_until(lambda: not enabled(PHOTO) and not enabled(VIDEO), "both filters disabled")
    assert mean_abs_diff(obs.screenshot(PHOTO), original) < 1.0
    obs.client.trigger_hotkey_by_name(HOTKEY)
    wait_until(lambda: enabled(PHOTO) and enabled(VIDEO), "both filters enabled again")


def test_clean_shutdown_with_workers_running(obs: HeadlessObs) -> None:
    assert len(worker_pids(obs)) == 2
    stopped = obs.stop()

    assert stopped.method == "WM_DELETE_WINDOW" and stopped.ended_cleanly, stopped
    assert "==== Shutting down" in obs.log_text()
    assert obs.python_errors() == [], "\n".join(obs.python_errors())
    # A shader parameter unset when its pass ran: libobs logs it, and the pass draws with zeros.
    unset_parameters = [line for line in obs.log_text().splitlines() if "set to invalid size" in line]
    assert unset_parameters == [], unset_parameters[:4]
    assert worker_pids(obs) == []


def test_missing_model_file_passes_through_with_one_log_line(
    tmp_path_factory: pytest.TempPathFactory, astronaut_png: Path
) -> None:
    """A fault in the worker (here: the model file is gone) shows the video unchanged and says why, once."""
    models = tmp_path_factory.mktemp("models-without-files")
    shutil.copy(REPO_ROOT / "models" / "manifest.json", models)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBS_BLUR_MODELS", str(models))  # OBS and its workers read the manifest from there
        with running_obs(tmp_path_factory.mktemp("obs-no-model")) as run:
            before = run.add_image_source(PHOTO, astronaut_png)
            run.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {})

            wait_until(lambda: "is missing" in filter_stats(run, PHOTO, FILTER).get("status", ""), "the reason")
            frames = filter_stats(run, PHOTO, FILTER)["frames"]
            wait_until(lambda: filter_stats(run, PHOTO, FILTER)["frames"] > frames + 15, "frames after the fault")

            assert mean_abs_diff(run.screenshot(PHOTO), before) < 1.0
            status = filter_stats(run, PHOTO, FILTER)["status"]
            assert status.startswith("Video passes through unchanged: model error:"), status
            lines = [line for line in run.log_text().splitlines() if "passes through unchanged" in line]
            assert len(lines) == 1, lines
            assert "selfie_segmentation_general_256x256.onnx is missing" in lines[0]  # auto's model for a square photo


def write_still_video(frame_bgr: np.ndarray, path: Path, seconds: float = 2.0, fps: int = 30) -> None:
    """A short MPEG-4 video of one picture (OpenCV's own encoder: no ffmpeg binary needed)."""
    height, width = frame_bgr.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    try:
        for _ in range(int(seconds * fps)):
            writer.write(frame_bgr)
    finally:
        writer.release()
