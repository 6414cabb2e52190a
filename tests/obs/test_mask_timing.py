"""How old the drawn mask is, and what a still picture costs, in the real OBS Studio (llvmpipe).

A camera-like video (``camera_video``: the astronaut photo swaying, with per-frame sensor noise,
1280x720 at 30 fps on a 1280x720 30 fps canvas) is drawn with the mask of the frame before it: the filter hands
the worker the previous frame's capture when the frame starts (video_tick) and waits a bounded few
milliseconds for the mask when the worker's latency says it is that close. A still photo is
segmented until its mask settles, then not again until it changes: the worker idles, the mask
stays in use.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from obs_blur.mask_timing import MAX_MASK_WAIT_S
from obs_blur.obs.status import STILL_PICTURE

from .camera_video import picture_covering, write_camera_video
from .conftest import running_obs
from .filter_checks import filter_stats, wait_for_mask, wait_until, worker_pids
from .harness import FILTER_KIND, SCENE, HeadlessObs

pytestmark = pytest.mark.obs

CAMERA = "Camera"
PHOTO = "Photo"
FILTER = "Background"
#: Sleep granularity and scheduling noise on top of the wait's bound, in ms.
WAIT_SLACK_MS = 2.0


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessObs]:
    with running_obs(tmp_path_factory.mktemp("obs-mask-timing")) as run:
        yield run


def worker_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats_over(obs: HeadlessObs, source: str, seconds: float) -> list[dict]:
    """Every stats-file entry of the filter written during the next ``seconds``."""
    entries, seen, end = [], set(), time.monotonic() + seconds
    while time.monotonic() < end:
        entry = filter_stats(obs, source, FILTER)
        key = entry.get("frames")
        if key not in seen:
            seen.add(key)
            entries.append(entry)
        time.sleep(0.25)
    return entries


def test_a_moving_camera_is_drawn_with_the_mask_of_the_frame_before(
    obs: HeadlessObs, astronaut_png: Path, tmp_path: Path
) -> None:
    clip = write_camera_video(picture_covering(cv2.imread(str(astronaut_png)), 1280, 720), tmp_path / "camera.mp4")
    obs.add_media_source(CAMERA, clip)
    obs.client.create_source_filter(CAMERA, FILTER, FILTER_KIND, {"mode": "blur"})
    wait_for_mask(obs, CAMERA, FILTER, 40.0, status_has="masks/s")
    time.sleep(2.0)  # the worker's latency settles

    entries = [entry for entry in stats_over(obs, CAMERA, 6.0) if entry.get("mask_age_frames") is not None]
    ages = [entry["mask_age_frames"] for entry in entries]
    waits = [ms for entry in entries for ms in entry["mask_wait_ms"]]
    rates = [entry["masks_per_s"] for entry in entries]
    print(
        f"mask age {ages}; masks/s {rates}; waits median {statistics.median(waits):.2f} ms, "
        f"max {max(waits):.2f} ms, {sum(ms > 0 for ms in waits)} of {len(waits)} frames waited"
    )
    assert len(entries) >= 8 and not any(entry["still_picture"] for entry in entries)
    assert statistics.median(ages) == 1, ages
    assert max(ages) <= 2, ages  # never older than without the early hand-over
    assert max(waits) <= MAX_MASK_WAIT_S * 1000 + WAIT_SLACK_MS, max(waits)


def test_a_still_photo_is_not_segmented_again_and_its_mask_stays(obs: HeadlessObs, astronaut_png: Path) -> None:
    obs.client.remove_input(CAMERA)  # one filtered source at a time: the worker CPU is this photo's
    obs.client.create_input(SCENE, PHOTO, "image_source", {"file": str(astronaut_png)}, True)
    obs.client.create_source_filter(PHOTO, FILTER, FILTER_KIND, {"mode": "blur"})
    entry = wait_for_mask(obs, PHOTO, FILTER, 40.0, status_has=STILL_PICTURE)
    assert entry["still_picture"] is True
    (pid,) = wait_until(lambda: worker_pids(obs), "the photo's worker")
    first_shot = obs.screenshot(PHOTO)

    cpu_before, started = worker_cpu_s(pid), time.monotonic()
    time.sleep(3.0)  # longer than the 2 s after which a mask that stopped coming is dropped
    idle_share = (worker_cpu_s(pid) - cpu_before) / (time.monotonic() - started)
    entry = filter_stats(obs, PHOTO, FILTER)
    print(f"still photo: worker CPU {100 * idle_share:.1f} % of a core; status {entry['status']!r}")
    assert idle_share <= 0.02
    assert STILL_PICTURE in entry["status"] and entry["mask_age_frames"] is not None
    assert np.array_equal(obs.screenshot(PHOTO), first_shot)  # the same blurred picture, drawn all along

    mirrored = astronaut_png.with_name("astronaut-mirrored.png")
    cv2.imwrite(str(mirrored), cv2.flip(cv2.imread(str(astronaut_png)), 1))
    obs.client.set_input_settings(PHOTO, {"file": str(mirrored)}, True)
    wait_until(lambda: not filter_stats(obs, PHOTO, FILTER)["still_picture"], "segmenting the new picture", 10.0, 0.02)
    wait_for_mask(obs, PHOTO, FILTER, 20.0, status_has=STILL_PICTURE)  # and idle again once it settled
